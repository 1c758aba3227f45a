#include "agent/alarms.h"

#include "common/buf.h"
#include "sigv4/uri.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Cap of an Auto Scaling query body (names are at most 255 bytes, 3x when encoded). */
#define ALARM_QUERY_MAX 8192

#define ALARM_MAX_DISKS 64  /* per-mount disk alarms */
#define NAME_MAX_LEN    255 /* API: AlarmName 1..255 */

void alarm_opts_init(struct alarm_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mem = 80;
    o->disk = 80;
    o->swap = 50;
    o->scale_out = 70;
    o->scale_in = 30;
    o->prefix = "cwagent";
}

static int parse_percent(const char *flag, const char *v, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || *end || !isfinite(d) || d < 0 || d > 100) {
        snprintf(err, errlen, "%s: expected a percentage between 0 and 100, got '%s'", flag, v);
        return -1;
    }
    *out = d;
    return 0;
}

/* arn:<partition>:sns:<region>:<12-digit account>:<topic> */
static int valid_sns_arn(const char *v)
{
    char part[32], region[32], acct[16], topic[300];
    const char *p = v;
    const char *f[5];
    if (strncmp(p, "arn:", 4) != 0)
        return 0;
    p += 4;
    for (int i = 0; i < 5; i++) {
        f[i] = p;
        const char *c = i < 4 ? strchr(p, ':') : p + strlen(p);
        if (!c)
            return 0;
        size_t n = (size_t)(c - p);
        char *dst = i == 0 ? part : i == 2 ? region : i == 3 ? acct : i == 4 ? topic : NULL;
        size_t cap = i == 0   ? sizeof part
                     : i == 2 ? sizeof region
                     : i == 3 ? sizeof acct
                              : sizeof topic;
        if (i == 1 && (n != 3 || strncmp(p, "sns", 3) != 0))
            return 0;
        if (dst) {
            if (n == 0 || n >= cap)
                return 0;
            memcpy(dst, p, n);
            dst[n] = '\0';
        }
        p = *c ? c + 1 : c;
    }
    (void)f;
    if (strncmp(part, "aws", 3) != 0 || strlen(acct) != 12)
        return 0;
    for (const char *c = acct; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    for (const char *c = topic; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            return 0;
    return 1;
}

int alarm_opts_set(struct alarm_opts *o, const char *flag, const char *value, char *err,
                   size_t errlen)
{
    static const struct {
        const char *flag;
        size_t off;
    } pct[] = {
        {"--mem", offsetof(struct alarm_opts, mem)},
        {"--disk", offsetof(struct alarm_opts, disk)},
        {"--swap", offsetof(struct alarm_opts, swap)},
        {"--scale-out", offsetof(struct alarm_opts, scale_out)},
        {"--scale-in", offsetof(struct alarm_opts, scale_in)},
    };
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
        if (strcmp(flag, pct[i].flag) == 0)
            return parse_percent(flag, value, (double *)((char *)o + pct[i].off), err, errlen) == 0
                       ? 1
                       : -1;
    if (strcmp(flag, "--prefix") == 0) {
        for (const char *c = value; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
                snprintf(err, errlen, "--prefix: only letters, digits, '-' and '_', got '%s'",
                         value);
                return -1;
            }
        if (!*value || strlen(value) > 64) {
            snprintf(err, errlen, "--prefix: 1 to 64 characters, got '%s'", value);
            return -1;
        }
        o->prefix = value;
        return 1;
    }
    if (strcmp(flag, "--sns") != 0)
        return 0;
    if (!valid_sns_arn(value)) {
        snprintf(
            err, errlen,
            "--sns: '%s' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT(12 digits):TOPIC)",
            value);
        return -1;
    }
    if (o->nactions == ALARM_MAX_ACTIONS) {
        snprintf(err, errlen, "--sns: at most %d topics (the API's limit per alarm)",
                 ALARM_MAX_ACTIONS);
        return -1;
    }
    o->actions[o->nactions++] = value;
    return 1;
}

int alarm_opts_check(const struct alarm_opts *o, const char *region, char *err, size_t errlen)
{
    if (o->scale_in >= o->scale_out) {
        snprintf(err, errlen,
                 "--scale-in %g must be below --scale-out %g (otherwise the group flaps)",
                 o->scale_in, o->scale_out);
        return -1;
    }
    for (size_t i = 0; i < o->nactions; i++) {
        const char *r = strchr(o->actions[i] + 4, ':'); /* after the partition */
        r = r ? strchr(r + 1, ':') : NULL;              /* after "sns" */
        size_t n = strlen(region);
        if (!r || strncmp(r + 1, region, n) != 0 || r[1 + n] != ':') {
            snprintf(err, errlen,
                     "--sns: %s is not in region %s (an alarm can only notify topics of its "
                     "own region)",
                     o->actions[i], region);
            return -1;
        }
    }
    return 0;
}

/* ---- building the plan ----------------------------------------------------------------------- */

static int add_note(struct alarm_plan *p, const char *fmt, const char *a, const char *b)
{
    char **nv = realloc(p->notes, (p->nnotes + 1) * sizeof *nv);
    if (!nv)
        return -1;
    p->notes = nv;
    char *s = NULL;
    if (asprintf(&s, fmt, a, b ? b : "") < 0)
        return -1;
    p->notes[p->nnotes++] = s;
    return 0;
}

/* "/" -> "root", "/var/log" -> "var-log"; characters outside [A-Za-z0-9._-] become '-'. */
static void mount_slug(const char *path, char *out, size_t n)
{
    if (!path || strcmp(path, "/") == 0) {
        snprintf(out, n, "root");
        return;
    }
    size_t w = 0;
    for (const char *c = path[0] == '/' ? path + 1 : path; *c && w + 1 < n; c++)
        out[w++] = (isalnum((unsigned char)*c) || *c == '.' || *c == '_') ? *c : '-';
    out[w] = '\0';
}

static struct alarm_def *add_alarm(struct alarm_plan *p, const char *kind,
                                   const struct series_item *s, const char *suffix,
                                   const char *owner)
{
    struct alarm_def *nv = realloc(p->v, (p->n + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    p->v = nv;
    struct alarm_def *a = &p->v[p->n];
    memset(a, 0, sizeof *a);
    if (asprintf(&a->name, "%s-%s-%s", p->opts->prefix, owner, suffix) < 0) {
        a->name = NULL;
        return NULL;
    }
    if (strlen(a->name) > NAME_MAX_LEN)
        a->name[NAME_MAX_LEN] = '\0';
    p->n++;
    a->kind = kind;
    a->series = s;
    a->stat = "Average";
    a->period = 300;
    a->eval = a->datapoints = 1;
    a->op = "GreaterThanThreshold";
    a->missing = "missing";
    return a;
}

static int describe(struct alarm_def *a, const char *fmt, double v, const char *extra)
{
    return asprintf(&a->description, fmt, v, extra ? extra : "") < 0 ? -1 : 0;
}

/* Per-instance candidates: originals, else roll-ups that still name the instance. */
static size_t instance_series(const struct series_set *s, const char *name,
                              const struct series_item **out, size_t max)
{
    const struct series_item *all[ALARM_MAX_DISKS * 4];
    size_t n = series_by_name(s, name, all, sizeof all / sizeof all[0]), k = 0;
    if (n > sizeof all / sizeof all[0])
        n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n && k < max; i++)
        if (!all[i]->is_rollup)
            out[k++] = all[i];
    for (size_t i = 0; k == 0 && i < n && k < max; i++)
        if (series_dim(all[i], "InstanceId") || series_dim(all[i], "host"))
            out[k++] = all[i];
    return k;
}

static int single(struct alarm_plan *p, const struct series_set *s, const char *id,
                  const char *metric, const char *kind, const char *suffix, double thr,
                  const char *what)
{
    const struct series_item *one[1];
    if (instance_series(s, metric, one, 1) == 0)
        return add_note(p, "no %s alarm: this configuration publishes no per-instance %s series",
                        kind, metric);
    struct alarm_def *a = add_alarm(p, kind, one[0], suffix, id);
    if (!a)
        return -1;
    a->threshold = thr;
    if (strcmp(kind, "mem") == 0)
        a->eval = a->datapoints = 2;
    if (strcmp(kind, "swap") == 0)
        a->eval = a->datapoints = 3;
    return describe(a, "%g%% threshold: %s (cwagent)", thr, what);
}

static int disks(struct alarm_plan *p, const struct series_set *s, const char *id)
{
    const struct series_item *d[ALARM_MAX_DISKS];
    size_t n = instance_series(s, "disk_used_percent", d, ALARM_MAX_DISKS);
    if (n == 0)
        return add_note(p, "no disk alarms: this configuration publishes no per-instance %s%s",
                        "disk_used_percent series", NULL);
    for (size_t i = 0; i < n; i++) {
        char slug[128], suffix[160];
        const char *path = series_dim(d[i], "path");
        mount_slug(path, slug, sizeof slug);
        snprintf(suffix, sizeof suffix, "disk-%s", slug);
        struct alarm_def *a = add_alarm(p, "disk", d[i], suffix, id);
        if (!a)
            return -1;
        a->threshold = p->opts->disk;
        if (describe(a, "%g%% threshold: disk space used on %s (cwagent)", p->opts->disk,
                     path ? path : "?") != 0)
            return -1;
    }
    return 0;
}

static int heartbeat(struct alarm_plan *p, const struct series_set *s, const char *id)
{
    static const char *const always[] = {"mem_used_percent", "cpu_usage_active", "cpu_usage_idle",
                                         "disk_used_percent"};
    const struct series_item *one[1];
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) {
        if (instance_series(s, always[i], one, 1) == 0)
            continue;
        struct alarm_def *a = add_alarm(p, "heartbeat", one[0], "heartbeat", id);
        if (!a)
            return -1;
        a->stat = "SampleCount";
        a->eval = a->datapoints = 2;
        a->threshold = 1;
        a->op = "LessThanThreshold";
        a->missing = "breaching";
        return describe(a, "fewer than %g sample per 5 minutes of %s: the agent stopped reporting",
                        1.0, always[i]);
    }
    return add_note(p, "no heartbeat alarm: none of mem_used_percent, cpu_usage_active, %s%s",
                    "cpu_usage_idle, disk_used_percent is published per instance", NULL);
}

static int scale(struct alarm_plan *p, const struct series_set *s, const char *asg)
{
    static const char *const only_asg[] = {"AutoScalingGroupName"};
    const struct series_item *it = series_find(s, "mem_used_percent", only_asg, 1);
    if (!it || strcmp(series_dim(it, "AutoScalingGroupName"), asg) != 0)
        return add_note(p,
                        "no scale-out/scale-in alarms for %s: mem_used_percent is not published "
                        "by AutoScalingGroupName alone; add \"aggregation_dimensions\": "
                        "[[\"AutoScalingGroupName\"]] and \"append_dimensions\" with "
                        "AutoScalingGroupName to the metrics section%s",
                        asg, NULL);
    if (!(p->asg = strdup(asg)))
        return -1;
    for (int dir = 1; dir >= -1; dir -= 2) {
        struct alarm_def *a = add_alarm(p, dir > 0 ? "scale-out" : "scale-in", it,
                                        dir > 0 ? "scale-out" : "scale-in", asg);
        if (!a)
            return -1;
        a->period = 60;
        a->eval = a->datapoints = 3;
        a->threshold = dir > 0 ? p->opts->scale_out : p->opts->scale_in;
        a->op = dir > 0 ? "GreaterThanOrEqualToThreshold" : "LessThanOrEqualToThreshold";
        a->scaling = p->scaling_policies ? dir : 0;
        if (describe(a,
                     dir > 0 ? "%g%% threshold: group memory high, add an instance%s"
                             : "%g%% threshold: group memory low, remove an instance%s",
                     a->threshold, NULL) != 0)
            return -1;
    }
    return 0;
}

int alarm_plan_build(const struct series_set *s, const struct alarm_opts *o, const char *id,
                     const char *asg, struct alarm_plan *out)
{
    memset(out, 0, sizeof *out);
    out->ns = series_namespace(s);
    out->opts = o;
    out->scaling_policies = o->scaling_policies;
    int rc = single(out, s, id, "mem_used_percent", "mem", "mem-high", o->mem, "memory used");
    if (rc == 0)
        rc = disks(out, s, id);
    if (rc == 0)
        rc = single(out, s, id, "swap_used_percent", "swap", "swap-high", o->swap, "swap used");
    if (rc == 0)
        rc = heartbeat(out, s, id);
    if (rc == 0 && asg && *asg)
        rc = scale(out, s, asg);
    if (rc == 0 && o->scaling_policies && !out->asg)
        rc = add_note(out, "--scaling-policies: no Auto Scaling group alarms, so no policies%s%s",
                      "", NULL);
    if (rc != 0)
        alarm_plan_free(out);
    return rc;
}

void alarm_plan_free(struct alarm_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].description);
    }
    free(p->v);
    for (size_t i = 0; i < p->nnotes; i++)
        free(p->notes[i]);
    free(p->notes);
    free(p->asg);
    memset(p, 0, sizeof *p);
}

/* ---- API shapes ------------------------------------------------------------------------------ */

static json_t *dims_json(const struct series_item *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->ndims; i++)
        json_array_append_new(
            a, json_pack("{s:s,s:s}", "Name", s->dims[i].name, "Value", s->dims[i].value));
    return a;
}

static json_t *actions_json(const struct alarm_opts *o, const char *extra)
{
    json_t *a = json_array();
    if (extra)
        json_array_append_new(a, json_string(extra));
    for (size_t i = 0; i < o->nactions; i++)
        json_array_append_new(a, json_string(o->actions[i]));
    return a;
}

json_t *alarm_put_params(const struct alarm_plan *p, const struct alarm_def *a,
                         const char *policy_arn)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:b,s:s,s:s,s:o,s:s,s:i,s:i,s:i,s:f,s:s,s:s}", "AlarmName", a->name,
        "AlarmDescription", a->description, "ActionsEnabled", 1, "Namespace", p->ns, "MetricName",
        a->series->name, "Dimensions", dims_json(a->series), "Statistic", a->stat, "Period",
        a->period, "EvaluationPeriods", a->eval, "DatapointsToAlarm", a->datapoints, "Threshold",
        a->threshold, "ComparisonOperator", a->op, "TreatMissingData", a->missing);
    if (!o)
        return NULL;
    /* Always both lists (empty when none), so that an apply without --sns clears actions an
     * earlier apply set. */
    json_t *acts = actions_json(p->opts, a->scaling ? policy_arn : NULL);
    json_object_set(o, "AlarmActions", acts);
    if (a->scaling)
        json_object_set_new(o, "OKActions", json_array());
    else
        json_object_set(o, "OKActions", acts);
    json_decref(acts);
    return o;
}

char *alarm_policy_name(const struct alarm_plan *p, int scaling)
{
    char *s = NULL;
    return asprintf(&s, "%s-%s-%s", p->opts->prefix, p->asg ? p->asg : "",
                    scaling > 0 ? "scale-out" : "scale-in") < 0
               ? NULL
               : s;
}

/* head + encoded group name + name_key + encoded policy name + tail: the Auto Scaling query
 * bodies (form values percent-encoded with the RFC 3986 unreserved set, as the signer does). */
static char *policy_query(const struct alarm_plan *p, int scaling, const char *head,
                          const char *name_key, const char *tail)
{
    char *name = alarm_policy_name(p, scaling);
    if (!name)
        return NULL;
    struct cw_buf b;
    cw_buf_init(&b, ALARM_QUERY_MAX);
    int rc = cw_buf_append_str(&b, head);
    rc |= sigv4_uri_encode(&b, p->asg, strlen(p->asg), 0);
    rc |= cw_buf_append_str(&b, name_key);
    rc |= sigv4_uri_encode(&b, name, strlen(name), 0);
    rc |= cw_buf_append_str(&b, tail);
    free(name);
    if (rc != 0) {
        cw_buf_free(&b);
        return NULL;
    }
    return cw_buf_detach(&b, NULL);
}

char *alarm_policy_query(const struct alarm_plan *p, int scaling)
{
    char tail[256];
    snprintf(tail, sizeof tail,
             "&PolicyType=StepScaling&AdjustmentType=ChangeInCapacity"
             "&MetricAggregationType=Average&EstimatedInstanceWarmup=300"
             "&StepAdjustments.member.1.%s=0&StepAdjustments.member.1.ScalingAdjustment=%d",
             scaling > 0 ? "MetricIntervalLowerBound" : "MetricIntervalUpperBound",
             scaling > 0 ? 1 : -1);
    return policy_query(
        p, scaling,
        "Action=PutScalingPolicy&Version=2011-01-01&AutoScalingGroupName=", "&PolicyName=", tail);
}

char *alarm_policy_describe_query(const struct alarm_plan *p, int scaling)
{
    return policy_query(p, scaling,
                        "Action=DescribePolicies&Version=2011-01-01&AutoScalingGroupName=",
                        "&PolicyNames.member.1=", "");
}

/* ---- renderings ------------------------------------------------------------------------------ */

static const char *op_symbol(const char *op)
{
    return strcmp(op, "GreaterThanThreshold") == 0            ? ">"
           : strcmp(op, "GreaterThanOrEqualToThreshold") == 0 ? ">="
           : strcmp(op, "LessThanThreshold") == 0             ? "<"
                                                              : "<=";
}

/* Closes an open_memstream stream (which sets *buf) and returns *buf, or NULL on error. */
static char *close_stream(FILE *f, char **buf)
{
    int bad = ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        free(*buf);
        return NULL;
    }
    return *buf;
}

char *alarm_plan_text(const struct alarm_plan *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%zu alarms in namespace %s (every dimension set is one this agent publishes):\n",
            p->n, p->ns);
    for (size_t i = 0; i < p->n; i++) {
        const struct alarm_def *a = &p->v[i];
        fprintf(f, "\n  %s\n    %s %s", a->name, a->stat, a->series->name);
        for (size_t d = 0; d < a->series->ndims; d++)
            fprintf(f, "%s%s=%s", d ? "," : " {", a->series->dims[d].name,
                    a->series->dims[d].value);
        fprintf(f, "%s %s %g over %d of %d x %d s (missing data: %s)\n",
                a->series->ndims ? "}" : "", op_symbol(a->op), a->threshold, a->datapoints, a->eval,
                a->period, a->missing);
        fprintf(f, "    %s\n", a->description);
        if (a->scaling)
            fprintf(f, "    action: step scaling policy %s-%s-%s (%+d instance)\n", p->opts->prefix,
                    p->asg, a->scaling > 0 ? "scale-out" : "scale-in", a->scaling);
        for (size_t k = 0; k < p->opts->nactions; k++)
            fprintf(f, "    notify: %s\n", p->opts->actions[k]);
    }
    for (size_t i = 0; i < p->nnotes; i++)
        fprintf(f, "\nnote: %s\n", p->notes[i]);
    return close_stream(f, &buf);
}

static json_t *policy_json(const struct alarm_plan *p, int scaling)
{
    char *name = alarm_policy_name(p, scaling);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:[{s:f,s:i}]}", "AutoScalingGroupName", p->asg,
                          "PolicyName", name ? name : "", "PolicyType", "StepScaling",
                          "AdjustmentType", "ChangeInCapacity", "MetricAggregationType", "Average",
                          "EstimatedInstanceWarmup", 300, "StepAdjustments",
                          scaling > 0 ? "MetricIntervalLowerBound" : "MetricIntervalUpperBound",
                          0.0, "ScalingAdjustment", scaling);
    free(name);
    return o;
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return s;
}

char *alarm_plan_json(const struct alarm_plan *p)
{
    json_t *o = json_pack("{s:s,s:[],s:[],s:[]}", "namespace", p->ns, "alarms", "scaling_policies",
                          "notes");
    if (!o)
        return NULL;
    json_t *alarms = json_object_get(o, "alarms");
    for (size_t i = 0; i < p->n; i++) {
        const char *arn = p->v[i].scaling ? "(the scaling policy's PolicyARN)" : NULL;
        json_array_append_new(alarms, alarm_put_params(p, &p->v[i], arn));
    }
    if (p->asg && p->scaling_policies) {
        json_array_append_new(json_object_get(o, "scaling_policies"), policy_json(p, 1));
        json_array_append_new(json_object_get(o, "scaling_policies"), policy_json(p, -1));
    }
    for (size_t i = 0; i < p->nnotes; i++)
        json_array_append_new(json_object_get(o, "notes"), json_string(p->notes[i]));
    return dump(o);
}

/* A CloudFormation logical id: letters and digits only. */
static void logical_id(const char *name, char *out, size_t n)
{
    size_t w = 0;
    int up = 1;
    for (const char *c = name; *c && w + 1 < n; c++) {
        if (!isalnum((unsigned char)*c)) {
            up = 1;
            continue;
        }
        out[w++] = up ? (char)toupper((unsigned char)*c) : *c;
        up = 0;
    }
    out[w] = '\0';
}

static json_t *cfn_policy(const struct alarm_plan *p, int scaling)
{
    char *name = alarm_policy_name(p, scaling);
    json_t *o = json_pack(
        "{s:s,s:{s:s,s:s,s:s,s:s,s:i,s:[{s:f,s:i}]}}", "Type", "AWS::AutoScaling::ScalingPolicy",
        "Properties", "AutoScalingGroupName", p->asg, "PolicyType", "StepScaling", "AdjustmentType",
        "ChangeInCapacity", "MetricAggregationType", "Average", "EstimatedInstanceWarmup", 300,
        "StepAdjustments", scaling > 0 ? "MetricIntervalLowerBound" : "MetricIntervalUpperBound",
        0.0, "ScalingAdjustment", scaling);
    free(name);
    return o;
}

char *alarm_plan_cfn(const struct alarm_plan *p)
{
    json_t *o = json_pack("{s:s,s:s,s:{}}", "AWSTemplateFormatVersion", "2010-09-09", "Description",
                          "cwagent alarms generated from the agent configuration", "Resources");
    if (!o)
        return NULL;
    json_t *res = json_object_get(o, "Resources");
    if (p->asg && p->scaling_policies) {
        json_object_set_new(res, "ScaleOutPolicy", cfn_policy(p, 1));
        json_object_set_new(res, "ScaleInPolicy", cfn_policy(p, -1));
    }
    for (size_t i = 0; i < p->n; i++) {
        const struct alarm_def *a = &p->v[i];
        json_t *props = alarm_put_params(p, a, NULL);
        json_object_del(props, "ActionsEnabled");
        if (a->scaling) {
            json_t *acts = json_object_get(props, "AlarmActions");
            if (!acts) {
                acts = json_array();
                json_object_set_new(props, "AlarmActions", acts);
            }
            json_array_insert_new(
                acts, 0,
                json_pack("{s:s}", "Ref", a->scaling > 0 ? "ScaleOutPolicy" : "ScaleInPolicy"));
        }
        char id[300];
        logical_id(a->name, id, sizeof id);
        json_object_set_new(
            res, id, json_pack("{s:s,s:o}", "Type", "AWS::CloudWatch::Alarm", "Properties", props));
    }
    return dump(o);
}

/* Prometheus: the same alert set over node_exporter-style names (/metrics has no instance
 * label; Prometheus adds `instance` and `job` when it scrapes). */
static void prom_rule(FILE *f, const char *name, const char *expr, int for_s, const char *summary,
                      const char *severity, const char *mount)
{
    fprintf(f, "      - alert: %s\n        expr: %s\n", name, expr);
    if (for_s > 0)
        fprintf(f, "        for: %ds\n", for_s);
    fprintf(f, "        labels:\n          severity: %s\n", severity);
    if (mount)
        fprintf(f, "          mountpoint: \"%s\"\n", mount);
    fprintf(f, "        annotations:\n          summary: \"%s\"\n", summary);
}

/* A mount path for a double-quoted PromQL / YAML string: '\\' and '"' escaped. */
static void prom_quote(const char *in, char *out, size_t n)
{
    size_t w = 0;
    for (; in && *in && w + 2 < n; in++) {
        if (*in == '"' || *in == '\\')
            out[w++] = '\\';
        out[w++] = *in;
    }
    out[w] = '\0';
}

/* The alert name: a valid Prometheus metric name ("MemHigh", "DiskHigh", "AgentHeartbeat"). */
static const char *prom_name(const char *kind)
{
    static const char *const names[][2] = {
        {"mem", "MemHigh"},        {"disk", "DiskHigh"},
        {"swap", "SwapHigh"},      {"heartbeat", "AgentHeartbeat"},
        {"scale-out", "ScaleOut"}, {"scale-in", "ScaleIn"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(kind, names[i][0]) == 0)
            return names[i][1];
    return "CwagentAlarm";
}

char *alarm_plan_prometheus(const struct alarm_plan *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f,
            "# cwagent alerting rules; the same thresholds as `cwagent alarms plan`.\n"
            "groups:\n  - name: %s\n    rules:\n",
            p->opts->prefix);
    for (size_t i = 0; i < p->n; i++) {
        const struct alarm_def *a = &p->v[i];
        char expr[4096], summary[1024], mount[600];
        const char *name = prom_name(a->kind);
        prom_quote(series_dim(a->series, "path"), mount, sizeof mount);
        int for_s = a->period * a->datapoints;
        if (strcmp(a->kind, "mem") == 0) {
            snprintf(expr, sizeof expr,
                     "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) > %g",
                     a->threshold);
            snprintf(summary, sizeof summary, "memory used above %g%% on {{ $labels.instance }}",
                     a->threshold);
        } else if (strcmp(a->kind, "disk") == 0) {
            const char *path = mount;
            snprintf(expr, sizeof expr,
                     "100 * (node_filesystem_size_bytes{mountpoint=\"%s\"} - "
                     "node_filesystem_free_bytes{mountpoint=\"%s\"}) / "
                     "(node_filesystem_size_bytes{mountpoint=\"%s\"} - "
                     "node_filesystem_free_bytes{mountpoint=\"%s\"} + "
                     "node_filesystem_avail_bytes{mountpoint=\"%s\"}) > %g",
                     path, path, path, path, path, a->threshold);
            snprintf(summary, sizeof summary, "disk %s used above %g%% on {{ $labels.instance }}",
                     path, a->threshold);
        } else if (strcmp(a->kind, "swap") == 0) {
            snprintf(expr, sizeof expr,
                     "100 * (1 - node_memory_SwapFree_bytes / node_memory_SwapTotal_bytes) > %g "
                     "and node_memory_SwapTotal_bytes > 0",
                     a->threshold);
            snprintf(summary, sizeof summary, "swap used above %g%% on {{ $labels.instance }}",
                     a->threshold);
        } else if (strcmp(a->kind, "heartbeat") == 0) {
            snprintf(expr, sizeof expr, "up{job=\"%s\"} == 0 or absent(up{job=\"%s\"})",
                     p->opts->prefix, p->opts->prefix);
            snprintf(summary, sizeof summary, "the agent stopped reporting");
        } else {
            snprintf(expr, sizeof expr,
                     "avg(100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)) "
                     "%s %g",
                     op_symbol(a->op), a->threshold);
            snprintf(summary, sizeof summary, "group memory %s %g%%: %s", op_symbol(a->op),
                     a->threshold, strcmp(a->kind, "scale-in") == 0 ? "scale in" : "scale out");
        }
        prom_rule(f, name, expr, for_s, summary,
                  strcmp(a->kind, "heartbeat") == 0 ? "critical" : "warning",
                  strcmp(a->kind, "disk") == 0 ? mount : NULL);
    }
    return close_stream(f, &buf);
}
