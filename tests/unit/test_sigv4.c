/* Unit tests for the SigV4 pieces: URI encoding, path normalisation, query canonicalisation,
 * header canonicalisation, session-token and date placement, the key cache, invalid input,
 * and two known answers from reference/notes/aws-api-contract.md §3.1 (botocore-generated). */
#include "sigv4/sigv4.h"
#include "sigv4/uri.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>

#define SUITE_TIME 1440938160 /* 2015-08-30T12:36:00Z */

static const char *const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/* ---- helpers ------------------------------------------------------------------------- */

static char *run_buf(int (*fn)(struct cw_buf *, const char *, size_t, int), const char *in,
                     size_t n, int flag)
{
    struct cw_buf b;
    cw_buf_init(&b, 1 << 16);
    if (fn(&b, in, n, flag) != 0 || cw_buf_append(&b, "", 0) != 0) {
        cw_buf_free(&b);
        return NULL;
    }
    return b.data; /* caller frees */
}

static int encode_keep(struct cw_buf *b, const char *s, size_t n, int keep)
{
    return sigv4_uri_encode(b, s, n, keep);
}

static int decode_adapter(struct cw_buf *b, const char *s, size_t n, int unused)
{
    (void)unused;
    return sigv4_uri_decode(b, s, n);
}

static int normalize_adapter(struct cw_buf *b, const char *s, size_t n, int unused)
{
    (void)unused;
    return sigv4_uri_normalize_path(b, s, n);
}

static int query_adapter(struct cw_buf *b, const char *s, size_t n, int is_null)
{
    (void)n;
    return sigv4_uri_canonical_query(b, is_null ? NULL : s);
}

/* Returns the value of "name:" in the canonical request's header block (malloc'd), or NULL. */
static char *creq_header(const char *creq, const char *name)
{
    size_t n = strlen(name);
    const char *p = creq;
    for (int line = 0; p && *p; line++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (line >= 3 && len == 0)
            break; /* end of the header block */
        if (line >= 3 && len > n && strncmp(p, name, n) == 0 && p[n] == ':')
            return strndup(p + n + 1, len - n - 1);
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/* Returns the SignedHeaders line (the second-to-last line) of a canonical request. */
static char *creq_signed_headers(const char *creq)
{
    const char *last = strrchr(creq, '\n');
    if (!last)
        return NULL;
    const char *p = last;
    while (p > creq && p[-1] != '\n')
        p--;
    return strndup(p, (size_t)(last - p));
}

struct fixture {
    struct sigv4_header h[8];
    struct sigv4_request req;
    struct sigv4_credentials cr;
    struct sigv4_params p;
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    f->h[0].name = "Host";
    f->h[0].value = "example.amazonaws.com";
    f->req.method = "GET";
    f->req.path = "/";
    f->req.headers = f->h;
    f->req.nheaders = 1;
    f->cr.access_key_id = "AKIDEXAMPLE";
    f->cr.secret_access_key = secret;
    f->p.service = "service";
    f->p.region = "us-east-1";
    f->p.now = SUITE_TIME;
    f->p.sign_session_token = 1;
    f->p.normalize_path = 1;
}

static void add_header(struct fixture *f, const char *name, const char *value)
{
    f->h[f->req.nheaders].name = name;
    f->h[f->req.nheaders].value = value;
    f->req.nheaders++;
}

/* ---- URI ----------------------------------------------------------------------------- */

TEST(uri_encode_table)
{
    static const struct {
        const char *in;
        size_t n;
        int keep_slash;
        const char *want;
    } cases[] = {
        {"AZaz09-._~", 10, 0, "AZaz09-._~"},
        {"a b", 3, 0, "a%20b"},
        {"/a/b", 4, 0, "%2Fa%2Fb"},
        {"/a/b", 4, 1, "/a/b"},
        {"+*%!'()", 7, 0, "%2B%2A%25%21%27%28%29"},
        {":@&=$,;?#[]", 11, 1, "%3A%40%26%3D%24%2C%3B%3F%23%5B%5D"},
        {"\xe1\x88\xb4", 3, 0, "%E1%88%B4"},
        {"\x00\xff", 2, 0, "%00%FF"},
        {"%20", 3, 1, "%2520"}, /* already-encoded input is encoded again */
        {"", 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_buf(encode_keep, cases[i].in, cases[i].n, cases[i].keep_slash);
        T_EQ_STR(got, cases[i].want);
        free(got);
    }
}

TEST(uri_decode_table)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"%41%62c", "Abc"}, {"%e1%88%B4", "\xe1\x88\xb4"},
        {"a+b", "a+b"},     {"%zz%4", "%zz%4"},
        {"%", "%"},         {"100%", "100%"},
        {"%2F%2f", "//"},   {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_buf(decode_adapter, cases[i].in, strlen(cases[i].in), 0);
        T_EQ_STR(got, cases[i].want);
        free(got);
    }
}

TEST(uri_normalize_path_table)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "/"},
        {"/", "/"},
        {"//", "/"},
        {"/a/./b/../c", "/a/c"},
        {"/a/b/", "/a/b/"},
        {"/../a", "/a"},
        {"/a/..", "/"},
        {"/a/.", "/a"},
        {"/a//b//", "/a/b/"},
        {"/a/b/../../..", "/"},
        {"/%2E%2E/a", "/%2E%2E/a"}, /* encoded dots are not dot segments */
        {"/.../a", "/.../a"},
        {"/example space/", "/example space/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_buf(normalize_adapter, cases[i].in, strlen(cases[i].in), 0);
        T_EQ_STR(got, cases[i].want);
        free(got);
    }
}

TEST(query_canonicalisation_table)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"b=2&a=1", "a=1&b=2"},
        {"a=2&a=1&a=", "a=&a=1&a=2"},      /* repeated keys sorted by value, empty kept */
        {"a&b=", "a=&b="},                 /* '=' always present */
        {"a=1&&b=2&", "a=1&b=2"},          /* empty segments are not parameters */
        {"k%20y=v%2Fw", "k%20y=v%2Fw"},    /* already canonical */
        {"k y=v/w", "k%20y=v%2Fw"},        /* reserved characters encoded */
        {"a=%e1%88%b4", "a=%E1%88%B4"},    /* lowercase hex re-encoded uppercase */
        {"\xe1\x88\xb4=1", "%E1%88%B4=1"}, /* raw UTF-8 (get-vanilla-utf8-query) */
        {"a=b=c", "a=b%3Dc"},              /* split at the first '=' */
        {"a=+", "a=%2B"},                  /* '+' is not a space in SigV4 */
        {"B=1&a=1&%41=0", "A=0&B=1&a=1"},  /* sorted by encoded name, bytewise */
        {"Param2=x&param1=y&Param1=z", "Param1=z&Param2=x&param1=y"},
        {"-._~=-._~", "-._~=-._~"},
        {"%zz=1", "%25zz=1"}, /* a stray '%' is data */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_buf(query_adapter, cases[i].in, strlen(cases[i].in), 0);
        T_EQ_STR(got, cases[i].want);
        free(got);
    }
    char *got = run_buf(query_adapter, "", 0, 1);
    T_EQ_STR(got, "");
    free(got);
}

/* ---- headers ------------------------------------------------------------------------- */

TEST(header_values_are_trimmed_and_collapsed)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"  a   b  ", "a b"},
        {"\t x\t\ty \t", "x y"},
        {"\"a   b   c\"", "\"a b c\""}, /* inside quotes too (get-header-value-trim) */
        {"", ""},
        {"   ", ""},
        {"VALUE1", "VALUE1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f;
        fixture_init(&f);
        add_header(&f, "My-Header", cases[i].in);
        struct sigv4_result r;
        T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
        char *v = creq_header(r.canonical_request, "my-header");
        T_EQ_STR(v, cases[i].want);
        free(v);
        sigv4_result_free(&r);
    }
}

TEST(repeated_headers_join_in_order_and_names_sort)
{
    struct fixture f;
    fixture_init(&f);
    add_header(&f, "Zeta", "z");
    add_header(&f, "X-A", "2");
    add_header(&f, "x-a", "1");
    add_header(&f, "X-A", " 3 ");
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    char *v = creq_header(r.canonical_request, "x-a");
    T_EQ_STR(v, "2,1,3");
    char *sh = creq_signed_headers(r.canonical_request);
    T_EQ_STR(sh, "host;x-a;x-amz-date;zeta");
    free(v);
    free(sh);
    sigv4_result_free(&r);
}

TEST(hop_by_hop_and_client_headers_are_not_signed)
{
    struct fixture f;
    fixture_init(&f);
    add_header(&f, "User-Agent", "cwagent/1.0");
    add_header(&f, "Authorization", "AWS4-HMAC-SHA256 old");
    add_header(&f, "Connection", "keep-alive");
    add_header(&f, "Expect", "100-continue");
    add_header(&f, "X-Amzn-Trace-Id", "Root=1");
    add_header(&f, "Transfer-Encoding", "chunked");
    add_header(&f, "Content-Type", "text/plain");
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    char *sh = creq_signed_headers(r.canonical_request);
    T_EQ_STR(sh, "content-type;host;x-amz-date");
    T_CHECK(strstr(r.authorization, "SignedHeaders=content-type;host;x-amz-date,") != NULL);
    free(sh);
    sigv4_result_free(&r);
}

/* ---- date, token, content hash ---------------------------------------------------------- */

TEST(amz_date_generated_from_now_or_taken_from_request)
{
    struct fixture f;
    fixture_init(&f);
    f.p.now = 0;
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_EQ_STR(r.amz_date, "19700101T000000Z");
    char *v = creq_header(r.canonical_request, "x-amz-date");
    T_EQ_STR(v, "19700101T000000Z");
    T_CHECK(strstr(r.string_to_sign, "\n19700101/us-east-1/service/aws4_request\n") != NULL);
    free(v);
    sigv4_result_free(&r);

    add_header(&f, "X-Amz-Date", "20150830T123600Z"); /* honoured; now is ignored */
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_EQ_STR(r.amz_date, "20150830T123600Z");
    T_CHECK(strstr(r.authorization, "Credential=AKIDEXAMPLE/20150830/us-east-1/service/") != NULL);
    sigv4_result_free(&r);

    f.h[1].value = "2015-08-30T12:36:00Z"; /* not the SigV4 format */
    T_EQ_INT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r), -1);
}

TEST(session_token_signed_before_or_added_after)
{
    struct fixture f;
    fixture_init(&f);
    f.cr.session_token = "TOKEN/with+chars==";
    add_header(&f, "X-Amz-Security-Token", "stale-token"); /* replaced by the credentials' */
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    char *v = creq_header(r.canonical_request, "x-amz-security-token");
    T_EQ_STR(v, "TOKEN/with+chars==");
    T_EQ_STR(r.security_token, "TOKEN/with+chars==");
    T_CHECK(strstr(r.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    T_CHECK(strstr(r.canonical_request, "stale-token") == NULL);
    free(v);
    sigv4_result_free(&r);

    f.p.sign_session_token = 0;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(creq_header(r.canonical_request, "x-amz-security-token") == NULL);
    T_EQ_STR(r.security_token, "TOKEN/with+chars==");
    T_CHECK(strstr(r.authorization, "SignedHeaders=host;x-amz-date,") != NULL);
    sigv4_result_free(&r);

    f.cr.session_token = NULL; /* no token: the request's own header is an ordinary header */
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(r.security_token == NULL);
    v = creq_header(r.canonical_request, "x-amz-security-token");
    T_EQ_STR(v, "stale-token");
    free(v);
    sigv4_result_free(&r);
}

TEST(content_sha256_added_and_precomputed_hash_used)
{
    struct fixture f;
    fixture_init(&f);
    f.req.method = "POST";
    f.req.body = "Param1=value1";
    f.req.body_len = 13;
    f.p.add_content_sha256 = 1;
    const char *want = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    char *v = creq_header(r.canonical_request, "x-amz-content-sha256");
    T_EQ_STR(v, want);
    T_EQ_STR(r.content_sha256, want);
    const char *tail = strrchr(r.canonical_request, '\n');
    T_EQ_STR(tail ? tail + 1 : NULL, want);
    free(v);
    sigv4_result_free(&r);

    f.p.add_content_sha256 = 0;
    f.req.body_sha256_hex = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    tail = strrchr(r.canonical_request, '\n');
    T_EQ_STR(tail ? tail + 1 : NULL, f.req.body_sha256_hex);
    T_CHECK(r.content_sha256 == NULL);
    sigv4_result_free(&r);

    char hex[65];
    T_EQ_INT(sigv4_sha256_hex("", 0, hex), 0);
    T_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(path_modes_normalise_encode_or_keep)
{
    struct fixture f;
    fixture_init(&f);
    f.req.path = "//a/./b%20c/../d e";
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(strncmp(r.canonical_request, "GET\n/a/d%20e\n", 13) == 0);
    sigv4_result_free(&r);
    f.p.normalize_path = 0;
    f.p.encode_path = 1;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(strncmp(r.canonical_request, "GET\n//a/./b%2520c/../d%20e\n", 27) == 0);
    sigv4_result_free(&r);
    f.p.encode_path = 0; /* S3: verbatim */
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(strncmp(r.canonical_request, "GET\n//a/./b%20c/../d e\n", 23) == 0);
    sigv4_result_free(&r);
}

/* ---- key cache ----------------------------------------------------------------------- */

static char *sign_sig(struct fixture *f, struct sigv4_key_cache *c)
{
    struct sigv4_result r;
    if (sigv4_sign(&f->req, &f->cr, &f->p, c, &r) != 0)
        return NULL;
    char *s = strdup(r.signature);
    sigv4_result_free(&r);
    return s;
}

static void expect_stats(struct sigv4_key_cache *c, unsigned long hits, unsigned long misses)
{
    struct sigv4_key_cache_stats st;
    sigv4_key_cache_get_stats(c, &st);
    T_EQ_INT(st.hits, hits);
    T_EQ_INT(st.misses, misses);
}

TEST(key_cache_hits_misses_and_gives_same_signatures)
{
    struct fixture f;
    fixture_init(&f);
    struct sigv4_key_cache *c = sigv4_key_cache_new();
    T_ASSERT(c != NULL);
    char *plain = sign_sig(&f, NULL);
    char *first = sign_sig(&f, c);
    char *second = sign_sig(&f, c);
    T_EQ_STR(first, plain);
    T_EQ_STR(second, plain);
    expect_stats(c, 1, 1);
    free(plain);
    free(first);
    free(second);
    static const struct {
        int field; /* 0 date, 1 region, 2 service, 3 access key, 4 secret */
    } changes[] = {{0}, {1}, {2}, {3}, {4}};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        switch (changes[i].field) {
        case 0:
            f.p.now += 86400;
            break;
        case 1:
            f.p.region = "eu-west-1";
            break;
        case 2:
            f.p.service = "logs";
            break;
        case 3:
            f.cr.access_key_id = "AKIDOTHER";
            break;
        default:
            f.cr.secret_access_key = "another/secret";
            break;
        }
        plain = sign_sig(&f, NULL);
        first = sign_sig(&f, c);
        T_EQ_STR(first, plain); /* a stale key would give a different signature */
        expect_stats(c, 1, 2 + i);
        free(plain);
        free(first);
    }
    f.p.now += 60; /* same day: still a hit */
    free(sign_sig(&f, c));
    expect_stats(c, 2, 6);
    sigv4_key_cache_free(c);
}

TEST(key_cache_clear_wipes_the_key)
{
    struct fixture f;
    fixture_init(&f);
    struct sigv4_key_cache *c = sigv4_key_cache_new();
    T_ASSERT(c != NULL);
    struct sigv4_key_cache_stats st;
    sigv4_key_cache_get_stats(c, &st);
    T_CHECK(st.key_is_wiped);
    free(sign_sig(&f, c));
    sigv4_key_cache_get_stats(c, &st);
    T_CHECK(!st.key_is_wiped);
    sigv4_key_cache_clear(c);
    sigv4_key_cache_get_stats(c, &st);
    T_CHECK(st.key_is_wiped);
    free(sign_sig(&f, c)); /* cleared: a miss, not a hit on wiped bytes */
    expect_stats(c, 0, 2);
    sigv4_key_cache_free(c);
    sigv4_key_cache_free(NULL);
    sigv4_key_cache_clear(NULL);
}

/* ---- invalid input ------------------------------------------------------------------- */

static void expect_invalid(struct fixture *f, const char *what)
{
    struct sigv4_result r;
    memset(&r, 0x5a, sizeof r);
    int rc = sigv4_sign(&f->req, &f->cr, &f->p, NULL, &r);
    if (rc != -1)
        t_fail_at(__FILE__, __LINE__, "%s: expected -1, got %d", what, rc);
    if (r.canonical_request || r.signature || r.authorization || r.amz_date)
        t_fail_at(__FILE__, __LINE__, "%s: result not zeroed", what);
    if (rc == 0)
        sigv4_result_free(&r);
}

TEST(invalid_input_is_refused)
{
    struct fixture f;
    struct sigv4_result r;
    fixture_init(&f);
    T_EQ_INT(sigv4_sign(NULL, &f.cr, &f.p, NULL, &r), -1);
    T_EQ_INT(sigv4_sign(&f.req, NULL, &f.p, NULL, &r), -1);
    T_EQ_INT(sigv4_sign(&f.req, &f.cr, NULL, NULL, &r), -1);
    T_EQ_INT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, NULL), -1);
#define MUTATE(what, stmt)                                                                         \
    do {                                                                                           \
        fixture_init(&f);                                                                          \
        stmt;                                                                                      \
        expect_invalid(&f, what);                                                                  \
    } while (0)
    MUTATE("no Host", f.h[0].name = "X-Host");
    MUTATE("empty Host", f.h[0].value = "   ");
    MUTATE("no headers", f.req.nheaders = 0);
    MUTATE("NULL headers", f.req.headers = NULL);
    MUTATE("NULL method", f.req.method = NULL);
    MUTATE("method with space", f.req.method = "GE T");
    MUTATE("NULL path", f.req.path = NULL);
    MUTATE("path with newline", f.req.path = "/a\nb");
    MUTATE("NULL header name", add_header(&f, NULL, "v"));
    MUTATE("NULL header value", add_header(&f, "X-A", NULL));
    MUTATE("header name with space", add_header(&f, "X A", "v"));
    MUTATE("header name empty", add_header(&f, "", "v"));
    MUTATE("header value with CRLF", add_header(&f, "X-A", "v\r\nX-Evil: 1"));
    MUTATE("body NULL with length", f.req.body_len = 3);
    MUTATE("short body hash", f.req.body_sha256_hex = "abc");
    MUTATE("uppercase body hash",
           f.req.body_sha256_hex =
               "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
    MUTATE("NULL access key", f.cr.access_key_id = NULL);
    MUTATE("empty access key", f.cr.access_key_id = "");
    MUTATE("access key with slash", f.cr.access_key_id = "AKID/X");
    MUTATE("NULL secret", f.cr.secret_access_key = NULL);
    MUTATE("empty secret", f.cr.secret_access_key = "");
    MUTATE("token with newline", f.cr.session_token = "a\nb");
    MUTATE("NULL region", f.p.region = NULL);
    MUTATE("region with slash", f.p.region = "us/east");
    MUTATE("empty service", f.p.service = "");
    MUTATE("two X-Amz-Date", (add_header(&f, "X-Amz-Date", "20150830T123600Z"),
                              add_header(&f, "x-amz-date", "20150830T123600Z")));
#undef MUTATE
}

/* ---- known answers (botocore 1.43.67, aws-api-contract.md §3.1) ---------------------------- */

TEST(known_answer_cloudwatch_query_with_token)
{
    struct fixture f;
    fixture_init(&f);
    const char *body = "Action=PutMetricData&Version=2010-08-01&Namespace=MyApp&MetricData.member."
                       "1.MetricName=Latency&MetricData.member.1.Value=1.5&MetricData.member.1."
                       "Unit=Milliseconds";
    f.h[0].value = "monitoring.us-east-1.amazonaws.com";
    add_header(&f, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    f.req.method = "POST";
    f.req.body = body;
    f.req.body_len = strlen(body);
    f.cr.session_token = "SESSIONTOKENEXAMPLE";
    f.p.service = "monitoring";
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_EQ_STR(r.canonical_request,
             "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n"
             "host:monitoring.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\n"
             "x-amz-security-token:SESSIONTOKENEXAMPLE\n\n"
             "content-type;host;x-amz-date;x-amz-security-token\n"
             "a4263537ff6cd0f80742d530091b93bf917a6b3c4b841df76bae1afd7c528b35");
    T_CHECK(strstr(r.string_to_sign,
                   "495c44bbbe04d0949a311e141a9a9c4cbe208b95f1d2e8ab6903d0bf4faa0fc9") != NULL);
    T_EQ_STR(r.signature, "5bc2229c8385e4e72a7781ef45aefcba43ea06bc88581eaab480dae76fd7ffb5");
    sigv4_result_free(&r);
}

TEST(known_answer_logs_json_with_token)
{
    struct fixture f;
    fixture_init(&f);
    const char *body =
        "{\"logGroupName\":\"g\",\"logStreamName\":\"s\",\"logEvents\":[{\"timestamp\":"
        "1440938160000,\"message\":\"hello\"}]}";
    f.h[0].value = "logs.us-east-1.amazonaws.com";
    add_header(&f, "X-Amz-Target", "Logs_20140328.PutLogEvents");
    add_header(&f, "Content-Type", "application/x-amz-json-1.1");
    f.req.method = "POST";
    f.req.body = body;
    f.req.body_len = strlen(body);
    f.cr.session_token = "SESSIONTOKENEXAMPLE";
    f.p.service = "logs";
    struct sigv4_result r;
    T_ASSERT(sigv4_sign(&f.req, &f.cr, &f.p, NULL, &r) == 0);
    T_CHECK(strstr(r.authorization,
                   "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                   "x-amz-target,") != NULL);
    const char *tail = strrchr(r.canonical_request, '\n');
    T_EQ_STR(tail ? tail + 1 : NULL,
             "95ef2e8b6df07e8b2e91a27adef24ceb3c5c16696a0a2056a748ac37815b72a5");
    T_EQ_STR(r.signature, "c7cc5544fe979582c0385acf5a54fb20e8c45bd2051dff0d193b2381dc34c736");
    sigv4_result_free(&r);
}

T_MAIN("sigv4", T_CASE(uri_encode_table), T_CASE(uri_decode_table),
       T_CASE(uri_normalize_path_table), T_CASE(query_canonicalisation_table),
       T_CASE(header_values_are_trimmed_and_collapsed),
       T_CASE(repeated_headers_join_in_order_and_names_sort),
       T_CASE(hop_by_hop_and_client_headers_are_not_signed),
       T_CASE(amz_date_generated_from_now_or_taken_from_request),
       T_CASE(session_token_signed_before_or_added_after),
       T_CASE(content_sha256_added_and_precomputed_hash_used),
       T_CASE(path_modes_normalise_encode_or_keep),
       T_CASE(key_cache_hits_misses_and_gives_same_signatures),
       T_CASE(key_cache_clear_wipes_the_key), T_CASE(invalid_input_is_refused),
       T_CASE(known_answer_cloudwatch_query_with_token), T_CASE(known_answer_logs_json_with_token))
