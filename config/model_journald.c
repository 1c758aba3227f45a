/* model_journald — logs.logs_collected.journald.collect_list and logs.metrics_collected.emf
 * (reference notes inputs-outputs-semantics 2.3 and 2.4): keys, defaults and checks. */
#include "config/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMF_DEFAULT_ADDR "0.0.0.0:25888" /* reference: TCP and UDP on all interfaces */

static const struct mb_keyspec journald_keys[] = {
    {"collect_list", MB_OK},
    {NULL, MB_OK},
};

static const struct mb_keyspec entry_keys[] = {
    {"log_group_name", MB_OK},    {"log_stream_name", MB_OK}, {"log_group_class", MB_OK},
    {"retention_in_days", MB_OK}, {"units", MB_OK},           {"priority", MB_OK},
    {"matches", MB_OK},           {"filters", MB_OK},         {NULL, MB_OK},
};

static const struct mb_keyspec emf_keys[] = {
    {"service_address", MB_OK},
    {NULL, MB_OK},
};

static const char *const PRIORITY_NAMES[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};

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

static void report(struct mb *m, const char *path, const char *key, const char *fmt,
                   const char *what)
{
    char *p = cw_path_key(path, key);
    mb_error(m, p ? p : path, fmt, what);
    free(p);
}

static int parse_priority(struct mb *m, const json_t *item, const char *path)
{
    const json_t *v = json_object_get(item, "priority");
    if (!v)
        return 6; /* reference: info */
    const char *s = json_string_value(v);
    for (int i = 0; s && i < 8; i++)
        if (strcmp(s, PRIORITY_NAMES[i]) == 0 || (s[0] == '0' + i && !s[1]))
            return i;
    report(m, path, "priority",
           "found %s, expected one of emerg, alert, crit, err, warning, notice, info, debug or "
           "\"0\"..\"7\"",
           s ? s : "a non-string");
    return 6;
}

/* A journal field name as journalctl accepts it in a match ([OCC] config_linux.go). */
static int field_ok(const char *k)
{
    if (!*k)
        return 0;
    for (; *k; k++)
        if (!(*k == '_' || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9')))
            return 0;
    return 1;
}

static void build_matches(struct mb *m, const json_t *list, const char *path, struct cw_journald *j)
{
    size_t i, n = json_array_size(list);
    const json_t *obj;
    j->matches = n ? calloc(n, sizeof *j->matches) : NULL;
    if (n && !j->matches) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, obj)
    {
        char *ip = cw_path_index(path, i);
        size_t k = 0, nk = json_object_size(obj);
        struct cw_strlist *sl = &j->matches[j->n_matches];
        if (!ip || !json_is_object(obj) || !nk) {
            mb_error(m, ip ? ip : path, "found %s, expected an object of FIELD: value pairs",
                     json_is_object(obj) ? "an empty object" : "something else");
            free(ip);
            continue;
        }
        sl->v = calloc(nk, sizeof *sl->v);
        if (!sl->v) {
            mb_oom(m);
            free(ip);
            return;
        }
        const char *key;
        const json_t *val;
        json_object_foreach((json_t *)obj, key, val)
        {
            const char *s = json_string_value(val);
            if (!field_ok(key) || !s) {
                mb_error(m, ip,
                         "found field \"%s\", expected a name of A-Z, 0-9 and _ with a "
                         "string value",
                         key);
                continue;
            }
            size_t len = strlen(key) + strlen(s) + 2;
            if ((sl->v[k] = malloc(len)) == NULL) {
                mb_oom(m);
                break;
            }
            snprintf(sl->v[k++], len, "%s=%s", key, s);
        }
        sl->n = k;
        j->n_matches++;
        free(ip);
    }
}

static void build_filters(struct mb *m, const json_t *list, const char *path, struct cw_journald *j)
{
    size_t i, n = json_array_size(list);
    const json_t *item;
    j->filters = n ? calloc(n, sizeof *j->filters) : NULL;
    if (n && !j->filters) {
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
        if (!type || (strcmp(type, "include") != 0 && strcmp(type, "exclude") != 0))
            report(m, ip, "type", "found %s, expected \"include\" or \"exclude\"",
                   type ? type : "nothing");
        else if (!expr)
            report(m, ip, "expression", "found %s, expected a regular expression", "nothing");
        else if (mb_regex_ok(m, expr, ip)) {
            j->filters[j->n_filters].exclude = strcmp(type, "exclude") == 0;
            j->filters[j->n_filters++].expression = expr;
            expr = NULL;
        }
        free(expr);
        free(ip);
    }
}

static void build_entry(struct mb *m, const json_t *item, const char *path, const char *region,
                        struct cw_journald *j)
{
    mb_check_keys(m, item, path, entry_keys);
    j->log_group_name = resolve(m, mb_str(m, item, "log_group_name", path), region);
    if (!j->log_group_name || !*j->log_group_name)
        report(m, path, "log_group_name", "found %s, expected a log group name", "nothing");
    /* reference (setJournaldFieldsFromConfig): not logs.log_stream_name */
    char *s = mb_str(m, item, "log_stream_name", path);
    if (!s || !*s) {
        free(s);
        s = mb_dup(m, m->meta && m->meta->on_ec2 ? "{instance_id}" : "{local_hostname}");
    }
    j->log_stream_name = resolve(m, s, region);
    j->retention_in_days = mb_int(item, "retention_in_days", -1);
    j->priority = parse_priority(m, item, path);
    j->log_group_class = mb_log_group_class(m, item, path);
    const json_t *units = json_object_get(item, "units");
    if (json_is_array(units))
        mb_strlist(m, units, &j->units);
    char *p = cw_path_key(path, "matches");
    if (p && json_is_array(json_object_get(item, "matches")))
        build_matches(m, json_object_get(item, "matches"), p, j);
    free(p);
    p = cw_path_key(path, "filters");
    if (p && json_is_array(json_object_get(item, "filters")))
        build_filters(m, json_object_get(item, "filters"), p, j);
    free(p);
}

void cw_model_journald(struct mb *m, const json_t *journald, const char *region,
                       struct cw_logs_config *lc)
{
    const char *base = "logs.logs_collected.journald";
    mb_check_keys(m, journald, base, journald_keys);
    const json_t *list = json_object_get(journald, "collect_list"), *item;
    size_t i, n = json_array_size(list);
    if (!n) {
        mb_error(m, base, "found no collect_list entries, expected at least one");
        return;
    }
    lc->journald = calloc(n, sizeof *lc->journald);
    if (!lc->journald) {
        mb_oom(m);
        return;
    }
    json_array_foreach(list, i, item)
    {
        char *p = cw_path_index("logs.logs_collected.journald.collect_list", i);
        if (!p) {
            mb_oom(m);
            return;
        }
        build_entry(m, item, p, region, &lc->journald[lc->n_journald++]);
        free(p);
    }
}

/* service_address: "tcp://host:port", "tcp:host:port", "udp://…", "udp:…" (reference: contains
 * "udp" = UDP only, otherwise TCP only). Absent: both on 0.0.0.0:25888. */
void cw_model_emf(struct mb *m, const json_t *emf, struct cw_logs_config *lc)
{
    const char *path = "logs.metrics_collected.emf";
    if (!json_is_object(emf)) {
        mb_error(m, path, "found something else, expected an object");
        return;
    }
    mb_check_keys(m, emf, path, emf_keys);
    lc->emf.present = 1;
    char *sa = mb_str(m, emf, "service_address", path);
    if (!sa || !*sa) {
        free(sa);
        lc->emf.tcp = mb_dup(m, EMF_DEFAULT_ADDR);
        lc->emf.udp = mb_dup(m, EMF_DEFAULT_ADDR);
        return;
    }
    int udp = strstr(sa, "udp") != NULL;
    const char *a = sa;
    if (strncmp(a, "udp", 3) == 0 || strncmp(a, "tcp", 3) == 0) {
        a += 3;
        if (*a == ':')
            a++;
        if (strncmp(a, "//", 2) == 0)
            a += 2;
    }
    const char *colon = strrchr(a, ':');
    if (!colon || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        report(m, path, "service_address",
               "found \"%s\", expected tcp://host:port or udp://host:port", sa);
        free(sa);
        return;
    }
    char *addr = mb_dup(m, a);
    if (udp)
        lc->emf.udp = addr;
    else
        lc->emf.tcp = addr;
    free(sa);
}

void cw_journald_free(struct cw_logs_config *lc)
{
    for (size_t i = 0; i < lc->n_journald; i++) {
        struct cw_journald *j = &lc->journald[i];
        free(j->log_group_name);
        free(j->log_stream_name);
        free(j->log_group_class);
        cw_strlist_free(&j->units);
        for (size_t k = 0; k < j->n_matches; k++)
            cw_strlist_free(&j->matches[k]);
        free(j->matches);
        for (size_t k = 0; k < j->n_filters; k++)
            free(j->filters[k].expression);
        free(j->filters);
    }
    free(lc->journald);
    free(lc->emf.tcp);
    free(lc->emf.udp);
}
