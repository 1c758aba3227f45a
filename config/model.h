/* model.h — helpers shared by model.c, model_metrics.c and model_logs.c (config-internal). */
#ifndef CW_CONFIG_MODEL_H
#define CW_CONFIG_MODEL_H

#include "config/internal.h"

/* The model builder's state: where to report, the metadata, and whether it failed. */
struct mb {
    struct cw_load_ctx *lc;
    const struct cw_config_meta *meta;
    const char *(*getenv_fn)(const char *);
    int failed;
    int oom;
};

enum mb_what { MB_OK = 0, MB_UNSUPPORTED, MB_TELEGRAF };

/* Keys an object may hold: MB_OK ones are implemented, the others get one warning each; keys
 * not listed get an "unknown key" warning. Terminated by {NULL, 0}. */
struct mb_keyspec {
    const char *key;
    enum mb_what what;
};

void mb_error(struct mb *m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mb_warn(struct mb *m, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mb_oom(struct mb *m);
/* 1 when r looks like an AWS region name ([a-z0-9-]+). */
int mb_region_ok(const char *r);
/* Checks an endpoint_override (takes and returns ownership of url): a bare host gets
 * "https://" as the reference does, another scheme is an error, plain http:// to a host that is
 * not loopback a warning. */
char *mb_endpoint(struct mb *m, char *url, const char *path);
/* obj[key] as a string with ${ENV} expanded (malloc'd), or NULL when absent / not a string.
 * `path` is obj's path (for the unset-variable warning). */
char *mb_str(struct mb *m, const json_t *obj, const char *key, const char *path);
/* log_group_class of a logs entry, upper-cased; NULL (warned) when absent or not a class. */
char *mb_log_group_class(struct mb *m, const json_t *item, const char *path);
char *mb_dup(struct mb *m, const char *s);
int mb_int(const json_t *obj, const char *key, int dflt);
int mb_bool(const json_t *obj, const char *key, int dflt);
int mb_strlist(struct mb *m, const json_t *arr, struct cw_strlist *out);
void mb_check_keys(struct mb *m, const json_t *obj, const char *path,
                   const struct mb_keyspec *spec);
/* Compiles `re` with PCRE2; reports an error at `path` and returns 0 when it does not. */
int mb_regex_ok(struct mb *m, const char *re, const char *path);
/* section.credentials.role_arn (expanded) into *out, replacing what was there. */
void mb_role_arn(struct mb *m, const json_t *section, const char *path, char **out);
void cw_strlist_free(struct cw_strlist *l);

void cw_model_metrics(struct mb *m, const json_t *metrics, struct cw_config *c);
/* A plugin's append_dimensions object at `path` into p (resolving ${aws:...} values). */
void cw_model_plugin_dims(struct mb *m, const json_t *dims, const char *path,
                          struct cw_metric_plugin *p);
/* metrics_collected.statsd and .collectd (model_listeners.c). */
void cw_model_listeners(struct mb *m, const json_t *collected, int agent_interval,
                        struct cw_metrics_config *mc);
void cw_listeners_free(struct cw_metrics_config *mc);
/* agent.cwagent: cwagent-only settings (model_cwagent.c). */
void cw_model_cwagent(struct mb *m, const json_t *agent, struct cw_agent_config *out);
void cw_model_logs(struct mb *m, const json_t *logs, struct cw_config *c);
/* model_journald.c: logs.logs_collected.journald and logs.metrics_collected.emf. */
void cw_model_journald(struct mb *m, const json_t *journald, const char *region,
                       struct cw_logs_config *lc);
void cw_model_emf(struct mb *m, const json_t *emf, struct cw_logs_config *lc);
void cw_journald_free(struct cw_logs_config *lc);

#endif
