/* Unit tests for config/: schema vectors with gojsonschema's verdicts and error counts, every
 * reference sample, merge rules, each schema keyword, semantic checks, not-supported warnings,
 * placeholders, defaults and the show round trip. */
#include "config/config.h"
#include "config/internal.h"
#include "tests/unit/t.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REF "amazon-cloudwatch-agent/"

/* ---- helpers ---- */

static int contains(char **lines, size_t n, const char *sub)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(lines[i], sub))
            return 1;
    return 0;
}

static size_t count_containing(char **lines, size_t n, const char *sub)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += strstr(lines[i], sub) != NULL;
    return c;
}

static void dump_diag(const struct cw_config_diag *d)
{
    for (size_t i = 0; i < d->n_errors; i++)
        fprintf(stderr, "  error: %s\n", d->errors[i]);
    for (size_t i = 0; i < d->n_warnings; i++)
        fprintf(stderr, "  warning: %s\n", d->warnings[i]);
}

#define T_HAS_ERROR(d, sub)                                                                        \
    do {                                                                                           \
        if (!contains((d)->errors, (d)->n_errors, sub)) {                                          \
            dump_diag(d);                                                                          \
            t_fail_at(__FILE__, __LINE__, "expected an error containing \"%s\"", sub);             \
        }                                                                                          \
    } while (0)

#define T_HAS_WARNING(d, sub)                                                                      \
    do {                                                                                           \
        if (!contains((d)->warnings, (d)->n_warnings, sub)) {                                      \
            dump_diag(d);                                                                          \
            t_fail_at(__FILE__, __LINE__, "expected a warning containing \"%s\"", sub);            \
        }                                                                                          \
    } while (0)

static const char *fake_env(const char *name)
{
    if (strcmp(name, "MY_REGION") == 0)
        return "eu-central-1";
    if (strcmp(name, "MY_STREAM") == 0)
        return "stream-from-env";
    return NULL;
}

static const struct cw_config_meta test_meta = {
    .instance_id = "i-0123456789abcdef0",
    .hostname = "ip-10-0-0-1.ec2.internal",
    .local_hostname = "myhost",
    .ip_address = "10.0.0.1",
    .region = "us-west-2",
    .account_id = "123456789012",
    .instance_type = "m5.large",
    .image_id = "ami-12345678",
    .asg_name = NULL,
    .on_ec2 = 1,
    .now = 1700000000, /* 2023-11-14 */
    .getenv_fn = fake_env,
};

/* Loads one in-memory document named "a.json". */
static int load1(const char *text, struct cw_config **c, struct cw_config_diag *d)
{
    const char *name = "a.json";
    memset(d, 0, sizeof *d);
    return cw_config_load_buffers(&name, &text, 1, &test_meta, c, d);
}

static int load2(const char *a, const char *b, struct cw_config **c, struct cw_config_diag *d)
{
    const char *names[] = {"a.json", "b.json"};
    const char *texts[] = {a, b};
    memset(d, 0, sizeof *d);
    return cw_config_load_buffers(names, texts, 2, &test_meta, c, d);
}

/* Expects `text` to fail with an error line containing `sub`. */
static void expect_error(const char *text, const char *sub, int line)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    int rc = load1(text, &c, &d);
    if (rc != -1 || c)
        t_fail_at(__FILE__, line, "expected the load to fail (rc %d)", rc);
    if (!contains(d.errors, d.n_errors, sub)) {
        dump_diag(&d);
        t_fail_at(__FILE__, line, "expected an error containing \"%s\"", sub);
    }
    cw_config_free(c);
    cw_config_diag_free(&d);
}
#define EXPECT_ERROR(text, sub) expect_error(text, sub, __LINE__)

/* Counts schema errors per gojsonschema type for a file under the reference dir. */
static int schema_counts(const char *rel, int counts[CW_SE_COUNT])
{
    char *path = t_reference_path(rel);
    json_error_t jerr;
    json_t *doc = path ? json_load_file(path, 0, &jerr) : NULL;
    free(path);
    if (!doc)
        return -1;
    struct cw_schema_result r;
    int rc = cw_schema_validate(doc, &r);
    memset(counts, 0, sizeof(int) * CW_SE_COUNT);
    for (size_t i = 0; i < r.n; i++)
        counts[r.errors[i].type]++;
    cw_schema_result_free(&r);
    json_decref(doc);
    return rc;
}

static char *prefixed(const char *dir, const char *name)
{
    char *s = NULL;
    return asprintf(&s, "%s%s", dir, name) < 0 ? NULL : s;
}

/* ---- schema vectors (translator/cmdutil/translatorutil_test.go) ---- */

TEST(schema_vector_invalid_measurement_counts)
{
    int n[CW_SE_COUNT];
    T_ASSERT(schema_counts("reference/" REF "schema/sampleSchema/"
                           "invalidMetricsWithInvalidMeasurement.json",
                           n) == 0);
    /* expected: {required:1, invalid_type:2, number_one_of:2, number_all_of:3, unique:1,
     * number_gte:1, string_gte:2} */
    T_EQ_INT(n[CW_SE_REQUIRED], 1);
    T_EQ_INT(n[CW_SE_INVALID_TYPE], 2);
    T_EQ_INT(n[CW_SE_NUMBER_ONE_OF], 2);
    T_EQ_INT(n[CW_SE_NUMBER_ALL_OF], 3);
    T_EQ_INT(n[CW_SE_UNIQUE], 1);
    T_EQ_INT(n[CW_SE_NUMBER_GTE], 1);
    T_EQ_INT(n[CW_SE_STRING_GTE], 2);
    int total = 0;
    for (int i = 0; i < CW_SE_COUNT; i++)
        total += n[i];
    T_EQ_INT(total, 12);
}

TEST(schema_vector_additional_property_counts)
{
    int n[CW_SE_COUNT];
    T_ASSERT(schema_counts("reference/" REF "schema/sampleSchema/"
                           "invalidMetricsWithAdditionalProperties.json",
                           n) == 0);
    int total = 0;
    for (int i = 0; i < CW_SE_COUNT; i++)
        total += n[i];
    T_EQ_INT(n[CW_SE_ADDITIONAL_PROPERTY], 1);
    T_EQ_INT(total, 1);
}

TEST(schema_vector_missing_file_path_counts)
{
    int n[CW_SE_COUNT];
    T_ASSERT(schema_counts("reference/" REF "schema/sampleSchema/"
                           "invalidLogFilesWithMissingFilePath.json",
                           n) == 0);
    int total = 0;
    for (int i = 0; i < CW_SE_COUNT; i++)
        total += n[i];
    T_EQ_INT(n[CW_SE_REQUIRED], 1);
    T_EQ_INT(total, 1);
}

TEST(schema_vectors_valid_ones_pass_schema_and_model)
{
    const char *valid[] = {"validLinuxMetrics.json", "validLogFiles.json",
                           "validProcstatConfig.json"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        int n[CW_SE_COUNT], total = 0;
        char *rel = prefixed("reference/" REF "schema/sampleSchema/", valid[i]);
        T_ASSERT(rel && schema_counts(rel, n) == 0);
        for (int k = 0; k < CW_SE_COUNT; k++)
            total += n[k];
        if (total)
            t_fail_at(__FILE__, __LINE__, "%s: %d schema errors, expected 0", valid[i], total);
        char *path = t_reference_path(rel);
        const char *paths[] = {path};
        struct cw_config *c = NULL;
        struct cw_config_diag d = {0};
        if (cw_config_load(paths, 1, &test_meta, &c, &d) != 0) {
            dump_diag(&d);
            t_fail_at(__FILE__, __LINE__, "%s: expected valid", valid[i]);
        }
        cw_config_free(c);
        cw_config_diag_free(&d);
        free(path);
        free(rel);
    }
}

TEST(schema_vectors_invalid_ones_fail_load)
{
    const char *invalid[] = {"invalidLogFilesWithMissingFilePath.json",
                             "invalidMetricsWithAdditionalProperties.json",
                             "invalidMetricsWithInvalidMeasurement.json"};
    const char *expect[] = {"collect_list[0].file_path: found nothing, expected the required key",
                            "metrics.typo: found unknown key \"typo\"",
                            "disk.metrics_collection_interval: found 1.9 (number)"};
    for (size_t i = 0; i < 3; i++) {
        char *rel = prefixed("reference/" REF "schema/sampleSchema/", invalid[i]);
        char *path = rel ? t_reference_path(rel) : NULL;
        const char *paths[] = {path};
        struct cw_config *c = NULL;
        struct cw_config_diag d = {0};
        T_EQ_INT(cw_config_load(paths, 1, &test_meta, &c, &d), -1);
        T_CHECK(c == NULL);
        T_HAS_ERROR(&d, expect[i]);
        T_HAS_ERROR(&d, invalid[i]); /* the file name is in the line */
        cw_config_diag_free(&d);
        free(path);
        free(rel);
    }
}

/* ---- every reference sample validates and show round-trips ---- */

static void round_trip(const char *name, const struct cw_config *c)
{
    char *j1 = cw_config_to_json(c);
    T_ASSERT(j1);
    struct cw_config *c2 = NULL;
    struct cw_config_diag d;
    if (load1(j1, &c2, &d) != 0) {
        dump_diag(&d);
        t_fail_at(__FILE__, __LINE__, "%s: show output does not load back", name);
    } else {
        char *j2 = cw_config_to_json(c2);
        if (!j2 || strcmp(j1, j2) != 0)
            t_fail_at(__FILE__, __LINE__, "%s: show output changed on reload:\n%s\n---\n%s", name,
                      j1, j2 ? j2 : "(null)");
        free(j2);
    }
    cw_config_free(c2);
    cw_config_diag_free(&d);
    free(j1);
}

TEST(every_sample_validates_and_round_trips)
{
    char *dir = t_reference_path("reference/" REF "samples");
    DIR *dp = dir ? opendir(dir) : NULL;
    struct dirent *de;
    int count = 0;
    T_ASSERT(dp);
    while ((de = readdir(dp))) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char *path = NULL;
        T_ASSERT(asprintf(&path, "%s/%s", dir, de->d_name) >= 0);
        const char *paths[] = {path};
        struct cw_config *c = NULL;
        struct cw_config_diag d = {0};
        if (cw_config_load(paths, 1, &test_meta, &c, &d) != 0) {
            dump_diag(&d);
            t_fail_at(__FILE__, __LINE__, "%s: expected valid", de->d_name);
        } else {
            round_trip(de->d_name, c);
        }
        cw_config_free(c);
        cw_config_diag_free(&d);
        free(path);
        count++;
    }
    closedir(dp);
    free(dir);
    T_EQ_INT(count, 15);
}

/* ---- merge ---- */

TEST(merge_conflicting_scalar_names_both_files)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_EQ_INT(load2("{\"metrics\":{\"namespace\":\"A\",\"metrics_collected\":{\"mem\":"
                   "{\"measurement\":[\"used\"]}}}}",
                   "{\"metrics\":{\"namespace\":\"B\"}}", &c, &d),
             -1);
    T_CHECK(c == NULL);
    T_HAS_ERROR(&d, "Different values are specified for metrics.namespace: 'A' in a.json, 'B' in "
                    "b.json");
    cw_config_diag_free(&d);
}

TEST(merge_same_scalar_is_fine_objects_merge_arrays_dedup)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    const char *a = "{\"agent\":{\"region\":\"us-east-1\"},\"metrics\":{\"namespace\":\"N\","
                    "\"aggregation_dimensions\":[[\"InstanceId\"]],"
                    "\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\"]},"
                    "\"procstat\":[{\"exe\":\"nginx\",\"measurement\":[\"cpu_usage\"]}]}}}";
    const char *b = "{\"agent\":{\"region\":\"us-east-1\",\"debug\":true},\"metrics\":{"
                    "\"namespace\":\"N\",\"aggregation_dimensions\":[[\"InstanceId\"],[]],"
                    "\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\",\"free\"]},"
                    "\"procstat\":[{\"exe\":\"nginx\",\"measurement\":[\"cpu_usage\"]},"
                    "{\"pattern\":\"java\",\"measurement\":[\"memory_rss\"]}]}}}";
    if (load2(a, b, &c, &d) != 0) {
        dump_diag(&d);
        T_ASSERT(0);
    }
    T_EQ_STR(c->agent.region, "us-east-1");
    T_EQ_INT(c->agent.debug, 1);
    T_EQ_INT(c->metrics.n_aggregation_dimensions, 2);
    T_EQ_INT(c->metrics.aggregation_dimensions[1].n, 0);
    T_EQ_INT(c->metrics.plugins[CW_PLUGIN_MEM].n_measurements, 2);
    T_EQ_INT(c->metrics.n_procstat, 2);
    T_EQ_STR(c->metrics.procstat[1].pattern, "java");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(merge_type_conflict_is_an_error)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_EQ_INT(load2("{\"agent\":{\"debug\":true}}", "{\"agent\":{\"debug\":\"yes\"}}", &c, &d), -1);
    T_HAS_ERROR(&d, "Different values are specified for agent.debug: 'true' in a.json, 'yes' in "
                    "b.json");
    cw_config_diag_free(&d);
}

TEST(errors_after_merge_name_the_file_and_its_own_index)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    const char *a = "{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":["
                    "{\"file_path\":\"/var/log/a\"}]}}}}";
    const char *b = "{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":["
                    "{\"file_path\":\"/var/log/b\",\"timezone\":\"Mars\"}]}}}}";
    T_EQ_INT(load2(a, b, &c, &d), -1);
    T_HAS_ERROR(&d, "b.json: logs.logs_collected.files.collect_list[0].timezone: found \"Mars\", "
                    "expected one of \"Local\", \"LOCAL\", \"UTC\"");
    cw_config_diag_free(&d);
}

/* ---- input errors ---- */

TEST(invalid_json_reports_line_and_column)
{
    EXPECT_ERROR("{\n  \"agent\": {\n    \"debug\": tru\n  }\n}", "a.json:3:");
    EXPECT_ERROR("{\n  \"agent\": {\n    \"debug\": tru\n  }\n}", "invalid JSON:");
    EXPECT_ERROR("[1,2]", "a.json: (root): found an array, expected an object");
}

TEST(unknown_root_key_is_an_error_traces_is_a_warning)
{
    EXPECT_ERROR("{\"agnet\":{}}", "a.json: agnet: found unknown key \"agnet\"");
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_EQ_INT(load1("{\"traces\":{\"traces_collected\":{\"xray\":{}}}}", &c, &d), 0);
    T_HAS_WARNING(&d, "a.json: traces: not supported by cwagent; ignored");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

/* ---- each schema keyword, through the real schema ---- */

TEST(schema_keywords)
{
    /* type */
    EXPECT_ERROR("{\"agent\":{\"debug\":\"yes\"}}",
                 "agent.debug: found \"yes\" (string), expected boolean");
    /* minimum / maximum (timeIntervalDefinition via $ref) */
    EXPECT_ERROR("{\"agent\":{\"metrics_collection_interval\":0}}", "expected a number >= 1");
    EXPECT_ERROR("{\"agent\":{\"metrics_collection_interval\":172801}}",
                 "expected a number <= 172800");
    /* minLength / maxLength */
    EXPECT_ERROR("{\"agent\":{\"region\":\"\"}}",
                 "agent.region: found \"\", expected a string of at least 1 character(s)");
    char big[400] = "{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\"]}},"
                    "\"namespace\":\"";
    size_t len = strlen(big);
    memset(big + len, 'x', 256);
    snprintf(big + len + 256, sizeof big - len - 256, "\"}}");
    EXPECT_ERROR(big, "expected a string of at most 255 character(s)");
    /* enum (retentionInDaysDefinition) */
    EXPECT_ERROR("{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":[{\"file_path\":"
                 "\"/x\",\"retention_in_days\":2}]}}}}",
                 "retention_in_days: found 2, expected one of -1, 1, 3");
    /* additionalProperties false, in a collect_list item */
    EXPECT_ERROR("{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":[{\"file_path\":"
                 "\"/x\",\"from_beginning\":true}]}}}}",
                 "collect_list[0].from_beginning: found unknown key \"from_beginning\"");
    /* additionalProperties as a schema (append_dimensions values are strings) */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\"],"
                 "\"append_dimensions\":{\"k\":5}}}}}",
                 "mem.append_dimensions.k: found 5 (integer), expected string");
    /* required */
    EXPECT_ERROR("{\"metrics\":{}}", "metrics.metrics_collected: found nothing, expected the "
                                     "required key \"metrics_collected\"");
    /* minItems */
    EXPECT_ERROR("{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":[]}}}}",
                 "collect_list: found 0 item(s), expected at least 1");
    /* maxItems */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"cpu\":{\"measurement\":[\"usage_idle\"],"
                 "\"resources\":[\"*\",\"*\"]}}}}",
                 "cpu.resources: found 2 item(s), expected at most 1");
    /* uniqueItems */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\","
                 "\"used\"]}}}}",
                 "expected unique items");
    /* minProperties */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{}}}",
                 "metrics.metrics_collected: found 0 key(s), expected at least 1");
    /* maxProperties */
    char dims[2048] = "{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\"],"
                      "\"append_dimensions\":{";
    for (int i = 0; i < 31; i++) {
        size_t l = strlen(dims);
        snprintf(dims + l, sizeof dims - l, "%s\"k%d\":\"v\"", i ? "," : "", i);
    }
    strncat(dims, "}}}}}", sizeof dims - strlen(dims) - 1);
    EXPECT_ERROR(dims, "found 31 key(s), expected at most 30");
    /* anyOf + pattern (credentialsDefinition.role_arn): short and not ${...} */
    EXPECT_ERROR("{\"agent\":{\"credentials\":{\"role_arn\":\"arn:short\"}}}",
                 "agent.credentials.role_arn: found \"arn:short\", expected a string of at least "
                 "20 character(s)");
    /* oneOf (measurement item: string or object) */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[7]}}}}",
                 "mem.measurement[0]: found 7 (integer), expected string");
    /* allOf (cpuDefinitions) */
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"cpu\":{\"totalcpu\":\"no\"}}}}",
                 "cpu.totalcpu: found \"no\" (string), expected boolean");
    /* not (windows_events event_name) */
    EXPECT_ERROR("{\"logs\":{\"logs_collected\":{\"windows_events\":{\"collect_list\":[{"
                 "\"event_name\":\"Forwarded Events\",\"event_ids\":[1]}]}}}}",
                 "event_name: found \"Forwarded Events\", expected anything else");
}

TEST(any_of_required_alternatives_get_one_clear_line)
{
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"procstat\":[{\"measurement\":"
                 "[\"pid\"]}]}}}",
                 "a.json: metrics.metrics_collected.procstat[0]: found none of \"pid_file\", "
                 "\"exe\", \"pattern\", expected at least one of them");
    EXPECT_ERROR("{\"logs\":{\"force_flush_interval\":5}}",
                 "a.json: logs: found none of \"logs_collected\", \"metrics_collected\"");
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_EQ_INT(load1("{\"logs\":{}}", &c, &d), -1);
    T_EQ_INT(d.n_errors, 1); /* the hidden "required" detail is not printed twice */
    cw_config_diag_free(&d);
}

TEST(path_helpers)
{
    char *p = cw_path_key("agent", "service.name");
    T_EQ_STR(p, "agent[\"service.name\"]");
    free(p);
    p = cw_path_key("", "agent");
    T_EQ_STR(p, "agent");
    free(p);
    p = cw_path_index("a.b", 3);
    T_EQ_STR(p, "a.b[3]");
    free(p);
}

TEST(role_arn_placeholder_passes_pattern)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_EQ_INT(load1("{\"agent\":{\"credentials\":{\"role_arn\":\"${MY_REGION}\"}}}", &c, &d), 0);
    T_EQ_STR(c->agent.role_arn, "eu-central-1");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

/* ---- model ---- */

TEST(defaults)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":"
                   "[\"mem_used_percent\"]}}},\"logs\":{\"logs_collected\":{\"files\":{"
                   "\"collect_list\":[{\"file_path\":\"/tmp/app.log.2017-07-11\"},"
                   "{\"file_path\":\"/var/log/messages\"}]}}}}",
                   &c, &d) == 0);
    T_EQ_INT(c->agent.metrics_collection_interval, 60);
    T_EQ_STR(c->agent.region, "us-west-2"); /* from meta */
    T_CHECK(c->agent.logfile == NULL);      /* stderr unless agent.logfile is given */
    T_EQ_STR(c->metrics.namespace, "CWAgent");
    T_EQ_INT(c->metrics.force_flush_interval, 60);
    T_EQ_INT(c->metrics.cpu_totalcpu, 1);
    const struct cw_metric_plugin *mem = &c->metrics.plugins[CW_PLUGIN_MEM];
    T_EQ_INT(mem->enabled, 1);
    T_EQ_INT(mem->interval, 60);
    T_EQ_INT(mem->high_resolution, 0);
    T_EQ_STR(mem->measurements[0].field, "used_percent");
    T_EQ_STR(mem->measurements[0].name, "mem_used_percent");
    T_CHECK(mem->measurements[0].unit == NULL);
    T_EQ_INT(c->metrics.plugins[CW_PLUGIN_CPU].enabled, 0);
    T_EQ_INT(c->logs.force_flush_interval, 5);
    T_EQ_INT(c->logs.concurrency, 1);
    T_EQ_STR(c->logs.log_stream_name, "i-0123456789abcdef0");
    T_EQ_INT(c->logs.n_files, 2);
    T_EQ_STR(c->logs.files[0].log_group_name, "/tmp/app.log");
    T_EQ_STR(c->logs.files[1].log_group_name, "/var/log/messages");
    T_EQ_STR(c->logs.files[0].log_stream_name, "i-0123456789abcdef0");
    T_EQ_INT(c->logs.files[0].retention_in_days, -1);
    T_EQ_STR(c->logs.files[0].multi_line_start_pattern, "^[\\S]");
    T_EQ_INT(c->logs.files[0].utc, 0);
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(measurements_prefix_rename_unit_drop)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"agent\":{\"metrics_collection_interval\":30},\"metrics\":{"
                   "\"metrics_collected\":{\"cpu\":{\"resources\":[\"*\"],\"totalcpu\":false,"
                   "\"drop_original_metrics\":[\"cpu_usage_idle\",\"time_active\"],"
                   "\"measurement\":[{\"name\":\"cpu_usage_idle\",\"rename\":\"IDLE\","
                   "\"unit\":\"percent\"},\"usage_user\",\"time_active\"]},"
                   "\"procstat\":[{\"pid_file\":\"/run/x.pid\",\"measurement\":[\"pid_count\","
                   "\"procstat_cpu_usage\"],\"metrics_collection_interval\":120}]}}}",
                   &c, &d) == 0);
    const struct cw_metric_plugin *cpu = &c->metrics.plugins[CW_PLUGIN_CPU];
    T_EQ_INT(cpu->n_measurements, 3);
    T_EQ_STR(cpu->measurements[0].field, "usage_idle");
    T_EQ_STR(cpu->measurements[0].name, "IDLE");
    T_EQ_STR(cpu->measurements[0].unit, "Percent");
    T_EQ_INT(cpu->measurements[0].drop_original, 1);
    T_EQ_STR(cpu->measurements[1].name, "cpu_usage_user");
    T_EQ_INT(cpu->measurements[1].drop_original, 0);
    T_EQ_INT(cpu->measurements[2].drop_original, 1);
    T_EQ_INT(cpu->interval, 30);
    T_EQ_INT(cpu->high_resolution, 1);
    T_EQ_INT(c->metrics.cpu_percpu, 1);
    T_EQ_INT(c->metrics.cpu_totalcpu, 0);
    T_EQ_INT(c->metrics.n_procstat, 1);
    T_EQ_STR(c->metrics.procstat[0].common.measurements[0].name, "procstat_lookup_pid_count");
    T_EQ_STR(c->metrics.procstat[0].common.measurements[1].field, "cpu_usage");
    T_EQ_INT(c->metrics.procstat[0].common.interval, 120);
    T_EQ_STR(c->metrics.procstat[0].pid_finder, "native");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(unregistered_measurement_is_an_error)
{
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":"
                 "[\"used\",\"mem_bogus\"]}}}}",
                 "a.json: metrics.metrics_collected.mem.measurement[1]: found \"mem_bogus\", "
                 "expected a mem measurement (one of: active, available");
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":"
                 "[{\"rename\":\"x\"}]}}}}",
                 "found an object without \"name\"");
}

TEST(append_dimensions_global_and_plugin)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"metrics\":{\"append_dimensions\":{\"InstanceId\":\"${aws:InstanceId}\","
                   "\"AutoScalingGroupName\":\"${aws:AutoScalingGroupName}\",\"Team\":\"x\"},"
                   "\"metrics_collected\":{\"cpu\":{\"measurement\":[\"usage_idle\"],"
                   "\"append_dimensions\":{\"InstanceType\":\"${aws:InstanceType}\","
                   "\"ImageId\":\"${aws:ImageId}\",\"Asg\":\"${aws:AutoScalingGroupName}\","
                   "\"Svc\":\"web\",\"Reg\":\"${MY_REGION}\"}},"
                   "\"disk\":{\"measurement\":[\"used\"],\"append_dimensions\":{"
                   "\"VolumeId\":\"${aws:VolumeId}\"}}}}}",
                   &c, &d) == 0);
    T_EQ_INT(c->metrics.global_dims, CW_DIM_PRESENT | CW_DIM_INSTANCE_ID | CW_DIM_ASG_NAME);
    T_HAS_WARNING(&d, "a.json: metrics.append_dimensions.Team: not supported by cwagent; ignored");
    const struct cw_metric_plugin *cpu = &c->metrics.plugins[CW_PLUGIN_CPU];
    T_EQ_INT(cpu->n_append_dimensions, 4); /* Asg dropped: unknown */
    T_EQ_STR(cpu->append_dimensions[0].key, "InstanceType");
    T_EQ_STR(cpu->append_dimensions[0].value, "m5.large");
    T_EQ_STR(cpu->append_dimensions[1].value, "ami-12345678");
    T_EQ_STR(cpu->append_dimensions[2].value, "web");
    T_EQ_STR(cpu->append_dimensions[3].value, "eu-central-1");
    T_HAS_WARNING(&d, "disk.append_dimensions.VolumeId: ${aws:VolumeId}: not supported by "
                      "cwagent; ignored");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(placeholders_in_log_names)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"agent\":{\"region\":\"${MY_REGION}\"},\"logs\":{\"log_stream_name\":"
                   "\"${MY_STREAM}\",\"logs_collected\":{\"files\":{\"collect_list\":["
                   "{\"file_path\":\"/a\",\"log_group_name\":\"{instance_id}/{hostname}/"
                   "{local_hostname}\",\"log_stream_name\":\"{ip_address}-{aws_region}-"
                   "{account_id}-{date}\"},{\"file_path\":\"/b\",\"publish_multi_logs\":true}]}}}}",
                   &c, &d) == 0);
    T_EQ_STR(c->agent.region, "eu-central-1");
    T_EQ_STR(c->logs.log_stream_name, "stream-from-env");
    T_EQ_STR(c->logs.files[0].log_group_name,
             "i-0123456789abcdef0/ip-10-0-0-1.ec2.internal/myhost");
    T_EQ_STR(c->logs.files[0].log_stream_name, "10.0.0.1-eu-central-1-123456789012-2023-11-14");
    T_CHECK(c->logs.files[1].log_group_name == NULL);
    T_EQ_STR(c->logs.files[1].log_stream_name, "stream-from-env");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(placeholders_unknown_metadata)
{
    struct cw_config_meta meta = {.local_hostname = "box", .now = 86400};
    char *s = cw_resolve_placeholders("{instance_id},{hostname},{ip_address},{aws_region},"
                                      "{account_id},{date}",
                                      &meta, NULL);
    T_EQ_STR(s, "i-UNKNOWN,box,UNKNOWN-IP,UNKNOWN-REGION,UNKNOWN-ACCOUNT,1970-01-02");
    free(s);
    char *v = NULL;
    T_EQ_INT(cw_resolve_aws_value("${aws:InstanceId}", &meta, &v), 0);
    T_EQ_STR(v, "i-UNKNOWN");
    free(v);
    T_EQ_INT(cw_resolve_aws_value("${aws:AutoScalingGroupName}", &meta, &v), 0);
    T_CHECK(v == NULL);
    T_EQ_INT(cw_resolve_aws_value("${aws:Nope}", &meta, &v), -1);
    char *unset = NULL;
    char *e = cw_expand_env("a${MY_REGION}b${NOPE_X}c$HOME${1X}", fake_env, &unset);
    T_EQ_STR(e, "aeu-central-1bc$HOME${1X}");
    T_EQ_STR(unset, "NOPE_X");
    free(e);
    free(unset);
}

TEST(on_premise_default_stream_is_hostname)
{
    struct cw_config_meta meta = {.local_hostname = "box"};
    const char *name = "x.json";
    const char *text = "{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":["
                       "{\"file_path\":\"/a.log\"}]}}}}";
    struct cw_config *c = NULL;
    struct cw_config_diag d = {0};
    T_ASSERT(cw_config_load_buffers(&name, &text, 1, &meta, &c, &d) == 0);
    T_EQ_STR(c->logs.log_stream_name, "box");
    T_EQ_STR(c->logs.files[0].log_stream_name, "box");
    T_CHECK(c->agent.region == NULL);
    cw_config_free(c);
    cw_config_diag_free(&d);
}

/* ---- semantic checks ---- */

#define FILES(items) "{\"logs\":{\"logs_collected\":{\"files\":{\"collect_list\":[" items "]}}}}"

TEST(semantic_regexes_compile)
{
    EXPECT_ERROR(FILES("{\"file_path\":\"/a\",\"multi_line_start_pattern\":\"(\"}"),
                 "collect_list[0].multi_line_start_pattern: found \"(\", expected a valid regular "
                 "expression");
    EXPECT_ERROR(FILES("{\"file_path\":\"/a\",\"blacklist\":\"[z-a]\"}"),
                 "collect_list[0].blacklist: found \"[z-a]\", expected a valid regular");
    EXPECT_ERROR(FILES("{\"file_path\":\"/a\",\"filters\":[{\"type\":\"include\","
                       "\"expression\":\"a)\"}]}"),
                 "collect_list[0].filters[0].expression: found \"a)\"");
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"procstat\":[{\"exe\":\"*x\","
                 "\"measurement\":[\"pid\"]}]}}}",
                 "procstat[0].exe: found \"*x\", expected a valid regular expression");
    /* {timestamp_format} is not a regex; the reference's typo'd form is a valid one */
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1(FILES("{\"file_path\":\"/a\",\"timestamp_format\":\"%H:%M\","
                         "\"multi_line_start_pattern\":\"{timestamp_format}\"}"),
                   &c, &d) == 0);
    T_EQ_INT(c->logs.files[0].multiline_uses_timestamp, 1);
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(semantic_retention_and_class_conflicts)
{
    EXPECT_ERROR(FILES("{\"file_path\":\"/a\",\"log_group_name\":\"G\",\"retention_in_days\":3},"
                       "{\"file_path\":\"/b\",\"log_group_name\":\"g\",\"retention_in_days\":5}"),
                 "collect_list[1]: found retention_in_days 5 for log group \"g\", expected 3");
    EXPECT_ERROR(FILES("{\"file_path\":\"/a\",\"log_group_name\":\"G\",\"log_group_class\":"
                       "\"standard\"},{\"file_path\":\"/b\",\"log_group_name\":\"G\","
                       "\"log_group_class\":\"INFREQUENT_ACCESS\"}"),
                 "found log_group_class INFREQUENT_ACCESS for log group \"G\", expected STANDARD");
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1(FILES("{\"file_path\":\"/a\",\"log_group_name\":\"G\",\"retention_in_days\":3,"
                         "\"log_group_class\":\"standard\"},{\"file_path\":\"/b\","
                         "\"log_group_name\":\"G\",\"retention_in_days\":-1,"
                         "\"log_group_class\":\"cold\"}"),
                   &c, &d) == 0);
    T_EQ_STR(c->logs.files[0].log_group_class, "STANDARD");
    T_CHECK(c->logs.files[1].log_group_class == NULL);
    T_HAS_WARNING(&d, "collect_list[1].log_group_class: found \"COLD\", expected STANDARD or "
                      "INFREQUENT_ACCESS; ignored");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(semantic_timestamp_format_directives)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1(FILES("{\"file_path\":\"/a\",\"timestamp_format\":"
                         "\"%Y-%m-%dT%H:%M:%S.%f%z %-d %j\"}"),
                   &c, &d) == 0);
    T_EQ_INT(d.n_warnings, 1);
    T_HAS_WARNING(&d, "collect_list[0].timestamp_format: directive %j is not supported");
    T_EQ_STR(c->logs.files[0].timestamp_format, "%Y-%m-%dT%H:%M:%S.%f%z %-d %j");
    cw_config_free(c);
    cw_config_diag_free(&d);
}

TEST(semantic_auto_removal_with_publish_multi_logs)
{
    EXPECT_ERROR(FILES("{\"file_path\":\"/a*\",\"auto_removal\":true,"
                       "\"publish_multi_logs\":true}"),
                 "collect_list[0].auto_removal: found true, expected false");
}

/* agent.cwagent: cwagent-only settings, typed and bounded, unknown keys reported. */
TEST(agent_cwagent_settings)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"agent\":{\"cwagent\":{\"rotated_file_quiet_seconds\":90,"
                   "\"log_read_ahead_kb\":256,\"nope\":1}},\"metrics\":{\"metrics_collected\":"
                   "{\"mem\":{\"measurement\":[\"used\"]}}}}",
                   &c, &d) == 0);
    T_EQ_INT(c->agent.rotated_file_quiet_seconds, 90);
    T_EQ_INT(c->agent.log_read_ahead_kb, 256);
    T_CHECK(contains(d.warnings, d.n_warnings, "agent.cwagent.nope"));
    char *js = cw_config_to_json(c);
    T_CHECK(js && strstr(js, "\"rotated_file_quiet_seconds\": 90"));
    free(js);
    cw_config_free(c);
    cw_config_diag_free(&d);
    EXPECT_ERROR("{\"agent\":{\"cwagent\":{\"rotated_file_quiet_seconds\":0}}}",
                 "agent.cwagent.rotated_file_quiet_seconds: expected an integer from 1 to 86400");
    EXPECT_ERROR("{\"agent\":{\"cwagent\":{\"log_read_ahead_kb\":\"big\"}}}",
                 "agent.cwagent.log_read_ahead_kb: expected an integer from 64 to 1048576");
    EXPECT_ERROR("{\"agent\":{\"cwagent\":[]}}", "agent.cwagent: expected an object");
}

/* ---- not supported: exactly one line per key ---- */

TEST(not_supported_lines_once_each)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"agent\":{\"flush_interval\":\"1s\",\"usage_data\":false,\"custom\":1},"
                   "\"metrics\":{\"metrics_destinations\":{\"amp\":{\"workspace_id\":\"ws\"}},"
                   "\"metrics_collected\":{\"statsd\":{\"service.name\":\"s\"},\"ethtool\":{},"
                   "\"nvidia_gpu\":{\"measurement\":[\"utilization_gpu\"]},"
                   "\"mem\":{\"measurement\":[\"used\"],"
                   "\"resources\":[\"*\"]}}},"
                   "\"logs\":{\"metrics_collected\":{\"emf\":{}},\"logs_collected\":{"
                   "\"journald\":{\"collect_list\":[{\"log_group_name\":\"j\"}]},"
                   "\"files\":{\"collect_list\":[{\"file_path\":\"/a\","
                   "\"backpressure_mode\":\"fd_release\"}]}}}}",
                   &c, &d) == 0);
    const char *want[] = {
        "a.json: agent.flush_interval: Telegraf setting with no meaning for cwagent; ignored",
        "a.json: agent.usage_data: not supported by cwagent; ignored",
        "a.json: agent.custom: unknown key, not used by cwagent; ignored",
        "a.json: metrics.metrics_destinations.amp: not supported by cwagent; ignored",
        "a.json: metrics.metrics_collected.statsd[\"service.name\"]: not supported",
        "a.json: metrics.metrics_collected.mem.resources: unknown key, not used by cwagent",
        "a.json: logs.logs_collected.files.collect_list[0].backpressure_mode: not supported",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t n = count_containing(d.warnings, d.n_warnings, want[i]);
        if (n != 1) {
            dump_diag(&d);
            t_fail_at(__FILE__, __LINE__, "\"%s\": expected exactly 1 line, got %zu", want[i], n);
        }
    }
    T_EQ_INT(d.n_warnings, sizeof want / sizeof want[0]);
    cw_config_free(c);
    cw_config_diag_free(&d);
}

/* ---- cwagent additions: system plugin, agent.cwagent.prometheus ---- */

TEST(system_plugin_is_collected)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"metrics\":{\"metrics_collected\":{\"system\":{\"measurement\":"
                   "[\"load1\",\"system_n_cpus\",{\"name\":\"uptime\",\"rename\":\"Up\"}]}}}}",
                   &c, &d) == 0);
    T_EQ_INT(d.n_warnings, 0);
    const struct cw_metric_plugin *p = &c->metrics.plugins[CW_PLUGIN_SYSTEM];
    T_CHECK(p->enabled);
    T_ASSERT(p->n_measurements == 3);
    T_CHECK(strcmp(p->measurements[0].name, "system_load1") == 0);
    T_CHECK(strcmp(p->measurements[1].field, "n_cpus") == 0);
    T_CHECK(strcmp(p->measurements[2].name, "Up") == 0);
    cw_config_free(c);
    cw_config_diag_free(&d);
    EXPECT_ERROR(
        "{\"metrics\":{\"metrics_collected\":{\"system\":{\"measurement\":[\"x\"]}}}}",
        "system.measurement[0]: found \"x\", expected a system measurement (one of: load1, "
        "load5, load15, n_cpus, n_users, uptime)");
}

TEST(ethtool_and_nvidia_gpu_are_collected)
{
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"metrics\":{\"metrics_collected\":{"
                   "\"ethtool\":{\"interface_include\":[\"eth*\"],\"interface_exclude\":[\"eth9\"],"
                   "\"metrics_include\":[\"bw_in_allowance_exceeded\",\"pps_allowance_exceeded\"]},"
                   "\"nvidia_gpu\":{\"bin_path\":\"/opt/nv/nvidia-smi\",\"measurement\":"
                   "[\"utilization_gpu\",\"nvidia_smi_memory_used\"]},"
                   "\"diskio\":{\"measurement\":[\"reads\",\"ebs_total_read_ops\","
                   "\"diskio_instance_store_volume_queue_length\"]}}}}",
                   &c, &d) == 0);
    if (d.n_warnings)
        dump_diag(&d);
    T_EQ_INT(d.n_warnings, 0);
    const struct cw_metrics_config *mc = &c->metrics;
    T_CHECK(mc->plugins[CW_PLUGIN_ETHTOOL].enabled);
    T_EQ_INT(mc->ethtool_include.n, 1);
    T_EQ_INT(mc->ethtool_exclude.n, 1);
    T_EQ_INT(mc->ethtool_metrics.n, 2);
    const struct cw_metric_plugin *g = &mc->plugins[CW_PLUGIN_NVIDIA_GPU];
    T_CHECK(g->enabled);
    T_ASSERT(g->n_measurements == 2);
    T_CHECK(strcmp(g->measurements[0].name, "nvidia_smi_utilization_gpu") == 0);
    T_CHECK(strcmp(g->measurements[1].field, "memory_used") == 0);
    T_CHECK(mc->nvidia_bin_path && strcmp(mc->nvidia_bin_path, "/opt/nv/nvidia-smi") == 0);
    cw_config_free(c);
    cw_config_diag_free(&d);
    EXPECT_ERROR("{\"metrics\":{\"metrics_collected\":{\"nvidia_gpu\":{\"measurement\":"
                 "[\"watts\"]}}}}",
                 "found \"watts\", expected a nvidia_gpu measurement");
}

TEST(prometheus_listen)
{
    static const char *const good[] = {"127.0.0.1:9100", ":9100", "[::1]:9100", "localhost:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"agent\":{\"cwagent\":{\"prometheus\":{\"listen\":\"%s\"}}}}", good[i]);
        struct cw_config *c = NULL;
        struct cw_config_diag d;
        if (load1(text, &c, &d) != 0 || !c->agent.prom_listen ||
            strcmp(c->agent.prom_listen, good[i]) != 0 || d.n_warnings != 0)
            t_fail_at(__FILE__, __LINE__, "listen %s not accepted as is", good[i]);
        cw_config_free(c);
        cw_config_diag_free(&d);
    }
    static const char *const bad[] = {"9100",     "127.0.0.1:", "127.0.0.1:0", "h:65536",
                                      "::1:9100", "h:91a0",     "[::1:9100"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"agent\":{\"cwagent\":{\"prometheus\":{\"listen\":\"%s\"}}}}", bad[i]);
        char want[160];
        snprintf(want, sizeof want,
                 "agent.cwagent.prometheus.listen: found \"%s\", expected HOST:PORT", bad[i]);
        EXPECT_ERROR(text, want);
    }
    EXPECT_ERROR("{\"agent\":{\"cwagent\":{\"prometheus\":{\"listen\":9100}}}}",
                 "agent.cwagent.prometheus.listen: expected a string");
    EXPECT_ERROR("{\"agent\":{\"cwagent\":{\"prometheus\":true}}}",
                 "agent.cwagent.prometheus: expected an object");
    struct cw_config *c = NULL;
    struct cw_config_diag d;
    T_ASSERT(load1("{\"agent\":{\"cwagent\":{\"prometheus\":{\"listen\":\":1\",\"x\":1},"
                   "\"y\":2}}}",
                   &c, &d) == 0);
    T_EQ_INT(d.n_warnings, 2);
    T_EQ_INT(count_containing(d.warnings, d.n_warnings, "agent.cwagent.prometheus.x: unknown key"),
             1);
    T_EQ_INT(count_containing(d.warnings, d.n_warnings, "agent.cwagent.y: unknown key"), 1);
    cw_config_free(c);
    cw_config_diag_free(&d);
}

/* ---- files and directories ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return;
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(p);
}

static void remove_tree(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, de->d_name) >= 0) {
            struct stat st;
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else
                unlink(p);
        }
        free(p);
    }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

TEST(directory_like_amazon_cloudwatch_agent_d)
{
    char dir[] = "/tmp/cwcfgXXXXXX";
    T_ASSERT(mkdtemp(dir));
    write_file(dir, "default", "{\"agent\":{\"run_as_user\":\"cwagent\"}}");
    write_file(dir, "file_app.json",
               "{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"used\"]}}}}");
    write_file(dir, "ssm_AmazonCloudWatch-linux",
               "{\"metrics\":{\"metrics_collected\":{\"mem\":{\"measurement\":[\"free\"]}}}}");
    write_file(dir, "z.json", "{\"agent\":{\"debug\":true}}");
    write_file(dir, "ssm_pending.tmp", "{\"agent\":{\"debug\":false}}");
    write_file(dir, "README", "not json");
    write_file(dir, ".hidden.json", "{");
    char sub[64];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0700);
    const char *paths[] = {dir};
    struct cw_config *c = NULL;
    struct cw_config_diag d = {0};
    if (cw_config_load(paths, 1, &test_meta, &c, &d) != 0) {
        dump_diag(&d);
        t_fail_at(__FILE__, __LINE__, "directory load failed");
    } else {
        T_EQ_STR(c->agent.run_as_user, "cwagent");
        T_EQ_INT(c->agent.debug, 1);
        /* file_app.json sorts before ssm_...: used then free */
        T_EQ_INT(c->metrics.plugins[CW_PLUGIN_MEM].n_measurements, 2);
        T_EQ_STR(c->metrics.plugins[CW_PLUGIN_MEM].measurements[0].field, "used");
        T_EQ_STR(c->metrics.plugins[CW_PLUGIN_MEM].measurements[1].field, "free");
        T_HAS_WARNING(&d, "ssm_pending.tmp: skipped");
        T_HAS_WARNING(&d, "README: skipped");
        T_HAS_WARNING(&d, "sub: subdirectory skipped");
    }
    cw_config_free(c);
    cw_config_diag_free(&d);
    /* a syntax error in one file of the directory names that file */
    write_file(dir, "file_bad.json", "{\n\"agent\": }");
    T_EQ_INT(cw_config_load(paths, 1, &test_meta, &c, &d), -1);
    T_HAS_ERROR(&d, "file_bad.json:2:");
    cw_config_diag_free(&d);
    remove_tree(dir);
}

TEST(missing_file_is_an_error)
{
    const char *paths[] = {"/nonexistent/cw.json"};
    struct cw_config *c = NULL;
    struct cw_config_diag d = {0};
    T_EQ_INT(cw_config_load(paths, 1, NULL, &c, &d), -1);
    T_HAS_ERROR(&d, "/nonexistent/cw.json: cannot read");
    cw_config_diag_free(&d);
}

T_MAIN("test_config", T_CASE(agent_cwagent_settings),
       T_CASE(schema_vector_invalid_measurement_counts),
       T_CASE(schema_vector_additional_property_counts),
       T_CASE(schema_vector_missing_file_path_counts),
       T_CASE(schema_vectors_valid_ones_pass_schema_and_model),
       T_CASE(schema_vectors_invalid_ones_fail_load),
       T_CASE(every_sample_validates_and_round_trips),
       T_CASE(merge_conflicting_scalar_names_both_files),
       T_CASE(merge_same_scalar_is_fine_objects_merge_arrays_dedup),
       T_CASE(merge_type_conflict_is_an_error),
       T_CASE(errors_after_merge_name_the_file_and_its_own_index),
       T_CASE(invalid_json_reports_line_and_column),
       T_CASE(unknown_root_key_is_an_error_traces_is_a_warning), T_CASE(schema_keywords),
       T_CASE(any_of_required_alternatives_get_one_clear_line), T_CASE(path_helpers),
       T_CASE(role_arn_placeholder_passes_pattern), T_CASE(defaults),
       T_CASE(measurements_prefix_rename_unit_drop), T_CASE(unregistered_measurement_is_an_error),
       T_CASE(append_dimensions_global_and_plugin), T_CASE(placeholders_in_log_names),
       T_CASE(placeholders_unknown_metadata), T_CASE(on_premise_default_stream_is_hostname),
       T_CASE(semantic_regexes_compile), T_CASE(semantic_retention_and_class_conflicts),
       T_CASE(semantic_timestamp_format_directives),
       T_CASE(semantic_auto_removal_with_publish_multi_logs), T_CASE(not_supported_lines_once_each),
       T_CASE(system_plugin_is_collected), T_CASE(prometheus_listen),
       T_CASE(ethtool_and_nvidia_gpu_are_collected),
       T_CASE(directory_like_amazon_cloudwatch_agent_d), T_CASE(missing_file_is_an_error))
