/* model — from the merged, schema-valid JSON tree to struct cw_config: defaults, ${ENV} and
 * placeholder resolution, cwagent's semantic checks, and one warning for every key cwagent
 * does not implement. Logs are built in model_logs.c. */
#include "common/http.h"
#include "config/catalog.h"
#include "config/internal.h"
#include "config/model.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const plugin_names[CW_PLUGIN_COUNT] = {
    "cpu",     "disk",      "diskio", "mem",     "swap",      "net",
    "netstat", "processes", "system", "ethtool", "nvidia_gpu"};

const char *cw_plugin_name(enum cw_plugin_id id)
{
    return (unsigned)id < CW_PLUGIN_COUNT ? plugin_names[id] : "?";
}

/* ---- helpers shared with model_logs.c ---- */

static const char *default_getenv(const char *name)
{
    return getenv(name);
}

void mb_error(struct mb *m, const char *path, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    m->failed = 1;
    if (n >= 0)
        cw_load_report(m->lc, 1, path, "%s", msg);
    free(msg);
}

void mb_warn(struct mb *m, const char *path, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n >= 0)
        cw_load_report(m->lc, 0, path, "%s", msg);
    free(msg);
}

/* An AWS region name as the SDKs accept it: lower-case letters, digits and dashes. Anything
 * else would be pasted into an endpoint host name. */
int mb_region_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
            return 0;
    return 1;
}

char *mb_endpoint(struct mb *m, char *url, const char *path)
{
    if (!url || !*url)
        return url;
    if (!strstr(url, "://")) { /* as the reference: a bare host name means https */
        char *u = NULL;
        if (asprintf(&u, "https://%s", url) < 0) {
            mb_oom(m);
            return url;
        }
        free(url);
        url = u;
    } else if (strncasecmp(url, "https://", 8) != 0 && strncasecmp(url, "http://", 7) != 0) {
        mb_error(m, path, "found \"%.100s\", expected an https:// (or http://) URL", url);
        return url;
    }
    if (cw_http_url_cleartext_remote(url))
        mb_warn(m, path,
                "\"%.100s\" is plain http:// to a host that is not loopback: signed requests "
                "and session tokens would travel unencrypted; use https://",
                url);
    return url;
}

void mb_oom(struct mb *m)
{
    if (!m->oom)
        cw_diag_add(m->lc->diag, 1, "out of memory while building the configuration");
    m->oom = 1;
    m->failed = 1;
}

char *mb_str(struct mb *m, const json_t *obj, const char *key, const char *path)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return NULL;
    char *unset = NULL;
    char *s = cw_expand_env(json_string_value(v), m->getenv_fn, &unset);
    if (!s)
        mb_oom(m);
    if (unset) {
        char *p = cw_path_key(path, key);
        mb_warn(m, p ? p : path, "environment variable %s is not set; expanded to \"\"", unset);
        free(p);
        free(unset);
    }
    return s;
}

char *mb_dup(struct mb *m, const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        mb_oom(m);
    return d;
}

int mb_int(const json_t *obj, const char *key, int dflt)
{
    const json_t *v = json_object_get(obj, key);
    double d;
    if (!json_is_number(v))
        return dflt;
    d = json_number_value(v); /* clamped: the schema bounds most values, not all */
    if (d >= (double)INT_MAX)
        return INT_MAX;
    if (d <= (double)INT_MIN)
        return INT_MIN;
    return json_is_integer(v) ? (int)json_integer_value(v) : (int)d;
}

int mb_bool(const json_t *obj, const char *key, int dflt)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

void mb_check_keys(struct mb *m, const json_t *obj, const char *path, const struct mb_keyspec *spec)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        const struct mb_keyspec *s = spec;
        while (s->key && strcmp(s->key, k) != 0)
            s++;
        if (s->key && s->what == MB_OK)
            continue;
        char *p = cw_path_key(path, k);
        if (!p) {
            mb_oom(m);
            return;
        }
        if (!s->key)
            mb_warn(m, p, "unknown key, not used by cwagent; ignored");
        else if (s->what == MB_TELEGRAF)
            mb_warn(m, p, "Telegraf setting with no meaning for cwagent; ignored");
        else
            mb_warn(m, p, "not supported by cwagent; ignored");
        free(p);
    }
}

int mb_regex_ok(struct mb *m, const char *re, const char *path)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    if (code) {
        pcre2_code_free(code);
        return 1;
    }
    PCRE2_UCHAR why[160];
    if (pcre2_get_error_message(err, why, sizeof why) < 0)
        snprintf((char *)why, sizeof why, "error %d", err);
    char b[96];
    json_t *s = json_string(re);
    cw_json_brief(s, b, sizeof b);
    json_decref(s);
    mb_error(m, path, "found %s, expected a valid regular expression (%s at offset %zu)", b,
             (const char *)why, (size_t)off);
    return 0;
}

void mb_role_arn(struct mb *m, const json_t *section, const char *path, char **out)
{
    const json_t *creds = json_object_get(section, "credentials");
    char *p = cw_path_key(path, "credentials");
    if (!p) {
        mb_oom(m);
        return;
    }
    char *arn = mb_str(m, creds, "role_arn", p);
    if (arn && !*arn) { /* an unset ${ENV}: no role, as the reference's runtime expansion */
        free(arn);
        arn = NULL;
    }
    if (arn) {
        char *ap = cw_path_key(p, "role_arn");
        if (strncmp(arn, "arn:", 4) != 0 && ap)
            mb_warn(m, ap,
                    "found \"%s\", expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME);"
                    " AssumeRole will likely fail",
                    arn);
        free(ap);
        free(*out);
        *out = arn;
    }
    free(p);
}

static int strlist_from(struct mb *m, const json_t *arr, struct cw_strlist *out)
{
    size_t i, n = json_array_size(arr);
    const json_t *v;
    out->v = n ? calloc(n, sizeof *out->v) : NULL;
    out->n = 0;
    if (n && !out->v) {
        mb_oom(m);
        return -1;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v))
            continue;
        char *s = cw_expand_env(json_string_value(v), m->getenv_fn, NULL);
        if (!s) {
            mb_oom(m);
            return -1;
        }
        out->v[out->n++] = s;
    }
    return 0;
}

void cw_strlist_free(struct cw_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* ---- agent ---- */

static const struct mb_keyspec agent_keys[] = {
    {"metrics_collection_interval", MB_OK},
    {"region", MB_OK},
    {"credentials", MB_OK},
    {"debug", MB_OK},
    {"logfile", MB_OK},
    {"omit_hostname", MB_OK},
    {"hostname", MB_OK},
    {"run_as_user", MB_OK},
    {"user_agent", MB_OK},
    {"cwagent", MB_OK}, /* cwagent-only settings, model_cwagent.c */
    {"aws_sdk_log_level", MB_UNSUPPORTED},
    {"usage_data", MB_UNSUPPORTED},
    {"use_dualstack_endpoint", MB_OK},
    {"internal", MB_UNSUPPORTED},
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {"system_metrics_enabled", MB_UNSUPPORTED},
    {"flush_interval", MB_TELEGRAF},
    {"collection_jitter", MB_TELEGRAF},
    {"flush_jitter", MB_TELEGRAF},
    {"metric_batch_size", MB_TELEGRAF},
    {"metric_buffer_limit", MB_TELEGRAF},
    {"precision", MB_TELEGRAF},
    {"quiet", MB_TELEGRAF},
    {"round_interval", MB_TELEGRAF},
    {"logtarget", MB_TELEGRAF},
    {NULL, MB_OK},
};

static void build_agent(struct mb *m, const json_t *a, struct cw_agent_config *out)
{
    out->metrics_collection_interval =
        mb_int(a, "metrics_collection_interval", CW_DEFAULT_INTERVAL);
    out->debug = mb_bool(a, "debug", 0);
    out->omit_hostname = mb_bool(a, "omit_hostname", 0);
    out->use_dualstack_endpoint = mb_bool(a, "use_dualstack_endpoint", 0);
    if (!a) {
        out->region = mb_dup(m, m->meta->region);
        return;
    }
    mb_check_keys(m, a, "agent", agent_keys);
    out->region = mb_str(m, a, "region", "agent");
    if (!out->region || !*out->region) {
        free(out->region);
        out->region = mb_dup(m, m->meta->region);
    } else if (!mb_region_ok(out->region)) {
        mb_error(m, "agent.region", "found \"%.64s\", expected a region name such as us-east-1",
                 out->region);
    }
    out->logfile = mb_str(m, a, "logfile", "agent"); /* absent: stderr (journald) */
    out->hostname = mb_str(m, a, "hostname", "agent");
    out->run_as_user = mb_str(m, a, "run_as_user", "agent");
    out->user_agent = mb_str(m, a, "user_agent", "agent");
    mb_role_arn(m, a, "agent", &out->role_arn);
    cw_model_cwagent(m, a, out);
}

/* ---- root ---- */

static void check_root(struct mb *m, const json_t *root)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)root, k, v)
    {
        if (strcmp(k, "agent") == 0 || strcmp(k, "metrics") == 0 || strcmp(k, "logs") == 0)
            continue;
        char *p = cw_path_key("", k);
        if (!p) {
            mb_oom(m);
            return;
        }
        if (strcmp(k, "traces") == 0 || strcmp(k, "opentelemetry") == 0)
            mb_warn(m, p, "not supported by cwagent; ignored");
        else
            mb_error(m, p,
                     "found unknown key \"%s\", expected one of: agent, metrics, logs, "
                     "traces, opentelemetry",
                     k);
        free(p);
    }
}

int cw_model_build(struct cw_load_ctx *lc, const json_t *root, const struct cw_config_meta *meta,
                   struct cw_config **out)
{
    static const struct cw_config_meta empty;
    struct mb m = {.lc = lc, .meta = meta ? meta : &empty};
    m.getenv_fn = m.meta->getenv_fn ? m.meta->getenv_fn : default_getenv;
    struct cw_config *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) {
        mb_oom(&m);
        return -1;
    }
    check_root(&m, root);
    build_agent(&m, json_object_get(root, "agent"), &c->agent);
    cw_model_metrics(&m, json_object_get(root, "metrics"), c);
    cw_model_logs(&m, json_object_get(root, "logs"), c);
    if (m.failed) {
        cw_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

/* ---- freeing ---- */

static void free_plugin(struct cw_metric_plugin *p)
{
    for (size_t i = 0; i < p->n_measurements; i++) {
        free(p->measurements[i].field);
        free(p->measurements[i].name);
        free(p->measurements[i].unit);
    }
    free(p->measurements);
    cw_strlist_free(&p->resources);
    for (size_t i = 0; i < p->n_append_dimensions; i++) {
        free(p->append_dimensions[i].key);
        free(p->append_dimensions[i].value);
    }
    free(p->append_dimensions);
}

static void free_metrics(struct cw_metrics_config *mc)
{
    free(mc->namespace);
    for (size_t i = 0; i < mc->n_aggregation_dimensions; i++)
        cw_strlist_free(&mc->aggregation_dimensions[i]);
    free(mc->aggregation_dimensions);
    free(mc->role_arn);
    free(mc->endpoint_override);
    for (int i = 0; i < CW_PLUGIN_COUNT; i++)
        free_plugin(&mc->plugins[i]);
    cw_strlist_free(&mc->disk_ignore_fs);
    cw_strlist_free(&mc->ethtool_include);
    cw_strlist_free(&mc->ethtool_exclude);
    cw_strlist_free(&mc->ethtool_metrics);
    free(mc->nvidia_bin_path);
    for (size_t i = 0; i < mc->n_procstat; i++) {
        free_plugin(&mc->procstat[i].common);
        free(mc->procstat[i].pid_file);
        free(mc->procstat[i].exe);
        free(mc->procstat[i].pattern);
        free(mc->procstat[i].pid_finder);
    }
    free(mc->procstat);
    cw_listeners_free(mc);
}

static void free_logs(struct cw_logs_config *lc)
{
    free(lc->log_stream_name);
    free(lc->endpoint_override);
    free(lc->role_arn);
    for (size_t i = 0; i < lc->n_files; i++) {
        struct cw_log_file *f = &lc->files[i];
        free(f->file_path);
        free(f->log_group_name);
        free(f->log_stream_name);
        free(f->timestamp_format);
        free(f->multi_line_start_pattern);
        free(f->encoding);
        for (size_t j = 0; j < f->n_filters; j++)
            free(f->filters[j].expression);
        free(f->filters);
        free(f->log_group_class);
        free(f->blacklist);
    }
    free(lc->files);
    cw_journald_free(lc);
}

void cw_config_free(struct cw_config *c)
{
    if (!c)
        return;
    free(c->agent.region);
    free(c->agent.role_arn);
    free(c->agent.logfile);
    free(c->agent.hostname);
    free(c->agent.run_as_user);
    free(c->agent.user_agent);
    free(c->agent.prom_listen);
    free_metrics(&c->metrics);
    free_logs(&c->logs);
    free(c);
}

/* exported for strlist users in this module */
int mb_strlist(struct mb *m, const json_t *arr, struct cw_strlist *out)
{
    return strlist_from(m, arr, out);
}
