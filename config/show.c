/* show — the effective configuration as JSON, in the reference's own key names so that the
 * output is itself a valid configuration (defaults written out, placeholders resolved). */
#include "config/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *strlist_json(const struct cw_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

static void set_role(json_t *o, const char *arn)
{
    if (!arn)
        return;
    json_t *c = json_object();
    set_str(c, "role_arn", arn);
    json_object_set_new(o, "credentials", c);
}

static json_t *agent_json(const struct cw_agent_config *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "metrics_collection_interval",
                        json_integer(a->metrics_collection_interval));
    set_str(o, "region", a->region);
    set_role(o, a->role_arn);
    json_object_set_new(o, "debug", json_boolean(a->debug));
    set_str(o, "logfile", a->logfile);
    json_object_set_new(o, "omit_hostname", json_boolean(a->omit_hostname));
    set_str(o, "hostname", a->hostname);
    set_str(o, "run_as_user", a->run_as_user);
    set_str(o, "user_agent", a->user_agent);
    json_t *cw = json_object();
    if (cw && a->prom_listen)
        json_object_set_new(cw, "prometheus", json_pack("{s:s}", "listen", a->prom_listen));
    if (cw && a->rotated_file_quiet_seconds)
        json_object_set_new(cw, "rotated_file_quiet_seconds",
                            json_integer(a->rotated_file_quiet_seconds));
    if (cw && a->log_read_ahead_kb)
        json_object_set_new(cw, "log_read_ahead_kb", json_integer(a->log_read_ahead_kb));
    if (cw && json_object_size(cw))
        json_object_set_new(o, "cwagent", cw);
    else
        json_decref(cw);
    return o;
}

/* Measurements as {name, rename, unit} objects, or plain field names when `plain` (procstat's
 * schema allows strings only). */
static json_t *measurements_json(const struct cw_metric_plugin *p, int plain, json_t **drops)
{
    json_t *a = json_array();
    *drops = NULL;
    for (size_t i = 0; i < p->n_measurements; i++) {
        const struct cw_measurement *ms = &p->measurements[i];
        if (plain) {
            json_array_append_new(a, json_string(ms->field));
        } else {
            json_t *o = json_object();
            set_str(o, "name", ms->field);
            set_str(o, "rename", ms->name);
            set_str(o, "unit", ms->unit);
            json_array_append_new(a, o);
        }
        if (ms->drop_original) {
            if (!*drops)
                *drops = json_array();
            json_array_append_new(*drops, json_string(ms->field));
        }
    }
    return a;
}

static json_t *plugin_json(const struct cw_metric_plugin *p, int plain)
{
    json_t *o = json_object(), *drops;
    json_object_set_new(o, "measurement", measurements_json(p, plain, &drops));
    if (drops)
        json_object_set_new(o, "drop_original_metrics", drops);
    json_object_set_new(o, "metrics_collection_interval", json_integer(p->interval));
    if (p->resources.n)
        json_object_set_new(o, "resources", strlist_json(&p->resources));
    if (p->n_append_dimensions) {
        json_t *d = json_object();
        for (size_t i = 0; i < p->n_append_dimensions; i++)
            set_str(d, p->append_dimensions[i].key, p->append_dimensions[i].value);
        json_object_set_new(o, "append_dimensions", d);
    }
    return o;
}

static json_t *procstat_json(const struct cw_metrics_config *mc)
{
    json_t *a = json_array();
    for (size_t i = 0; i < mc->n_procstat; i++) {
        const struct cw_procstat *ps = &mc->procstat[i];
        json_t *o = plugin_json(&ps->common, 1);
        set_str(o, "pid_file", ps->pid_file);
        set_str(o, "exe", ps->exe);
        set_str(o, "pattern", ps->pattern);
        json_array_append_new(a, o);
    }
    return a;
}

/* ethtool's schema allows only the interface and statistic lists (no measurement). */
static json_t *ethtool_json(const struct cw_metrics_config *mc)
{
    json_t *o = json_object();
    if (mc->ethtool_include.n)
        json_object_set_new(o, "interface_include", strlist_json(&mc->ethtool_include));
    if (mc->ethtool_exclude.n)
        json_object_set_new(o, "interface_exclude", strlist_json(&mc->ethtool_exclude));
    if (mc->ethtool_metrics.n)
        json_object_set_new(o, "metrics_include", strlist_json(&mc->ethtool_metrics));
    return o;
}

/* statsd and collectd with every default written out. */
static void listeners_json(json_t *o, const struct cw_metrics_config *mc)
{
    const struct cw_statsd *sd = &mc->statsd;
    const struct cw_collectd *cd = &mc->collectd;
    static const char *const levels[] = {"none", "sign", "encrypt"};
    if (sd->enabled) {
        json_t *j =
            json_pack("{s:s,s:i,s:i,s:i,s:s}", "service_address", sd->service_address,
                      "metrics_collection_interval", sd->interval, "metrics_aggregation_interval",
                      sd->aggregation_interval, "allowed_pending_messages", sd->allowed_pending,
                      "metric_separator", sd->separator);
        if (j && sd->drop_original.n)
            json_object_set_new(j, "drop_original_metrics", strlist_json(&sd->drop_original));
        json_object_set_new(o, "statsd", j);
    }
    if (cd->enabled) {
        json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:i}", "service_address", cd->service_address,
                              "name_prefix", cd->name_prefix, "collectd_security_level",
                              levels[cd->level], "collectd_auth_file", cd->auth_file,
                              "collectd_typesdb", strlist_json(&cd->typesdb),
                              "metrics_aggregation_interval", cd->aggregation_interval);
        if (j && cd->drop_original.n)
            json_object_set_new(j, "drop_original_metrics", strlist_json(&cd->drop_original));
        if (j && cd->n_append_dimensions) {
            json_t *a = json_object();
            for (size_t i = 0; i < cd->n_append_dimensions; i++)
                set_str(a, cd->append_dimensions[i].key, cd->append_dimensions[i].value);
            json_object_set_new(j, "append_dimensions", a);
        }
        json_object_set_new(o, "collectd", j);
    }
}

static json_t *collected_json(const struct cw_metrics_config *mc)
{
    json_t *o = json_object();
    for (int i = 0; i < CW_PLUGIN_COUNT; i++) {
        const struct cw_metric_plugin *p = &mc->plugins[i];
        if (!p->enabled)
            continue;
        json_t *pj = i == CW_PLUGIN_ETHTOOL ? ethtool_json(mc) : plugin_json(p, 0);
        if (i == CW_PLUGIN_CPU)
            json_object_set_new(pj, "totalcpu", json_boolean(mc->cpu_totalcpu));
        if (i == CW_PLUGIN_NVIDIA_GPU && mc->nvidia_bin_path)
            json_object_set_new(pj, "bin_path", json_string(mc->nvidia_bin_path));
        if (i == CW_PLUGIN_DISK) {
            json_object_set_new(pj, "drop_device", json_boolean(mc->disk_drop_device));
            if (mc->disk_ignore_fs.n)
                json_object_set_new(pj, "ignore_file_system_types",
                                    strlist_json(&mc->disk_ignore_fs));
        }
        json_object_set_new(o, cw_plugin_name((enum cw_plugin_id)i), pj);
    }
    if (mc->n_procstat)
        json_object_set_new(o, "procstat", procstat_json(mc));
    listeners_json(o, mc);
    return o;
}

static json_t *metrics_json(const struct cw_metrics_config *mc)
{
    static const struct {
        unsigned bit;
        const char *key, *value;
    } dims[] = {
        {CW_DIM_IMAGE_ID, "ImageId", "${aws:ImageId}"},
        {CW_DIM_INSTANCE_ID, "InstanceId", "${aws:InstanceId}"},
        {CW_DIM_INSTANCE_TYPE, "InstanceType", "${aws:InstanceType}"},
        {CW_DIM_ASG_NAME, "AutoScalingGroupName", "${aws:AutoScalingGroupName}"},
    };
    json_t *o = json_object();
    set_str(o, "namespace", mc->namespace);
    json_object_set_new(o, "force_flush_interval", json_integer(mc->force_flush_interval));
    set_role(o, mc->role_arn);
    set_str(o, "endpoint_override", mc->endpoint_override);
    if (mc->global_dims) {
        json_t *d = json_object();
        for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
            if (mc->global_dims & dims[i].bit)
                set_str(d, dims[i].key, dims[i].value);
        json_object_set_new(o, "append_dimensions", d);
    }
    if (mc->n_aggregation_dimensions) {
        json_t *a = json_array();
        for (size_t i = 0; i < mc->n_aggregation_dimensions; i++)
            json_array_append_new(a, strlist_json(&mc->aggregation_dimensions[i]));
        json_object_set_new(o, "aggregation_dimensions", a);
    }
    json_object_set_new(o, "metrics_collected", collected_json(mc));
    return o;
}

static json_t *file_json(const struct cw_log_file *f)
{
    json_t *o = json_object();
    set_str(o, "file_path", f->file_path);
    set_str(o, "log_group_name", f->log_group_name);
    set_str(o, "log_stream_name", f->log_stream_name);
    set_str(o, "log_group_class", f->log_group_class);
    set_str(o, "timezone", f->utc ? "UTC" : "Local");
    set_str(o, "timestamp_format", f->timestamp_format);
    json_object_set_new(o, "trim_timestamp", json_boolean(f->trim_timestamp));
    set_str(o, "multi_line_start_pattern", f->multi_line_start_pattern);
    set_str(o, "encoding", f->encoding);
    json_object_set_new(o, "retention_in_days", json_integer(f->retention_in_days));
    json_object_set_new(o, "auto_removal", json_boolean(f->auto_removal));
    json_object_set_new(o, "publish_multi_logs", json_boolean(f->publish_multi_logs));
    set_str(o, "blacklist", f->blacklist);
    if (f->n_filters) {
        json_t *a = json_array();
        for (size_t i = 0; i < f->n_filters; i++)
            json_array_append_new(a, json_pack("{s:s,s:s}", "type",
                                               f->filters[i].exclude ? "exclude" : "include",
                                               "expression", f->filters[i].expression));
        json_object_set_new(o, "filters", a);
    }
    return o;
}

static const char *const PRIORITIES[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};

static json_t *journald_json(const struct cw_journald *j)
{
    json_t *o = json_object();
    set_str(o, "log_group_name", j->log_group_name);
    set_str(o, "log_stream_name", j->log_stream_name);
    set_str(o, "log_group_class", j->log_group_class);
    json_object_set_new(o, "retention_in_days", json_integer(j->retention_in_days));
    set_str(o, "priority", PRIORITIES[j->priority & 7]);
    if (j->units.n)
        json_object_set_new(o, "units", strlist_json(&j->units));
    if (j->n_matches) {
        json_t *a = json_array();
        for (size_t i = 0; i < j->n_matches; i++) {
            json_t *m = json_object();
            for (size_t k = 0; k < j->matches[i].n; k++) {
                const char *pair = j->matches[i].v[k], *eq = strchr(pair, '=');
                char field[256];
                snprintf(field, sizeof field, "%.*s", (int)(eq ? eq - pair : 0), pair);
                json_object_set_new(m, field, json_string(eq ? eq + 1 : ""));
            }
            json_array_append_new(a, m);
        }
        json_object_set_new(o, "matches", a);
    }
    if (j->n_filters) {
        json_t *a = json_array();
        for (size_t i = 0; i < j->n_filters; i++)
            json_array_append_new(a, json_pack("{s:s,s:s}", "type",
                                               j->filters[i].exclude ? "exclude" : "include",
                                               "expression", j->filters[i].expression));
        json_object_set_new(o, "filters", a);
    }
    return o;
}

/* logs.logs_collected.journald and logs.metrics_collected.emf, when configured. */
static void sources_json(json_t *o, const struct cw_logs_config *lc)
{
    if (lc->n_journald) {
        json_t *list = json_array();
        for (size_t i = 0; i < lc->n_journald; i++)
            json_array_append_new(list, journald_json(&lc->journald[i]));
        json_object_set_new(json_object_get(o, "logs_collected"), "journald",
                            json_pack("{s:o}", "collect_list", list));
    }
    if (lc->emf.present) {
        json_t *e = json_object(); /* both protocols: the default, no service_address */
        char sa[600];
        if (!lc->emf.tcp != !lc->emf.udp) {
            snprintf(sa, sizeof sa, "%s://%s", lc->emf.tcp ? "tcp" : "udp",
                     lc->emf.tcp ? lc->emf.tcp : lc->emf.udp);
            json_object_set_new(e, "service_address", json_string(sa));
        }
        json_object_set_new(o, "metrics_collected", json_pack("{s:o}", "emf", e));
    }
}

static json_t *logs_json(const struct cw_logs_config *lc)
{
    json_t *o = json_object(), *files = json_array();
    json_object_set_new(o, "force_flush_interval", json_integer(lc->force_flush_interval));
    set_str(o, "log_stream_name", lc->log_stream_name);
    set_str(o, "endpoint_override", lc->endpoint_override);
    set_role(o, lc->role_arn);
    json_object_set_new(o, "concurrency", json_integer(lc->concurrency));
    for (size_t i = 0; i < lc->n_files; i++)
        json_array_append_new(files, file_json(&lc->files[i]));
    json_object_set_new(o, "logs_collected", json_object());
    if (lc->n_files)
        json_object_set_new(json_object_get(o, "logs_collected"), "files",
                            json_pack("{s:o}", "collect_list", files));
    else
        json_decref(files);
    sources_json(o, lc);
    if (!json_object_size(json_object_get(o, "logs_collected")))
        json_object_del(o, "logs_collected");
    return o;
}

json_t *cw_config_to_json_tree(const struct cw_config *c)
{
    json_t *root = json_object();
    int any_plugin =
        c->metrics.n_procstat > 0 || c->metrics.statsd.enabled || c->metrics.collectd.enabled;
    if (!root)
        return NULL;
    for (int i = 0; i < CW_PLUGIN_COUNT; i++)
        any_plugin |= c->metrics.plugins[i].enabled;
    json_object_set_new(root, "agent", agent_json(&c->agent));
    /* sections with nothing cwagent collects are left out (the schema wants at least one) */
    if (c->metrics.present && any_plugin)
        json_object_set_new(root, "metrics", metrics_json(&c->metrics));
    if (c->logs.present && (c->logs.n_files || c->logs.n_journald || c->logs.emf.present))
        json_object_set_new(root, "logs", logs_json(&c->logs));
    return root;
}

char *cw_config_to_json(const struct cw_config *c)
{
    json_t *root = cw_config_to_json_tree(c);
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return s;
}
