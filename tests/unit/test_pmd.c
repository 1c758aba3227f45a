/* Unit tests for agent/pmd: number, timestamp and percent-encoding exactness, batching limits,
 * value filtering and the error-reply parsers.
 *
 *   test_pmd [FILTER]        runs the cases
 *   test_pmd --dump DIR      writes representative batches (case<N>.json with the datums,
 *                            case<N>.b<K> with the encoded bodies) for
 *                            tests/e2e/test_pmd_botocore.py to compare against botocore.
 */
#include "agent/pmd.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- collecting emitted batches ---- */

#define MAX_BATCHES 64

struct sink {
    char *body[MAX_BATCHES];
    size_t len[MAX_BATCHES];
    size_t ndatums[MAX_BATCHES];
    int64_t oldest[MAX_BATCHES], newest[MAX_BATCHES];
    size_t n;
    int fail; /* make emit return -1 */
};

static int sink_emit(void *ud, const struct pmd_batch *b)
{
    struct sink *s = ud;
    if (s->n < MAX_BATCHES) {
        s->body[s->n] = strndup(b->body, b->len);
        s->len[s->n] = b->len;
        s->ndatums[s->n] = b->ndatums;
        s->oldest[s->n] = b->oldest_ms;
        s->newest[s->n] = b->newest_ms;
        s->n++;
    }
    return s->fail ? -1 : 0;
}

static void sink_free(struct sink *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->body[i]);
    s->n = 0;
}

/* Encodes `n` datums as one flushed batch and returns the body (caller frees). */
static char *encode_one(const char *ns, const struct datum *d, size_t n)
{
    struct sink s = {0};
    struct pmd_encoder *e = pmd_encoder_new(ns, NULL, sink_emit, &s);
    if (!e)
        return NULL;
    for (size_t i = 0; i < n; i++)
        (void)pmd_encoder_add(e, &d[i]);
    (void)pmd_encoder_flush(e);
    pmd_encoder_free(e);
    char *body = s.n == 1 ? s.body[0] : NULL;
    if (s.n != 1)
        sink_free(&s);
    return body;
}

/* ---- cases ---- */

TEST(format_double_matches_python_repr)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {1.5, "1.5"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {1e+16, "1e+16"},
        {1234567890123456.0, "1234567890123456.0"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {2.5e-07, "2.5e-07"},
        {1e+22, "1e+22"},
        {1.7976931348623157e+308, "1.7976931348623157e+308"},
        {5e-324, "5e-324"},
        {123456.789, "123456.789"},
        {-42.25, "-42.25"},
        {9007199254740992.0, "9007199254740992.0"},
        {1.2345678901234567e+19, "1.2345678901234567e+19"},
        {0.000123, "0.000123"},
        {99.99999999999999, "99.99999999999999"},
        {1000000000000000.0, "1000000000000000.0"},
        {999999999999999.9, "999999999999999.9"},
        {0.00012345678901234567, "0.00012345678901234567"},
        {1.5e-323, "1.5e-323"},
        {1.23e-18, "1.23e-18"},
        {4.35, "4.35"},
        {1e+100, "1e+100"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[40];
        size_t n = pmd_format_double(buf, cases[i].v);
        buf[n] = '\0';
        T_EQ_STR(buf, cases[i].want);
    }
}

/* Every finite double must survive format -> strtod unchanged, with at most 17 digits. */
TEST(format_double_round_trips_random_bits)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        char buf[40];
        buf[pmd_format_double(buf, v)] = '\0';
        if (strtod(buf, NULL) != v || strlen(buf) > 25) {
            t_fail_at(__FILE__, __LINE__, "%.17g formatted as %s", v, buf);
            bad++;
        }
    }
}

/* Counts the significant digits of a repr string. */
static int sig_digits(const char *s)
{
    int n = 0, seen = 0, zeros = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (*s == '0' && !seen)
            continue;
        seen = 1;
        zeros = *s == '0' ? zeros + 1 : 0;
        n++;
    }
    return n - zeros;
}

/* Shortest: no decimal with one digit fewer round-trips (checked with printf + strtod), for
 * values of the kinds collectors produce (ratios, percentages, scaled counters). */
TEST(format_double_is_shortest)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v = (double)(x % 100000007) / (double)(1 + (x >> 40) % 99991);
        v = ldexp(v, (int)((x >> 20) % 60) - 30);
        char buf[40], alt[40];
        buf[pmd_format_double(buf, v)] = '\0';
        int n = sig_digits(buf);
        snprintf(alt, sizeof alt, "%.*e", n > 1 ? n - 2 : 0, v);
        if (strtod(buf, NULL) != v || (n > 1 && strtod(alt, NULL) == v)) {
            t_fail_at(__FILE__, __LINE__, "%.17g formatted as %s (%d digits; %s)", v, buf, n, alt);
            bad++;
        }
    }
}

TEST(value_filter_follows_the_api_range)
{
    T_EQ_INT(pmd_value_ok(0.0), 0);
    T_EQ_INT(pmd_value_ok(-1.5), 0);
    T_EQ_INT(pmd_value_ok(0x1p360), 0);
    T_EQ_INT(pmd_value_ok(-0x1p360), 0);
    T_EQ_INT(pmd_value_ok(0x1p-360), 0);
    T_EQ_INT(pmd_value_ok(0x1.0000000000001p360), -1);
    T_EQ_INT(pmd_value_ok(0x1p-361), -1);
    T_EQ_INT(pmd_value_ok(-0x1p-361), -1);
    T_EQ_INT(pmd_value_ok(NAN), -1);
    T_EQ_INT(pmd_value_ok(INFINITY), -1);
    T_EQ_INT(pmd_value_ok(-INFINITY), -1);
}

TEST(encodes_contract_example_exactly)
{
    struct datum_dim dims[] = {{"Host", "a b"}, {"Env", "prod"}};
    struct datum d = {.name = "Latency",
                      .unit = "Milliseconds",
                      .dims = dims,
                      .ndims = 2,
                      .ts_ms = 1704164645000LL, /* 2024-01-02T03:04:05Z */
                      .value = 1.5,
                      .storage_res = 1};
    char *body = encode_one("MyApp/Test", &d, 1);
    T_EQ_STR(body, "Action=PutMetricData&Version=2010-08-01&Namespace=MyApp%2FTest"
                   "&MetricData.member.1.MetricName=Latency"
                   "&MetricData.member.1.Dimensions.member.1.Name=Host"
                   "&MetricData.member.1.Dimensions.member.1.Value=a+b"
                   "&MetricData.member.1.Dimensions.member.2.Name=Env"
                   "&MetricData.member.1.Dimensions.member.2.Value=prod"
                   "&MetricData.member.1.Timestamp=2024-01-02T03%3A04%3A05Z"
                   "&MetricData.member.1.Value=1.5"
                   "&MetricData.member.1.Unit=Milliseconds"
                   "&MetricData.member.1.StorageResolution=1");
    free(body);
}

TEST(encodes_values_counts_and_statistics)
{
    double v[] = {1.0, 2.0}, c[] = {3.0, 4.0};
    struct datum d = {.name = "Sizes",
                      .unit = "Bytes/Second",
                      .ts_ms = 1795435200123LL,
                      .values = v,
                      .counts = c,
                      .nvalues = 2,
                      .has_stats = 1,
                      .stats = {7, 11, 1, 2},
                      .storage_res = 60};
    char *body = encode_one("CWAgent", &d, 1);
    T_EQ_STR(body, "Action=PutMetricData&Version=2010-08-01&Namespace=CWAgent"
                   "&MetricData.member.1.MetricName=Sizes"
                   "&MetricData.member.1.Timestamp=2026-11-23T12%3A00%3A00.123000Z"
                   "&MetricData.member.1.Values.member.1=1.0"
                   "&MetricData.member.1.Values.member.2=2.0"
                   "&MetricData.member.1.Counts.member.1=3.0"
                   "&MetricData.member.1.Counts.member.2=4.0"
                   "&MetricData.member.1.StatisticValues.SampleCount=7.0"
                   "&MetricData.member.1.StatisticValues.Sum=11.0"
                   "&MetricData.member.1.StatisticValues.Minimum=1.0"
                   "&MetricData.member.1.StatisticValues.Maximum=2.0"
                   "&MetricData.member.1.Unit=Bytes%2FSecond"
                   "&MetricData.member.1.StorageResolution=60");
    free(body);
}

TEST(percent_encodes_like_quote_plus)
{
    struct datum_dim dims[] = {{"k~_.-", "a+b/c=d&f:g*h é"}};
    struct datum d = {.name = "n", .dims = dims, .ndims = 1, .ts_ms = -1, .value = 2};
    char *body = encode_one("A B", &d, 1);
    T_EQ_STR(body, "Action=PutMetricData&Version=2010-08-01&Namespace=A+B"
                   "&MetricData.member.1.MetricName=n"
                   "&MetricData.member.1.Dimensions.member.1.Name=k~_.-"
                   "&MetricData.member.1.Dimensions.member.1.Value=a%2Bb%2Fc%3Dd%26f%3Ag%2Ah+%C3%A9"
                   "&MetricData.member.1.Value=2.0");
    free(body);
}

TEST(exponent_plus_is_percent_encoded)
{
    double v[] = {1e16, -2.5e-7};
    struct datum d = {.name = "x", .ts_ms = -1, .values = v, .nvalues = 2};
    char *body = encode_one("N", &d, 1);
    T_EQ_STR(body, "Action=PutMetricData&Version=2010-08-01&Namespace=N"
                   "&MetricData.member.1.MetricName=x"
                   "&MetricData.member.1.Values.member.1=1e%2B16"
                   "&MetricData.member.1.Values.member.2=-2.5e-07");
    free(body);
}

TEST(timestamps_across_calendar_edges)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00%3A00%3A00Z"},
        {951868799000LL, "2000-02-29T23%3A59%3A59Z"},
        {946684799000LL, "1999-12-31T23%3A59%3A59Z"},
        {4102444800000LL, "2100-01-01T00%3A00%3A00Z"},
        {1795435200000LL, "2026-11-23T12%3A00%3A00Z"},
        {1795435200001LL, "2026-11-23T12%3A00%3A00.001000Z"},
        {1795435200999LL, "2026-11-23T12%3A00%3A00.999000Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct datum d = {.name = "t", .ts_ms = cases[i].ms, .value = 1};
        char *body = encode_one("N", &d, 1);
        T_ASSERT(body);
        const char *p = strstr(body, "Timestamp=");
        T_ASSERT(p);
        char got[64];
        snprintf(got, sizeof got, "%.*s", (int)strcspn(p + 10, "&"), p + 10);
        T_EQ_STR(got, cases[i].want);
        free(body);
    }
}

static void fill_datums(struct datum *d, size_t n, struct datum_dim *dims)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (struct datum){.name = "cpu_usage_idle",
                              .unit = "Percent",
                              .dims = dims,
                              .ndims = 2,
                              .ts_ms = 1795435200000LL + (int64_t)i,
                              .value = (double)i / 7,
                              .storage_res = 60};
}

TEST(batches_cut_at_1000_datums)
{
    static struct datum d[2500];
    struct datum_dim dims[] = {{"host", "ip-10-0-0-1"}, {"cpu", "cpu-total"}};
    fill_datums(d, 2500, dims);
    struct sink s = {0};
    struct pmd_encoder *e = pmd_encoder_new("CWAgent", NULL, sink_emit, &s);
    T_ASSERT(e);
    for (size_t i = 0; i < 2500; i++)
        T_EQ_INT(pmd_encoder_add(e, &d[i]), 0);
    T_EQ_INT(s.n, 2);
    T_EQ_INT(pmd_encoder_pending(e), 500);
    T_EQ_INT(pmd_encoder_flush(e), 0);
    T_EQ_INT(pmd_encoder_flush(e), 0); /* empty: nothing emitted */
    T_ASSERT(s.n == 3);
    T_EQ_INT(s.ndatums[0], 1000);
    T_EQ_INT(s.ndatums[2], 500);
    T_CHECK(strstr(s.body[0], "MetricData.member.1000.StorageResolution=60") != NULL);
    T_CHECK(strstr(s.body[0], "member.1001.") == NULL);
    T_CHECK(strncmp(s.body[1], "Action=PutMetricData&Version=2010-08-01&Namespace=CWAgent&", 58) ==
            0);
    T_EQ_INT(s.oldest[1], 1795435200000LL + 1000);
    T_EQ_INT(s.newest[1], 1795435200000LL + 1999);
    struct pmd_stats st;
    pmd_encoder_stats(e, &st);
    T_EQ_INT(st.datums_encoded, 2500);
    T_EQ_INT(st.batches, 3);
    T_EQ_INT(st.bytes, s.len[0] + s.len[1] + s.len[2]);
    pmd_encoder_free(e);
    sink_free(&s);
}

TEST(batches_cut_at_body_limit_exactly)
{
    static struct datum d[300];
    struct datum_dim dims[] = {{"host", "ip-10-0-0-1"}, {"cpu", "cpu-total"}};
    fill_datums(d, 300, dims);
    struct sink s = {0};
    struct pmd_limits lim = {.max_body = 6000};
    struct pmd_encoder *e = pmd_encoder_new("CWAgent", &lim, sink_emit, &s);
    T_ASSERT(e);
    for (size_t i = 0; i < 300; i++)
        (void)pmd_encoder_add(e, &d[i]);
    (void)pmd_encoder_flush(e);
    size_t total = 0;
    for (size_t i = 0; i < s.n; i++) {
        total += s.ndatums[i];
        T_CHECK(s.len[i] <= 6000);
        T_EQ_INT(strlen(s.body[i]), s.len[i]);
        /* each cut batch was full: one more datum (~250 bytes) would not have fitted */
        if (i + 1 < s.n)
            T_CHECK(s.len[i] > 6000 - 300);
        T_CHECK(strstr(s.body[i], "&MetricData.member.1.MetricName=") != NULL);
    }
    T_EQ_INT(total, 300);
    T_CHECK(s.n >= 10);
    pmd_encoder_free(e);
    sink_free(&s);
}

TEST(drops_bad_values_and_invalid_datums)
{
    struct datum_dim bad_dim[] = {{"host", ""}};
    double vals[] = {1, NAN};
    struct datum d[] = {
        {.name = "a", .value = NAN, .ts_ms = 5},
        {.name = "b", .value = INFINITY, .ts_ms = 5},
        {.name = "c", .value = 0x1p400, .ts_ms = 5},
        {.name = "d", .value = 1e-300, .ts_ms = 5},
        {.name = "e", .values = vals, .nvalues = 2, .ts_ms = 5},
        {.name = "", .value = 1, .ts_ms = 5},
        {.name = "f", .dims = bad_dim, .ndims = 1, .value = 1, .ts_ms = 5},
        {.name = "ok", .value = 3.25, .ts_ms = 5},
    };
    struct sink s = {0};
    struct pmd_encoder *e = pmd_encoder_new("N", NULL, sink_emit, &s);
    T_ASSERT(e);
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        T_EQ_INT(pmd_encoder_add(e, &d[i]), 0);
    T_EQ_INT(pmd_encoder_pending(e), 1);
    (void)pmd_encoder_flush(e);
    struct pmd_stats st;
    pmd_encoder_stats(e, &st);
    T_EQ_INT(st.dropped_bad_value, 5);
    T_EQ_INT(st.dropped_invalid, 2);
    T_EQ_INT(st.datums_encoded, 1);
    T_ASSERT(s.n == 1);
    T_CHECK(strstr(s.body[0], "MetricName=ok") != NULL);
    pmd_encoder_free(e);
    sink_free(&s);
}

TEST(emit_failure_is_reported)
{
    struct sink s = {.fail = 1};
    struct pmd_encoder *e = pmd_encoder_new("N", NULL, sink_emit, &s);
    T_ASSERT(e);
    struct datum d = {.name = "x", .value = 1, .ts_ms = 1};
    T_EQ_INT(pmd_encoder_add(e, &d), 0);
    T_EQ_INT(pmd_encoder_flush(e), -1);
    T_EQ_INT(pmd_encoder_pending(e), 0);
    pmd_encoder_free(e);
    sink_free(&s);
}

TEST(rejects_bad_namespaces)
{
    enum cw_log_level lvl = cw_log_get_level();
    cw_log_set_level(CW_LOG_OFF);
    T_CHECK(pmd_encoder_new("", NULL, sink_emit, NULL) == NULL);
    T_CHECK(pmd_encoder_new(":x", NULL, sink_emit, NULL) == NULL);
    T_CHECK(pmd_encoder_new("a\nb", NULL, sink_emit, NULL) == NULL);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    T_CHECK(pmd_encoder_new(big, NULL, sink_emit, NULL) == NULL);
    cw_log_set_level(lvl);
}

/* ---- --dump: batches for the botocore cross-check ---- */

static json_t *datum_json(const struct datum *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "unit", d->unit ? json_string(d->unit) : json_null());
    json_t *dims = json_array();
    for (size_t i = 0; i < d->ndims; i++)
        json_array_append_new(dims, json_pack("[ss]", d->dims[i].name, d->dims[i].value));
    json_object_set_new(o, "dims", dims);
    json_object_set_new(o, "ts_ms", d->ts_ms >= 0 ? json_integer(d->ts_ms) : json_null());
    if (d->nvalues == 0) {
        json_object_set_new(o, "value", json_real(d->value));
    } else {
        json_t *v = json_array(), *c = json_array();
        for (size_t i = 0; i < d->nvalues; i++) {
            json_array_append_new(v, json_real(d->values[i]));
            if (d->counts)
                json_array_append_new(c, json_real(d->counts[i]));
        }
        json_object_set_new(o, "values", v);
        json_object_set_new(o, "counts", d->counts ? c : (json_decref(c), json_null()));
    }
    if (d->has_stats)
        json_object_set_new(
            o, "stats",
            json_pack("[ffff]", d->stats.sample_count, d->stats.sum, d->stats.min, d->stats.max));
    json_object_set_new(o, "sr", d->storage_res ? json_integer(d->storage_res) : json_null());
    return o;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* Encodes d[0..n) with `lim` and writes case<id>.json + case<id>.b<k>. */
static int dump_case(const char *dir, int id, const char *ns, const struct datum *d, size_t n,
                     const struct pmd_limits *lim)
{
    struct sink s = {0};
    struct pmd_encoder *e = pmd_encoder_new(ns, lim, sink_emit, &s);
    if (!e)
        return -1;
    for (size_t i = 0; i < n; i++)
        (void)pmd_encoder_add(e, &d[i]);
    (void)pmd_encoder_flush(e);
    pmd_encoder_free(e);
    json_t *root = json_pack("{s:s}", "namespace", ns), *batches = json_array();
    size_t at = 0;
    int rc = 0;
    char path[4096];
    for (size_t b = 0; b < s.n; b++) {
        snprintf(path, sizeof path, "%s/case%d.b%zu", dir, id, b);
        rc |= write_file(path, s.body[b], s.len[b]);
        json_t *arr = json_array();
        for (size_t i = 0; i < s.ndatums[b]; i++)
            json_array_append_new(arr, datum_json(&d[at++]));
        snprintf(path, sizeof path, "case%d.b%zu", id, b);
        json_array_append_new(batches, json_pack("{s:s,s:o}", "body", path, "datums", arr));
    }
    json_object_set_new(root, "batches", batches);
    snprintf(path, sizeof path, "%s/case%d.json", dir, id);
    rc |= json_dump_file(root, path, JSON_REAL_PRECISION(17) | JSON_INDENT(1));
    json_decref(root);
    fprintf(stderr, "case%d: %zu datums in %zu batches\n", id, at, s.n);
    sink_free(&s);
    return rc;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A value of a kind metrics really have, or random bits. */
static double rnd_value(uint64_t *x)
{
    double v;
    switch (rnd(x) % 5) {
    case 0:
        return (double)(rnd(x) % 100000);
    case 1:
        return (double)(rnd(x) % 100000000) / 1000.0;
    case 2:
        return 100.0 * (double)(rnd(x) % 1000003) / 1000003.0;
    case 3:
        return ldexp((double)(rnd(x) % 1000) - 500, (int)(rnd(x) % 700) - 350);
    default:
        do {
            uint64_t b = rnd(x);
            memcpy(&v, &b, sizeof v);
        } while (pmd_value_ok(v) != 0);
        return v;
    }
}

static int dump_simple(const char *dir)
{
    struct datum_dim dims[] = {{"Host", "a b"}, {"Env", "prod"}};
    static double v[] = {1.0, 2.0}, c[] = {3.0, 4.0};
    struct datum d[] = {
        {.name = "Latency",
         .unit = "Milliseconds",
         .dims = dims,
         .ndims = 2,
         .ts_ms = 1704164645000LL,
         .value = 1.5,
         .storage_res = 1},
        {.name = "Sizes",
         .unit = "Bytes/Second",
         .ts_ms = 1795435200123LL,
         .values = v,
         .counts = c,
         .nvalues = 2,
         .has_stats = 1,
         .stats = {7, 11, 1, 2},
         .storage_res = 60},
        {.name = "NoUnitNoTime", .ts_ms = -1, .value = -0.0},
        {.name = "ValuesOnly", .ts_ms = 1795435200999LL, .values = v, .nvalues = 2},
    };
    return dump_case(dir, 0, "MyApp/Test", d, sizeof d / sizeof d[0], NULL);
}

static int dump_random_values(const char *dir)
{
    static struct datum d[1000];
    struct datum_dim dims[] = {{"host", "ip-10-1-2-3"}, {"cpu", "cpu0"}};
    uint64_t x = 0x1234567887654321ULL;
    for (size_t i = 0; i < 1000; i++)
        d[i] = (struct datum){.name = "m",
                              .unit = "None",
                              .dims = dims,
                              .ndims = 2,
                              .ts_ms = 1700000000000LL + (int64_t)(rnd(&x) % 100000000000ULL),
                              .value = rnd_value(&x),
                              .storage_res = i % 2 ? 1 : 60};
    return dump_case(dir, 1, "CWAgent", d, 1000, NULL);
}

static int dump_strings(const char *dir)
{
    static char vals[4][200];
    snprintf(vals[0], sizeof vals[0], " !\"#$%%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~");
    snprintf(vals[1], sizeof vals[1], "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac / x=y&z");
    snprintf(vals[2], sizeof vals[2], "  leading and trailing  ");
    snprintf(vals[3], sizeof vals[3], "%%41%%2F+plus");
    struct datum_dim dims[] = {
        {"Printable", vals[0]}, {"Utf8", vals[1]}, {"Spaces", vals[2]}, {"Escapes", vals[3]}};
    struct datum d[] = {
        {.name = "metric with spaces/and:colons",
         .unit = "Count/Second",
         .dims = dims,
         .ndims = 4,
         .ts_ms = 1795435200000LL,
         .value = 42,
         .storage_res = 60},
        {.name = "d\xc3\xa9j\xc3\xa0",
         .unit = "Percent",
         .dims = dims + 1,
         .ndims = 3,
         .ts_ms = 1795435200500LL,
         .value = 0.5,
         .storage_res = 1},
    };
    return dump_case(dir, 2, "Name Space/x:y~*", d, 2, NULL);
}

static int dump_batching(const char *dir)
{
    static struct datum d[2300];
    static char vbuf[30][128];
    struct datum_dim dims[30];
    static const char *names[30];
    static char nbuf[30][16];
    for (int i = 0; i < 30; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], "Dim%02d", i);
        names[i] = nbuf[i];
        memset(vbuf[i], 'a' + i % 26, 100);
        vbuf[i][100] = '\0';
        dims[i] = (struct datum_dim){names[i], vbuf[i]};
    }
    uint64_t x = 42;
    for (size_t i = 0; i < 2300; i++)
        d[i] = (struct datum){.name = "disk_used_percent",
                              .unit = "Percent",
                              .dims = dims,
                              .ndims = 2,
                              .ts_ms = 1795435200000LL + (int64_t)i * 10,
                              .value = rnd_value(&x),
                              .storage_res = 60};
    int rc = dump_case(dir, 3, "CWAgent", d, 2300, NULL);
    for (size_t i = 0; i < 400; i++)
        d[i].ndims = 30;
    return rc | dump_case(dir, 4, "CWAgent", d, 400, NULL);
}

static int dump_distribution(const char *dir)
{
    static double v[150], c[150];
    uint64_t x = 7;
    for (int i = 0; i < 150; i++) {
        v[i] = i * 0.25 + (double)(rnd(&x) % 1000) / 1e6;
        c[i] = (double)(1 + rnd(&x) % 20);
    }
    struct datum_dim dims[] = {{"metric_type", "timing"}};
    struct datum d = {.name = "statsd_latency",
                      .unit = "Milliseconds",
                      .dims = dims,
                      .ndims = 1,
                      .ts_ms = 1795435260000LL,
                      .values = v,
                      .counts = c,
                      .nvalues = 150,
                      .has_stats = 1,
                      .stats = {1234, 5678.5, 0.0, 37.5},
                      .storage_res = 60};
    return dump_case(dir, 5, "StatsD", &d, 1, NULL);
}

static int dump_all(const char *dir)
{
    int rc = dump_simple(dir) | dump_random_values(dir) | dump_strings(dir) | dump_batching(dir) |
             dump_distribution(dir);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump_all(argv[2]);
    static const struct t_case cases[] = {
        T_CASE(format_double_matches_python_repr), T_CASE(format_double_round_trips_random_bits),
        T_CASE(format_double_is_shortest),         T_CASE(value_filter_follows_the_api_range),
        T_CASE(encodes_contract_example_exactly),  T_CASE(encodes_values_counts_and_statistics),
        T_CASE(percent_encodes_like_quote_plus),   T_CASE(exponent_plus_is_percent_encoded),
        T_CASE(timestamps_across_calendar_edges),  T_CASE(batches_cut_at_1000_datums),
        T_CASE(batches_cut_at_body_limit_exactly), T_CASE(drops_bad_values_and_invalid_datums),
        T_CASE(emit_failure_is_reported),          T_CASE(rejects_bad_namespaces),
    };
    return t_run("test_pmd", cases, sizeof cases / sizeof cases[0], argc, argv);
}
