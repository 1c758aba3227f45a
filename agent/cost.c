#include "agent/cost.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PMD_MAX_DATUMS    1000 /* API: MetricData per PutMetricData call */
#define PACK_MAX_VALUES   150  /* API: distinct Values per datum */
#define EXPLODE_THRESHOLD 50   /* series per plugin worth a warning */
#define EXPLODE_RESOURCES 10   /* distinct mounts / cpus / devices / interfaces worth one */
#define MAX_TRACKED       64   /* distinct resource values counted per plugin */
#define MAX_PLUGINS       64

static int get_str(json_t *o, const char *key, char **out, const char *path, char *err,
                   size_t errlen)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) {
        snprintf(err, errlen, "%s: %s: expected a string", path, key);
        return -1;
    }
    return (*out = strdup(s)) ? 0 : -1;
}

static int get_num(json_t *o, const char *key, double *out, const char *path, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v) || json_number_value(v) < 0) {
        snprintf(err, errlen, "%s: %s: expected a number >= 0", path, key);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static int load_tiers(json_t *arr, struct cost_prices *p, const char *path, char *err,
                      size_t errlen)
{
    size_t i;
    json_t *t;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > COST_MAX_TIERS) {
        snprintf(err, errlen, "%s: metric_tiers: expected 1 to %d tiers", path, COST_MAX_TIERS);
        return -1;
    }
    json_array_foreach(arr, i, t)
    {
        json_t *up = json_object_get(t, "up_to");
        if (get_num(t, "per_metric_month", &p->tiers[i].price, path, err, errlen) != 0)
            return -1;
        if (json_is_null(up) || !up) {
            p->tiers[i].up_to = -1;
        } else if (json_is_number(up) && json_number_value(up) > 0) {
            p->tiers[i].up_to = json_number_value(up);
        } else {
            snprintf(err, errlen, "%s: metric_tiers[%zu].up_to: expected a number or null", path,
                     i);
            return -1;
        }
        p->ntiers++;
    }
    return 0;
}

int cost_prices_load(const char *path, struct cost_prices *p, char *err, size_t errlen)
{
    json_error_t je;
    memset(p, 0, sizeof *p);
    json_t *o = json_load_file(path, 0, &je);
    if (!o) {
        snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
        return -1;
    }
    int rc = -1;
    if (get_str(o, "as_of", &p->as_of, path, err, errlen) == 0 &&
        get_str(o, "region", &p->region, path, err, errlen) == 0 &&
        get_str(o, "currency", &p->currency, path, err, errlen) == 0 &&
        get_str(o, "source", &p->source, path, err, errlen) == 0 &&
        load_tiers(json_object_get(o, "metric_tiers"), p, path, err, errlen) == 0 &&
        get_num(o, "put_metric_data_per_1000_requests", &p->api_per_1000, path, err, errlen) == 0 &&
        get_num(o, "logs_ingestion_per_gb", &p->logs_per_gb, path, err, errlen) == 0 &&
        get_num(o, "hours_per_month", &p->hours_per_month, path, err, errlen) == 0)
        rc = 0;
    json_decref(o);
    if (rc != 0)
        cost_prices_free(p);
    return rc;
}

void cost_prices_free(struct cost_prices *p)
{
    free(p->as_of);
    free(p->region);
    free(p->currency);
    free(p->source);
    memset(p, 0, sizeof *p);
}

/* ---- the arithmetic -------------------------------------------------------------------------- */

struct plugin_cost {
    const char *plugin;
    size_t series, rollups;
    double datums_month;           /* one datum per sample, unpacked */
    const char *seen[MAX_TRACKED]; /* distinct values of the plugin's resource dimension */
    size_t nseen;                  /* saturates at MAX_TRACKED */
};

struct totals {
    struct plugin_cost pl[MAX_PLUGINS];
    size_t npl;
    size_t series;
    double datums_month, calls_month, packed_datums_month, packed_calls_month;
    double metrics_cost, api_cost, api_cost_packed, logs_cost;
};

static double tiered(const struct cost_prices *p, double n)
{
    double cost = 0, below = 0;
    for (size_t i = 0; i < p->ntiers && n > below; i++) {
        double top = p->tiers[i].up_to < 0 ? n : fmin(n, p->tiers[i].up_to);
        cost += (top - below) * p->tiers[i].price;
        below = top;
    }
    return cost;
}

static struct plugin_cost *plugin_slot(struct totals *t, const char *name)
{
    for (size_t i = 0; i < t->npl; i++)
        if (strcmp(t->pl[i].plugin, name) == 0)
            return &t->pl[i];
    if (t->npl == MAX_PLUGINS)
        return &t->pl[MAX_PLUGINS - 1];
    t->pl[t->npl].plugin = name;
    return &t->pl[t->npl++];
}

/* The dimension that multiplies a plugin's series with the host's shape. */
static const char *resource_dim(const char *plugin)
{
    static const char *const map[][2] = {{"cpu", "cpu"},      {"disk", "path"},
                                         {"diskio", "name"},  {"net", "interface"},
                                         {"procstat", "pid"}, {"netstat", NULL}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(plugin, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static void track(struct plugin_cost *pc, const struct series_item *it)
{
    const char *dim = resource_dim(pc->plugin);
    const char *v = dim ? series_dim(it, dim) : NULL;
    if (!v || pc->nseen == MAX_TRACKED)
        return;
    for (size_t i = 0; i < pc->nseen; i++)
        if (strcmp(pc->seen[i], v) == 0)
            return;
    pc->seen[pc->nseen++] = v;
}

static int explodes(const struct plugin_cost *pc)
{
    return pc->series > EXPLODE_THRESHOLD || pc->nseen > EXPLODE_RESOURCES;
}

static void compute(const struct cost_inputs *in, const struct cost_prices *p, struct totals *t)
{
    double month_s = p->hours_per_month * 3600.0;
    double flush = in->flush_interval > 0 ? in->flush_interval : 60;
    double per_flush = 0, packed_per_flush = 0;
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < series_count(in->series); i++) {
        const struct series_item *it = series_get(in->series, i);
        double every = it->interval > 0 ? it->interval : 60;
        struct plugin_cost *pc = plugin_slot(t, it->plugin);
        pc->series++;
        pc->rollups += it->is_rollup != 0;
        track(pc, it);
        pc->datums_month += month_s / every;
        t->series++;
        double samples = flush / every; /* per flush, fractional when collected less often */
        per_flush += samples;
        packed_per_flush += samples <= 1 ? samples : ceil(samples / PACK_MAX_VALUES);
    }
    double flushes = month_s / flush;
    for (size_t i = 0; i < t->npl; i++)
        t->datums_month += t->pl[i].datums_month;
    t->calls_month = per_flush > 0 ? flushes * ceil(per_flush / PMD_MAX_DATUMS) : 0;
    t->packed_datums_month = packed_per_flush * flushes;
    t->packed_calls_month =
        packed_per_flush > 0 ? flushes * ceil(packed_per_flush / PMD_MAX_DATUMS) : 0;
    t->metrics_cost = tiered(p, (double)t->series);
    t->api_cost = t->calls_month / 1000.0 * p->api_per_1000;
    t->api_cost_packed = t->packed_calls_month / 1000.0 * p->api_per_1000;
    t->logs_cost = in->log_gb_month >= 0 ? in->log_gb_month * p->logs_per_gb : 0;
}

/* A warning for plugins whose series multiply with the host's shape. */
static const char *explode_hint(const char *plugin)
{
    if (strcmp(plugin, "cpu") == 0)
        return "per-cpu series (resources [\"*\"]) grow with the core count; keep totalcpu only";
    if (strcmp(plugin, "disk") == 0)
        return "one series per mount and field: container hosts mount many overlay/tmpfs file "
               "systems; list the mounts in resources or extend ignore_file_system_types";
    if (strcmp(plugin, "diskio") == 0)
        return "one series per block device and field: list the devices in resources";
    if (strcmp(plugin, "net") == 0)
        return "one series per interface and field: container hosts have one veth per "
               "container; list the interfaces in resources";
    if (strcmp(plugin, "procstat") == 0)
        return "per-process series: match fewer processes";
    return "many series: fewer measurements or resources";
}

static json_t *series_json(const struct series_set *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < series_count(s); i++) {
        const struct series_item *it = series_get(s, i);
        json_t *dims = json_array();
        for (size_t d = 0; d < it->ndims; d++)
            json_array_append_new(
                dims, json_pack("{s:s,s:s}", "Name", it->dims[d].name, "Value", it->dims[d].value));
        json_array_append_new(a, json_pack("{s:s,s:s,s:o,s:b}", "plugin", it->plugin, "name",
                                           it->name, "dimensions", dims, "rollup", it->is_rollup));
    }
    return a;
}

static void series_text(FILE *f, const struct series_set *s)
{
    fprintf(f, "\nseries:\n");
    for (size_t i = 0; i < series_count(s); i++) {
        const struct series_item *it = series_get(s, i);
        fprintf(f, "  %-10s %s", it->plugin, it->name);
        for (size_t d = 0; d < it->ndims; d++)
            fprintf(f, "%s%s=%s", d ? "," : " ", it->dims[d].name, it->dims[d].value);
        fputc('\n', f);
    }
}

static char *report_json(const struct cost_inputs *in, const struct cost_prices *p,
                         const struct totals *t)
{
    json_t *plugins = json_array(), *warn = json_array();
    for (size_t i = 0; i < t->npl; i++) {
        json_array_append_new(plugins, json_pack("{s:s,s:I,s:I,s:f}", "plugin", t->pl[i].plugin,
                                                 "series", (json_int_t)t->pl[i].series, "rollups",
                                                 (json_int_t)t->pl[i].rollups, "datums_per_month",
                                                 t->pl[i].datums_month));
        if (explodes(&t->pl[i]))
            json_array_append_new(warn, json_pack("{s:s,s:I,s:I,s:s}", "plugin", t->pl[i].plugin,
                                                  "series", (json_int_t)t->pl[i].series,
                                                  "resources", (json_int_t)t->pl[i].nseen, "hint",
                                                  explode_hint(t->pl[i].plugin)));
    }
    json_t *o = json_pack(
        "{s:b,s:{s:s,s:s,s:s,s:s},s:s,s:o,s:I,s:f,s:f,s:f,s:f,s:{s:f,s:f,s:f,s:f,s:f},s:o}",
        "estimate", 1, "prices", "as_of", p->as_of, "region", p->region, "currency", p->currency,
        "source", p->source, "namespace", series_namespace(in->series), "plugins", plugins,
        "series", (json_int_t)t->series, "datums_per_month", t->datums_month,
        "put_metric_data_calls_per_month", t->calls_month, "packed_datums_per_month",
        t->packed_datums_month, "packed_put_metric_data_calls_per_month", t->packed_calls_month,
        "monthly_cost", "metrics", t->metrics_cost, "put_metric_data", t->api_cost,
        "put_metric_data_packed", t->api_cost_packed, "logs", t->logs_cost, "total",
        t->metrics_cost + t->api_cost + t->logs_cost, "warnings", warn);
    if (o && in->log_gb_month >= 0)
        json_object_set_new(o, "log_gb_per_month", json_real(in->log_gb_month));
    if (o && in->listeners)
        json_object_set_new(o, "listeners_not_counted", json_true());
    if (o && in->list_series)
        json_object_set_new(o, "series_list", series_json(in->series));
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

static char *report_text(const struct cost_inputs *in, const struct cost_prices *p,
                         const struct totals *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "ESTIMATE at %s list prices for %s as of %s (%s); not a bill.\n\n", p->currency,
            p->region, p->as_of, p->source);
    fprintf(f, "%-12s %8s %9s %16s\n", "plugin", "series", "roll-ups", "datums/month");
    for (size_t i = 0; i < t->npl; i++)
        fprintf(f, "%-12s %8zu %9zu %16.0f\n", t->pl[i].plugin, t->pl[i].series, t->pl[i].rollups,
                t->pl[i].datums_month);
    fprintf(f, "%-12s %8zu %9s %16.0f\n\n", "total", t->series, "", t->datums_month);
    fprintf(f, "custom metrics (series in %s): %zu -> %.2f %s/month\n",
            series_namespace(in->series), t->series, t->metrics_cost, p->currency);
    fprintf(f, "PutMetricData calls: %.0f/month -> %.2f %s/month\n", t->calls_month, t->api_cost,
            p->currency);
    fprintf(f, "  with --pack-values: %.0f datums, %.0f calls/month -> %.2f %s/month\n",
            t->packed_datums_month, t->packed_calls_month, t->api_cost_packed, p->currency);
    if (in->log_gb_month >= 0)
        fprintf(f, "logs ingested: %.2f GB/month -> %.2f %s/month\n", in->log_gb_month,
                t->logs_cost, p->currency);
    else
        fprintf(f, "logs ingested: unknown (pass --log-gb-per-month N)\n");
    fprintf(f, "estimated total: %.2f %s/month (free tier not subtracted)\n",
            t->metrics_cost + t->api_cost + t->logs_cost, p->currency);
    for (size_t i = 0; i < t->npl; i++)
        if (explodes(&t->pl[i]))
            fprintf(f, "\nwarning: %s publishes %zu series (%zu%s distinct %s): %s\n",
                    t->pl[i].plugin, t->pl[i].series, t->pl[i].nseen,
                    t->pl[i].nseen == MAX_TRACKED ? "+" : "",
                    resource_dim(t->pl[i].plugin) ? resource_dim(t->pl[i].plugin) : "resources",
                    explode_hint(t->pl[i].plugin));
    if (in->listeners)
        fprintf(f, "\nnote: statsd/collectd series depend on the traffic the listeners receive "
                   "and are not counted\n");
    if (in->list_series)
        series_text(f, in->series);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *cost_report(const struct cost_inputs *in, const struct cost_prices *p, int json)
{
    struct totals t;
    compute(in, p, &t);
    return json ? report_json(in, p, &t) : report_text(in, p, &t);
}
