/* cmd_dashboard — `cwagent dashboard plan|apply`: a CloudWatch dashboard for this host built
 * from the series this configuration publishes (agent/dashboard), printed as its body or put
 * with signed CloudWatch calls (JSON 1.0: DescribeAlarms for the alarm widget, GetDashboard, and
 * PutDashboard only when the body changed). */
#include "agent/commands.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/alarms.h"
#include "agent/dashboard.h"
#include "agent/plan.h"

#define CMD        "cwagent dashboard"
#define CW_TARGET  "GraniteServiceVersion20100801."
#define MAX_ALARMS 100 /* alarm widget entries kept */
#define MAX_LOGS   10  /* log groups in the Logs Insights widget */

struct dash_cmd {
    struct plan_args pa;
    struct alarm_opts ao; /* thresholds for annotations, the alarm name prefix */
    const char *verb;
    const char *name;
    int period;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent dashboard plan|apply -c CONFIG [options]\n\n"
            "A CloudWatch dashboard for this host from the exact series this agent publishes.\n"
            "%s"
            "  --name NAME             dashboard name (default <prefix>-<instance id>)\n"
            "  --prefix P              alarm and dashboard name prefix (default cwagent)\n"
            "  --mem N, --disk N       alarm thresholds drawn on the graphs (80, 80)\n"
            "  --period S              graph period: 10, 20, 30 or a multiple of 60 (default 60)\n",
            plan_common_help);
}

static int parse(struct dash_cmd *c, int argc, char **argv)
{
    char err[512];
    if (argc < 2 || (strcmp(argv[1], "plan") != 0 && strcmp(argv[1], "apply") != 0)) {
        int help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
        usage(help ? stdout : stderr);
        return help ? 1 : -1;
    }
    c->verb = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = plan_parse_common(&c->pa, argc, argv, &i, CMD);
        if (r != 0) {
            if (r < 0)
                return -1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (!v) {
            fprintf(stderr, "%s: %s needs a value (or is unknown)\n", CMD, a);
            return -1;
        }
        if (strcmp(a, "--name") == 0) {
            c->name = v;
            i++;
            continue;
        }
        if (strcmp(a, "--period") == 0) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p <= 0 || p > 86400 || (p < 60 && p % 10) || (p >= 60 && p % 60)) {
                fprintf(stderr, "%s: --period: expected 10, 20, 30 or a multiple of 60, got '%s'\n",
                        CMD, v);
                return -1;
            }
            c->period = (int)p;
            i++;
            continue;
        }
        r = strcmp(a, "--sns") == 0 ? 0 : alarm_opts_set(&c->ao, a, v, err, sizeof err);
        if (r <= 0) {
            fprintf(stderr, "%s: %s\n", CMD, r < 0 ? err : "unknown option");
            if (r == 0)
                fprintf(stderr, "%s: unknown option '%s'\n", CMD, a);
            return -1;
        }
        i++;
    }
    return 0;
}

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 255)
        return 0;
    return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

/* Calls CloudWatch with JSON 1.0; *out gets the answer (new ref) when the call succeeded; *code
 * the error code otherwise. */
static int cw_json(struct plan_env *e, struct aws_client *cw, const char *op, json_t *in,
                   json_t **out, char *code, size_t codelen)
{
    char target[96];
    snprintf(target, sizeof target, CW_TARGET "%s", op);
    char *body = json_dumps(in, JSON_COMPACT);
    struct plan_result r;
    int rc = -1;
    *out = NULL;
    if (body && plan_call(e, cw, target, body, &r) == 0 && r.ok) {
        *out = json_loadb(r.body, r.body_len, 0, NULL);
        rc = *out ? 0 : -1;
    }
    if (rc != 0)
        snprintf(code, codelen, "%s: %s", r.code[0] ? r.code : "error", r.message);
    if (body)
        plan_result_free(&r);
    free(body);
    return rc;
}

/* ARNs of the alarms that exist for this host and its group (the alarm widget shows them). */
static size_t alarm_arns(struct plan_env *e, struct aws_client *cw, const char *prefix,
                         json_t *keep, const char **arns)
{
    const char *owners[2] = {plan_env_id(e), e->asg[0] ? e->asg : NULL};
    size_t n = 0;
    for (int k = 0; k < 2 && owners[k]; k++) {
        char pfx[400], code[640];
        json_t *out = NULL, *a;
        snprintf(pfx, sizeof pfx, "%s-%s-", prefix, owners[k]);
        json_t *in = json_pack("{s:s,s:i}", "AlarmNamePrefix", pfx, "MaxRecords", 100);
        if (cw_json(e, cw, "DescribeAlarms", in, &out, code, sizeof code) != 0)
            fprintf(stderr, "%s: DescribeAlarms %s: %s (no alarm widget entries)\n", CMD, pfx,
                    code);
        json_decref(in);
        size_t i;
        json_array_foreach(json_object_get(out, "MetricAlarms"), i, a)
        {
            json_t *arn = json_object_get(a, "AlarmArn");
            if (json_is_string(arn) && n < MAX_ALARMS) {
                json_array_append(keep, arn);
                arns[n++] = json_string_value(arn);
            }
        }
        json_decref(out);
    }
    return n;
}

static size_t log_groups(const struct cw_config *cfg, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->logs.n_files && n < MAX_LOGS; i++) {
        const char *g = cfg->logs.files[i].log_group_name;
        int seen = 0;
        for (size_t k = 0; g && k < n && !seen; k++)
            seen = strcmp(out[k], g) == 0;
        if (g && !seen)
            out[n++] = g;
    }
    return n;
}

static int put(struct plan_env *e, struct aws_client *cw, const char *name, const char *body)
{
    char code[640];
    json_t *out = NULL;
    json_t *in = json_pack("{s:s}", "DashboardName", name);
    int have = cw_json(e, cw, "GetDashboard", in, &out, code, sizeof code) == 0;
    json_decref(in);
    const char *old = json_string_value(json_object_get(out, "DashboardBody"));
    if (have && old && strcmp(old, body) == 0) {
        printf("unchanged dashboard %s\n", name);
        json_decref(out);
        return 0;
    }
    json_decref(out);
    if (!have && strncmp(code, "ResourceNotFound", 16) != 0) {
        fprintf(stderr, "%s: GetDashboard %s: %s\n", CMD, name, code);
        return -1;
    }
    in = json_pack("{s:s,s:s}", "DashboardName", name, "DashboardBody", body);
    int rc = cw_json(e, cw, "PutDashboard", in, &out, code, sizeof code);
    json_decref(in);
    if (rc != 0) {
        fprintf(stderr, "%s: PutDashboard %s: %s\n", CMD, name, code);
        return -1;
    }
    json_t *msgs = json_object_get(out, "DashboardValidationMessages"), *m;
    size_t i;
    json_array_foreach(msgs, i, m)
    {
        fprintf(stderr, "%s: %s: %s\n", CMD, json_string_value(json_object_get(m, "DataPath")),
                json_string_value(json_object_get(m, "Message")));
    }
    json_decref(out);
    printf("%s dashboard %s\n", have ? "updated" : "created", name);
    return 0;
}

static int run(struct dash_cmd *c, struct plan_env *e)
{
    char name[300];
    const char *arns[MAX_ALARMS], *logs[MAX_LOGS];
    json_t *keep = json_array();
    struct aws_client *cw = NULL;
    int apply = strcmp(c->verb, "apply") == 0, rc = 1;
    if (c->name)
        snprintf(name, sizeof name, "%s", c->name);
    else
        dashboard_name(c->ao.prefix, plan_env_id(e), name, sizeof name);
    if (!valid_name(name)) {
        fprintf(stderr, "%s: --name: 1 to 255 of A-Z a-z 0-9 - _, got '%s'\n", CMD, name);
        json_decref(keep);
        return 2;
    }
    struct dashboard_opts o = {0};
    o.title = e->asg[0] ? e->asg : plan_env_id(e);
    o.region = e->region;
    o.mem_threshold = c->ao.mem;
    o.disk_threshold = c->ao.disk;
    o.period = c->period;
    o.log_groups = logs;
    o.nlogs = log_groups(e->cfg, logs);
    o.alarm_arns = arns;
    if (apply) {
        cw = plan_client(e, "monitoring", "CLOUDWATCH", e->cfg->metrics.endpoint_override);
        if (!cw)
            goto out;
        o.nalarms = alarm_arns(e, cw, c->ao.prefix, keep, arns);
    }
    char *body = dashboard_body(e->series, &o);
    if (!body) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        goto out;
    }
    if (apply) {
        rc = put(e, cw, name, body) == 0 ? 0 : 1;
    } else {
        json_t *pretty = json_loads(body, 0, NULL);
        char *text = json_dumps(pretty, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("{\"DashboardName\": \"%s\", \"DashboardBody\": %s}\n", name, text ? text : body);
        free(text);
        json_decref(pretty);
        rc = 0;
    }
    free(body);
out:
    aws_client_free(cw);
    json_decref(keep);
    return rc;
}

int cmd_dashboard(int argc, char **argv)
{
    struct dash_cmd c = {0};
    alarm_opts_init(&c.ao);
    int rc = parse(&c, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    struct plan_env e;
    rc = plan_env_open(&e, &c.pa, 1, CMD);
    if (rc == 0)
        rc = run(&c, &e);
    plan_env_close(&e);
    return rc;
}
