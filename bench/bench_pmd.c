/* bench_pmd — PutMetricData encoding speed (datums/s) with and without gzip, and the cost of
 * turning one sample into datums (dimensions + roll-ups). Prints figures; asserts nothing. */
#include "agent/pmd.h"
#include "agent/rollup.h"
#include "common/gzip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NDATUMS 100000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct counter {
    size_t bytes, zbytes, batches;
    int gzip_level; /* 0 = no gzip */
    struct cw_buf z;
};

static int count_emit(void *ud, const struct pmd_batch *b)
{
    struct counter *c = ud;
    c->bytes += b->len;
    c->batches++;
    if (c->gzip_level) {
        if (gzip_if_smaller(b->body, b->len, &c->z, c->gzip_level) == 0)
            c->zbytes += c->z.len;
        else
            c->zbytes += b->len;
    }
    return 0;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Realistic datums: host + 3 plugin dims, a unit, one timestamp per 10 s collection round, and
 * values as collectors produce them (percentages from ratios, byte counts, small counts). */
static struct datum *make_datums(struct datum_dim (*dims)[4], char (*vals)[3][32])
{
    static const char *const names[] = {"disk_used_percent", "diskio_read_bytes",
                                        "net_packets_recv", "cpu_usage_user"};
    static const char *const units[] = {"Percent", "Bytes", "Count", "Percent"};
    struct datum *d = calloc(NDATUMS, sizeof *d);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < NDATUMS; i++) {
        size_t k = i % 4;
        snprintf(vals[i % 64][0], 32, "nvme%zun1p%zu", i % 3, i % 5);
        snprintf(vals[i % 64][1], 32, "/data/vol%zu", i % 7);
        snprintf(vals[i % 64][2], 32, "xfs");
        struct datum_dim *dm = dims[i % 64];
        dm[0] = (struct datum_dim){"host", "ip-172-31-22-117.eu-west-1.compute.internal"};
        dm[1] = (struct datum_dim){"device", vals[i % 64][0]};
        dm[2] = (struct datum_dim){"fstype", vals[i % 64][2]};
        dm[3] = (struct datum_dim){"path", vals[i % 64][1]};
        double v = k == 0 || k == 3 ? 100.0 * (double)(rnd(&x) % 1000003) / 1000003.0
                   : k == 1         ? (double)(rnd(&x) % 100000000)
                                    : (double)(rnd(&x) % 5000);
        d[i] = (struct datum){.name = names[k],
                              .unit = units[k],
                              .dims = dm,
                              .ndims = 4,
                              .ts_ms = 1795435200000LL + (int64_t)(i / 1000) * 10000,
                              .value = v,
                              .storage_res = 60};
    }
    return d;
}

static void bench_encode(const struct datum *d, int level, const char *label)
{
    struct counter c = {.gzip_level = level};
    cw_buf_init(&c.z, PMD_API_MAX_BODY);
    struct pmd_encoder *e = pmd_encoder_new("CWAgent", NULL, count_emit, &c);
    size_t total = 0;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < NDATUMS; i++)
            (void)pmd_encoder_add(e, &d[i]);
        total += NDATUMS;
        t = now_s() - t0;
    } while (t < 0.7);
    (void)pmd_encoder_flush(e);
    t = now_s() - t0;
    printf("   encode %-14s %10.0f datums/s  %6.1f bytes/datum", label, (double)total / t,
           (double)c.bytes / (double)total);
    if (level)
        printf("  gzip ratio %.3f", (double)c.zbytes / (double)c.bytes);
    printf("  (%zu batches)\n", c.batches);
    pmd_encoder_free(e);
    cw_buf_free(&c.z);
}

static void bench_rollup(int with_sets)
{
    static const char *const s1[] = {"host"}, *const s2[] = {"device", "path"};
    struct rollup_dimset sets[] = {{s1, 1}, {s2, 2}, {NULL, 0}};
    struct datum_dim app[] = {{"Team", "infra"}};
    struct rollup_opts o = {.host = "ip-172-31-22-117",
                            .append = app,
                            .nappend = 1,
                            .agg = sets,
                            .nagg = with_sets ? 3 : 0,
                            .interval_s = 60};
    struct rollup *r = rollup_new(&o);
    struct datum_list *l = datum_list_new(4000, 4 << 20);
    struct datum_dim tags[] = {{"path", "/data"}, {"device", "nvme0n1p1"}, {"fstype", "xfs"}};
    struct rollup_sample s = {"disk_used_percent", "Percent", tags, 3, 42.5, 1795435200000LL};
    size_t n = 0, out = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            s.value = i;
            if (rollup_apply(r, &s, l) != 0) {
                out += datum_list_len(l);
                datum_list_clear(l);
                (void)rollup_apply(r, &s, l);
            }
        }
        n += 1000;
        t = now_s() - t0;
    } while (t < 0.5);
    out += datum_list_len(l);
    printf("   rollup_apply %s %7.0f ns/sample (%.1f datums/sample)\n",
           with_sets ? "3 agg sets:" : "no sets:   ", t / (double)n * 1e9, (double)out / (double)n);
    rollup_free(r);
    datum_list_free(l);
}

int main(void)
{
    static struct datum_dim dims[64][4];
    static char vals[64][3][32];
    struct datum *d = make_datums(dims, vals);
    printf("PutMetricData encoding (4 dims, value, unit, timestamp; %d distinct datums):\n",
           NDATUMS);
    bench_encode(d, 0, "plain");
    bench_encode(d, GZIP_LEVEL_FAST, "+gzip -1");
    bench_encode(d, GZIP_LEVEL_DEFAULT, "+gzip -6");
    printf("Roll-up (host + 3 tags + 1 append dim):\n");
    bench_rollup(0);
    bench_rollup(1);
    free(d);
    return 0;
}
