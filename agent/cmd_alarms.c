/* cmd_alarms — `cwagent alarms plan|apply`: the alarm set for this host from the series this
 * configuration publishes (agent/alarms), printed (text, JSON, CloudFormation, Prometheus rules)
 * or applied idempotently with signed CloudWatch calls (JSON 1.0: DescribeAlarms, then
 * PutMetricAlarm only for alarms that differ, DeleteAlarms with --prune) and Auto Scaling's
 * DescribePolicies / PutScalingPolicy (query protocol) with --scaling-policies. */
#include "agent/commands.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/alarms.h"
#include "agent/plan.h"
#include "sigv4/xml.h"

#define CMD               "cwagent alarms"
#define DESCRIBE_MAX_NAME 100 /* API: DescribeAlarms AlarmNames at most 100 */
#define CW_TARGET         "GraniteServiceVersion20100801."

struct alarms_cmd {
    struct plan_args pa;
    struct alarm_opts ao;
    const char *verb;
    const char *format;
    int prune;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent alarms plan|apply -c CONFIG [options]\n\n"
            "The alarms this host needs, bound to the exact series this agent publishes.\n"
            "%s"
            "  --format F              plan output: text (default), json, cloudformation, "
            "prometheus\n"
            "  --mem N, --disk N, --swap N   thresholds in percent (80, 80, 50)\n"
            "  --scale-out N, --scale-in N   Auto Scaling group memory thresholds (70, 30)\n"
            "  --sns ARN               notify this SNS topic on ALARM and OK (repeatable, <= 5)\n"
            "  --scaling-policies      create step scaling policies (+1/-1 instance) for the "
            "group\n"
            "  --prefix P              alarm name prefix (default cwagent)\n"
            "  --prune                 apply: delete this host's alarms no longer planned\n"
            "See docs/alarms.md for what each alarm watches.\n",
            plan_common_help);
}

static int parse(struct alarms_cmd *c, int argc, char **argv)
{
    char err[512];
    if (argc < 2 || (strcmp(argv[1], "plan") != 0 && strcmp(argv[1], "apply") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            usage(stdout);
            return 1;
        }
        usage(stderr);
        return -1;
    }
    c->verb = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = plan_parse_common(&c->pa, argc, argv, &i, CMD);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--scaling-policies") == 0) {
            c->ao.scaling_policies = 1;
            continue;
        } else if (strcmp(a, "--prune") == 0) {
            c->prune = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "%s: %s needs a value (or is unknown)\n", CMD, a);
            return -1;
        }
        if (strcmp(a, "--format") == 0) {
            if (strcmp(v, "text") && strcmp(v, "json") && strcmp(v, "cloudformation") &&
                strcmp(v, "prometheus")) {
                fprintf(stderr,
                        "%s: --format: expected text, json, cloudformation or prometheus, got "
                        "'%s'\n",
                        CMD, v);
                return -1;
            }
            c->format = v;
            i++;
            continue;
        }
        r = alarm_opts_set(&c->ao, a, v, err, sizeof err);
        if (r == 0) {
            fprintf(stderr, "%s: unknown option '%s'\n", CMD, a);
            return -1;
        }
        if (r < 0) {
            fprintf(stderr, "%s: %s\n", CMD, err);
            return -1;
        }
        i++;
    }
    return 0;
}

static int print_plan(const struct alarms_cmd *c, const struct alarm_plan *p)
{
    char *out = strcmp(c->format, "json") == 0             ? alarm_plan_json(p)
                : strcmp(c->format, "cloudformation") == 0 ? alarm_plan_cfn(p)
                : strcmp(c->format, "prometheus") == 0     ? alarm_plan_prometheus(p)
                                                           : alarm_plan_text(p);
    if (!out) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        return 1;
    }
    fputs(out, stdout);
    if (out[0] && out[strlen(out) - 1] != '\n')
        fputc('\n', stdout);
    free(out);
    return 0;
}

/* ---- apply ----------------------------------------------------------------------------------- */

struct applier {
    struct plan_env *e;
    struct aws_client *cw;
    const struct alarm_plan *p;
    json_t *existing; /* AlarmName -> MetricAlarm */
    unsigned created, updated, unchanged, deleted;
};

static int api_error(const char *op, const char *what, const struct plan_result *r)
{
    fprintf(stderr, "%s: %s %s: %s: %s%s%ld%s\n", CMD, op, what, r->code[0] ? r->code : "error",
            r->message, r->status ? " (HTTP " : "", r->status, r->status ? ")" : "");
    return -1;
}

/* Calls CloudWatch with JSON 1.0; *out gets the decoded answer (new ref). */
static int cw_json(struct applier *ap, const char *op, const char *what, json_t *in, json_t **out)
{
    char target[96];
    snprintf(target, sizeof target, CW_TARGET "%s", op);
    char *body = json_dumps(in, JSON_COMPACT);
    struct plan_result r;
    int rc = -1;
    if (!body) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        return -1;
    }
    if (plan_call(ap->e, ap->cw, target, body, &r) != 0 || !r.ok) {
        api_error(op, what, &r);
    } else {
        json_error_t je;
        json_t *o = json_loadb(r.body, r.body_len, 0, &je);
        if (!o && r.body_len > 0)
            fprintf(stderr, "%s: %s: unreadable answer: %s\n", CMD, op, je.text);
        else
            rc = 0;
        if (out)
            *out = o ? o : json_object();
        else
            json_decref(o);
    }
    plan_result_free(&r);
    free(body);
    return rc;
}

static int add_alarms(struct applier *ap, json_t *resp)
{
    json_t *list = json_object_get(resp, "MetricAlarms"), *a;
    size_t i;
    json_array_foreach(list, i, a)
    {
        const char *name = json_string_value(json_object_get(a, "AlarmName"));
        if (name)
            json_object_set(ap->existing, name, a);
    }
    return 0;
}

static int describe(struct applier *ap)
{
    ap->existing = json_object();
    for (size_t start = 0; start < ap->p->n; start += DESCRIBE_MAX_NAME) {
        json_t *names = json_array(), *resp = NULL;
        for (size_t i = start; i < ap->p->n && i < start + DESCRIBE_MAX_NAME; i++)
            json_array_append_new(names, json_string(ap->p->v[i].name));
        json_t *in = json_pack("{s:o,s:i}", "AlarmNames", names, "MaxRecords", 100);
        int rc = cw_json(ap, "DescribeAlarms", "(this host's alarms)", in, &resp);
        json_decref(in);
        if (rc == 0)
            add_alarms(ap, resp);
        json_decref(resp);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static char *dims_key(json_t *dims)
{
    size_t n = json_array_size(dims), len = 1;
    const char **v = calloc(n ? n : 1, sizeof *v);
    char *out = NULL;
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(dims, i);
        v[i] = json_string_value(json_object_get(d, "Name"));
        len += (v[i] ? strlen(v[i]) : 0) + 1024 + 3;
    }
    out = calloc(1, len);
    for (size_t i = 0; out && i < n; i++) { /* sorted insertion of "name=value;" */
        size_t best = n;
        for (size_t j = 0; j < n; j++)
            if (v[j] && (best == n || strcmp(v[j], v[best]) < 0))
                best = j;
        if (best == n)
            break;
        json_t *d = json_array_get(dims, best);
        const char *val = json_string_value(json_object_get(d, "Value"));
        strncat(out, v[best], len - strlen(out) - 1);
        strncat(out, "=", len - strlen(out) - 1);
        strncat(out, val ? val : "", len - strlen(out) - 1);
        strncat(out, ";", len - strlen(out) - 1);
        v[best] = NULL;
    }
    free(v);
    return out;
}

/* The existing alarm has every field of the wanted PutMetricAlarm input, with equal values
 * (numbers by value, dimensions as a set). */
static int same_alarm(json_t *want, json_t *have)
{
    const char *k;
    json_t *w;
    json_object_foreach(want, k, w)
    {
        json_t *h = json_object_get(have, k);
        if (!h && json_is_array(w) && json_array_size(w) == 0)
            continue; /* an empty list may be left out of the answer */
        if (!h)
            return 0;
        if (strcmp(k, "Dimensions") == 0) {
            char *a = dims_key(w), *b = dims_key(h);
            int eq = a && b && strcmp(a, b) == 0;
            free(a);
            free(b);
            if (!eq)
                return 0;
        } else if (json_is_number(w)) {
            if (!json_is_number(h) || fabs(json_number_value(w) - json_number_value(h)) > 1e-9)
                return 0;
        } else if (!json_equal(w, h)) {
            return 0;
        }
    }
    return 1;
}

static int put_alarm(struct applier *ap, const struct alarm_def *a, const char *policy_arn)
{
    json_t *want = alarm_put_params(ap->p, a, policy_arn);
    json_t *have = json_object_get(ap->existing, a->name);
    int rc = 0;
    if (!want) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        return -1;
    }
    if (have && same_alarm(want, have)) {
        ap->unchanged++;
        printf("unchanged %s\n", a->name);
    } else if ((rc = cw_json(ap, "PutMetricAlarm", a->name, want, NULL)) == 0) {
        have ? ap->updated++ : ap->created++;
        printf("%s %s\n", have ? "updated" : "created", a->name);
    }
    json_decref(want);
    return rc;
}

static int xml_is(const char *doc, size_t len, const char *name, const char *want)
{
    char v[128];
    return xml_get(doc, len, name, v, sizeof v) == 0 && strcmp(v, want) == 0;
}

static int xml_num_is(const char *doc, size_t len, const char *name, double want)
{
    char v[64], *end;
    if (xml_get(doc, len, name, v, sizeof v) != 0)
        return 0;
    double d = strtod(v, &end);
    return *end == '\0' && d == want;
}

/* DescribePolicies for the one policy: 1 with its ARN when it exists exactly as planned (step
 * scaling, ChangeInCapacity, one step of +1 above / -1 below the threshold), 0 when it must be
 * put, -1 when the call failed. */
static int same_policy(struct plan_env *e, struct aws_client *as, const struct alarm_plan *p,
                       const char *name, int scaling, char *arn, size_t arnlen)
{
    char *body = alarm_policy_describe_query(p, scaling);
    struct plan_result r;
    if (!body)
        return -1;
    int rc = plan_call(e, as, NULL, body, &r);
    free(body);
    if (rc != 0 || !r.ok) {
        api_error("DescribePolicies", name, &r);
        plan_result_free(&r);
        return -1;
    }
    const char *d = r.body;
    size_t n = r.body_len;
    int same =
        xml_is(d, n, "PolicyName", name) && xml_is(d, n, "PolicyType", "StepScaling") &&
        xml_is(d, n, "AdjustmentType", "ChangeInCapacity") &&
        xml_is(d, n, "MetricAggregationType", "Average") &&
        xml_num_is(d, n, "EstimatedInstanceWarmup", 300) &&
        xml_num_is(d, n, "ScalingAdjustment", scaling) &&
        xml_num_is(d, n, scaling > 0 ? "MetricIntervalLowerBound" : "MetricIntervalUpperBound",
                   0) &&
        xml_get(d, n, "PolicyARN", arn, arnlen) == 0;
    plan_result_free(&r);
    return same;
}

static int put_policy(struct plan_env *e, struct aws_client *as, const struct alarm_plan *p,
                      int scaling, char *arn, size_t arnlen)
{
    char *body = alarm_policy_query(p, scaling), *name = alarm_policy_name(p, scaling);
    struct plan_result r;
    int rc = -1;
    int same = body && name ? same_policy(e, as, p, name, scaling, arn, arnlen) : -1;
    if (!body || !name) {
        fprintf(stderr, "%s: out of memory\n", CMD);
    } else if (same != 0) {
        if (same > 0)
            printf("unchanged scaling policy %s: %s\n", name, arn);
        rc = same > 0 ? 0 : -1;
    } else if (plan_call(e, as, NULL, body, &r) != 0 || !r.ok) {
        api_error("PutScalingPolicy", name, &r);
        plan_result_free(&r);
    } else {
        rc = xml_get(r.body, r.body_len, "PolicyARN", arn, arnlen);
        if (rc != 0)
            fprintf(stderr, "%s: PutScalingPolicy %s: no PolicyARN in the answer\n", CMD, name);
        else
            printf("put scaling policy %s: %s\n", name, arn);
        plan_result_free(&r);
    }
    free(body);
    free(name);
    return rc;
}

/* --prune: this host's (and group's) alarms under the prefix that the plan no longer has. */
static int prune(struct applier *ap, const char *owner)
{
    char prefix[400];
    json_t *resp = NULL, *a;
    snprintf(prefix, sizeof prefix, "%s-%s-", ap->p->opts->prefix, owner);
    json_t *in = json_pack("{s:s,s:i}", "AlarmNamePrefix", prefix, "MaxRecords", 100);
    int rc = cw_json(ap, "DescribeAlarms", prefix, in, &resp);
    json_decref(in);
    json_t *gone = json_array();
    size_t i;
    json_array_foreach(json_object_get(resp, "MetricAlarms"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "AlarmName"));
        int planned = 0;
        for (size_t k = 0; name && k < ap->p->n && !planned; k++)
            planned = strcmp(ap->p->v[k].name, name) == 0;
        if (name && !planned)
            json_array_append_new(gone, json_string(name));
    }
    json_decref(resp);
    if (rc == 0 && json_array_size(gone) > 0) {
        json_t *del = json_pack("{s:O}", "AlarmNames", gone);
        rc = cw_json(ap, "DeleteAlarms", prefix, del, NULL);
        json_decref(del);
        json_array_foreach(gone, i, a)
        {
            if (rc == 0) {
                printf("deleted %s\n", json_string_value(a));
                ap->deleted++;
            }
        }
    }
    json_decref(gone);
    return rc;
}

static int apply_policies(struct plan_env *e, const struct alarm_plan *p, char *out_arn,
                          char *in_arn, size_t len)
{
    if (!p->asg || !p->scaling_policies)
        return 0;
    struct aws_client *as = plan_client(e, "autoscaling", "AUTO_SCALING", NULL);
    int rc = as && put_policy(e, as, p, 1, out_arn, len) == 0 &&
                     put_policy(e, as, p, -1, in_arn, len) == 0
                 ? 0
                 : -1;
    aws_client_free(as);
    return rc;
}

static int apply(struct plan_env *e, const struct alarm_plan *p, int do_prune)
{
    char out_arn[1600] = "", in_arn[1600] = "";
    struct applier ap = {e, NULL, p, NULL, 0, 0, 0, 0};
    int rc = -1;
    if (p->n == 0) {
        fprintf(stderr, "%s: nothing to apply: no alarm could be bound to a published series\n",
                CMD);
        return 2;
    }
    if (apply_policies(e, p, out_arn, in_arn, sizeof out_arn) != 0)
        return 1;
    ap.cw = plan_client(e, "monitoring", "CLOUDWATCH", e->cfg->metrics.endpoint_override);
    if (!ap.cw || describe(&ap) != 0)
        goto out;
    for (size_t i = 0; i < p->n; i++) {
        const struct alarm_def *a = &p->v[i];
        if (put_alarm(&ap, a, a->scaling > 0 ? out_arn : a->scaling < 0 ? in_arn : NULL) != 0)
            goto out;
    }
    if (do_prune && (prune(&ap, plan_env_id(e)) != 0 || (p->asg && prune(&ap, p->asg) != 0)))
        goto out;
    printf("%u created, %u updated, %u unchanged, %u deleted\n", ap.created, ap.updated,
           ap.unchanged, ap.deleted);
    rc = 0;
out:
    json_decref(ap.existing);
    aws_client_free(ap.cw);
    return rc == 0 ? 0 : 1;
}

int cmd_alarms(int argc, char **argv)
{
    struct alarms_cmd c = {0};
    alarm_opts_init(&c.ao);
    c.format = "text";
    int rc = parse(&c, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    struct plan_env e;
    struct alarm_plan p = {0};
    char err[512];
    rc = plan_env_open(&e, &c.pa, 1, CMD);
    if (rc == 0 && alarm_opts_check(&c.ao, e.region, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        rc = 2;
    }
    if (rc == 0 && alarm_plan_build(e.series, &c.ao, plan_env_id(&e), e.asg, &p) != 0) {
        fprintf(stderr, "%s: out of memory\n", CMD);
        rc = 1;
    }
    if (rc == 0)
        rc = strcmp(c.verb, "plan") == 0 ? print_plan(&c, &p) : apply(&e, &p, c.prune);
    alarm_plan_free(&p);
    plan_env_close(&e);
    return rc;
}
