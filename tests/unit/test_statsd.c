/* Unit tests for collectors/statsd (parsing, per-window aggregation), common/dist, common/kmap
 * and agent/aggregate (per-interval Values/Counts/StatisticValues). */
#include "agent/aggregate.h"
#include "collectors/statsd.h"
#include "common/dist.h"
#include "common/kmap.h"
#include "common/udp.h"
#include "tests/unit/t.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gathered series rendered as "name|tag=v,tag=v|value" lines, sorted, for comparisons. */
struct seen {
    char lines[64][512];
    size_t n;
};

static void on_sample(void *ud, const struct statsd_sample *s)
{
    struct seen *w = ud;
    if (w->n >= 64)
        return;
    char *o = w->lines[w->n++];
    size_t len = (size_t)snprintf(o, 512, "%s|", s->name);
    for (size_t i = 0; i < s->ntags && len < 512; i++)
        len += (size_t)snprintf(o + len, 512 - len, "%s%s=%s", i ? "," : "", s->tags[i].name,
                                s->tags[i].value);
    if (s->dist) {
        struct dist_stats st;
        dist_stats(s->dist, 0, s->dist->n, &st);
        snprintf(o + len, 512 - len, "|n=%g,sum=%g,min=%g,max=%g", st.count, st.sum, st.min,
                 st.max);
    } else {
        snprintf(o + len, 512 - len, "|%g", s->value);
    }
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(a, b);
}

static struct seen gather(struct statsd *s)
{
    struct seen w;
    w.n = 0;
    statsd_gather(s, on_sample, &w);
    qsort(w.lines, w.n, sizeof w.lines[0], cmp_line);
    return w;
}

static void feed(struct statsd *s, const char *text)
{
    statsd_feed(s, text, strlen(text), NULL, 0);
}

struct parse_case {
    const char *in;
    const char *want[4]; /* sorted */
    size_t bad;          /* lines refused */
};

TEST(lines_become_series_as_the_reference_names_them)
{
    static const struct parse_case cases[] = {
        {"page.views:1|c\npage.views:2|c", {"page_views|metric_type=counter|3"}, 0},
        {"a:1|c:2|c", {"a|metric_type=counter|3"}, 0},
        {"q:10|g\nq:+5|g\nq:-3|g", {"q|metric_type=gauge|12"}, 0},
        {"q:-3|g", {"q|metric_type=gauge|-3"}, 0},
        {"q:4|g\nq:7|g", {"q|metric_type=gauge|7"}, 0},
        {"u:alice|s\nu:bob|s\nu:alice|s", {"u|metric_type=set|2"}, 0},
        {"c:1|c|@0.1", {"c|metric_type=counter|10"}, 0},
        {"c:2.9|c", {"c|metric_type=counter|2"}, 0},
        {"c:1|c|@bogus", {"c|metric_type=counter|1"}, 0},
        {"lat:120|ms|#route:/login",
         {"lat|metric_type=timing,route=/login|n=1,sum=120,min=120,"
          "max=120"},
         0},
        {"h:3|h|@0.5", {"h|metric_type=histogram|n=2,sum=6,min=3,max=3"}, 0},
        {"d:4|d", {"d|metric_type=distribution|n=1,sum=4,min=4,max=4"}, 0},
        {"x,env=prod,az=b:1|c|#env:dev,team",
         {"x|metric_type=counter,az=b,env=dev,team=<empty>|1"},
         0},
        {"x:1|c|#metric_type:zzz", {"x|metric_type=counter|1"}, 0},
        {"dd:1|c|#a:b|c:container123|T1700000000", {"dd|metric_type=counter,a=b|1"}, 0},
        {"  sp:1|c \r\n\n\n", {"sp|metric_type=counter|1"}, 0},
        {"ok:1|c\ngarbage\nbad:x|c\nt:-1|ms\nz:1|zz\nnotype:1\nok:1|c",
         {"ok|metric_type=counter|2"},
         5},
        {":1|c\na:1|c|junk", {0}, 2},
        {"a.b.c:1|c", {"a_b_c|metric_type=counter|1"}, 0},
        {"n:nan|g\ni:inf|ms", {0}, 2},
        {"\xff\xfe garbage\n\x01:1|c", {"\x01|metric_type=counter|1"}, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct statsd *s = statsd_new(NULL);
        T_ASSERT(s);
        char err[256];
        size_t bad = statsd_feed(s, cases[i].in, strlen(cases[i].in), err, sizeof err);
        struct seen w = gather(s);
        if (bad != cases[i].bad)
            t_fail_at(__FILE__, __LINE__, "case %zu: %zu bad lines, expected %zu (%s)", i, bad,
                      cases[i].bad, err);
        size_t nwant = 0;
        while (nwant < 4 && cases[i].want[nwant])
            nwant++;
        if (w.n != nwant)
            t_fail_at(__FILE__, __LINE__, "case %zu (%s): %zu series, expected %zu (first: %s)", i,
                      cases[i].in, w.n, nwant, w.n ? w.lines[0] : "-");
        for (size_t j = 0; j < nwant && j < w.n; j++)
            T_EQ_STR(w.lines[j], cases[i].want[j]);
        statsd_free(s);
    }
}

TEST(nul_bytes_refuse_their_line_only)
{
    struct statsd *s = statsd_new(NULL);
    T_ASSERT(s);
    static const char in[] = "\0\xff garbage\nok:1|c\nbad\0:1|c";
    T_EQ_INT(statsd_feed(s, in, sizeof in - 1, NULL, 0), 2);
    struct seen w = gather(s);
    T_EQ_INT(w.n, 1);
    T_EQ_STR(w.lines[0], "ok|metric_type=counter|1");
    statsd_free(s);
}

TEST(separator_and_types_keep_series_apart)
{
    struct statsd_opts o = {".", 0};
    struct statsd *s = statsd_new(&o);
    T_ASSERT(s);
    feed(s, "a.b:1|c\na.b:1|g");
    struct seen w = gather(s);
    T_EQ_INT(w.n, 2);
    T_EQ_STR(w.lines[0], "a.b|metric_type=counter|1");
    T_EQ_STR(w.lines[1], "a.b|metric_type=gauge|1");
    /* the window was emptied: nothing is re-sent */
    w = gather(s);
    T_EQ_INT(w.n, 0);
    statsd_free(s);
}

TEST(series_cap_counts_refused_samples)
{
    struct statsd_opts o = {NULL, 3};
    struct statsd *s = statsd_new(&o);
    T_ASSERT(s);
    feed(s, "a:1|c\nb:1|c\nc:1|c\nd:1|c\na:1|c");
    struct statsd_stats st;
    statsd_get_stats(s, &st);
    T_EQ_INT(st.series_dropped, 1);
    T_EQ_INT(st.bad_lines, 1);
    T_EQ_INT(st.lines, 5);
    T_EQ_INT(statsd_series(s), 3);
    statsd_free(s);
}

TEST(garbage_bytes_never_crash)
{
    struct statsd *s = statsd_new(NULL);
    T_ASSERT(s);
    unsigned seed = 12345;
    char buf[2048];
    size_t total_bad = 0;
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand_r(&seed) % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed) % 16;
            buf[i] = r < 3 ? "|:#@\n,=."[rand_r(&seed) % 8] : (char)rand_r(&seed);
        }
        total_bad += statsd_feed(s, buf, n, NULL, 0);
    }
    struct seen w = gather(s);
    (void)w;
    T_CHECK(total_bad > 0);
    statsd_free(s);
}

TEST(dist_exact_then_buckets_with_exact_stats)
{
    struct dist d;
    dist_init(&d);
    for (int i = 0; i < 150; i++)
        T_ASSERT(dist_add(&d, i + 1, 1) == 0);
    T_EQ_INT(d.n, 150);
    T_EQ_INT(d.bucketed, 0);
    T_ASSERT(dist_add(&d, 5, 2) == 0); /* a known value stays exact */
    T_EQ_INT(d.n, 150);
    T_ASSERT(dist_add(&d, 1000, 1) == 0); /* the 151st distinct value: buckets */
    T_EQ_INT(d.bucketed, 1);
    T_CHECK(d.n < 150);
    struct dist_stats st;
    dist_stats(&d, 0, d.n, &st);
    T_EQ_DBL(st.count, 153, 0);
    T_EQ_DBL(st.sum, 150 * 151 / 2 + 10 + 1000, 1e-6);
    T_EQ_DBL(st.min, 1, 0);
    T_EQ_DBL(st.max, 1000, 0);
    /* the reference's TestResize midpoints */
    T_EQ_DBL(dist_bucket_value(1), 1.0488088481701516, 1e-12);
    T_EQ_DBL(dist_bucket_value(2), 2.0438317370604793, 1e-12);
    T_EQ_DBL(dist_bucket_value(-2), -2.0438317370604793, 1e-12);
    T_EQ_DBL(dist_bucket_value(0), 0, 0);
    T_EQ_INT(dist_add(&d, NAN, 1), -1);
    T_EQ_INT(dist_add(&d, 1, 0), -1);
    dist_free(&d);
}

static int count_and_remove_odd(void *ud, const char *key, size_t klen, void *val)
{
    (void)key;
    (void)klen;
    size_t *n = ud;
    (*n)++;
    return ((uintptr_t)val & 1) != 0;
}

TEST(kmap_put_get_remove_while_iterating)
{
    struct kmap *m = kmap_new(5000);
    T_ASSERT(m);
    char k[32];
    for (uintptr_t i = 1; i <= 5000; i++) {
        int n = snprintf(k, sizeof k, "key%lu", (unsigned long)i);
        T_ASSERT(kmap_put(m, k, (size_t)n, (void *)i) == 0);
    }
    T_EQ_INT(kmap_put(m, "key1", 4, (void *)1), 1);
    T_EQ_INT(kmap_put(m, "new", 3, (void *)1), -1); /* the cap */
    size_t visited = 0;
    kmap_each(m, count_and_remove_odd, &visited);
    T_EQ_INT(visited, 5000);
    T_EQ_INT(kmap_len(m), 2500);
    for (uintptr_t i = 1; i <= 5000; i++) {
        int n = snprintf(k, sizeof k, "key%lu", (unsigned long)i);
        void *v = kmap_get(m, k, (size_t)n);
        if ((i & 1) ? v != NULL : v != (void *)i)
            t_fail_at(__FILE__, __LINE__, "key%lu: got %p", (unsigned long)i, v);
    }
    kmap_free(m, NULL);
}

struct got {
    char name[64];
    size_t ndims;
    double values[300], counts[300];
    size_t nvalues;
    struct datum_stats stats[4];
    size_t ndatums;
    int64_t ts;
};

static int put(void *ud, const struct rollup_sample *s, const struct rollup_values *v)
{
    struct got *g = ud;
    snprintf(g->name, sizeof g->name, "%s", s->name);
    g->ndims = s->ndims;
    g->ts = s->ts_ms;
    for (size_t i = 0; i < v->nvalues && g->nvalues < 300; i++) {
        g->values[g->nvalues] = v->values[i];
        g->counts[g->nvalues++] = v->counts[i];
    }
    if (g->ndatums < 4)
        g->stats[g->ndatums] = *v->stats;
    g->ndatums++;
    return 0;
}

TEST(aggregate_counter_windows_into_one_datum)
{
    struct agg *a = agg_new(100);
    T_ASSERT(a);
    struct datum_dim dims[] = {{"metric_type", "counter"}};
    T_ASSERT(agg_add(a, "page_views", dims, 1, 5, NULL, 1000) == 0);
    T_ASSERT(agg_add(a, "page_views", dims, 1, 2, NULL, 2000) == 0);
    struct got g = {0};
    size_t failed = 9;
    T_EQ_INT(agg_flush(a, put, &g, &failed), 1);
    T_EQ_INT(failed, 0);
    T_EQ_STR(g.name, "page_views");
    T_EQ_INT(g.ts, 1000);
    T_EQ_INT(g.nvalues, 2);
    T_EQ_DBL(g.values[0], 2, 0);
    T_EQ_DBL(g.values[1], 5, 0);
    T_EQ_DBL(g.stats[0].sum, 7, 0);
    T_EQ_DBL(g.stats[0].sample_count, 2, 0);
    T_EQ_DBL(g.stats[0].min, 2, 0);
    T_EQ_DBL(g.stats[0].max, 5, 0);
    T_EQ_INT(agg_series(a), 0);
    agg_free(a);
}

TEST(aggregate_splits_wide_distributions_with_exact_stats)
{
    struct agg *a = agg_new(100);
    T_ASSERT(a);
    struct dist d;
    dist_init(&d);
    /* 1e-3 .. 1e9 spans about 290 buckets of 10 % */
    double sum = 0;
    for (int i = 0; i < 3000; i++) {
        double v = pow(10, -3 + 12.0 * i / 2999);
        sum += v;
        T_ASSERT(dist_add(&d, v, 1) == 0);
    }
    T_ASSERT(agg_add(a, "lat", NULL, 0, 0, &d, 5) == 0);
    struct got g = {0};
    agg_flush(a, put, &g, NULL);
    T_CHECK(g.ndatums >= 2);
    double n = 0, s = 0;
    for (size_t i = 0; i < g.ndatums && i < 4; i++) {
        n += g.stats[i].sample_count;
        s += g.stats[i].sum;
    }
    T_EQ_DBL(n, 3000, 0);
    T_EQ_DBL(s, sum, sum * 1e-12);
    T_EQ_DBL(g.stats[0].min, 1e-3, 1e-15);
    dist_free(&d);
    agg_free(a);
}

static int send_to(int family, int port, const char *data, size_t len)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        sl = sizeof *a;
    }
    ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&ss, sl);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

static ssize_t recv_wait(int fd, char *buf, size_t cap, int *trunc)
{
    uint32_t drops = 0;
    for (int i = 0; i < 200; i++) {
        ssize_t n = udp_recv(fd, buf, cap, trunc, &drops);
        if (n != 0)
            return n;
        usleep(5000);
    }
    return 0;
}

TEST(udp_listen_addresses_both_stacks_and_truncation)
{
    char err[256];
    static const char *const bad[] = {"tcp://127.0.0.1:1", "127.0.0.1", "127.0.0.1:", "[::1]:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = udp_listen(bad[i], 0, NULL, err, sizeof err);
        if (fd >= 0) {
            close(fd);
            t_fail_at(__FILE__, __LINE__, "\"%s\" was accepted", bad[i]);
        } else if (!strstr(err, bad[i])) {
            t_fail_at(__FILE__, __LINE__, "message does not name \"%s\": %s", bad[i], err);
        }
    }
    int rcv = 0;
    int fd = udp_listen(":0", 1 << 16, &rcv, err, sizeof err);
    T_ASSERT(fd >= 0);
    T_CHECK(rcv > 0);
    int port = udp_port(fd);
    T_ASSERT(port > 0);
    char buf[64];
    int trunc = 0;
    T_ASSERT(send_to(AF_INET, port, "v4:1|c", 6) == 0);
    T_EQ_INT(recv_wait(fd, buf, sizeof buf, &trunc), 6);
    int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd6 >= 0) { /* IPv6 loopback present: ":port" listens there too */
        close(fd6);
        if (send_to(AF_INET6, port, "v6:1|c", 6) == 0)
            T_EQ_INT(recv_wait(fd, buf, sizeof buf, &trunc), 6);
    }
    char big[200];
    memset(big, 'x', sizeof big);
    T_ASSERT(send_to(AF_INET, port, big, sizeof big) == 0);
    T_CHECK(recv_wait(fd, buf, sizeof buf, &trunc) > 0);
    T_EQ_INT(trunc, 1);
    close(fd);
    fd = udp_listen("udp://127.0.0.1:0", 0, NULL, err, sizeof err);
    T_CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* "localhost" binds IPv4 first: a client sending to 127.0.0.1 is heard */
    fd = udp_listen("localhost:0", 0, NULL, err, sizeof err);
    T_ASSERT(fd >= 0);
    T_ASSERT(send_to(AF_INET, udp_port(fd), "lh:1|c", 6) == 0);
    T_EQ_INT(recv_wait(fd, buf, sizeof buf, &trunc), 6);
    close(fd);
}

T_MAIN("test_statsd", T_CASE(lines_become_series_as_the_reference_names_them),
       T_CASE(nul_bytes_refuse_their_line_only), T_CASE(separator_and_types_keep_series_apart),
       T_CASE(series_cap_counts_refused_samples), T_CASE(garbage_bytes_never_crash),
       T_CASE(dist_exact_then_buckets_with_exact_stats),
       T_CASE(kmap_put_get_remove_while_iterating),
       T_CASE(aggregate_counter_windows_into_one_datum),
       T_CASE(aggregate_splits_wide_distributions_with_exact_stats),
       T_CASE(udp_listen_addresses_both_stacks_and_truncation))
