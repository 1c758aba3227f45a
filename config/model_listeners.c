/* model_listeners — metrics_collected.statsd and metrics_collected.collectd, with the reference
 * agent's defaults (translator/translate/metrics/metrics_collect/{statsd,collectd}/ rules). */
#include "config/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATSD_DEFAULT_ADDRESS     ":8125"
#define STATSD_DEFAULT_INTERVAL    10
#define STATSD_DEFAULT_PENDING     10000
#define LISTENER_DEFAULT_AGG       60
#define COLLECTD_DEFAULT_ADDRESS   "udp://127.0.0.1:25826"
#define COLLECTD_DEFAULT_PREFIX    "collectd_"
#define COLLECTD_DEFAULT_AUTH_FILE "/etc/collectd/auth_file"
#define COLLECTD_DEFAULT_TYPESDB   "/usr/share/collectd/types.db"

static const struct mb_keyspec statsd_keys[] = {
    {"service_address", MB_OK},
    {"metrics_collection_interval", MB_OK},
    {"metrics_aggregation_interval", MB_OK},
    {"allowed_pending_messages", MB_OK},
    {"metric_separator", MB_OK},
    {"drop_original_metrics", MB_OK},
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

static const struct mb_keyspec collectd_keys[] = {
    {"service_address", MB_OK},
    {"name_prefix", MB_OK},
    {"collectd_auth_file", MB_OK},
    {"collectd_security_level", MB_OK},
    {"collectd_typesdb", MB_OK},
    {"metrics_aggregation_interval", MB_OK},
    {"drop_original_metrics", MB_OK},
    {"append_dimensions", MB_OK},
    {"service.name", MB_UNSUPPORTED},
    {"deployment.environment", MB_UNSUPPORTED},
    {NULL, MB_OK},
};

/* obj[key] (expanded) or a copy of dflt. */
static char *str_or(struct mb *m, const json_t *obj, const char *key, const char *path,
                    const char *dflt)
{
    char *s = mb_str(m, obj, key, path);
    if (s && *s)
        return s;
    free(s);
    return mb_dup(m, dflt);
}

static void build_statsd(struct mb *m, const json_t *obj, struct cw_statsd *sd)
{
    const char *path = "metrics.metrics_collected.statsd";
    mb_check_keys(m, obj, path, statsd_keys);
    sd->enabled = 1;
    sd->service_address = str_or(m, obj, "service_address", path, STATSD_DEFAULT_ADDRESS);
    sd->interval = mb_int(obj, "metrics_collection_interval", STATSD_DEFAULT_INTERVAL);
    if (sd->interval <= 0)
        sd->interval = STATSD_DEFAULT_INTERVAL;
    sd->aggregation_interval = mb_int(obj, "metrics_aggregation_interval", LISTENER_DEFAULT_AGG);
    sd->allowed_pending = mb_int(obj, "allowed_pending_messages", STATSD_DEFAULT_PENDING);
    sd->separator = str_or(m, obj, "metric_separator", path, "_");
    if (json_is_array(json_object_get(obj, "drop_original_metrics")))
        mb_strlist(m, json_object_get(obj, "drop_original_metrics"), &sd->drop_original);
}

static void build_collectd(struct mb *m, const json_t *obj, struct cw_collectd *cd)
{
    const char *path = "metrics.metrics_collected.collectd";
    mb_check_keys(m, obj, path, collectd_keys);
    cd->enabled = 1;
    cd->service_address = str_or(m, obj, "service_address", path, COLLECTD_DEFAULT_ADDRESS);
    cd->name_prefix = str_or(m, obj, "name_prefix", path, COLLECTD_DEFAULT_PREFIX);
    cd->auth_file = str_or(m, obj, "collectd_auth_file", path, COLLECTD_DEFAULT_AUTH_FILE);
    char *level = str_or(m, obj, "collectd_security_level", path, "encrypt");
    if (level && strcmp(level, "none") == 0)
        cd->level = CW_COLLECTD_NONE;
    else if (level && strcmp(level, "sign") == 0)
        cd->level = CW_COLLECTD_SIGN;
    else
        cd->level = CW_COLLECTD_ENCRYPT; /* the schema admits only the three */
    free(level);
    if (json_is_array(json_object_get(obj, "collectd_typesdb")))
        mb_strlist(m, json_object_get(obj, "collectd_typesdb"), &cd->typesdb);
    if (cd->typesdb.n == 0) {
        cw_strlist_free(&cd->typesdb);
        cd->typesdb.v = calloc(1, sizeof(char *));
        if (cd->typesdb.v && (cd->typesdb.v[0] = mb_dup(m, COLLECTD_DEFAULT_TYPESDB)))
            cd->typesdb.n = 1;
    }
    cd->aggregation_interval = mb_int(obj, "metrics_aggregation_interval", LISTENER_DEFAULT_AGG);
    if (json_is_array(json_object_get(obj, "drop_original_metrics")))
        mb_strlist(m, json_object_get(obj, "drop_original_metrics"), &cd->drop_original);
    if (json_is_object(json_object_get(obj, "append_dimensions"))) {
        struct cw_metric_plugin tmp = {0};
        cw_model_plugin_dims(m, json_object_get(obj, "append_dimensions"), path, &tmp);
        cd->append_dimensions = tmp.append_dimensions;
        cd->n_append_dimensions = tmp.n_append_dimensions;
    }
}

void cw_model_listeners(struct mb *m, const json_t *collected, int agent_interval,
                        struct cw_metrics_config *mc)
{
    (void)agent_interval; /* both listeners have their own defaults, as in the reference */
    const json_t *sd = json_object_get(collected, "statsd");
    const json_t *cd = json_object_get(collected, "collectd");
    if (json_is_object(sd))
        build_statsd(m, sd, &mc->statsd);
    if (json_is_object(cd))
        build_collectd(m, cd, &mc->collectd);
}

void cw_listeners_free(struct cw_metrics_config *mc)
{
    free(mc->statsd.service_address);
    free(mc->statsd.separator);
    cw_strlist_free(&mc->statsd.drop_original);
    free(mc->collectd.service_address);
    free(mc->collectd.name_prefix);
    free(mc->collectd.auth_file);
    cw_strlist_free(&mc->collectd.typesdb);
    for (size_t i = 0; i < mc->collectd.n_append_dimensions; i++) {
        free(mc->collectd.append_dimensions[i].key);
        free(mc->collectd.append_dimensions[i].value);
    }
    free(mc->collectd.append_dimensions);
    cw_strlist_free(&mc->collectd.drop_original);
}
