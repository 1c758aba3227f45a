/* Unit tests for collectors/collectd: parts, value types, types.db names, security levels
 * (HMAC-SHA-256 signatures and AES-256-OFB encryption built here with OpenSSL the way collectd's
 * network plugin builds them), refusals and malformed input. */
#include "collectors/collectd.h"
#include "tests/unit/t.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pkt {
    uint8_t b[4096];
    size_t n;
};

static void put16(struct pkt *p, unsigned v)
{
    p->b[p->n++] = (uint8_t)(v >> 8);
    p->b[p->n++] = (uint8_t)v;
}

static void put64(struct pkt *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        p->b[p->n++] = (uint8_t)(v >> (8 * i));
}

static void str_part(struct pkt *p, unsigned type, const char *s)
{
    size_t l = strlen(s) + 1;
    put16(p, type);
    put16(p, (unsigned)(4 + l));
    memcpy(p->b + p->n, s, l);
    p->n += l;
}

static void time_part(struct pkt *p, unsigned type, uint64_t v)
{
    put16(p, type);
    put16(p, 12);
    put64(p, v);
}

/* values: kinds[i] 0 counter, 1 gauge, 2 derive, 3 absolute. */
static void values_part(struct pkt *p, size_t n, const uint8_t *kinds, const double *v)
{
    put16(p, 0x0006);
    put16(p, (unsigned)(4 + 2 + 9 * n));
    put16(p, (unsigned)n);
    for (size_t i = 0; i < n; i++)
        p->b[p->n++] = kinds[i];
    for (size_t i = 0; i < n; i++) {
        if (kinds[i] == 1) {
            uint64_t u;
            memcpy(&u, &v[i], 8);
            for (int k = 0; k < 8; k++)
                p->b[p->n++] = (uint8_t)(u >> (8 * k)); /* little endian */
        } else {
            put64(p, kinds[i] == 2 ? (uint64_t)(int64_t)v[i] : (uint64_t)v[i]);
        }
    }
}

static void load_list(struct pkt *p, const char *host, double s, double m, double l)
{
    static const uint8_t k[3] = {1, 1, 1};
    double v[3] = {s, m, l};
    str_part(p, 0x0000, host);
    time_part(p, 0x0008, (uint64_t)1700000000 << 30 | (1u << 29)); /* .5 s */
    str_part(p, 0x0002, "load");
    str_part(p, 0x0003, "");
    str_part(p, 0x0004, "load");
    str_part(p, 0x0005, "");
    values_part(p, 3, k, v);
}

/* collectd's sign: part 0x0200 = HMAC-SHA-256(pass, user + payload) + user, then payload. */
static struct pkt sign(const struct pkt *in, const char *user, const char *pass)
{
    struct pkt out = {{0}, 0};
    size_t ul = strlen(user);
    uint8_t data[4096];
    memcpy(data, user, ul);
    memcpy(data + ul, in->b, in->n);
    unsigned ml = 0;
    put16(&out, 0x0200);
    put16(&out, (unsigned)(4 + 32 + ul));
    HMAC(EVP_sha256(), pass, (int)strlen(pass), data, ul + in->n, out.b + out.n, &ml);
    out.n += 32;
    memcpy(out.b + out.n, user, ul);
    out.n += ul;
    memcpy(out.b + out.n, in->b, in->n);
    out.n += in->n;
    return out;
}

/* collectd's encrypt: 0x0210, len, ulen, user, IV, AES-256-OFB(SHA-1(payload) + payload). */
static struct pkt encrypt(const struct pkt *in, const char *user, const char *pass)
{
    struct pkt out = {{0}, 0};
    size_t ul = strlen(user);
    uint8_t plain[4096], key[32], iv[16];
    unsigned kl = 0, sl = 0;
    EVP_Digest(in->b, in->n, plain, &sl, EVP_sha1(), NULL);
    memcpy(plain + 20, in->b, in->n);
    EVP_Digest(pass, strlen(pass), key, &kl, EVP_sha256(), NULL);
    for (int i = 0; i < 16; i++)
        iv[i] = (uint8_t)(i * 7 + 1);
    put16(&out, 0x0210);
    put16(&out, (unsigned)(4 + 2 + ul + 16 + 20 + in->n));
    put16(&out, (unsigned)ul);
    memcpy(out.b + out.n, user, ul);
    out.n += ul;
    memcpy(out.b + out.n, iv, 16);
    out.n += 16;
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    EVP_EncryptInit_ex(x, EVP_aes_256_ofb(), NULL, key, iv);
    EVP_EncryptUpdate(x, out.b + out.n, &ol, plain, (int)(20 + in->n));
    EVP_EncryptFinal_ex(x, out.b + out.n + ol, &fl);
    EVP_CIPHER_CTX_free(x);
    out.n += (size_t)(ol + fl);
    return out;
}

struct got {
    char lines[32][256];
    size_t n;
};

static void on_sample(void *ud, const struct collectd_sample *s)
{
    struct got *g = ud;
    if (g->n >= 32)
        return;
    char *o = g->lines[g->n++];
    size_t len = (size_t)snprintf(o, 256, "%s|", s->name);
    for (size_t i = 0; i < s->ndims; i++)
        len += (size_t)snprintf(o + len, 256 - len, "%s%s=%s", i ? "," : "", s->dims[i].name,
                                s->dims[i].value);
    snprintf(o + len, 256 - len, "|%.17g|%lld", s->value, (long long)s->ts_ms);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *text)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
        return NULL;
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return p;
}

static struct collectd *make(enum collectd_level level, char *err, size_t errlen)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cwcd-XXXXXX");
    if (!mkdtemp(tmpdir))
        return NULL;
    char *types = write_tmp("types.db", "# comment\nload\t\tshortterm:GAUGE:0:5000, "
                                        "midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\n"
                                        "memory  value:GAUGE:0:281474976710656\n"
                                        "if_octets rx:DERIVE:0:U, tx:DERIVE:0:U\n"
                                        "counter value:COUNTER:U:U\n"
                                        "absolute value:ABSOLUTE:0:U\n");
    char *auth = write_tmp("auth", "# users\nalice: s3cret \n  bob:pw:with:colons\n");
    const char *tdb[] = {types};
    struct collectd_opts o = {NULL, level, auth, tdb, 1};
    struct collectd *c = collectd_new(&o, err, errlen);
    unlink(types);
    unlink(auth);
    rmdir(tmpdir);
    free(types);
    free(auth);
    return c;
}

TEST(plain_value_lists_get_reference_names_and_dimensions)
{
    char err[256];
    struct collectd *c = make(COLLECTD_NONE, err, sizeof err);
    T_ASSERT(c);
    T_EQ_INT(collectd_ntypes(c), 5);
    struct pkt p = {{0}, 0};
    load_list(&p, "web1", 0.5, 0.25, 0.125);
    str_part(&p, 0x0002, "interface");
    str_part(&p, 0x0003, "eth0");
    str_part(&p, 0x0004, "if_octets");
    static const uint8_t dk[2] = {2, 2};
    double dv[2] = {-5, 1e12};
    values_part(&p, 2, dk, dv);
    struct got g = {{{0}}, 0};
    T_EQ_INT(collectd_feed(c, p.b, p.n, 1, on_sample, &g, err, sizeof err), 0);
    T_EQ_INT(g.n, 5);
    T_EQ_STR(g.lines[0], "collectd_load_shortterm|host=web1,type=load|0.5|1700000000500");
    T_EQ_STR(g.lines[2], "collectd_load_longterm|host=web1,type=load|0.125|1700000000500");
    T_EQ_STR(g.lines[3],
             "collectd_interface_rx|host=web1,instance=eth0,type=if_octets|-5|1700000000500");
    T_EQ_STR(g.lines[4],
             "collectd_interface_tx|host=web1,instance=eth0,type=if_octets|1000000000000|"
             "1700000000500");
    collectd_free(c);
}

TEST(counter_absolute_and_time_in_seconds)
{
    char err[256];
    struct collectd *c = make(COLLECTD_NONE, err, sizeof err);
    T_ASSERT(c);
    struct pkt p = {{0}, 0};
    str_part(&p, 0x0000, "h");
    time_part(&p, 0x0001, 1700000001);
    str_part(&p, 0x0002, "p");
    str_part(&p, 0x0004, "counter");
    str_part(&p, 0x0005, "ti");
    static const uint8_t k0[1] = {0}, k3[1] = {3};
    double v = 123456789;
    values_part(&p, 1, k0, &v);
    str_part(&p, 0x0004, "absolute");
    values_part(&p, 1, k3, &v);
    struct got g = {{{0}}, 0};
    T_EQ_INT(collectd_feed(c, p.b, p.n, 1, on_sample, &g, err, sizeof err), 0);
    T_EQ_INT(g.n, 2);
    T_EQ_STR(g.lines[0], "collectd_p_value|host=h,type=counter,type_instance=ti|123456789|"
                         "1700000001000");
    T_EQ_STR(g.lines[1], "collectd_p_value|host=h,type=absolute,type_instance=ti|123456789|"
                         "1700000001000");
    collectd_free(c);
}

TEST(unknown_types_and_count_mismatch_refuse_one_list)
{
    char err[256];
    struct collectd *c = make(COLLECTD_NONE, err, sizeof err);
    T_ASSERT(c);
    struct pkt p = {{0}, 0};
    static const uint8_t k[2] = {1, 1};
    double v[2] = {1, 2};
    str_part(&p, 0x0000, "h");
    str_part(&p, 0x0002, "x");
    str_part(&p, 0x0004, "nosuchtype");
    values_part(&p, 1, k, v);
    str_part(&p, 0x0004, "memory");
    values_part(&p, 2, k, v); /* memory has one data source */
    values_part(&p, 1, k, v);
    struct got g = {{{0}}, 0};
    T_EQ_INT(collectd_feed(c, p.b, p.n, 77, on_sample, &g, err, sizeof err), 2);
    T_CHECK(strstr(err, "nosuchtype") != NULL);
    T_EQ_INT(g.n, 1);
    T_EQ_STR(g.lines[0], "collectd_x_value|host=h,type=memory|1|77");
    struct collectd_stats st;
    collectd_get_stats(c, &st);
    T_EQ_INT(st.refused_lists, 2);
    T_EQ_INT(st.value_lists, 1);
    collectd_free(c);
}

TEST(signed_and_encrypted_packets_by_level)
{
    struct {
        enum collectd_level level;
        int how; /* 0 plain, 1 signed, 2 encrypted */
        const char *user, *pass;
        size_t want_samples;
        int want_insecure, want_refused_packet;
    } cases[] = {
        {COLLECTD_NONE, 0, "", "", 3, 0, 0},
        {COLLECTD_NONE, 1, "alice", "s3cret", 3, 0, 0},
        {COLLECTD_NONE, 2, "alice", "s3cret", 3, 0, 0},
        {COLLECTD_SIGN, 0, "", "", 0, 1, 0},
        {COLLECTD_SIGN, 1, "alice", "s3cret", 3, 0, 0},
        {COLLECTD_SIGN, 1, "alice", "Xq9-nope", 0, 0, 1},
        {COLLECTD_SIGN, 1, "mallory", "s3cret", 0, 0, 1},
        {COLLECTD_SIGN, 2, "bob", "pw:with:colons", 3, 0, 0},
        {COLLECTD_ENCRYPT, 1, "alice", "s3cret", 0, 1, 0},
        {COLLECTD_ENCRYPT, 2, "alice", "s3cret", 3, 0, 0},
        {COLLECTD_ENCRYPT, 2, "alice", "Xq9-nope", 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct collectd *c = make(cases[i].level, err, sizeof err);
        T_ASSERT(c);
        struct pkt inner = {{0}, 0}, p;
        load_list(&inner, "h", 1, 2, 3);
        p = cases[i].how == 0   ? inner
            : cases[i].how == 1 ? sign(&inner, cases[i].user, cases[i].pass)
                                : encrypt(&inner, cases[i].user, cases[i].pass);
        struct got g = {{{0}}, 0};
        collectd_feed(c, p.b, p.n, 1, on_sample, &g, err, sizeof err);
        struct collectd_stats st;
        collectd_get_stats(c, &st);
        if (g.n != cases[i].want_samples || (int)st.insecure != cases[i].want_insecure ||
            (int)st.refused_packets != cases[i].want_refused_packet)
            t_fail_at(__FILE__, __LINE__,
                      "case %zu: %zu samples, %llu insecure, %llu refused packets (%s)", i, g.n,
                      (unsigned long long)st.insecure, (unsigned long long)st.refused_packets, err);
        T_CHECK(!strstr(err, cases[i].pass) || !cases[i].pass[0]);
        /* a flipped byte in the signed or encrypted payload is refused */
        if (cases[i].how && cases[i].want_samples) {
            p.b[p.n - 3] ^= 0x40;
            g.n = 0;
            collectd_feed(c, p.b, p.n, 1, on_sample, &g, err, sizeof err);
            T_EQ_INT(g.n, 0);
        }
        collectd_free(c);
    }
}

TEST(truncated_and_random_packets_never_crash)
{
    char err[256];
    struct collectd *c = make(COLLECTD_NONE, err, sizeof err);
    T_ASSERT(c);
    struct pkt p = {{0}, 0};
    load_list(&p, "h", 1, 2, 3);
    struct got g = {{{0}}, 0};
    for (size_t cut = 0; cut < p.n; cut++) {
        g.n = 0;
        collectd_feed(c, p.b, cut, 1, on_sample, &g, err, sizeof err);
        T_CHECK(g.n == 0);
    }
    unsigned seed = 7;
    uint8_t buf[1500];
    for (int round = 0; round < 5000; round++) {
        size_t n = (size_t)rand_r(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        if (n >= 4 && round % 2) { /* plausible part headers make the parser go deeper */
            buf[0] = 0;
            buf[1] = (uint8_t)(rand_r(&seed) % 10);
            buf[2] = 0;
            buf[3] = (uint8_t)(4 + rand_r(&seed) % 60);
        }
        g.n = 0;
        collectd_feed(c, buf, n, 1, on_sample, &g, err, sizeof err);
    }
    collectd_free(c);
}

TEST(missing_files_are_named)
{
    char err[256];
    const char *tdb[] = {"/nonexistent/types.db"};
    struct collectd_opts o = {NULL, COLLECTD_NONE, NULL, tdb, 1};
    T_CHECK(collectd_new(&o, err, sizeof err) == NULL);
    T_CHECK(strstr(err, "/nonexistent/types.db") != NULL);
    /* a missing auth file is not fatal: encrypted packets are refused with the reason */
    const char *real[] = {"/dev/null"};
    struct collectd_opts o2 = {NULL, COLLECTD_ENCRYPT, "/nonexistent/auth", real, 1};
    struct collectd *c = collectd_new(&o2, err, sizeof err);
    T_ASSERT(c);
    struct pkt inner = {{0}, 0};
    load_list(&inner, "h", 1, 2, 3);
    struct pkt p = encrypt(&inner, "alice", "s3cret");
    struct got g = {{{0}}, 0};
    T_EQ_INT(collectd_feed(c, p.b, p.n, 1, on_sample, &g, err, sizeof err), 1);
    T_CHECK(strstr(err, "collectd_auth_file missing") != NULL);
    T_EQ_INT(g.n, 0);
    collectd_free(c);
    struct collectd_opts o3 = {NULL, COLLECTD_SIGN, NULL, real, 1};
    T_CHECK(collectd_new(&o3, err, sizeof err) == NULL);
}

T_MAIN("test_collectd", T_CASE(plain_value_lists_get_reference_names_and_dimensions),
       T_CASE(counter_absolute_and_time_in_seconds),
       T_CASE(unknown_types_and_count_mismatch_refuse_one_list),
       T_CASE(signed_and_encrypted_packets_by_level),
       T_CASE(truncated_and_random_packets_never_crash), T_CASE(missing_files_are_named))
