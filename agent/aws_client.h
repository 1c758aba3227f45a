/* aws_client — one AWS service endpoint, called with signed requests and retried by policy.
 *
 * Each call is re-signed for every attempt (fresh time, current credentials, corrected clock),
 * sent through the HTTP transport, and judged by agent/retry: throttling and transient failures
 * wait a jittered, capped, exponential backoff; an expired or rejected token forces one
 * credentials refresh; a clock-skew error corrects the clock offset from the response's Date
 * header; a permanent error ends the call with AWS's code and message.
 *
 * Both protocols cwagent speaks are supported: awsQuery (form body, no target) and awsJson
 * (X-Amz-Target + application/x-amz-json-1.x).
 *
 * Ownership: the client borrows the loop, transport, credentials cache and clock-skew holder,
 * which must outlive it. A call copies its body. After aws_client_free no callback runs.
 */
#ifndef CW_AWS_CLIENT_H
#define CW_AWS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/loop.h"
#include "agent/retry.h"
#include "common/http.h"

struct creds_cache;

struct aws_client_options {
    struct cw_loop *loop;
    const struct cw_http_transport *http;
    struct creds_cache *creds;
    struct cw_clock_skew *skew; /* shared with other clients, or NULL: the client's own */
    const char *service;        /* signing name: "monitoring", "logs", "ec2", "ssm" */
    const char *region;
    const char *endpoint; /* base URL, e.g. "https://monitoring.us-east-1.amazonaws.com" */
    struct cw_retry_policy policy;
    long timeout_ms;              /* one attempt; 0 = 30000 */
    int64_t (*wall_ms)(void *ud); /* wall clock for signing; NULL = CLOCK_REALTIME */
    void *wall_ud;
};

struct aws_call {
    const char *target;       /* X-Amz-Target, or NULL for the query protocol */
    const char *content_type; /* NULL: form-encoded for query, x-amz-json-1.1 for targets */
    const void *body;         /* copied */
    size_t body_len;
    int gzip;              /* the body is gzip-compressed: send Content-Encoding: gzip */
    int emf;               /* PutLogEvents of EMF documents: x-amzn-logs-format: json/emf */
    unsigned max_attempts; /* 0 = the policy's */
    size_t max_response;   /* 0 = 1 MiB */
};

struct aws_result {
    int ok;                   /* 2xx */
    enum cw_retry_class cls;  /* class of the last attempt */
    long status;              /* HTTP status of the last attempt, 0 without a response */
    enum cw_http_error error; /* transport error of the last attempt */
    char code[96];            /* AWS error code, "" when none */
    char message[512];        /* AWS error message or transport error text */
    const char *body;         /* last response body (borrowed, valid during the callback) */
    size_t body_len;
    unsigned attempts;
};

typedef void (*aws_done_fn)(void *ud, const struct aws_result *r);

struct aws_client_stats {
    uint64_t calls;
    uint64_t attempts;
    uint64_t retries;
    uint64_t throttled;
    uint64_t failures; /* calls that ended without success */
    uint64_t cred_refreshes;
    uint64_t skew_corrections;
    char last_error[640];      /* "<code>: <message>" of the last failed attempt */
    int64_t last_success_ms;   /* wall clock of the last 2xx answer, 0 = none yet */
    int64_t failing_since_ms;  /* wall clock of the first failed attempt of the current streak
                                  of retried failures, 0 = not failing */
    uint64_t failing_attempts; /* attempts failed in that streak */
};

/* Returns NULL (logged) on bad options or no memory. The strings are copied. */
struct aws_client *aws_client_new(const struct aws_client_options *opts);
void aws_client_free(struct aws_client *c);

/* Starts a call; `done` runs exactly once from the loop (never inside this function).
 * Returns 0, or -1 (nothing started, done never called). */
int aws_client_call(struct aws_client *c, const struct aws_call *call, aws_done_fn done, void *ud);

/* Calls started and not finished. */
unsigned aws_client_pending(const struct aws_client *c);
/* Calls whose request is on the wire now (not waiting for a retry or for credentials): the
 * service may still act on them, so freeing the client then can duplicate the work. */
unsigned aws_client_on_wire(const struct aws_client *c);
void aws_client_stats(const struct aws_client *c, struct aws_client_stats *out);

#endif
