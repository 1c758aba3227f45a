/* http_curl — the production struct cw_http_transport (common/http.h): libcurl's multi interface
 * driven by the agent's event loop (agent/loop.h) through CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION. No thread, no busy polling, no curl_multi_wait.
 *
 * Behaviour of a transfer submitted through cw_http_curl_transport():
 *  - the request (URL, headers, body) is copied on submit; `done` runs later from the loop;
 *  - keep-alive connections are cached and reused (up to max_concurrent of them);
 *  - at most max_concurrent transfers run at once; more are queued inside curl, and their
 *    timeout_ms (the whole exchange) counts from submit, queueing included;
 *  - the response body is capped at req->max_response: beyond it the transfer is aborted and
 *    `done` gets CW_HTTP_ETOOBIG (early when Content-Length announces it);
 *  - response headers of the final response are exposed as "Name: value" lines, at most
 *    CW_HTTP_CURL_MAX_HEADERS lines and CW_HTTP_CURL_MAX_HEADER_BYTES bytes (extra ones dropped);
 *  - errors map to enum cw_http_error: timeouts → ETIMEDOUT; refused, unreachable, DNS and TLS
 *    handshake failures → ECONNECT; reset, empty reply, receive/send errors, truncated body →
 *    ECONNRESET; anything else (certificate verification, bad URL) → EOTHER;
 *  - redirects are not followed;
 *  - the proxy of each request is chosen by agent/proxy.h from opts->proxy (the caller reads
 *    the environment and common-config.toml); curl's own environment handling is disabled, and
 *    metadata, container-credentials and loopback URLs never go through a proxy. Errors of a
 *    proxied transfer say which proxy (credentials redacted); an untrusted server certificate
 *    is reported as "TLS: ..." with where a private CA is configured.
 */
#ifndef CW_HTTP_CURL_H
#define CW_HTTP_CURL_H

#include "agent/loop.h"
#include "agent/proxy.h"
#include "common/http.h"

#include <stddef.h>

#define CW_HTTP_CURL_MAX_HEADERS      100         /* response header lines kept */
#define CW_HTTP_CURL_MAX_HEADER_BYTES (64 * 1024) /* bytes of response headers kept */

struct cw_http_curl;

struct cw_http_curl_options {
    unsigned max_concurrent;        /* transfers (and cached connections); 0 means 8 */
    const char *user_agent;         /* NULL means "cwagent/<version>"; copied */
    const char *ca_bundle;          /* CA file path, NULL for the system default; copied */
    struct cw_proxy_settings proxy; /* all NULL: every request is direct; strings copied */
    int verbose;                    /* curl's debug output on stderr (never in production: it shows
                                       Authorization headers) */
};

/* Creates the transport on `loop`, which must outlive it. `opts` may be NULL (defaults).
 * Calls curl_global_init here and curl_global_cleanup in cw_http_curl_free (curl counts them);
 * as curl requires, no other thread may be running curl code at those moments.
 * Returns NULL on failure (logged). */
struct cw_http_curl *cw_http_curl_new(struct cw_loop *loop,
                                      const struct cw_http_curl_options *opts);

/* Cancels every transfer still in flight and frees everything. Each cancelled transfer's `done`
 * IS called, from inside this function, with error CW_HTTP_EOTHER and error_msg "cancelled", so
 * a sender can release or requeue what it attached to the request; submit() called from such a
 * callback fails (-1). Must not be called from inside a `done` callback of this transport. */
void cw_http_curl_free(struct cw_http_curl *h);

/* The seam view of `h`; valid as long as `h`. */
struct cw_http_transport cw_http_curl_transport(struct cw_http_curl *h);

/* Number of transfers submitted and not yet completed (for status and tests). */
unsigned cw_http_curl_in_flight(const struct cw_http_curl *h);

/* Connections opened so far (curl's new connections; reuse keeps this low). */
unsigned long cw_http_curl_connections_opened(const struct cw_http_curl *h);

/* An owned copy of a response, for the blocking helper below. */
struct cw_http_sync_response {
    long status;
    enum cw_http_error error;
    char error_msg[256];
    char *body; /* NUL-terminated, malloc'd */
    size_t body_len;
    char **headers; /* malloc'd array of malloc'd "Name: value" lines, NULL-terminated */
    size_t nheaders;
};

/* Blocking convenience for CLI tools: submits `req` through `t` (any transport driven by `loop`)
 * and runs `loop` until the response arrives. Fills *out, which the caller releases with
 * cw_http_sync_response_free (also after a failure). Returns 0 when a response was received
 * (any status), -1 otherwise (out->error and out->error_msg say why). Other watches and timers
 * of the loop keep running meanwhile. */
int cw_http_fetch_sync(struct cw_loop *loop, const struct cw_http_transport *t,
                       const struct cw_http_request *req, struct cw_http_sync_response *out);
void cw_http_sync_response_free(struct cw_http_sync_response *r);

#endif
