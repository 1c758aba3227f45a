/* cmd_collect — `cwagent collect --once`: two collection rounds an interval apart, then every
 * datum of the second round (name, unit, dimensions, value) as an aligned table or as JSON. */
#include "agent/commands.h"
#include "agent/collect_opts.h"
#include "collectors/collectors.h"
#include "config/config.h"
#include "common/log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COLLECT_MAX_SAMPLES 1000000 /* a sanity cap on one printed round */

/* Reads `file` with the config module (merged, validated, typed) and enables what its metrics
 * section asks for. Errors name the file and JSON path. */
static int collect_options_from_config(const char *file, struct collectors_opts *o, char *err,
                                       size_t errlen)
{
    struct cw_config *cfg = NULL;
    struct cw_config_diag diag = {0};
    const char *paths[1] = {file};
    int rc = cw_config_load(paths, 1, NULL, &cfg, &diag);
    for (size_t i = 0; i < diag.n_warnings; i++)
        fprintf(stderr, "%s\n", diag.warnings[i]);
    if (rc != 0)
        snprintf(err, errlen, "%s", diag.n_errors ? diag.errors[0] : "invalid configuration");
    for (size_t i = 1; rc != 0 && i < diag.n_errors; i++)
        fprintf(stderr, "%s\n", diag.errors[i]);
    cw_config_diag_free(&diag);
    if (rc == 0 && !cfg->metrics.present) {
        snprintf(err, errlen, "%s: metrics.metrics_collected: not found; nothing to collect", file);
        rc = -1;
    } else if (rc == 0 && collect_opts_all(o, &cfg->metrics) != 0) {
        snprintf(err, errlen, "%s: cannot set up the collectors", file);
        rc = -1;
    }
    cw_config_free(cfg);
    return rc;
}

/* ==== collecting and printing ============================================================== */

struct row {
    char *name, *unit, *dims; /* dims: "k=v,k=v" for the table */
    json_t *dimobj;
    double value;
};

struct rows {
    struct row *r;
    size_t n, cap;
    bool keep; /* false during the first round */
    bool oom;
};

static char *dims_text(const struct collectors_sample *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->ndims; i++)
        n += strlen(s->dims[i].name) + strlen(s->dims[i].value) + 2;
    char *t = malloc(n), *p = t;
    if (!t)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < s->ndims; i++)
        p += snprintf(p, n - (size_t)(p - t), "%s%s=%s", i ? "," : "", s->dims[i].name,
                      s->dims[i].value);
    return t;
}

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct rows *rs = ud;
    if (!rs->keep || rs->oom)
        return;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 256;
        struct row *r = cap <= COLLECT_MAX_SAMPLES ? realloc(rs->r, cap * sizeof *r) : NULL;
        if (!r) {
            rs->oom = true;
            return;
        }
        rs->r = r;
        rs->cap = cap;
    }
    struct row *r = &rs->r[rs->n];
    r->name = strdup(s->name);
    r->unit = strdup(s->unit);
    r->dims = dims_text(s);
    r->dimobj = json_object();
    for (size_t i = 0; r->dimobj && i < s->ndims; i++)
        json_object_set_new(r->dimobj, s->dims[i].name, json_string(s->dims[i].value));
    r->value = s->value;
    rs->n++;
    if (!r->name || !r->unit || !r->dims || !r->dimobj)
        rs->oom = true;
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].name);
        free(rs->r[i].unit);
        free(rs->r[i].dims);
        json_decref(rs->r[i].dimobj);
    }
    free(rs->r);
}

static void format_value(double v, char *out, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, n, "%.0f", v);
    else if (fabs(v) >= 1e15)
        snprintf(out, n, "%.17g", v);
    else
        snprintf(out, n, "%.4f", v);
}

static void print_table(const struct rows *rs)
{
    int wn = 4, wu = 4, wv = 5;
    char val[64];
    for (size_t i = 0; i < rs->n; i++) {
        format_value(rs->r[i].value, val, sizeof val);
        int ln = (int)strlen(rs->r[i].name), lu = (int)strlen(rs->r[i].unit);
        int lv = (int)strlen(val);
        wn = ln > wn ? ln : wn;
        wu = lu > wu ? lu : wu;
        wv = lv > wv ? lv : wv;
    }
    printf("%-*s  %-*s  %*s  %s\n", wn, "NAME", wu, "UNIT", wv, "VALUE", "DIMENSIONS");
    for (size_t i = 0; i < rs->n; i++) {
        format_value(rs->r[i].value, val, sizeof val);
        printf("%-*s  %-*s  %*s  %s\n", wn, rs->r[i].name, wu, rs->r[i].unit, wv, val,
               rs->r[i].dims);
    }
}

static int print_json(const struct rows *rs)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < rs->n; i++) {
        const struct row *r = &rs->r[i];
        double v = r->value;
        json_t *num = v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v) : json_real(v);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:O,s:o}", "name", r->name, "unit", r->unit,
                                             "dimensions", r->dimobj, "value", num));
    }
    int rc = arr ? json_dumpf(arr, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : -1;
    putchar('\n');
    json_decref(arr);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_seconds(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int run_rounds(struct collectors *set, double interval, bool json)
{
    struct rows rs = {0};
    collectors_gather(set, now_ms(), on_sample, &rs);
    sleep_seconds(interval);
    rs.keep = true;
    collectors_gather(set, now_ms(), on_sample, &rs);
    int rc = 0;
    if (rs.oom) {
        fprintf(stderr, "cwagent collect: out of memory\n");
        rc = 1;
    } else if (json) {
        rc = print_json(&rs) == 0 ? 0 : 1;
    } else {
        print_table(&rs);
    }
    rows_free(&rs);
    return rc;
}

static void collect_usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent collect --once [-c CONFIG] [--interval SECONDS] [--json] [--root DIR]\n"
            "  Runs two collection rounds SECONDS apart (default 1, fractions allowed) and prints\n"
            "  every datum of the second round. Without -c every plugin and measurement is on.\n"
            "  -c CONFIG    amazon-cloudwatch-agent JSON (metrics.metrics_collected is used)\n"
            "  --json       one JSON array of {name, unit, dimensions, value}\n"
            "  --root DIR   read DIR/proc, DIR/sys and statfs under DIR instead of /\n");
}

struct collect_args {
    bool once, json;
    const char *config, *root;
    double interval;
};

static int parse_args(int argc, char **argv, struct collect_args *a)
{
    a->interval = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--once") == 0) {
            a->once = true;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && next) {
            a->config = argv[++i];
        } else if (strcmp(arg, "--root") == 0 && next) {
            a->root = argv[++i];
        } else if (strcmp(arg, "--interval") == 0 && next) {
            char *end;
            a->interval = strtod(argv[++i], &end);
            if (*end || !(a->interval > 0 && a->interval <= 3600)) {
                fprintf(stderr, "cwagent collect: --interval: expected seconds in (0, 3600]\n");
                return -1;
            }
        } else {
            fprintf(stderr, "cwagent collect: unexpected argument '%s'\n", arg);
            return -1;
        }
    }
    if (!a->once) {
        fprintf(stderr, "cwagent collect: only --once is supported\n");
        return -1;
    }
    return 0;
}

int cmd_collect(int argc, char **argv)
{
    struct collect_args a = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            collect_usage(stdout);
            return 0;
        }
    }
    if (parse_args(argc, argv, &a) != 0) {
        collect_usage(stderr);
        return 2;
    }
    struct collectors_opts o;
    char err[512] = "";
    collectors_opts_init(&o, a.config == NULL);
    if (a.config && collect_options_from_config(a.config, &o, err, sizeof err) != 0) {
        fprintf(stderr, "cwagent collect: %s\n", err);
        collectors_opts_clear(&o);
        return 2;
    }
    if (a.root && !(o.root = strdup(a.root))) {
        collectors_opts_clear(&o);
        return 1;
    }
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    if (!set) {
        fprintf(stderr, "cwagent collect: %s\n", err);
        return 2;
    }
    int rc = run_rounds(set, a.interval, a.json);
    collectors_free(set);
    return rc;
}
