/* bench_listeners — StatsD lines/s parsed and aggregated on one core (budget >= 500,000/s),
 * collectd value lists/s through AES-256-OFB decryption (budget >= 100,000/s), and memory per
 * 10,000 distinct series (StatsD window + aggregation). Prints figures; asserts nothing. */
#include "agent/aggregate.h"
#include "collectors/collectd.h"
#include "collectors/statsd.h"

#include <malloc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ---- statsd ---- */

struct agg_ctx {
    struct agg *a;
    int64_t ts;
};

static void to_agg(void *ud, const struct statsd_sample *s)
{
    struct agg_ctx *c = ud;
    struct datum_dim dims[STATSD_MAX_TAGS + 1];
    for (size_t i = 0; i < s->ntags; i++)
        dims[i] = (struct datum_dim){s->tags[i].name, s->tags[i].value};
    if (agg_add(c->a, s->name, dims, s->ntags, s->value, s->dist, c->ts) != 0)
        fprintf(stderr, "agg_add failed\n");
}

static int count_put(void *ud, const struct rollup_sample *s, const struct rollup_values *v)
{
    (void)s;
    (void)v;
    (*(size_t *)ud)++;
    return 0;
}

/* Datagrams of ~1,400 bytes holding a realistic mix over `nseries` names. */
static char **make_datagrams(size_t nseries, size_t lines, size_t *ndg, size_t **lens)
{
    size_t cap = lines / 10 + 16;
    char **dg = calloc(cap, sizeof *dg);
    *lens = calloc(cap, sizeof **lens);
    *ndg = 0;
    unsigned seed = 42;
    size_t made = 0;
    while (made < lines && *ndg < cap) {
        char *b = malloc(1500);
        size_t n = 0;
        while (made < lines && n < 1350) {
            unsigned k = (unsigned)rand_r(&seed);
            size_t id = (size_t)rand_r(&seed) % nseries;
            int m;
            switch (k % 4) {
            case 0:
                m = snprintf(b + n, 1500 - n, "api.requests.%zu:1|c|#route:/r%zu,env:prod\n", id,
                             id % 7);
                break;
            case 1:
                m = snprintf(b + n, 1500 - n, "queue.depth.%zu:%u|g\n", id, k % 1000);
                break;
            case 2:
                m = snprintf(b + n, 1500 - n, "api.latency.%zu:%u.%u|ms|@0.5|#route:/r%zu\n", id,
                             k % 300, k % 10, id % 7);
                break;
            default:
                m = snprintf(b + n, 1500 - n, "users.%zu:u%u|s\n", id, k % 50);
            }
            n += (size_t)m;
            made++;
        }
        dg[*ndg] = b;
        (*lens)[(*ndg)++] = n;
    }
    return dg;
}

static void bench_statsd(void)
{
    const size_t lines = 2000000, nseries = 1000;
    size_t ndg, *lens;
    char **dg = make_datagrams(nseries, lines, &ndg, &lens);
    struct statsd *s = statsd_new(NULL);
    struct agg_ctx ctx = {agg_new(1000000), 1};
    size_t datums = 0;
    double t0 = cpu_s();
    for (size_t i = 0; i < ndg; i++) {
        statsd_feed(s, dg[i], lens[i], NULL, 0);
        if (i % 700 == 699) /* a collection interval every ~10,000 datagrams' worth */
            statsd_gather(s, to_agg, &ctx);
    }
    statsd_gather(s, to_agg, &ctx);
    double t1 = cpu_s();
    agg_flush(ctx.a, count_put, &datums, NULL);
    double t2 = cpu_s();
    struct statsd_stats st;
    statsd_get_stats(s, &st);
    printf("statsd: %zu lines (%zu datagrams, %zu series x 4 types) parsed+aggregated in %.3f s "
           "CPU: %.0f lines/s (budget >= 500,000); flush to %zu datums %.1f ms; bad lines %llu\n",
           (size_t)st.lines, ndg, nseries, t1 - t0, (double)st.lines / (t1 - t0), datums,
           (t2 - t1) * 1000, (unsigned long long)st.bad_lines);
    statsd_free(s);
    agg_free(ctx.a);
    for (size_t i = 0; i < ndg; i++)
        free(dg[i]);
    free(dg);
    free(lens);
}

static void bench_memory(void)
{
    const size_t n = 10000;
    size_t before = heap_bytes();
    struct statsd *s = statsd_new(NULL);
    struct agg_ctx ctx = {agg_new(1000000), 1};
    size_t after_new = heap_bytes();
    char line[128];
    for (size_t i = 0; i < n; i++) {
        int m = snprintf(line, sizeof line, "app.metric.%zu:%zu|c|#env:prod,service:api", i, i);
        statsd_feed(s, line, (size_t)m, NULL, 0);
    }
    size_t window = heap_bytes();
    statsd_gather(s, to_agg, &ctx);
    size_t aggregated = heap_bytes();
    printf("memory: %zu StatsD counter series (2 tags): window %.0f bytes/series, aggregation "
           "%.0f bytes/series (%.2f MB per 10,000 in the aggregation); fixed buffers %.0f KB\n",
           n, (double)(window - after_new) / (double)n,
           (double)(aggregated - after_new) / (double)n, (double)(aggregated - after_new) / 1e6,
           (double)(after_new - before) / 1024);
    statsd_free(s);
    agg_free(ctx.a);
}

/* ---- collectd ---- */

static void put16(uint8_t *b, size_t *n, unsigned v)
{
    b[(*n)++] = (uint8_t)(v >> 8);
    b[(*n)++] = (uint8_t)v;
}

static void str_part(uint8_t *b, size_t *n, unsigned type, const char *s)
{
    size_t l = strlen(s) + 1;
    put16(b, n, type);
    put16(b, n, (unsigned)(4 + l));
    memcpy(b + *n, s, l);
    *n += l;
}

/* A packet as collectd's network plugin fills it: ~1,400 bytes of memory value lists. */
static size_t plain_packet(uint8_t *b, size_t *lists)
{
    size_t n = 0;
    str_part(b, &n, 0x0000, "web-1.example.com");
    str_part(b, &n, 0x0002, "memory");
    str_part(b, &n, 0x0004, "memory");
    *lists = 0;
    while (n < 1300) {
        char ti[32];
        snprintf(ti, sizeof ti, "ti%zu", *lists);
        str_part(b, &n, 0x0005, ti);
        put16(b, &n, 0x0006);
        put16(b, &n, 4 + 2 + 9);
        put16(b, &n, 1);
        b[n++] = 1;
        double v = 12345.0 + (double)*lists;
        memcpy(b + n, &v, 8);
        n += 8;
        (*lists)++;
    }
    return n;
}

static size_t encrypt_packet(const uint8_t *in, size_t inlen, uint8_t *out)
{
    const char *user = "alice", *pass = "s3cret";
    uint8_t plain[2048], key[32], iv[16] = {1, 2, 3};
    unsigned kl = 0, sl = 0;
    EVP_Digest(in, inlen, plain, &sl, EVP_sha1(), NULL);
    memcpy(plain + 20, in, inlen);
    EVP_Digest(pass, strlen(pass), key, &kl, EVP_sha256(), NULL);
    size_t n = 0, ul = strlen(user);
    put16(out, &n, 0x0210);
    put16(out, &n, (unsigned)(4 + 2 + ul + 16 + 20 + inlen));
    put16(out, &n, (unsigned)ul);
    memcpy(out + n, user, ul);
    n += ul;
    memcpy(out + n, iv, 16);
    n += 16;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    EVP_EncryptInit_ex(x, EVP_aes_256_ofb(), NULL, key, iv);
    EVP_EncryptUpdate(x, out + n, &ol, plain, (int)(20 + inlen));
    EVP_EncryptFinal_ex(x, out + n + ol, &fl);
    EVP_CIPHER_CTX_free(x);
    return n + (size_t)(ol + fl);
}

struct cd_ctx {
    struct agg *a;
    size_t samples;
};

static void cd_to_agg(void *ud, const struct collectd_sample *s)
{
    struct cd_ctx *c = ud;
    struct datum_dim dims[4];
    for (size_t i = 0; i < s->ndims && i < 4; i++)
        dims[i] = (struct datum_dim){s->dims[i].name, s->dims[i].value};
    c->samples++;
    (void)agg_add(c->a, s->name, dims, s->ndims, s->value, NULL, s->ts_ms);
}

static void bench_collectd(void)
{
    char dir[] = "/tmp/cwbench-XXXXXX", types[64], auth[64];
    if (!mkdtemp(dir))
        return;
    snprintf(types, sizeof types, "%s/types.db", dir);
    snprintf(auth, sizeof auth, "%s/auth", dir);
    FILE *f = fopen(types, "w");
    FILE *g = fopen(auth, "w");
    if (!f || !g)
        return;
    fputs("memory value:GAUGE:0:281474976710656\n", f);
    fputs("alice: s3cret\n", g);
    fclose(f);
    fclose(g);
    const char *tdb[] = {types};
    char err[256];
    struct collectd_opts o = {NULL, COLLECTD_ENCRYPT, auth, tdb, 1};
    struct collectd *c = collectd_new(&o, err, sizeof err);
    unlink(types);
    unlink(auth);
    rmdir(dir);
    if (!c) {
        printf("collectd: %s\n", err);
        return;
    }
    uint8_t plain[2048], pkt[2100];
    size_t lists, plen = plain_packet(plain, &lists);
    size_t elen = encrypt_packet(plain, plen, pkt);
    struct cd_ctx ctx = {agg_new(100000), 0};
    const int rounds = 20000;
    double t0 = cpu_s();
    for (int i = 0; i < rounds; i++)
        collectd_feed(c, pkt, elen, 1, cd_to_agg, &ctx, err, sizeof err);
    double t1 = cpu_s();
    printf("collectd: %zu-byte encrypted packets of %zu value lists (decrypt, SHA-1 check, parse, "
           "aggregate): %.0f value lists/s (budget >= 100,000), %.0f packets/s; %zu samples\n",
           elen, lists, (double)(lists * rounds) / (t1 - t0), rounds / (t1 - t0), ctx.samples);
    collectd_free(c);
    agg_free(ctx.a);
}

int main(void)
{
    bench_statsd();
    bench_memory();
    bench_collectd();
    return 0;
}
