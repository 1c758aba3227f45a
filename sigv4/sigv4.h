/* sigv4 — AWS Signature Version 4 for HTTP requests (Authorization-header form).
 *
 * sigv4_sign is a pure function: everything it needs comes in (including the time), and the
 * canonical request, string to sign, signature and the headers to add come out. It performs no
 * I/O. A signing-key cache (sigv4_key_cache) may be passed to skip the four HMACs when the
 * (access key, date, region, service) is unchanged; it wipes its keys when freed.
 *
 * Ownership: the caller owns every input. sigv4_sign fills *out with malloc'd strings that the
 * caller releases with sigv4_result_free.
 *
 * Rules beyond the canonical form itself (see sigv4.c for the details):
 * - An X-Amz-Date header already in the request is honoured: its value is the signing time and
 *   params->now is not used. Otherwise X-Amz-Date (from params->now) is added and signed; the
 *   caller sends it with the value in out->amz_date.
 * - With a session token in creds, any X-Amz-Security-Token header in the request is replaced by
 *   creds->session_token (signed or not per sign_session_token); out->security_token is the value
 *   to send. With add_content_sha256, likewise for x-amz-content-sha256 (out->content_sha256).
 * - Never signed: authorization, user-agent, expect, x-amzn-trace-id and the hop-by-hop headers
 *   (connection, keep-alive, proxy-authenticate, proxy-authorization, te, trailer,
 *   transfer-encoding, upgrade), which proxies and HTTP clients may add or rewrite.
 * - Header values are trimmed and every run of spaces/tabs becomes one space, inside quotes
 *   too (the get-header-value-trim vector). Repeated headers are joined with ',' in order.
 */
#ifndef CW_SIGV4_H
#define CW_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL when not temporary */
};

struct sigv4_header {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;                 /* "POST" */
    const char *path;                   /* raw (already-encoded) path, e.g. "/" */
    const char *query;                  /* raw query string without '?', or NULL */
    const struct sigv4_header *headers; /* must include Host */
    size_t nheaders;
    const void *body; /* hashed unless body_sha256_hex is given */
    size_t body_len;
    const char *body_sha256_hex; /* optional precomputed lowercase hex SHA-256 */
};

struct sigv4_params {
    const char *service;    /* signing name, e.g. "monitoring", "logs", "sts" */
    const char *region;     /* e.g. "us-east-1" */
    time_t now;             /* signing time (UTC seconds) */
    int sign_session_token; /* non-zero: X-Amz-Security-Token is added before signing (default
                               SDK behaviour); zero: added after signing */
    int add_content_sha256; /* non-zero: add and sign x-amz-content-sha256 */
    int normalize_path;     /* non-zero: RFC 3986 remove_dot_segments + double-encode (all
                               services but S3) */
    int encode_path;        /* only read when normalize_path is zero: non-zero still URI-encodes
                               the path once more, without normalising it (aws-c-auth's
                               use_double_uri_encode without should_normalize_uri_path; the
                               v4 suite's *-unnormalized vectors). Zero: path used verbatim (S3). */
};

struct sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signature;      /* lowercase hex */
    char *authorization;  /* value of the Authorization header */
    char *amz_date;       /* X-Amz-Date value, YYYYMMDDTHHMMSSZ */
    char *security_token; /* X-Amz-Security-Token value to add, or NULL */
    char *content_sha256; /* x-amz-content-sha256 value to add, or NULL */
};

struct sigv4_key_cache;

struct sigv4_key_cache_stats {
    unsigned long hits;   /* signatures that reused the cached signing key */
    unsigned long misses; /* signatures that derived a new key (first use, or a new date,
                             region, service, access key or secret) */
    int key_is_wiped;     /* non-zero when the key storage holds only zero bytes */
};

/* The cache holds one signing key (not thread-safe: one cache per signing thread), keyed by (access
 * key id, date, region, service) and a SHA-256 fingerprint of the secret (so a rotated secret under
 * the same key id is not reused). A replaced key is wiped before it is overwritten. NULL on
 * allocation failure. */
struct sigv4_key_cache *sigv4_key_cache_new(void);
void sigv4_key_cache_free(struct sigv4_key_cache *cache); /* wipes the cached key */
/* Wipes the cached key now (e.g. when credentials are replaced); the next sign is a miss. */
void sigv4_key_cache_clear(struct sigv4_key_cache *cache);
void sigv4_key_cache_get_stats(const struct sigv4_key_cache *cache,
                               struct sigv4_key_cache_stats *out);

/* Writes the lowercase hex SHA-256 of data[0..len) and a NUL into out (65 bytes), e.g. to pass
 * a body hash computed once as body_sha256_hex. Returns 0 or -1. */
int sigv4_sha256_hex(const void *data, size_t len, char out[65]);

/* Signs req. `cache` may be NULL. Returns 0, or -1 on invalid input / allocation failure
 * (with *out left zeroed). */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               const struct sigv4_params *params, struct sigv4_key_cache *cache,
               struct sigv4_result *out);
void sigv4_result_free(struct sigv4_result *res);

#endif
