/* Unit tests for agent/rollup: dimension building, roll-ups, drop_original_metrics, packing. */
#include "agent/rollup.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "name|dim=v,dim=v|sr" for compact comparisons. */
static const char *show(const struct datum *d)
{
    static char out[4096];
    size_t o = (size_t)snprintf(out, sizeof out, "%s|", d->name);
    for (size_t i = 0; i < d->ndims && o < sizeof out; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s=%s", i ? "," : "", d->dims[i].name,
                              d->dims[i].value);
    if (o < sizeof out)
        snprintf(out + o, sizeof out - o, "|%d", d->storage_res);
    return out;
}

struct dim_case {
    const char *what;
    struct rollup_opts opts;
    struct datum_dim tags[4];
    size_t ntags;
    const char *want;
};

static const struct datum_dim APPEND[] = {{"zeta", "z"}, {"Alpha", "a"}, {"cpu", "from-append"}};
static const struct datum_dim EC2[] = {
    {"InstanceId", "i-0abc"}, {"ImageId", "ami-1"}, {"cpu", "from-ec2"}};

TEST(dimensions_follow_the_reference_rules)
{
    static const struct dim_case cases[] = {
        {"host first then byte order",
         {.host = "h1", .interval_s = 60},
         {{"path", "/"}, {"device", "sda1"}, {"fstype", "ext4"}},
         3,
         "m|host=h1,device=sda1,fstype=ext4,path=/|60"},
        {"empty values dropped",
         {.host = "h1", .interval_s = 60},
         {{"device", ""}, {"path", "/"}},
         2,
         "m|host=h1,path=/|60"},
        {"no host name: no host dim",
         {.host = NULL, .interval_s = 60},
         {{"cpu", "cpu0"}},
         1,
         "m|cpu=cpu0|60"},
        {"empty host name: no host dim",
         {.host = "", .interval_s = 60},
         {{"cpu", "cpu0"}},
         1,
         "m|cpu=cpu0|60"},
        {"plugin append does not override tags; uppercase sorts first",
         {.host = "h1", .append = APPEND, .nappend = 3, .interval_s = 60},
         {{"cpu", "cpu0"}},
         1,
         "m|host=h1,Alpha=a,cpu=cpu0,zeta=z|60"},
        {"global append removes host, ec2 dims override",
         {.host = "h1", .global_append = 1, .ec2 = EC2, .nec2 = 3, .interval_s = 60},
         {{"cpu", "cpu0"}, {"host", "tag-host"}},
         2,
         "m|ImageId=ami-1,InstanceId=i-0abc,cpu=from-ec2|60"},
        {"interval below 60 s is high resolution",
         {.host = "h", .interval_s = 10},
         {{"a", "1"}},
         1,
         "m|host=h,a=1|1"},
        {"interval 59 s", {.interval_s = 59}, {{"a", "1"}}, 1, "m|a=1|1"},
        {"interval 0 (unset) is 60", {.interval_s = 0}, {{"a", "1"}}, 1, "m|a=1|60"},
        {"no dims at all", {.interval_s = 120}, {{"x", ""}}, 1, "m||60"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct dim_case *c = &cases[i];
        struct rollup *r = rollup_new(&c->opts);
        struct datum_list *l = datum_list_new(16, 1 << 20);
        T_ASSERT(r && l);
        struct rollup_sample s = {"m", "Percent", c->tags, c->ntags, 1.0, 1000};
        T_EQ_INT(rollup_apply(r, &s, l), 0);
        T_ASSERT(datum_list_len(l) == 1);
        if (strcmp(show(&datum_list_items(l)[0]), c->want) != 0)
            t_fail_at(__FILE__, __LINE__, "%s: expected %s, got %s", c->what, c->want,
                      show(&datum_list_items(l)[0]));
        rollup_free(r);
        datum_list_free(l);
    }
}

TEST(caps_at_30_keeping_host_then_alphabetical)
{
    struct datum_dim tags[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "d%02d", 39 - i); /* reverse order on input */
        tags[i] = (struct datum_dim){names[i], "v"};
    }
    struct rollup_opts o = {.host = "h", .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(4, 1 << 20);
    T_ASSERT(r && l);
    struct rollup_sample s = {"m", "None", tags, 40, 1.0, 0};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    const struct datum *d = &datum_list_items(l)[0];
    T_EQ_INT(d->ndims, 30);
    T_EQ_STR(d->dims[0].name, "host");
    T_EQ_STR(d->dims[1].name, "d00");
    T_EQ_STR(d->dims[29].name, "d28");
    rollup_free(r);
    datum_list_free(l);
}

static const char *const SET_ID[] = {"InstanceId"};
static const char *const SET_ID_TYPE[] = {"InstanceId", "InstanceType"};
static const char *const SET_TYPE_ID_DUP[] = {"InstanceType", "InstanceId", "InstanceType"};
static const char *const SET_MISSING[] = {"InstanceId", "nope"};
static const char *const SET_ALL[] = {"cpu", "InstanceType", "InstanceId"};

TEST(rollups_for_each_applicable_unique_set)
{
    struct rollup_dimset sets[] = {
        {SET_ID, 1},          {SET_ID_TYPE, 2}, {NULL, 0},
        {SET_TYPE_ID_DUP, 3}, {SET_MISSING, 2}, {SET_ALL, 3},
    };
    struct datum_dim ec2[] = {{"InstanceId", "i-1"}, {"InstanceType", "t3.micro"}};
    struct rollup_opts o = {.host = "h",
                            .global_append = 1,
                            .ec2 = ec2,
                            .nec2 = 2,
                            .agg = sets,
                            .nagg = 6,
                            .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(16, 1 << 20);
    T_ASSERT(r && l);
    struct datum_dim tags[] = {{"cpu", "cpu-total"}};
    struct rollup_sample s = {"cpu_usage_idle", "Percent", tags, 1, 97.5, 1795435200000LL};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    T_ASSERT(datum_list_len(l) == 4);
    const struct datum *d = datum_list_items(l);
    T_EQ_STR(show(&d[0]), "cpu_usage_idle|InstanceId=i-1,InstanceType=t3.micro,cpu=cpu-total|60");
    T_EQ_STR(show(&d[1]), "cpu_usage_idle|InstanceId=i-1|60");
    T_EQ_STR(show(&d[2]), "cpu_usage_idle|InstanceId=i-1,InstanceType=t3.micro|60");
    T_EQ_STR(show(&d[3]), "cpu_usage_idle||60");
    for (int i = 0; i < 4; i++) {
        T_EQ_DBL(d[i].value, 97.5, 0);
        T_EQ_INT(d[i].ts_ms, 1795435200000LL);
        T_EQ_STR(d[i].unit, "Percent");
    }
    rollup_free(r);
    datum_list_free(l);
}

TEST(rollup_order_is_sorted_not_host_first)
{
    static const char *const set[] = {"path", "host"};
    struct rollup_dimset sets[] = {{set, 2}};
    struct rollup_opts o = {.host = "h", .agg = sets, .nagg = 1, .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(16, 1 << 20);
    T_ASSERT(r && l);
    struct datum_dim tags[] = {{"path", "/"}, {"device", "sda"}};
    struct rollup_sample s = {"disk_used_percent", "Percent", tags, 2, 1, 0};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    T_ASSERT(datum_list_len(l) == 2);
    T_EQ_STR(show(&datum_list_items(l)[0]), "disk_used_percent|host=h,device=sda,path=/|60");
    T_EQ_STR(show(&datum_list_items(l)[1]), "disk_used_percent|host=h,path=/|60");
    rollup_free(r);
    datum_list_free(l);
}

TEST(drop_original_keeps_only_rollups)
{
    static const char *const drop[] = {"cpu_usage_user", "mem_used"};
    struct rollup_dimset sets[] = {{NULL, 0}};
    struct rollup_opts o = {
        .host = "h", .agg = sets, .nagg = 1, .drop_original = drop, .ndrop = 2, .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(16, 1 << 20);
    T_ASSERT(r && l);
    struct datum_dim tags[] = {{"cpu", "cpu0"}};
    struct rollup_sample a = {"cpu_usage_user", "Percent", tags, 1, 1, 0};
    struct rollup_sample b = {"cpu_usage_system", "Percent", tags, 1, 1, 0};
    T_EQ_INT(rollup_apply(r, &a, l), 0);
    T_EQ_INT(rollup_apply(r, &b, l), 0);
    T_ASSERT(datum_list_len(l) == 3);
    T_EQ_STR(show(&datum_list_items(l)[0]), "cpu_usage_user||60");
    T_EQ_STR(show(&datum_list_items(l)[1]), "cpu_usage_system|host=h,cpu=cpu0|60");
    T_EQ_STR(show(&datum_list_items(l)[2]), "cpu_usage_system||60");
    rollup_free(r);
    datum_list_free(l);
}

TEST(empty_set_needs_at_least_one_dimension)
{
    struct rollup_dimset sets[] = {{NULL, 0}};
    struct rollup_opts o = {.agg = sets, .nagg = 1, .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(16, 1 << 20);
    T_ASSERT(r && l);
    struct rollup_sample s = {"m", NULL, NULL, 0, 1, 0};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    T_EQ_INT(datum_list_len(l), 1);
    T_CHECK(datum_list_items(l)[0].unit == NULL);
    rollup_free(r);
    datum_list_free(l);
}

TEST(full_list_rolls_back_the_sample)
{
    struct rollup_dimset sets[] = {{NULL, 0}};
    struct rollup_opts o = {.host = "h", .agg = sets, .nagg = 1, .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(3, 1 << 20);
    T_ASSERT(r && l);
    struct rollup_sample s = {"m", "None", NULL, 0, 1, 0};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    T_EQ_INT(datum_list_len(l), 2);
    T_EQ_INT(rollup_apply(r, &s, l), -1); /* needs 2, only 1 left */
    T_EQ_INT(datum_list_len(l), 2);
    datum_list_clear(l);
    T_EQ_INT(datum_list_len(l), 0);
    T_EQ_INT(datum_list_arena_used(l), 0);
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    rollup_free(r);
    datum_list_free(l);
}

TEST(strings_are_copied_into_the_arena)
{
    char name[16] = "metric", val[16] = "value";
    struct datum_dim tags[] = {{"k", val}};
    struct rollup_opts o = {.interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(4, 1 << 20);
    T_ASSERT(r && l);
    struct rollup_sample s = {name, "None", tags, 1, 1, 0};
    T_EQ_INT(rollup_apply(r, &s, l), 0);
    memcpy(name, "XXXXXX", 6);
    memcpy(val, "YYYYY", 5);
    T_EQ_STR(show(&datum_list_items(l)[0]), "metric|k=value|60");
    rollup_free(r);
    datum_list_free(l);
}

/* ---- packing ---- */

static void add_value(struct datum_list *l, const char *name, const struct datum_dim *dims,
                      size_t ndims, double v, int64_t ts)
{
    struct datum *d = datum_list_add(l);
    *d = (struct datum){.name = name,
                        .unit = "Count",
                        .dims = dims,
                        .ndims = (uint8_t)ndims,
                        .value = v,
                        .ts_ms = ts,
                        .storage_res = 60};
}

TEST(pack_counts_identical_values_per_series)
{
    struct datum_dim da[] = {{"host", "h"}}, db[] = {{"host", "other"}};
    struct datum_list *in = datum_list_new(64, 1 << 20), *out = datum_list_new(64, 1 << 20);
    T_ASSERT(in && out);
    double vals[] = {3, 1, 2, 3, 1};
    for (int i = 0; i < 5; i++) {
        add_value(in, "a", da, 1, vals[i], 5000 - i * 10);
        if (i == 2)
            add_value(in, "a", db, 1, 9, 100); /* other series, single sample */
    }
    T_EQ_INT(rollup_pack(in, out), 0);
    T_ASSERT(datum_list_len(out) == 2);
    const struct datum *p = datum_list_items(out);
    T_EQ_INT(p[0].nvalues, 3);
    T_EQ_DBL(p[0].values[0], 1, 0);
    T_EQ_DBL(p[0].values[2], 3, 0);
    T_EQ_DBL(p[0].counts[0], 2, 0);
    T_EQ_DBL(p[0].counts[1], 1, 0);
    T_EQ_DBL(p[0].counts[2], 2, 0);
    T_EQ_INT(p[0].has_stats, 0); /* exact Values/Counts: a statistic set would add bytes only */
    T_EQ_DBL(p[0].stats.sample_count, 5, 0);
    T_EQ_DBL(p[0].stats.sum, 10, 0);
    T_EQ_DBL(p[0].stats.min, 1, 0);
    T_EQ_DBL(p[0].stats.max, 3, 0);
    T_EQ_INT(p[0].ts_ms, 4960);
    T_EQ_STR(show(&p[0]), "a|host=h|60");
    T_EQ_INT(p[1].nvalues, 0);
    T_EQ_DBL(p[1].value, 9, 0);
    T_EQ_STR(show(&p[1]), "a|host=other|60");
    datum_list_free(in);
    datum_list_free(out);
}

TEST(pack_splits_beyond_150_distinct_values)
{
    struct datum_list *in = datum_list_new(1024, 1 << 20), *out = datum_list_new(64, 1 << 20);
    T_ASSERT(in && out);
    for (int i = 0; i < 400; i++)
        add_value(in, "lat", NULL, 0, (double)(i % 200), i); /* 200 distinct, each twice */
    T_EQ_INT(rollup_pack(in, out), 0);
    T_ASSERT(datum_list_len(out) == 2);
    const struct datum *p = datum_list_items(out);
    T_EQ_INT(p[0].nvalues, 150);
    T_EQ_INT(p[1].nvalues, 50);
    T_EQ_DBL(p[0].stats.sample_count + p[1].stats.sample_count, 400, 0);
    T_EQ_DBL(p[0].counts[149], 2, 0);
    T_EQ_DBL(p[1].values[0], 150, 0);
    T_EQ_DBL(p[0].stats.max, 149, 0);
    datum_list_free(in);
    datum_list_free(out);
}

TEST(pack_fails_cleanly_when_out_is_full)
{
    struct datum_list *in = datum_list_new(1024, 1 << 20), *out = datum_list_new(1, 1 << 20);
    T_ASSERT(in && out);
    for (int i = 0; i < 400; i++)
        add_value(in, "lat", NULL, 0, (double)i, i);
    T_EQ_INT(rollup_pack(in, out), -1);
    datum_list_free(in);
    datum_list_free(out);
}

T_MAIN("test_rollup", T_CASE(dimensions_follow_the_reference_rules),
       T_CASE(caps_at_30_keeping_host_then_alphabetical),
       T_CASE(rollups_for_each_applicable_unique_set),
       T_CASE(rollup_order_is_sorted_not_host_first), T_CASE(drop_original_keeps_only_rollups),
       T_CASE(empty_set_needs_at_least_one_dimension), T_CASE(full_list_rolls_back_the_sample),
       T_CASE(strings_are_copied_into_the_arena), T_CASE(pack_counts_identical_values_per_series),
       T_CASE(pack_splits_beyond_150_distinct_values), T_CASE(pack_fails_cleanly_when_out_is_full))
