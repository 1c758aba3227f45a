/* http — the HTTP transport interface every module that talks to a server uses.
 *
 * This is a seam, not an implementation: sigv4's credential providers and agent's senders call
 * through a struct cw_http_transport, so production wires in the libcurl-multi transport that
 * runs on the event loop (agent/http_curl.h) and tests wire in fakes.
 *
 * Contract:
 *  - submit() copies everything it needs from the request; the caller may free it on return.
 *  - On success submit() returns 0 and `done` is called exactly once, later, from the event
 *    loop (never from inside submit). On failure it returns -1 and `done` is never called.
 *  - The response passed to `done` is borrowed: it is valid only during the callback.
 */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stddef.h>

enum cw_http_error {
    CW_HTTP_OK = 0,     /* a response was received (any status) */
    CW_HTTP_ETIMEDOUT,  /* connect or transfer timeout */
    CW_HTTP_ECONNECT,   /* connection refused / unreachable / DNS */
    CW_HTTP_ECONNRESET, /* connection dropped mid-exchange */
    CW_HTTP_ETOOBIG,    /* response body exceeded max_response */
    CW_HTTP_EOTHER,
};

struct cw_http_request {
    const char *method;         /* "GET", "PUT", "POST" */
    const char *url;            /* absolute URL */
    const char *const *headers; /* NULL-terminated "Name: value" lines; may be NULL */
    const void *body;
    size_t body_len;
    long timeout_ms;         /* whole exchange; 0 means 30000 */
    long connect_timeout_ms; /* 0 means 5000 */
    size_t max_response;     /* cap on the response body; 0 means 1 MiB */
    int secret;              /* the exchange carries credentials: the transport wipes its copies */
};

struct cw_http_response {
    long status; /* HTTP status; 0 when error != CW_HTTP_OK (CW_HTTP_ETOOBIG: the status line's) */
    enum cw_http_error error;
    const char *error_msg; /* human-readable cause when error != CW_HTTP_OK */
    const char *body;      /* NUL-terminated (not counted in body_len) */
    size_t body_len;
    const char *const *headers; /* response header lines "Name: value", NULL-terminated */
    size_t nheaders;
};

typedef void (*cw_http_done_fn)(void *ud, const struct cw_http_response *resp);

struct cw_http_transport {
    int (*submit)(void *impl, const struct cw_http_request *req, cw_http_done_fn done, void *ud);
    void *impl;
};

/* Returns the value of response header `name` (case-insensitive, surrounding blanks trimmed)
 * copied into out, or NULL when absent. */
const char *cw_http_response_header(const struct cw_http_response *resp, const char *name,
                                    char *out, size_t outlen);

/* 1 when url is plain http:// to a host that is not loopback (127.0.0.0/8, [::1], localhost):
 * signed requests and session tokens would cross the network in clear text. Else 0. */
int cw_http_url_cleartext_remote(const char *url);

#endif
