/* alarms — the alarm set an operator needs for this host, derived from the series the agent
 * publishes with this configuration (agent/series), never from guessed dimension sets:
 *
 *   mem-high       mem_used_percent  Average 300 s, 2 of 2   > mem threshold (80)
 *   disk-<mount>   disk_used_percent Average 300 s, 1 of 1   > disk threshold (80), one per mount
 *   swap-high      swap_used_percent Average 300 s, 3 of 3   > swap threshold (50)
 *   heartbeat      mem_used_percent  SampleCount 300 s, 2 of 2 < 1, missing data breaching:
 *                  the agent stopped reporting
 *   scale-out/in   mem_used_percent by AutoScalingGroupName only (the aggregation_dimensions
 *                  roll-up) Average 60 s, 3 of 3, >= scale-out (70) / <= scale-in (30), with
 *                  step scaling policies (+1 / -1 instance) on request
 *
 * Per-instance alarms use the metric's original series (all of its dimensions); when
 * drop_original_metrics removed it, a roll-up that still names the instance. Anything that
 * cannot be bound to a published series is left out with a note saying why. docs/alarms.md
 * explains each alarm.
 *
 * Ownership: a plan borrows the series set (which must outlive it) and the option strings.
 */
#ifndef CW_ALARMS_H
#define CW_ALARMS_H

#include <jansson.h>
#include <stddef.h>

#include "agent/series.h"

#define ALARM_MAX_ACTIONS 5 /* API: AlarmActions / OKActions at most 5 */

struct alarm_opts {
    double mem, disk, swap, scale_out, scale_in; /* percent thresholds */
    const char *actions[ALARM_MAX_ACTIONS];      /* --sns ARNs (alarm and OK actions) */
    size_t nactions;
    int scaling_policies; /* --scaling-policies: create step policies and wire them */
    const char *prefix;   /* alarm name prefix, default "cwagent" */
};

void alarm_opts_init(struct alarm_opts *o);
/* Applies one option (`flag` without its value parsed): --mem, --disk, --swap, --scale-out,
 * --scale-in (a number 0..100), --sns (an SNS topic ARN), --prefix. Returns 1 when `flag` is an
 * alarm option (applied), 0 when it is not, -1 with a message in err for a bad value. */
int alarm_opts_set(struct alarm_opts *o, const char *flag, const char *value, char *err,
                   size_t errlen);
/* Cross-checks: scale-in below scale-out, ARNs in `region`. 0, or -1 with a message. */
int alarm_opts_check(const struct alarm_opts *o, const char *region, char *err, size_t errlen);

struct alarm_def {
    char *name;
    const char *kind; /* "mem", "disk", "swap", "heartbeat", "scale-out", "scale-in" */
    char *description;
    const struct series_item *series;
    const char *stat;
    int period, eval, datapoints;
    double threshold;
    const char *op;
    const char *missing; /* TreatMissingData */
    int scaling;         /* +1 scale-out, -1 scale-in: action is the step policy */
};

struct alarm_plan {
    const char *ns;
    char *asg; /* NULL when no Auto Scaling group alarms */
    int scaling_policies;
    const struct alarm_opts *opts;
    struct alarm_def *v;
    size_t n;
    char **notes;
    size_t nnotes;
};

/* Builds the plan; `id` names the instance in alarm names, `asg` the group (NULL/"" = none).
 * Returns 0, or -1 when out of memory. */
int alarm_plan_build(const struct series_set *s, const struct alarm_opts *o, const char *id,
                     const char *asg, struct alarm_plan *out);
void alarm_plan_free(struct alarm_plan *p);

/* The PutMetricAlarm input for one alarm; `policy_arn` (scale alarms) may be NULL. New ref. */
json_t *alarm_put_params(const struct alarm_plan *p, const struct alarm_def *a,
                         const char *policy_arn);
/* The step scaling policy name for a scale alarm. Caller frees. */
char *alarm_policy_name(const struct alarm_plan *p, int scaling);
/* PutScalingPolicy query body for the scale-out (+1) or scale-in (-1) policy. Caller frees. */
char *alarm_policy_query(const struct alarm_plan *p, int scaling);
/* DescribePolicies query body for that one policy. Caller frees. */
char *alarm_policy_describe_query(const struct alarm_plan *p, int scaling);

/* Renderings of the whole plan (caller frees): human text; JSON {namespace, alarms:
 * [PutMetricAlarm inputs], scaling_policies, notes}; a CloudFormation template; Prometheus
 * alerting rules (YAML) over the node_exporter-style /metrics names. */
char *alarm_plan_text(const struct alarm_plan *p);
char *alarm_plan_json(const struct alarm_plan *p);
char *alarm_plan_cfn(const struct alarm_plan *p);
char *alarm_plan_prometheus(const struct alarm_plan *p);

#endif
