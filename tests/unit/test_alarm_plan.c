/* Unit tests for agent/series, agent/alarms, agent/dashboard and agent/cost: the series a config
 * publishes are learned through the agent's own shaping (a fixture /proc), and every alarm,
 * dashboard line and cost figure is derived from them; option errors are specific. */
#include "agent/alarms.h"
#include "agent/cost.h"
#include "agent/dashboard.h"
#include "agent/series.h"
#include "config/config.h"
#include "tests/unit/t.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_WITH(AGG)                                                                           \
    "{\"agent\":{\"metrics_collection_interval\":10},\"metrics\":{"                                \
    "\"append_dimensions\":{\"InstanceId\":\"${aws:InstanceId}\","                                 \
    "\"AutoScalingGroupName\":\"${aws:AutoScalingGroupName}\"},"                                   \
    "\"aggregation_dimensions\":[[\"" AGG "\"]],"                                                  \
    "\"metrics_collected\":{\"mem\":{\"measurement\":[\"mem_used_percent\"]},"                     \
    "\"swap\":{\"measurement\":[\"swap_used_percent\"]},"                                          \
    "\"disk\":{\"measurement\":[\"used_percent\"],\"resources\":[\"/\"],\"drop_device\":true}}}}"

static const char CONFIG[] = CONFIG_WITH("AutoScalingGroupName");

struct fixture {
    struct cw_config *cfg;
    struct series_set *series;
    char *root;
};

static const struct datum_dim EC2[] = {{"InstanceId", "i-1"}, {"AutoScalingGroupName", "web"}};

static int setup(struct fixture *f, const char *text)
{
    const char *name = "test.json";
    struct cw_config_meta meta = {0};
    meta.instance_id = "i-1";
    meta.asg_name = "web";
    meta.on_ec2 = 1;
    struct cw_config_diag d = {0};
    char err[256] = "";
    memset(f, 0, sizeof *f);
    int rc = cw_config_load_buffers(&name, &text, 1, &meta, &f->cfg, &d);
    cw_config_diag_free(&d);
    f->root = t_repo_path("tests/fixtures/collect/a");
    if (rc != 0 || !f->root)
        return -1;
    struct mshape_options o = {f->cfg, NULL, EC2, 2, f->root};
    rc = series_collect(&o, 0, &f->series, err, sizeof err);
    if (rc != 0)
        t_fail_at(__FILE__, __LINE__, "series_collect: %s", err);
    return rc;
}

static void teardown(struct fixture *f)
{
    series_free(f->series);
    cw_config_free(f->cfg);
    free(f->root);
}

static const char *dims_text(const struct series_item *it)
{
    static char out[512];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < it->ndims && o < sizeof out; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s=%s", i ? "," : "", it->dims[i].name,
                              it->dims[i].value);
    return out;
}

TEST(series_are_what_the_agent_shapes)
{
    struct fixture f;
    T_ASSERT(setup(&f, CONFIG) == 0);
    const struct series_item *v[8];
    T_EQ_INT(series_by_name(f.series, "mem_used_percent", v, 8), 2);
    T_EQ_STR(dims_text(v[0]), "AutoScalingGroupName=web,InstanceId=i-1");
    T_EQ_INT(v[0]->is_rollup, 0);
    T_EQ_STR(dims_text(v[1]), "AutoScalingGroupName=web");
    T_EQ_INT(v[1]->is_rollup, 1);
    T_EQ_INT(v[0]->storage_res, 1); /* 10 s interval */
    T_EQ_STR(v[0]->plugin, "mem");
    T_EQ_INT(series_by_name(f.series, "disk_used_percent", v, 8), 2);
    T_EQ_STR(dims_text(v[0]), "AutoScalingGroupName=web,InstanceId=i-1,fstype=ext4,path=/");
    T_EQ_STR(series_namespace(f.series), "CWAgent");
    teardown(&f);
}

static const struct alarm_def *find(const struct alarm_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    return NULL;
}

TEST(plan_binds_every_alarm_to_a_series)
{
    struct fixture f;
    struct alarm_opts o;
    struct alarm_plan p;
    T_ASSERT(setup(&f, CONFIG) == 0);
    alarm_opts_init(&o);
    o.scaling_policies = 1;
    T_ASSERT(alarm_plan_build(f.series, &o, "i-1", "web", &p) == 0);
    T_EQ_INT(p.n, 6);
    static const char *const names[] = {"cwagent-i-1-mem-high",  "cwagent-i-1-disk-root",
                                        "cwagent-i-1-swap-high", "cwagent-i-1-heartbeat",
                                        "cwagent-web-scale-out", "cwagent-web-scale-in"};
    for (size_t i = 0; i < 6; i++)
        if (!find(&p, names[i]))
            t_fail_at(__FILE__, __LINE__, "alarm %s missing", names[i]);
    const struct alarm_def *out = find(&p, "cwagent-web-scale-out");
    T_ASSERT(out != NULL);
    T_EQ_STR(dims_text(out->series), "AutoScalingGroupName=web");
    T_EQ_INT(out->scaling, 1);
    json_t *params = alarm_put_params(&p, out, "arn:policy");
    T_EQ_STR(json_string_value(json_object_get(params, "ComparisonOperator")),
             "GreaterThanOrEqualToThreshold");
    T_EQ_STR(json_string_value(json_array_get(json_object_get(params, "AlarmActions"), 0)),
             "arn:policy");
    json_decref(params);
    char *q = alarm_policy_query(&p, -1);
    T_EQ_STR(q, "Action=PutScalingPolicy&Version=2011-01-01&AutoScalingGroupName=web"
                "&PolicyName=cwagent-web-scale-in&PolicyType=StepScaling"
                "&AdjustmentType=ChangeInCapacity&MetricAggregationType=Average"
                "&EstimatedInstanceWarmup=300&StepAdjustments.member.1.MetricIntervalUpperBound=0"
                "&StepAdjustments.member.1.ScalingAdjustment=-1");
    free(q);
    char *prom = alarm_plan_prometheus(&p);
    T_CHECK(prom && strstr(prom, "alert: MemHigh") && strstr(prom, "mountpoint: \"/\"") &&
            strstr(prom, "<= 30"));
    free(prom);
    char *cfn = alarm_plan_cfn(&p);
    json_t *doc = cfn ? json_loads(cfn, 0, NULL) : NULL;
    T_EQ_INT(json_object_size(json_object_get(doc, "Resources")), 8);
    json_decref(doc);
    free(cfn);
    alarm_plan_free(&p);
    teardown(&f);
}

TEST(no_group_rollup_means_no_scale_alarms_and_a_note)
{
    struct fixture f;
    struct alarm_opts o;
    struct alarm_plan p;
    T_ASSERT(setup(&f, CONFIG_WITH("InstanceId")) == 0);
    alarm_opts_init(&o);
    T_ASSERT(alarm_plan_build(f.series, &o, "i-1", "web", &p) == 0);
    T_CHECK(find(&p, "cwagent-web-scale-out") == NULL);
    T_EQ_INT(p.nnotes, 1);
    T_CHECK(p.nnotes && strstr(p.notes[0], "aggregation_dimensions") != NULL);
    alarm_plan_free(&p);
    teardown(&f);
}

TEST(option_errors_are_specific)
{
    static const struct {
        const char *flag, *value;
        int rc;
        const char *msg;
    } cases[] = {
        {"--mem", "80.5", 1, ""},
        {"--mem", "101", -1, "--mem: expected a percentage between 0 and 100, got '101'"},
        {"--disk", "-1", -1, "got '-1'"},
        {"--swap", "nan", -1, "got 'nan'"},
        {"--sns", "arn:aws:sns:us-east-1:123456789012:ops", 1, ""},
        {"--sns", "arn:aws:sns:us-east-1:12345:ops", -1, "is not an SNS topic ARN"},
        {"--sns", "arn:aws:lambda:us-east-1:123456789012:function:f", -1, "not an SNS topic"},
        {"--prefix", "bad prefix", -1, "only letters, digits"},
        {"--bogus", "1", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct alarm_opts o;
        char err[256] = "";
        alarm_opts_init(&o);
        int rc = alarm_opts_set(&o, cases[i].flag, cases[i].value, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            t_fail_at(__FILE__, __LINE__, "%s %s: expected %d '%s', got %d '%s'", cases[i].flag,
                      cases[i].value, cases[i].rc, cases[i].msg, rc, err);
    }
    struct alarm_opts o;
    char err[256] = "";
    alarm_opts_init(&o);
    o.scale_in = 75;
    T_EQ_INT(alarm_opts_check(&o, "us-east-1", err, sizeof err), -1);
    T_CHECK(strstr(err, "--scale-in 75 must be below --scale-out 70") != NULL);
    alarm_opts_init(&o);
    T_EQ_INT(alarm_opts_set(&o, "--sns", "arn:aws:sns:eu-west-1:123456789012:t", err, sizeof err),
             1);
    T_EQ_INT(alarm_opts_check(&o, "us-east-1", err, sizeof err), -1);
    T_CHECK(strstr(err, "is not in region us-east-1") != NULL);
}

TEST(dashboard_lines_are_published_series)
{
    struct fixture f;
    T_ASSERT(setup(&f, CONFIG) == 0);
    const char *arns[] = {"arn:aws:cloudwatch:us-east-1:1:alarm:a"};
    const char *logs[] = {"g1", "g2"};
    struct dashboard_opts o = {"i-1", "us-east-1", arns, 1, logs, 2, 80, 90, 10};
    char *body = dashboard_body(f.series, &o);
    json_t *doc = body ? json_loads(body, 0, NULL) : NULL;
    json_t *w = json_object_get(doc, "widgets"), *x;
    size_t i, metric = 0;
    T_ASSERT(json_array_size(w) > 0);
    json_array_foreach(w, i, x)
    {
        const char *type = json_string_value(json_object_get(x, "type"));
        json_t *props = json_object_get(x, "properties");
        if (strcmp(type, "metric") == 0) {
            metric++;
            T_EQ_INT(json_integer_value(json_object_get(props, "period")), 10);
        } else if (strcmp(type, "log") == 0) {
            T_CHECK(strstr(json_string_value(json_object_get(props, "query")),
                           "SOURCE 'g1' | 'g2' | fields") != NULL);
        }
    }
    T_EQ_INT(metric, 4); /* memory, disk, swap, group memory: the fixture has no cpu delta */
    json_decref(doc);
    free(body);
    char name[64];
    dashboard_name("cwagent", "ip-10.0.0.1 x", name, sizeof name);
    T_EQ_STR(name, "cwagent-ip-10-0-0-1-x");
    teardown(&f);
}

TEST(cost_counts_series_and_prices_tiers)
{
    struct fixture f;
    struct cost_prices p;
    char err[256];
    char *path = t_repo_path("packaging/cloudwatch-prices.json");
    T_ASSERT(setup(&f, CONFIG) == 0);
    T_ASSERT(path && cost_prices_load(path, &p, err, sizeof err) == 0);
    T_EQ_STR(p.region, "us-east-1");
    struct cost_inputs in = {f.series, 60, 2.0, 0, 0};
    char *out = cost_report(&in, &p, 1);
    json_t *doc = out ? json_loads(out, 0, NULL) : NULL;
    size_t n = series_count(f.series);
    T_EQ_INT(json_integer_value(json_object_get(doc, "series")), (long long)n);
    T_EQ_DBL(json_real_value(json_object_get(json_object_get(doc, "monthly_cost"), "metrics")),
             0.30 * (double)n, 1e-9);
    T_EQ_DBL(json_real_value(json_object_get(json_object_get(doc, "monthly_cost"), "logs")), 1.0,
             1e-9);
    /* 10 s collection, 60 s flush: 6 datums per series per flush; packed, 1 */
    T_EQ_DBL(json_real_value(json_object_get(doc, "datums_per_month")), 730.0 * 360 * (double)n,
             1e-6);
    T_EQ_DBL(json_real_value(json_object_get(doc, "packed_datums_per_month")),
             730.0 * 60 * (double)n, 1e-6);
    json_decref(doc);
    free(out);
    cost_prices_free(&p);
    free(path);
    teardown(&f);
}

T_MAIN("test_alarm_plan", T_CASE(series_are_what_the_agent_shapes),
       T_CASE(plan_binds_every_alarm_to_a_series),
       T_CASE(no_group_rollup_means_no_scale_alarms_and_a_note), T_CASE(option_errors_are_specific),
       T_CASE(dashboard_lines_are_published_series), T_CASE(cost_counts_series_and_prices_tiers))
