/* model_logs — the "logs" section: files.collect_list entries with the reference's defaults
 * (log group from the file path, stream from the section, retention -1, multi-line "^[\S]"),
 * placeholder resolution, regex checks and the per-group retention / class conflicts. */
#include "config/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct mb_keyspec logs_keys[] = {
    {"logs_collected", MB_OK},
    {"metrics_collected", MB_OK}, /* every entry is reported below */
    {"log_stream_name", MB_OK},
    {"force_flush_interval", MB_OK},
    {"credentials", MB_OK},
    {"endpoint_override", MB_OK},
    {"concurrency", MB_OK},
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

static const struct mb_keyspec collected_keys[] = {
    {"files", MB_OK},
    {"journald", MB_OK},
    {"windows_events", MB_UNSUPPORTED},
    {"application_signals", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

static const struct mb_keyspec file_keys[] = {
    {"file_path", MB_OK},
    {"log_group_name", MB_OK},
    {"log_stream_name", MB_OK},
    {"log_group_class", MB_OK},
    {"multi_line_start_pattern", MB_OK},
    {"timestamp_format", MB_OK},
    {"timezone", MB_OK},
    {"trim_timestamp", MB_OK},
    {"encoding", MB_OK},
    {"auto_removal", MB_OK},
    {"blacklist", MB_OK},
    {"publish_multi_logs", MB_OK},
    {"retention_in_days", MB_OK},
    {"filters", MB_OK},
    {"backpressure_mode", MB_UNSUPPORTED},
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

/* The reference's default group: the path minus its last extension (filepath.Ext). */
static char *default_group(struct mb *m, const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base : path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    char *s = strndup(path, n);
    if (!s)
        mb_oom(m);
    return s;
}

/* Resolves placeholders in a malloc'd string, replacing it. */
static char *resolve(struct mb *m, char *s, const char *region)
{
    if (!s)
        return NULL;
    char *r = cw_resolve_placeholders(s, m->meta, region);
    free(s);
    if (!r)
        mb_oom(m);
    return r;
}

static void build_filters(struct mb *m, const json_t *list, const char *path, struct cw_log_file *f)
{
    size_t i, n = json_array_size(list);
    const json_t *item;
    f->filters = n ? calloc(n, sizeof *f->filters) : NULL;
    if (n && !f->filters) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, item)
    {
        char *ip = cw_path_index(path, i);
        if (!ip)
            continue;
        const char *type = json_string_value(json_object_get(item, "type"));
        char *expr = mb_str(m, item, "expression", ip);
        char *tp = cw_path_key(ip, "type"), *ep = cw_path_key(ip, "expression");
        if (!type)
            mb_error(m, tp ? tp : ip, "found nothing, expected \"include\" or \"exclude\"");
        else if (!expr)
            mb_error(m, ep ? ep : ip, "found nothing, expected a regular expression");
        else if (mb_regex_ok(m, expr, ep ? ep : ip)) {
            f->filters[f->n_filters].exclude = strcmp(type, "exclude") == 0;
            f->filters[f->n_filters++].expression = expr;
            expr = NULL;
        }
        free(expr);
        free(tp);
        free(ep);
        free(ip);
    }
}

/* log_group_class of a logs entry (files, journald), upper-cased; NULL (with a warning) when it
 * is neither STANDARD nor INFREQUENT_ACCESS, or absent. The caller frees it. */
char *mb_log_group_class(struct mb *m, const json_t *item, const char *path)
{
    char *cls = mb_str(m, item, "log_group_class", path);
    if (!cls)
        return NULL;
    for (char *p = cls; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(cls, "STANDARD") == 0 || strcmp(cls, "INFREQUENT_ACCESS") == 0)
        return cls;
    char *p = cw_path_key(path, "log_group_class");
    mb_warn(m, p ? p : path, "found \"%s\", expected STANDARD or INFREQUENT_ACCESS; ignored", cls);
    free(p);
    free(cls);
    return NULL;
}

/* The strftime subset the reference converts to a regex (notes d.6); other directives would
 * match literally, so timestamps would never parse. */
static void check_timestamp_format(struct mb *m, const char *fmt, const char *path)
{
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL;) {
        int dash = p[1] == '-';
        char d = p[1 + dash];
        const char *ok = dash ? "mdIMS" : "YymBbdAaHIMSpZzf";
        if (!d || !strchr(ok, d)) {
            char *kp = cw_path_key(path, "timestamp_format");
            if (kp)
                mb_warn(m, kp,
                        "directive %%%s%c is not supported (supported: %%Y %%y %%m %%-m %%B %%b "
                        "%%d %%-d %%A %%a %%H %%I %%-I %%M %%-M %%S %%-S %%p %%Z %%z %%f); it "
                        "matches literally",
                        dash ? "-" : "", d ? d : ' ');
            free(kp);
        }
        p += d ? 2 + dash : 1;
    }
}

static void check_file_regexes(struct mb *m, const char *path, struct cw_log_file *f)
{
    char *p;
    if (!f->multiline_uses_timestamp && (p = cw_path_key(path, "multi_line_start_pattern"))) {
        mb_regex_ok(m, f->multi_line_start_pattern, p);
        free(p);
    }
    if (f->blacklist && (p = cw_path_key(path, "blacklist"))) {
        mb_regex_ok(m, f->blacklist, p);
        free(p);
    }
}

static void build_file(struct mb *m, const json_t *item, const char *path, const char *stream,
                       const char *region, struct cw_log_file *f)
{
    mb_check_keys(m, item, path, file_keys);
    f->file_path = mb_str(m, item, "file_path", path);
    f->publish_multi_logs = mb_bool(item, "publish_multi_logs", 0);
    f->auto_removal = mb_bool(item, "auto_removal", 0);
    f->log_group_name = mb_str(m, item, "log_group_name", path);
    if (!f->log_group_name && !f->publish_multi_logs && f->file_path)
        f->log_group_name = default_group(m, f->file_path);
    f->log_group_name = resolve(m, f->log_group_name, region);
    f->log_stream_name = mb_str(m, item, "log_stream_name", path);
    f->log_stream_name =
        f->log_stream_name ? resolve(m, f->log_stream_name, region) : mb_dup(m, stream);
    const char *tz = json_string_value(json_object_get(item, "timezone"));
    f->utc = tz && strcmp(tz, "UTC") == 0;
    f->timestamp_format = mb_str(m, item, "timestamp_format", path);
    if (f->timestamp_format)
        check_timestamp_format(m, f->timestamp_format, path);
    f->trim_timestamp = mb_bool(item, "trim_timestamp", 0);
    f->multi_line_start_pattern = mb_str(m, item, "multi_line_start_pattern", path);
    if (!f->multi_line_start_pattern)
        f->multi_line_start_pattern = mb_dup(m, CW_DEFAULT_MULTILINE);
    f->multiline_uses_timestamp = f->multi_line_start_pattern &&
                                  strcmp(f->multi_line_start_pattern, "{timestamp_format}") == 0;
    f->encoding = mb_str(m, item, "encoding", path);
    f->retention_in_days = mb_int(item, "retention_in_days", -1);
    f->blacklist = mb_str(m, item, "blacklist", path);
    f->log_group_class = mb_log_group_class(m, item, path);
    char *fp = cw_path_key(path, "filters");
    if (fp && json_is_array(json_object_get(item, "filters")))
        build_filters(m, json_object_get(item, "filters"), fp, f);
    free(fp);
    if (f->multi_line_start_pattern)
        check_file_regexes(m, path, f);
    if (f->auto_removal && f->publish_multi_logs) {
        char *p = cw_path_key(path, "auto_removal");
        if (p)
            mb_error(m, p,
                     "found true, expected false: auto_removal cannot be combined with "
                     "publish_multi_logs");
        free(p);
    }
}

/* The reference rejects different retention (> 0) or class for the same group name
 * (case-insensitive); it only looks at groups named in the configuration. */
static void check_group_conflicts(struct mb *m, const json_t *list, struct cw_logs_config *lc)
{
    for (size_t i = 0; i < lc->n_files; i++) {
        const json_t *a = json_array_get(list, i);
        const char *ga = json_string_value(json_object_get(a, "log_group_name"));
        for (size_t j = 0; ga && j < i; j++) {
            const json_t *b = json_array_get(list, j);
            const char *gb = json_string_value(json_object_get(b, "log_group_name"));
            if (!gb || strcasecmp(ga, gb) != 0)
                continue;
            struct cw_log_file *fa = &lc->files[i], *fb = &lc->files[j];
            char *p = cw_path_index("logs.logs_collected.files.collect_list", i);
            if (!p)
                return;
            if (fa->retention_in_days > 0 && fb->retention_in_days > 0 &&
                fa->retention_in_days != fb->retention_in_days)
                mb_error(m, p,
                         "found retention_in_days %d for log group \"%s\", expected %d as in "
                         "collect_list[%zu] (different retention_in_days values can't be set "
                         "for the same log group)",
                         fa->retention_in_days, ga, fb->retention_in_days, j);
            if (fa->log_group_class && fb->log_group_class &&
                strcmp(fa->log_group_class, fb->log_group_class) != 0)
                mb_error(m, p,
                         "found log_group_class %s for log group \"%s\", expected %s as in "
                         "collect_list[%zu] (different classes can't be set for the same log "
                         "group)",
                         fa->log_group_class, ga, fb->log_group_class, j);
            free(p);
        }
    }
}

static void build_files(struct mb *m, const json_t *files, const char *region,
                        struct cw_logs_config *lc)
{
    const json_t *list = json_object_get(files, "collect_list"), *item;
    size_t i, n = json_array_size(list);
    lc->files = n ? calloc(n, sizeof *lc->files) : NULL;
    if (n && !lc->files) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, item)
    {
        char *p = cw_path_index("logs.logs_collected.files.collect_list", i);
        if (!p) {
            mb_oom(m);
            return;
        }
        build_file(m, item, p, lc->log_stream_name, region, &lc->files[lc->n_files++]);
        free(p);
    }
    check_group_conflicts(m, list, lc);
}

static void report_all(struct mb *m, const json_t *obj, const char *path)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strcmp(k, "emf") == 0)
            continue; /* cw_model_emf */
        char *p = cw_path_key(path, k);
        if (p)
            mb_warn(m, p, "not supported by cwagent; ignored");
        free(p);
    }
}

/* The section default stream: logs.log_stream_name, else {instance_id} on EC2 and the host
 * name elsewhere (the reference's ruleLogStreamName). */
static char *section_stream(struct mb *m, const json_t *logs, const char *region)
{
    char *s = mb_str(m, logs, "log_stream_name", "logs");
    if (s && !*s) { /* an unset ${ENV}: use the default */
        free(s);
        s = NULL;
    }
    if (!s)
        s = mb_dup(m, m->meta->on_ec2 ? "{instance_id}" : "{local_hostname}");
    return resolve(m, s, region);
}

void cw_model_logs(struct mb *m, const json_t *logs, struct cw_config *c)
{
    struct cw_logs_config *lc = &c->logs;
    lc->force_flush_interval = CW_DEFAULT_LOGS_FLUSH;
    lc->concurrency = 1;
    if (!json_is_object(logs))
        return;
    lc->present = 1;
    mb_check_keys(m, logs, "logs", logs_keys);
    if (json_is_object(json_object_get(logs, "metrics_collected"))) {
        const json_t *mc = json_object_get(logs, "metrics_collected");
        report_all(m, mc, "logs.metrics_collected");
        if (json_object_get(mc, "emf"))
            cw_model_emf(m, json_object_get(mc, "emf"), lc);
    }
    lc->force_flush_interval = mb_int(logs, "force_flush_interval", CW_DEFAULT_LOGS_FLUSH);
    lc->concurrency = mb_int(logs, "concurrency", 1);
    if (lc->concurrency > CW_LOGS_MAX_CONCURRENCY) /* agent/logs_pipe.c: batches of a stream */
        mb_warn(m, "logs.concurrency",
                "found %d: cwagent sends at most %d batches of a stream at once", lc->concurrency,
                CW_LOGS_MAX_CONCURRENCY);
    lc->endpoint_override =
        mb_endpoint(m, mb_str(m, logs, "endpoint_override", "logs"), "logs.endpoint_override");
    lc->role_arn = mb_dup(m, c->agent.role_arn);
    mb_role_arn(m, logs, "logs", &lc->role_arn);
    lc->log_stream_name = section_stream(m, logs, c->agent.region);
    const json_t *collected = json_object_get(logs, "logs_collected");
    if (!json_is_object(collected))
        return;
    mb_check_keys(m, collected, "logs.logs_collected", collected_keys);
    if (json_is_object(json_object_get(collected, "files")))
        build_files(m, json_object_get(collected, "files"), c->agent.region, lc);
    if (json_is_object(json_object_get(collected, "journald")))
        cw_model_journald(m, json_object_get(collected, "journald"), c->agent.region, lc);
}
