/* model_cwagent — cwagent-only settings under agent.cwagent (the reference agent's schema lets
 * agentDefinition hold extra keys and the reference ignores them, so one file serves both).
 *   agent.cwagent.prometheus.listen  "HOST:PORT", "[V6]:PORT" or ":PORT": serve /metrics
 *   agent.cwagent.rotated_file_quiet_seconds  1..86400: read a rotated log until quiet this long
 *   agent.cwagent.log_read_ahead_kb  64..1048576: log bytes read but not yet accepted
 *   (the last two: docs/rotation.md) */
#include "config/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mb_keyspec cwagent_keys[] = {
    {"prometheus", MB_OK},
    {"rotated_file_quiet_seconds", MB_OK},
    {"log_read_ahead_kb", MB_OK},
    {NULL, MB_OK},
};

static const struct mb_keyspec prometheus_keys[] = {
    {"listen", MB_OK},
    {NULL, MB_OK},
};

/* Checks "HOST:PORT" / "[V6]:PORT" / ":PORT" with PORT in 1..65535; returns 0 or -1. */
static int listen_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon[1] == '\0' || strlen(colon + 1) > 5)
        return -1;
    long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    size_t hn = (size_t)(colon - s);
    if (hn > 0 && s[0] == '[')
        return s[hn - 1] == ']' ? 0 : -1;
    return memchr(s, ':', hn) ? -1 : 0; /* an IPv6 address needs brackets */
}

static void build_prometheus(struct mb *m, const json_t *p, struct cw_agent_config *out)
{
    const char *path = "agent.cwagent.prometheus";
    if (!json_is_object(p)) {
        mb_error(m, path, "expected an object");
        return;
    }
    mb_check_keys(m, p, path, prometheus_keys);
    const json_t *l = json_object_get(p, "listen");
    if (!l)
        return;
    if (!json_is_string(l)) {
        mb_error(m, "agent.cwagent.prometheus.listen", "expected a string \"HOST:PORT\"");
        return;
    }
    char *v = mb_str(m, p, "listen", path);
    if (v && listen_ok(v) != 0) {
        mb_error(m, "agent.cwagent.prometheus.listen",
                 "found \"%s\", expected HOST:PORT, [IPV6]:PORT or :PORT with a port 1-65535", v);
        free(v);
        return;
    }
    out->prom_listen = v;
}

/* An optional integer setting of agent.cwagent in [lo, hi]; 0 when absent. */
static int cwagent_int(struct mb *m, const json_t *c, const char *key, int lo, int hi)
{
    const json_t *v = json_object_get(c, key);
    if (!v)
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi)
        return (int)json_integer_value(v);
    char *p = cw_path_key("agent.cwagent", key);
    if (!p) {
        mb_oom(m);
        return 0;
    }
    mb_error(m, p, "expected an integer from %d to %d", lo, hi);
    free(p);
    return 0;
}

void cw_model_cwagent(struct mb *m, const json_t *agent, struct cw_agent_config *out)
{
    const json_t *c = agent ? json_object_get(agent, "cwagent") : NULL;
    if (!c)
        return;
    if (!json_is_object(c)) {
        mb_error(m, "agent.cwagent", "expected an object");
        return;
    }
    mb_check_keys(m, c, "agent.cwagent", cwagent_keys);
    const json_t *p = json_object_get(c, "prometheus");
    if (p)
        build_prometheus(m, p, out);
    out->rotated_file_quiet_seconds =
        cwagent_int(m, c, "rotated_file_quiet_seconds", 1, CW_MAX_ROTATED_QUIET_S);
    out->log_read_ahead_kb = cwagent_int(m, c, "log_read_ahead_kb", 64, CW_MAX_READ_AHEAD_KB);
}
