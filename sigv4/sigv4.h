/* sigv4 — AWS Signature Version 4 for HTTP requests (Authorization-header form).
 *
 * sigv4_sign is a pure function: everything it needs comes in (including the time), and the
 * canonical request, string to sign, signature and the headers to add come out. It performs no
 * I/O. A signing-key cache (sigv4_key_cache) may be passed to skip the four HMACs when the
 * (access key, date, region, service) is unchanged; it wipes its keys when freed.
 *
 * Ownership: the caller owns every input. sigv4_sign fills *out with malloc'd strings that the
 * caller releases with sigv4_result_free.
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

struct sigv4_key_cache *sigv4_key_cache_new(void);
void sigv4_key_cache_free(struct sigv4_key_cache *cache); /* wipes the cached key */

/* Signs req. `cache` may be NULL. Returns 0, or -1 on invalid input / allocation failure
 * (with *out left zeroed). */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *creds,
               const struct sigv4_params *params, struct sigv4_key_cache *cache,
               struct sigv4_result *out);
void sigv4_result_free(struct sigv4_result *res);

#endif
