/* creds_internal — helpers shared by the files of the sigv4 credentials module (creds*.c, imds.c).
 * Not an API for other modules: include sigv4/creds.h or sigv4/imds.h instead.
 */
#ifndef CW_CREDS_INTERNAL_H
#define CW_CREDS_INTERNAL_H

#include <stddef.h>

#include "common/buf.h"
#include "common/http.h"
#include "sigv4/creds.h"

#define CREDS_ERR_MAX      512   /* one provider's error line */
#define CREDS_MAX_JSON     65536 /* credential JSON bodies (ECS, IMDS, credential_process) */
#define CREDS_MAX_STS_BODY 65536 /* STS XML responses */

/* A cancellable HTTP exchange: the transport cannot cancel, so a cancelled call stays allocated
 * until the transport answers and is then freed without calling back. */
struct creds_http_call;
typedef void (*creds_http_cb)(void *owner, const struct cw_http_response *resp);

/* Submits req; returns the call handle, or NULL when submit failed (cb is then never called).
 * The handle is valid until cb runs or creds_http_cancel is called. */
struct creds_http_call *creds_http_start(const struct cw_http_transport *http,
                                         const struct cw_http_request *req, creds_http_cb cb,
                                         void *owner);
void creds_http_cancel(struct creds_http_call *call);

/* Worth one retry: a timeout, a refused or dropped connection, or a 5xx. */
int creds_http_transient(const struct cw_http_response *resp);

/* Formats into buf (always NUL-terminated, truncated when too long); returns buf. */
char *creds_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses the credential JSON of ECS, IMDS and credential_process:
 * AccessKeyId, SecretAccessKey, Token or SessionToken, Expiration. `require_version1` demands
 * "Version": 1 (credential_process). On failure writes a reason to err and returns NULL. */
struct creds *creds_from_json(const char *body, size_t len, const char *provider,
                              int require_version1, int require_expiration, char *err,
                              size_t errlen);

/* Reads a small file (at most max bytes) into a malloc'd NUL-terminated string; NULL with a
 * reason in err on failure. */
char *creds_read_file(const char *path, size_t max, size_t *len_out, char *err, size_t errlen);

/* A static provider whose credentials carry the provider name `name` (e.g. "profile"). */
struct creds_provider *creds_static_provider_named(const char *access_key_id, const char *secret,
                                                   const char *token, const char *name);

/* Allocates b's whole capacity (b->max) at once, so appends never realloc secret bytes.
 * Returns 0 or -1. */
int creds_buf_presize(struct cw_buf *b) CW_WARN_UNUSED;

/* Web identity with the role, token file and session name of a profile (copied). */
struct creds_provider *creds_webid_provider_profile(const struct creds_ctx *ctx, const char *role,
                                                    const char *file, const char *session);

/* Returns non-zero when v is "true" (case-insensitive). */
int creds_env_true(const char *v);

/* Copies the first line of s (at most n bytes, printable ASCII only) into out. */
void creds_first_line(const char *s, size_t n, char *out, size_t outlen);

/* STS: the resolved endpoint URL (no trailing slash) and signing region. */
void creds_sts_endpoint(const struct creds_ctx *ctx, char *url, size_t urllen, char *region,
                        size_t regionlen);

/* Parses an STS AssumeRole / AssumeRoleWithWebIdentity answer: 200 with <Credentials>, or an
 * <ErrorResponse>. Returns the credentials or NULL with a reason in err. */
struct creds *creds_sts_parse(const struct cw_http_response *resp, const char *provider, char *err,
                              size_t errlen);

/* POSTs the form `body` to STS (ctx->sts_endpoint or the regional endpoint), signed with
 * `sign_with` through ctx->sign, or unsigned when sign_with is NULL. Returns the call (cb gets
 * the raw response; parse it with creds_sts_parse) or NULL with a reason in err. */
struct creds_http_call *creds_sts_submit(const struct creds_ctx *ctx, const char *body, size_t len,
                                         const struct creds *sign_with, creds_http_cb cb,
                                         void *owner, char *err, size_t errlen);

/* Appends s to the form body, percent-encoded (RFC 3986 unreserved kept). Returns 0 or -1. */
int creds_form_append(struct cw_buf *b, const char *key, const char *value) CW_WARN_UNUSED;

/* Splits an absolute URL into scheme, host (without brackets), port (0 when absent) and path
 * (the rest, "/" when empty). Returns 0 or -1. */
struct creds_url {
    char scheme[8];
    char host[256];
    int port;
    const char *path; /* points into the input */
};
int creds_url_parse(const char *url, struct creds_url *out);

#endif
