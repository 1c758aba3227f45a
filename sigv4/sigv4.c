/* sigv4 — AWS Signature Version 4, Authorization-header form.
 *
 * The canonical request follows the AWS test suites (sigv4-test-suite/, both copies) and
 * botocore's SigV4Auth for non-S3 services: see sigv4.h for the header rules and sigv4/uri.h
 * for the path and query rules. Hashes and HMACs come from OpenSSL.
 */
#include "sigv4/sigv4.h"

#include "sigv4/uri.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Caps on what one request may contribute. AWS front ends reject request lines and headers far
 * smaller than these (tens of KB), so hitting them means the input is wrong, not large. */
#define SIGV4_MAX_CANONICAL (4u << 20) /* bytes of canonical request */
#define SIGV4_MAX_HEADERS   1000       /* header fields per request */
#define SIGV4_CACHE_FIELD   129        /* access key ids are at most 128 chars (IAM API) */
#define SHA256_LEN          32
#define AMZ_DATE_LEN        16 /* YYYYMMDDTHHMMSSZ */

struct sigv4_key_cache {
    char access_key[SIGV4_CACHE_FIELD];
    char date[9];
    char region[SIGV4_CACHE_FIELD];
    char service[SIGV4_CACHE_FIELD];
    unsigned char secret_fp[SHA256_LEN];
    unsigned char key[SHA256_LEN];
    int valid;
    unsigned long hits;
    unsigned long misses;
};

/* One header of the canonical form: lowercase name and canonical value, as offsets into an
 * arena buffer while it grows, then as pointers once it is complete. */
struct chdr {
    size_t name_off, val_off;
    size_t order; /* position in the request, to keep repeated headers in order */
    const char *name, *val;
};

struct hdrset {
    struct cw_buf arena;
    struct chdr *h;
    size_t n, cap;
    int has_host;
    char amz_date[AMZ_DATE_LEN + 1]; /* from the request's X-Amz-Date, or "" */
};

static const char *const skipped_headers[] = {
    "authorization",
    "user-agent",
    "expect",
    "x-amzn-trace-id",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
};

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_LEN];
    unsigned int mdlen = 0;
    if (!out || (!data && len) ||
        !EVP_Digest(data ? data : "", len, md, &mdlen, EVP_sha256(), NULL))
        return -1;
    hex_encode(md, SHA256_LEN, out);
    return 0;
}

static int hmac256(const void *key, size_t keylen, const void *msg, size_t msglen,
                   unsigned char out[SHA256_LEN])
{
    unsigned int outlen = 0;
    if (keylen > 0x7fffffff)
        return -1;
    return HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen) ? 0 : -1;
}

/* ---- input validation ------------------------------------------------------------------ */

static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* Scope parts (region, service) end up between '/' in the credential scope. */
static int is_scope_part(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!sigv4_uri_is_unreserved(c))
            return 0;
    }
    return 1;
}

/* The access key id is written into the Authorization header as Credential=<id>/<scope>. */
static int is_access_key(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c >= 0x7f || c == '/' || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static int is_hex64(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 64;
}

static int is_amz_date(const char *s)
{
    for (size_t i = 0; i < AMZ_DATE_LEN; i++) {
        char c = s[i];
        int ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : (c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return s[AMZ_DATE_LEN] == '\0';
}

static int validate(const struct sigv4_request *req, const struct sigv4_credentials *creds,
                    const struct sigv4_params *params)
{
    if (!req || !creds || !params)
        return -1;
    if (!is_token(req->method) || !req->path || has_crlf(req->path) ||
        (req->query && has_crlf(req->query)))
        return -1;
    if ((req->nheaders && !req->headers) || req->nheaders > SIGV4_MAX_HEADERS)
        return -1;
    if ((!req->body && req->body_len) || (req->body_sha256_hex && !is_hex64(req->body_sha256_hex)))
        return -1;
    if (!is_access_key(creds->access_key_id) || !creds->secret_access_key ||
        !*creds->secret_access_key)
        return -1;
    if (creds->session_token && has_crlf(creds->session_token))
        return -1;
    if (!is_scope_part(params->service) || !is_scope_part(params->region))
        return -1;
    return 0;
}

/* ---- canonical headers ---------------------------------------------------------------- */

static int is_skipped(const char *lname)
{
    for (size_t i = 0; i < sizeof skipped_headers / sizeof skipped_headers[0]; i++)
        if (strcmp(lname, skipped_headers[i]) == 0)
            return 1;
    return 0;
}

/* Appends value trimmed of spaces and tabs, each inner run of them written as one space. */
static int append_trimmed(struct cw_buf *b, const char *v)
{
    int pending_space = 0, started = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = started;
            continue;
        }
        if ((pending_space && cw_buf_append_char(b, ' ') != 0) || cw_buf_append_char(b, *v) != 0)
            return -1;
        pending_space = 0;
        started = 1;
    }
    return 0;
}

/* Adds name (lowercased) and its canonical value to the set. */
static int hdrset_add(struct hdrset *s, const char *name, const char *value)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        struct chdr *nh = realloc(s->h, ncap * sizeof *nh);
        if (!nh)
            return -1;
        s->h = nh;
        s->cap = ncap;
    }
    struct chdr *h = &s->h[s->n];
    h->order = s->n;
    h->name_off = s->arena.len;
    for (const char *p = name; *p; p++) {
        char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
        if (cw_buf_append_char(&s->arena, c) != 0)
            return -1;
    }
    if (cw_buf_append_char(&s->arena, '\0') != 0)
        return -1;
    h->val_off = s->arena.len;
    if (append_trimmed(&s->arena, value) != 0 || cw_buf_append_char(&s->arena, '\0') != 0)
        return -1;
    s->n++;
    return 0;
}

/* Notes Host and X-Amz-Date of the header just added (the last one in the set). */
static int hdrset_note_special(struct hdrset *s)
{
    const char *name = s->arena.data + s->h[s->n - 1].name_off;
    const char *val = s->arena.data + s->h[s->n - 1].val_off;
    if (strcmp(name, "host") == 0 && *val)
        s->has_host = 1;
    if (strcmp(name, "x-amz-date") == 0) {
        if (!is_amz_date(val) || s->amz_date[0]) /* malformed or repeated */
            return -1;
        memcpy(s->amz_date, val, AMZ_DATE_LEN + 1);
    }
    return 0;
}

/* Non-zero when a request header is left out of the signature: never-signed names, and the
 * headers the signer writes itself (token, content hash) when it writes them. */
static int header_left_out(const char *name, const struct sigv4_credentials *creds,
                           const struct sigv4_params *params)
{
    char lname[32];
    size_t n = strlen(name);
    if (n >= sizeof lname)
        return 0;
    for (size_t i = 0; i <= n; i++)
        lname[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
    if (is_skipped(lname))
        return 1;
    if (strcmp(lname, "x-amz-security-token") == 0 && creds->session_token && *creds->session_token)
        return 1;
    return strcmp(lname, "x-amz-content-sha256") == 0 && params->add_content_sha256;
}

static int hdrset_from_request(struct hdrset *s, const struct sigv4_request *req,
                               const struct sigv4_credentials *creds,
                               const struct sigv4_params *params)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct sigv4_header *h = &req->headers[i];
        if (!is_token(h->name) || !h->value || has_crlf(h->value))
            return -1;
        if (header_left_out(h->name, creds, params))
            continue;
        if (hdrset_add(s, h->name, h->value) != 0 || hdrset_note_special(s) != 0)
            return -1;
    }
    return 0;
}

static int chdr_cmp(const void *a, const void *b)
{
    const struct chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends "name:v1,v2\n" per distinct name to creq and "n1;n2" to signed_hdrs. */
static int append_canonical_headers(struct hdrset *s, struct cw_buf *creq,
                                    struct cw_buf *signed_hdrs)
{
    for (size_t i = 0; i < s->n; i++) {
        s->h[i].name = s->arena.data + s->h[i].name_off;
        s->h[i].val = s->arena.data + s->h[i].val_off;
    }
    qsort(s->h, s->n, sizeof *s->h, chdr_cmp);
    for (size_t i = 0; i < s->n; i++) {
        int first = i == 0 || strcmp(s->h[i].name, s->h[i - 1].name) != 0;
        int last = i + 1 == s->n || strcmp(s->h[i].name, s->h[i + 1].name) != 0;
        if (first && ((i > 0 && cw_buf_append_char(signed_hdrs, ';') != 0) ||
                      cw_buf_append_str(signed_hdrs, s->h[i].name) != 0 ||
                      cw_buf_printf(creq, "%s:", s->h[i].name) != 0))
            return -1;
        if ((!first && cw_buf_append_char(creq, ',') != 0) ||
            cw_buf_append_str(creq, s->h[i].val) != 0 ||
            (last && cw_buf_append_char(creq, '\n') != 0))
            return -1;
    }
    return 0;
}

/* ---- canonical request ---------------------------------------------------------------- */

static int append_canonical_uri(struct cw_buf *creq, const char *path,
                                const struct sigv4_params *params)
{
    size_t n = strlen(path);
    if (params->normalize_path) {
        struct cw_buf norm;
        cw_buf_init(&norm, creq->max);
        int rc = sigv4_uri_normalize_path(&norm, path, n) != 0 ||
                         sigv4_uri_encode(creq, norm.data, norm.len, 1) != 0
                     ? -1
                     : 0;
        cw_buf_free(&norm);
        return rc;
    }
    if (n == 0)
        return cw_buf_append_char(creq, '/');
    if (params->encode_path)
        return sigv4_uri_encode(creq, path, n, 1);
    return cw_buf_append(creq, path, n);
}

/* The state of one signing, freed by signing_free. */
struct signing {
    struct hdrset hs;
    struct cw_buf creq, signed_hdrs, sts, auth;
    char payload_hash[65];
    char amz_date[AMZ_DATE_LEN + 1];
    char signature[65];
    const char *token; /* session token, or NULL */
};

static int add_generated_headers(struct signing *sg, const struct sigv4_request *req,
                                 const struct sigv4_params *params)
{
    struct hdrset *s = &sg->hs;
    if (s->amz_date[0]) {
        memcpy(sg->amz_date, s->amz_date, sizeof sg->amz_date);
    } else {
        struct tm tm;
        if (!gmtime_r(&params->now, &tm) ||
            strftime(sg->amz_date, sizeof sg->amz_date, "%Y%m%dT%H%M%SZ", &tm) != AMZ_DATE_LEN)
            return -1;
        if (hdrset_add(s, "x-amz-date", sg->amz_date) != 0)
            return -1;
    }
    if (req->body_sha256_hex)
        memcpy(sg->payload_hash, req->body_sha256_hex, sizeof sg->payload_hash);
    else if (sigv4_sha256_hex(req->body, req->body_len, sg->payload_hash) != 0)
        return -1;
    if (sg->token && params->sign_session_token &&
        hdrset_add(s, "x-amz-security-token", sg->token) != 0)
        return -1;
    if (params->add_content_sha256 && hdrset_add(s, "x-amz-content-sha256", sg->payload_hash) != 0)
        return -1;
    return 0;
}

static int build_canonical_request(struct signing *sg, const struct sigv4_request *req,
                                   const struct sigv4_params *params)
{
    struct cw_buf *c = &sg->creq;
    if (cw_buf_printf(c, "%s\n", req->method) != 0 ||
        append_canonical_uri(c, req->path, params) != 0 || cw_buf_append_char(c, '\n') != 0 ||
        sigv4_uri_canonical_query(c, req->query) != 0 || cw_buf_append_char(c, '\n') != 0)
        return -1;
    if (append_canonical_headers(&sg->hs, c, &sg->signed_hdrs) != 0)
        return -1;
    return cw_buf_printf(c, "\n%s\n%s", sg->signed_hdrs.data ? sg->signed_hdrs.data : "",
                         sg->payload_hash);
}

/* ---- signing key ---------------------------------------------------------------------- */

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 * Every intermediate key is wiped before returning. */
static int derive_key(const char *secret, const char *date, const char *region, const char *service,
                      unsigned char out[SHA256_LEN])
{
    size_t slen = strlen(secret);
    unsigned char *k0 = malloc(slen + 4);
    unsigned char k1[SHA256_LEN], k2[SHA256_LEN], k3[SHA256_LEN];
    int rc = -1;
    if (!k0)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, slen);
    if (hmac256(k0, slen + 4, date, 8, k1) == 0 &&
        hmac256(k1, SHA256_LEN, region, strlen(region), k2) == 0 &&
        hmac256(k2, SHA256_LEN, service, strlen(service), k3) == 0 &&
        hmac256(k3, SHA256_LEN, "aws4_request", 12, out) == 0)
        rc = 0;
    OPENSSL_cleanse(k0, slen + 4);
    OPENSSL_cleanse(k1, sizeof k1);
    OPENSSL_cleanse(k2, sizeof k2);
    OPENSSL_cleanse(k3, sizeof k3);
    free(k0);
    return rc;
}

static int cache_matches(const struct sigv4_key_cache *c, const char *akid, const char *date,
                         const char *region, const char *service, const unsigned char *fp)
{
    return c->valid && strcmp(c->access_key, akid) == 0 && memcmp(c->date, date, 8) == 0 &&
           strcmp(c->region, region) == 0 && strcmp(c->service, service) == 0 &&
           CRYPTO_memcmp(c->secret_fp, fp, SHA256_LEN) == 0;
}

static int fits(const char *s)
{
    return strlen(s) < SIGV4_CACHE_FIELD;
}

/* Fills key for (creds, date, params), from the cache when it matches; a derived key replaces
 * the cached one (which is wiped first). Without a cache, or for fields too long to cache, the
 * key is derived every time. */
static int signing_key(struct sigv4_key_cache *c, const struct sigv4_credentials *creds,
                       const char *date, const struct sigv4_params *p,
                       unsigned char key[SHA256_LEN])
{
    const char *akid = creds->access_key_id, *secret = creds->secret_access_key;
    if (!c || !fits(akid) || !fits(p->region) || !fits(p->service))
        return derive_key(secret, date, p->region, p->service, key);
    unsigned char fp[SHA256_LEN];
    unsigned int fplen = 0;
    if (!EVP_Digest(secret, strlen(secret), fp, &fplen, EVP_sha256(), NULL))
        return -1;
    int rc = 0;
    if (cache_matches(c, akid, date, p->region, p->service, fp)) {
        c->hits++;
    } else {
        c->misses++;
        sigv4_key_cache_clear(c);
        rc = derive_key(secret, date, p->region, p->service, c->key);
        if (rc == 0) {
            memcpy(c->access_key, akid, strlen(akid) + 1);
            memcpy(c->date, date, 8);
            c->date[8] = '\0';
            memcpy(c->region, p->region, strlen(p->region) + 1);
            memcpy(c->service, p->service, strlen(p->service) + 1);
            memcpy(c->secret_fp, fp, SHA256_LEN);
            c->valid = 1;
        }
    }
    if (rc == 0)
        memcpy(key, c->key, SHA256_LEN);
    OPENSSL_cleanse(fp, sizeof fp);
    return rc;
}

struct sigv4_key_cache *sigv4_key_cache_new(void)
{
    return calloc(1, sizeof(struct sigv4_key_cache));
}

void sigv4_key_cache_clear(struct sigv4_key_cache *cache)
{
    if (!cache)
        return;
    OPENSSL_cleanse(cache->key, sizeof cache->key);
    OPENSSL_cleanse(cache->secret_fp, sizeof cache->secret_fp);
    cache->valid = 0;
}

void sigv4_key_cache_free(struct sigv4_key_cache *cache)
{
    if (!cache)
        return;
    OPENSSL_cleanse(cache, sizeof *cache);
    free(cache);
}

void sigv4_key_cache_get_stats(const struct sigv4_key_cache *cache,
                               struct sigv4_key_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!cache)
        return;
    out->hits = cache->hits;
    out->misses = cache->misses;
    unsigned char any = 0;
    for (size_t i = 0; i < sizeof cache->key; i++)
        any |= cache->key[i];
    out->key_is_wiped = any == 0;
}

/* ---- sigv4_sign ----------------------------------------------------------------------- */

static int build_string_to_sign(struct signing *sg, const struct sigv4_params *params)
{
    char creq_hash[65];
    if (sigv4_sha256_hex(sg->creq.data, sg->creq.len, creq_hash) != 0)
        return -1;
    return cw_buf_printf(&sg->sts, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
                         sg->amz_date, sg->amz_date, params->region, params->service, creq_hash);
}

static int compute_signature(struct signing *sg, const struct sigv4_credentials *creds,
                             const struct sigv4_params *params, struct sigv4_key_cache *cache)
{
    unsigned char key[SHA256_LEN], sig[SHA256_LEN];
    int rc = -1;
    if (signing_key(cache, creds, sg->amz_date, params, key) == 0 &&
        hmac256(key, SHA256_LEN, sg->sts.data, sg->sts.len, sig) == 0) {
        hex_encode(sig, SHA256_LEN, sg->signature);
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

static int fill_result(struct signing *sg, const struct sigv4_credentials *creds,
                       const struct sigv4_params *params, struct sigv4_result *out)
{
    if (cw_buf_printf(&sg->auth,
                      "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                      "SignedHeaders=%s, Signature=%s",
                      creds->access_key_id, sg->amz_date, params->region, params->service,
                      sg->signed_hdrs.data ? sg->signed_hdrs.data : "", sg->signature) != 0)
        return -1;
    int failed = 0;
    out->canonical_request = cw_buf_detach(&sg->creq, NULL);
    out->string_to_sign = cw_buf_detach(&sg->sts, NULL);
    out->authorization = cw_buf_detach(&sg->auth, NULL);
    out->signature = dup_or_null(sg->signature, &failed);
    out->amz_date = dup_or_null(sg->amz_date, &failed);
    out->security_token = dup_or_null(sg->token, &failed);
    out->content_sha256 =
        dup_or_null(params->add_content_sha256 ? sg->payload_hash : NULL, &failed);
    if (!out->canonical_request || !out->string_to_sign || !out->authorization)
        failed = 1;
    return failed ? -1 : 0;
}

/* The arena and canonical request may hold the session token: wiped, like the token itself. */
static void signing_free(struct signing *sg)
{
    cw_buf_free_secret(&sg->hs.arena);
    free(sg->hs.h);
    cw_buf_free_secret(&sg->creq);
    cw_buf_free(&sg->signed_hdrs);
    cw_buf_free(&sg->sts);
    cw_buf_free(&sg->auth);
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               const struct sigv4_params *params, struct sigv4_key_cache *cache,
               struct sigv4_result *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (validate(req, creds, params) != 0)
        return -1;
    struct signing sg;
    memset(&sg, 0, sizeof sg);
    cw_buf_init(&sg.hs.arena, SIGV4_MAX_CANONICAL);
    cw_buf_init(&sg.creq, SIGV4_MAX_CANONICAL);
    cw_buf_init(&sg.signed_hdrs, SIGV4_MAX_CANONICAL);
    cw_buf_init(&sg.sts, SIGV4_MAX_CANONICAL);
    cw_buf_init(&sg.auth, SIGV4_MAX_CANONICAL);
    sg.token = creds->session_token && *creds->session_token ? creds->session_token : NULL;
    int rc = -1;
    if (hdrset_from_request(&sg.hs, req, creds, params) != 0 || !sg.hs.has_host)
        goto out;
    if (add_generated_headers(&sg, req, params) != 0 ||
        build_canonical_request(&sg, req, params) != 0 || build_string_to_sign(&sg, params) != 0 ||
        compute_signature(&sg, creds, params, cache) != 0 || fill_result(&sg, creds, params, out))
        goto out;
    rc = 0;
out:
    signing_free(&sg);
    if (rc != 0)
        sigv4_result_free(out);
    return rc;
}

void sigv4_result_free(struct sigv4_result *res)
{
    if (!res)
        return;
    free(res->canonical_request);
    free(res->string_to_sign);
    free(res->signature);
    free(res->authorization);
    free(res->amz_date);
    if (res->security_token)
        OPENSSL_cleanse(res->security_token, strlen(res->security_token));
    free(res->security_token);
    free(res->content_sha256);
    memset(res, 0, sizeof *res);
}
