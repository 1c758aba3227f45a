/* model_metrics — the "metrics" section: plugins, measurements (allow-list, rename, unit),
 * drop_original_metrics, append_dimensions, aggregation_dimensions, procstat. */
#include "config/catalog.h"
#include "config/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mb_keyspec metrics_keys[] = {
    {"namespace", MB_OK},
    {"aggregation_dimensions", MB_OK},
    {"append_dimensions", MB_OK},
    {"metrics_collected", MB_OK},
    {"force_flush_interval", MB_OK},
    {"credentials", MB_OK},
    {"endpoint_override", MB_OK},
    {"metrics_destinations", MB_OK}, /* checked below: cloudwatch yes, amp no */
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

static const struct mb_keyspec collected_keys[] = {
    {"cpu", MB_OK},
    {"disk", MB_OK},
    {"diskio", MB_OK},
    {"mem", MB_OK},
    {"swap", MB_OK},
    {"net", MB_OK},
    {"netstat", MB_OK},
    {"processes", MB_OK},
    {"procstat", MB_OK},
    {"system", MB_OK}, /* a cwagent addition: the reference drops it */
    {"statsd", MB_OK},
    {"collectd", MB_OK},
    {"ethtool", MB_OK},
    {"nvidia_gpu", MB_OK},
    {"nvidia_smi", MB_UNSUPPORTED},
    {"efa", MB_UNSUPPORTED},
    {"jmx", MB_UNSUPPORTED},
    {"otlp", MB_UNSUPPORTED},
    {"prometheus", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

/* Keys of one plugin object; `resources` etc. are allowed per plugin below. */
static int plugin_key_ok(const char *plugin, const char *key)
{
    static const char *const common[] = {"measurement", "metrics_collection_interval",
                                         "append_dimensions", "drop_original_metrics", NULL};
    for (size_t i = 0; common[i]; i++)
        if (strcmp(key, common[i]) == 0)
            return 1;
    if (strcmp(key, "resources") == 0)
        return strcmp(plugin, "cpu") == 0 || strcmp(plugin, "disk") == 0 ||
               strcmp(plugin, "diskio") == 0 || strcmp(plugin, "net") == 0;
    if (strcmp(plugin, "cpu") == 0)
        return strcmp(key, "totalcpu") == 0;
    if (strcmp(plugin, "disk") == 0)
        return strcmp(key, "ignore_file_system_types") == 0 || strcmp(key, "drop_device") == 0;
    if (strcmp(plugin, "ethtool") == 0)
        return strcmp(key, "interface_include") == 0 || strcmp(key, "interface_exclude") == 0 ||
               strcmp(key, "metrics_include") == 0;
    if (strcmp(plugin, "nvidia_gpu") == 0)
        return strcmp(key, "bin_path") == 0;
    if (strcmp(plugin, "procstat") == 0)
        return strcmp(key, "pid_file") == 0 || strcmp(key, "exe") == 0 ||
               strcmp(key, "pattern") == 0 || strcmp(key, "pid_finder") == 0;
    return 0;
}

static void check_plugin_keys(struct mb *m, const char *plugin, const json_t *obj, const char *path)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (plugin_key_ok(plugin, k))
            continue;
        char *p = cw_path_key(path, k);
        if (p)
            mb_warn(m, p, "unknown key, not used by cwagent; ignored");
        free(p);
    }
}

/* ---- measurements ---- */

static void fields_text(const char *plugin, char *out, size_t outlen)
{
    const char *const *f = cw_catalog_fields(plugin);
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; f && f[i]; i++) {
        if (!cw_catalog_field_supported(plugin, f[i]))
            continue;
        int n = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "", f[i]);
        if (n < 0 || (size_t)n >= outlen - len)
            break;
        len += (size_t)n;
    }
}

static char *metric_name(struct mb *m, const char *plugin, const char *field)
{
    char *s = NULL;
    if (strcmp(plugin, "procstat") == 0 && strcmp(field, "pid_count") == 0)
        return mb_dup(m, "procstat_lookup_pid_count");
    if (strcmp(plugin, "nvidia_gpu") == 0) /* the reference's measurement is nvidia_smi */
        plugin = "nvidia_smi";
    if (asprintf(&s, "%s_%s", plugin, field) < 0) {
        mb_oom(m);
        return NULL;
    }
    return s;
}

static int has_field(const struct cw_metric_plugin *p, const char *field)
{
    for (size_t i = 0; i < p->n_measurements; i++)
        if (strcmp(p->measurements[i].field, field) == 0)
            return 1;
    return 0;
}

/* Reads one measurement item (string or {name, rename, unit}) into *ms; returns 0 when it was
 * added, 1 when skipped (with a message), -1 on error. */
static int one_measurement(struct mb *m, const char *plugin, const json_t *item, const char *path,
                           struct cw_metric_plugin *p, struct cw_measurement *ms)
{
    const char *name = json_is_string(item) ? json_string_value(item)
                                            : json_string_value(json_object_get(item, "name"));
    if (!name) {
        mb_error(m, path, "found an object without \"name\", expected a measurement name");
        return -1;
    }
    const char *field = cw_catalog_field(plugin, name);
    if (!field) {
        char list[2048];
        fields_text(plugin, list, sizeof list);
        mb_error(m, path, "found \"%s\", expected a %s measurement (one of: %s)", name, plugin,
                 list);
        return -1;
    }
    if (!cw_catalog_field_supported(plugin, field)) {
        mb_warn(m, path, "%s: not supported by cwagent; ignored", name);
        return 1;
    }
    if (has_field(p, field)) {
        mb_warn(m, path, "%s: duplicate measurement; ignored", name);
        return 1;
    }
    memset(ms, 0, sizeof *ms);
    ms->field = mb_dup(m, field);
    const char *rename = json_string_value(json_object_get(item, "rename"));
    ms->name = rename ? mb_dup(m, rename) : metric_name(m, plugin, field);
    const char *unit = json_string_value(json_object_get(item, "unit"));
    if (unit && !cw_catalog_unit(unit))
        mb_warn(m, path,
                "unit \"%s\" is not a CloudWatch unit (Seconds, Bytes, Percent, Count, None, ...); "
                "ignored, the collector's unit is used",
                unit);
    else if (unit)
        ms->unit = mb_dup(m, cw_catalog_unit(unit));
    return 0;
}

static void build_measurements(struct mb *m, const char *plugin, const json_t *obj,
                               const char *path, struct cw_metric_plugin *p)
{
    const json_t *list = json_object_get(obj, "measurement"), *item;
    size_t i, n = json_array_size(list);
    char *lp = cw_path_key(path, "measurement");
    p->measurements = n ? calloc(n, sizeof *p->measurements) : NULL;
    if (!lp || (n && !p->measurements)) {
        free(lp);
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, item)
    {
        char *ip = cw_path_index(lp, i);
        if (ip && one_measurement(m, plugin, item, ip, p, &p->measurements[p->n_measurements]) == 0)
            p->n_measurements++;
        free(ip);
    }
    free(lp);
}

/* drop_original_metrics: names with or without plugin prefix, or a renamed name. */
static void apply_drops(struct mb *m, const char *plugin, const json_t *obj, const char *path,
                        struct cw_metric_plugin *p)
{
    const json_t *list = json_object_get(obj, "drop_original_metrics"), *v;
    size_t i;
    json_array_foreach(list, i, v)
    {
        const char *name = json_string_value(v);
        const char *field = name ? cw_catalog_field(plugin, name) : NULL;
        int hit = 0;
        for (size_t j = 0; name && j < p->n_measurements; j++) {
            struct cw_measurement *ms = &p->measurements[j];
            if ((field && strcmp(ms->field, field) == 0) || strcmp(ms->name, name) == 0) {
                ms->drop_original = 1;
                hit = 1;
            }
        }
        if (!hit) {
            char *lp = cw_path_key(path, "drop_original_metrics");
            char *ip = lp ? cw_path_index(lp, i) : NULL;
            if (ip)
                mb_warn(m, ip, "\"%s\" is not a collected measurement of %s; ignored",
                        name ? name : "?", plugin);
            free(ip);
            free(lp);
        }
    }
}

/* ---- append_dimensions ---- */

void cw_model_plugin_dims(struct mb *m, const json_t *dims, const char *path,
                          struct cw_metric_plugin *p)
{
    const char *k;
    const json_t *v;
    size_t n = json_object_size(dims);
    char *dp = cw_path_key(path, "append_dimensions");
    p->append_dimensions = n ? calloc(n, sizeof *p->append_dimensions) : NULL;
    if (!dp || (n && !p->append_dimensions)) {
        free(dp);
        mb_oom(m);
        return;
    }
    json_object_foreach((json_t *)dims, k, v)
    {
        char *kp = cw_path_key(dp, k), *raw, *val = NULL;
        if (!kp || !json_is_string(v)) {
            free(kp);
            continue;
        }
        if (strcmp(k, "aws:StorageResolution") == 0 || strcmp(k, "aws:AggregationInterval") == 0) {
            mb_warn(m, kp, "reserved dimension name; ignored");
        } else if (!(raw = mb_str(m, dims, k, dp))) {
            mb_oom(m);
        } else {
            if (cw_resolve_aws_value(raw, m->meta, &val) < 0)
                mb_warn(m, kp, "%s: not supported by cwagent; ignored", raw);
            else if (val) {
                p->append_dimensions[p->n_append_dimensions].key = mb_dup(m, k);
                p->append_dimensions[p->n_append_dimensions++].value = val;
            }
            free(raw);
        }
        free(kp);
    }
    free(dp);
}

static void build_global_dims(struct mb *m, const json_t *dims, struct cw_metrics_config *mc)
{
    static const struct {
        const char *key, *value;
        unsigned bit;
    } known[] = {
        {"ImageId", "${aws:ImageId}", CW_DIM_IMAGE_ID},
        {"InstanceId", "${aws:InstanceId}", CW_DIM_INSTANCE_ID},
        {"InstanceType", "${aws:InstanceType}", CW_DIM_INSTANCE_TYPE},
        {"AutoScalingGroupName", "${aws:AutoScalingGroupName}", CW_DIM_ASG_NAME},
    };
    const char *k;
    const json_t *v;
    mc->global_dims |= CW_DIM_PRESENT;
    json_object_foreach((json_t *)dims, k, v)
    {
        size_t i, n = sizeof known / sizeof known[0];
        for (i = 0; i < n; i++)
            if (strcmp(k, known[i].key) == 0 && json_is_string(v) &&
                strcmp(json_string_value(v), known[i].value) == 0)
                break;
        if (i < n) {
            mc->global_dims |= known[i].bit;
            continue;
        }
        char *p = cw_path_key("metrics.append_dimensions", k);
        if (p)
            mb_warn(m, p,
                    "not supported by cwagent; ignored (as by the reference agent, only ImageId, "
                    "InstanceId, InstanceType and AutoScalingGroupName with their ${aws:...} "
                    "values are honoured here)");
        free(p);
    }
}

/* ---- plugins ---- */

static void build_common(struct mb *m, const char *plugin, const json_t *obj, const char *path,
                         int agent_interval, struct cw_metric_plugin *p)
{
    p->enabled = 1;
    p->interval = mb_int(obj, "metrics_collection_interval", agent_interval);
    p->high_resolution = p->interval < 60;
    check_plugin_keys(m, plugin, obj, path);
    build_measurements(m, plugin, obj, path, p);
    apply_drops(m, plugin, obj, path, p);
    if (json_is_object(json_object_get(obj, "append_dimensions")))
        cw_model_plugin_dims(m, json_object_get(obj, "append_dimensions"), path, p);
    if (json_is_array(json_object_get(obj, "resources")))
        mb_strlist(m, json_object_get(obj, "resources"), &p->resources);
    if (strcmp(plugin, "ethtool") == 0)
        return; /* no measurement list: metrics_include (build_plugins) selects statistics */
    if (p->n_measurements == 0 && !m->failed)
        mb_warn(m, path, "no measurement cwagent collects; %s disabled", plugin);
    if (p->n_measurements == 0)
        p->enabled = 0;
}

static void build_procstat_item(struct mb *m, const json_t *obj, const char *path,
                                int agent_interval, struct cw_procstat *ps)
{
    build_common(m, "procstat", obj, path, agent_interval, &ps->common);
    ps->pid_file = mb_str(m, obj, "pid_file", path);
    ps->exe = mb_str(m, obj, "exe", path);
    ps->pattern = mb_str(m, obj, "pattern", path);
    ps->pid_finder = mb_str(m, obj, "pid_finder", path);
    if (!ps->pid_finder)
        ps->pid_finder = mb_dup(m, "native");
    else if (strcmp(ps->pid_finder, "native") != 0) {
        char *p = cw_path_key(path, "pid_finder");
        if (p)
            mb_warn(m, p, "found \"%s\", expected \"native\"; native is used", ps->pid_finder);
        free(p);
    }
    const char *keys[] = {"exe", "pattern"};
    const char *vals[] = {ps->exe, ps->pattern};
    for (int i = 0; i < 2; i++) {
        char *p = vals[i] ? cw_path_key(path, keys[i]) : NULL;
        if (p)
            mb_regex_ok(m, vals[i], p);
        free(p);
    }
}

static void build_procstat(struct mb *m, const json_t *list, int agent_interval,
                           struct cw_metrics_config *mc)
{
    size_t i, n = json_array_size(list);
    const json_t *item;
    mc->procstat = n ? calloc(n, sizeof *mc->procstat) : NULL;
    if (n && !mc->procstat) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, item)
    {
        char *p = cw_path_index("metrics.metrics_collected.procstat", i);
        if (p && json_is_object(item))
            build_procstat_item(m, item, p, agent_interval, &mc->procstat[mc->n_procstat++]);
        free(p);
    }
}

static void build_plugins(struct mb *m, const json_t *collected, int agent_interval,
                          struct cw_metrics_config *mc)
{
    mb_check_keys(m, collected, "metrics.metrics_collected", collected_keys);
    for (int i = 0; i < CW_PLUGIN_COUNT; i++) {
        const char *name = cw_plugin_name((enum cw_plugin_id)i);
        const json_t *obj = json_object_get(collected, name);
        char *p = cw_path_key("metrics.metrics_collected", name);
        if (p && json_is_object(obj))
            build_common(m, name, obj, p, agent_interval, &mc->plugins[i]);
        free(p);
    }
    const json_t *cpu = json_object_get(collected, "cpu");
    const json_t *disk = json_object_get(collected, "disk");
    mc->cpu_totalcpu = mb_bool(cpu, "totalcpu", 1);
    mc->cpu_percpu = mc->plugins[CW_PLUGIN_CPU].resources.n > 0;
    mc->disk_drop_device = mb_bool(disk, "drop_device", 0);
    if (json_is_array(json_object_get(disk, "ignore_file_system_types")))
        mb_strlist(m, json_object_get(disk, "ignore_file_system_types"), &mc->disk_ignore_fs);
    const json_t *eth = json_object_get(collected, "ethtool");
    const char *const eth_keys[] = {"interface_include", "interface_exclude", "metrics_include"};
    struct cw_strlist *eth_lists[] = {&mc->ethtool_include, &mc->ethtool_exclude,
                                      &mc->ethtool_metrics};
    for (int i = 0; i < 3; i++)
        if (json_is_array(json_object_get(eth, eth_keys[i])))
            mb_strlist(m, json_object_get(eth, eth_keys[i]), eth_lists[i]);
    const json_t *gpu = json_object_get(collected, "nvidia_gpu");
    mc->nvidia_bin_path = mb_str(m, gpu, "bin_path", "metrics.metrics_collected.nvidia_gpu");
    if (json_is_array(json_object_get(collected, "procstat")))
        build_procstat(m, json_object_get(collected, "procstat"), agent_interval, mc);
    cw_model_listeners(m, collected, agent_interval, mc);
}

static void build_aggregation(struct mb *m, const json_t *list, struct cw_metrics_config *mc)
{
    size_t i, n = json_array_size(list);
    const json_t *set;
    mc->aggregation_dimensions = n ? calloc(n, sizeof *mc->aggregation_dimensions) : NULL;
    if (n && !mc->aggregation_dimensions) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, set)
    {
        if (mb_strlist(m, set, &mc->aggregation_dimensions[i]) < 0)
            return;
        mc->n_aggregation_dimensions = i + 1;
    }
}

static void check_destinations(struct mb *m, const json_t *dest)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)dest, k, v)
    {
        if (strcmp(k, "cloudwatch") == 0)
            continue;
        char *p = cw_path_key("metrics.metrics_destinations", k);
        if (p)
            mb_warn(m, p, "not supported by cwagent; ignored");
        free(p);
    }
}

void cw_model_metrics(struct mb *m, const json_t *metrics, struct cw_config *c)
{
    struct cw_metrics_config *mc = &c->metrics;
    mc->cpu_totalcpu = 1;
    mc->force_flush_interval = CW_DEFAULT_METRICS_FLUSH;
    if (!json_is_object(metrics))
        return;
    mc->present = 1;
    mb_check_keys(m, metrics, "metrics", metrics_keys);
    mc->namespace = mb_str(m, metrics, "namespace", "metrics");
    if (!mc->namespace || !*mc->namespace) {
        free(mc->namespace);
        mc->namespace = mb_dup(m, CW_DEFAULT_NAMESPACE);
    }
    mc->force_flush_interval = mb_int(metrics, "force_flush_interval", CW_DEFAULT_METRICS_FLUSH);
    mc->endpoint_override = mb_endpoint(m, mb_str(m, metrics, "endpoint_override", "metrics"),
                                        "metrics.endpoint_override");
    mc->role_arn = mb_dup(m, c->agent.role_arn);
    mb_role_arn(m, metrics, "metrics", &mc->role_arn);
    if (json_is_object(json_object_get(metrics, "append_dimensions")))
        build_global_dims(m, json_object_get(metrics, "append_dimensions"), mc);
    if (json_is_array(json_object_get(metrics, "aggregation_dimensions")))
        build_aggregation(m, json_object_get(metrics, "aggregation_dimensions"), mc);
    if (json_is_object(json_object_get(metrics, "metrics_destinations")))
        check_destinations(m, json_object_get(metrics, "metrics_destinations"));
    if (json_is_object(json_object_get(metrics, "metrics_collected")))
        build_plugins(m, json_object_get(metrics, "metrics_collected"),
                      c->agent.metrics_collection_interval, mc);
}
