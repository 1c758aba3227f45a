/* retry — the retry policy shared by the metrics and logs senders (and usable by credential
 * providers): classify an attempt's outcome, decide whether and when to try again, and keep the
 * clock offset measured from the service's Date header.
 *
 * Use, after each attempt of one request (one batch):
 *   cls = cw_retry_classify_response(resp);   (or cw_retry_parse_error + cw_retry_classify)
 *   cw_retry_decide(&policy, &state, cls, &d);
 *   if (d.correct_clock) cw_clock_skew_update(&skew, <Date header>, <wall clock ms>);
 *   if (d.refresh_credentials) <force a credentials refresh>;
 *   d.action == CW_RETRY_AGAIN ? <timer d.delay_ms, then resend, re-signed> : <done or give up>
 * cw_retry_parse_error finds the AWS error code (query XML <Code>, JSON __type, or the
 * x-amzn-query-error / X-Amzn-ErrorType headers); classify normalises JSON shape ids itself.
 *
 * Classes (sources: reference/notes/aws-api-contract.md §8 and §10, botocore's retry rules):
 *  - throttle: Throttling, ThrottlingException, LimitExceededException, 429, ... → long backoff;
 *  - transient: 5xx, InternalFailure/ServiceUnavailable..., RequestTimeout, network errors and
 *    timeouts → short backoff;
 *  - refresh_credentials: ExpiredToken(Exception) → refresh and retry (first retry immediate);
 *  - auth_invalid: InvalidClientTokenId, UnrecognizedClientException, a signature mismatch that
 *    is not a clock problem, 401/403 without a code → refresh once, retry once, then permanent;
 *  - clock_skew: RequestTimeTooSkewed, RequestExpired, RequestInTheFuture, and signature errors
 *    whose message says "Signature expired" / "not yet current" → correct the offset, retry
 *    (first retry immediate);
 *  - permanent: validation and every other 4xx error, ETOOBIG.
 */
#ifndef CW_RETRY_H
#define CW_RETRY_H

#include "common/http.h"

#include <stddef.h>
#include <stdint.h>

enum cw_retry_class {
    CW_RETRY_SUCCESS = 0,
    CW_RETRY_THROTTLE,
    CW_RETRY_TRANSIENT,
    CW_RETRY_REFRESH_CREDENTIALS,
    CW_RETRY_AUTH_INVALID,
    CW_RETRY_CLOCK_SKEW,
    CW_RETRY_PERMANENT,
};

struct cw_retry_input {
    enum cw_http_error error; /* transport outcome */
    long status;              /* HTTP status when error is CW_HTTP_OK or CW_HTTP_ETOOBIG */
    const char *code;         /* AWS error code or JSON __type; NULL or "" when none */
    const char *message;      /* AWS error message; may be NULL */
};

/* Classifies one attempt's outcome. Pure. */
enum cw_retry_class cw_retry_classify(const struct cw_retry_input *in);
/* Extracts the AWS error code and message of an error response, from (in this order) the
 * x-amzn-query-error header ("Code;Sender"), a JSON body's __type (normalised) and
 * message/Message, a query XML body's first <Code> and <Message>, or the X-Amzn-ErrorType
 * header. Writes "" where nothing is found. Returns 0 when a code was found, -1 otherwise. */
int cw_retry_parse_error(const struct cw_http_response *resp, char *code, size_t codelen, char *msg,
                         size_t msglen);
/* cw_retry_parse_error + cw_retry_classify in one call. */
enum cw_retry_class cw_retry_classify_response(const struct cw_http_response *resp);

/* "success", "throttle", ... for log lines. */
const char *cw_retry_class_name(enum cw_retry_class cls);

/* Normalises an error type to its bare name: "ns#Name:http://..." → "Name" (the rule of the
 * awsJson protocols). Writes into out (truncating) and returns out. */
const char *cw_retry_normalize_code(const char *type, char *out, size_t outlen);

enum cw_retry_jitter {
    CW_RETRY_JITTER_EQUAL = 0, /* delay in [d/2, d]: never hammers, the reference agent's choice */
    CW_RETRY_JITTER_FULL,      /* delay in [0, d] */
};

/* Returns a uniformly random 64-bit value; injectable for tests. */
typedef uint64_t (*cw_retry_rand_fn)(void *ud);

struct cw_retry_policy {
    long transient_base_ms; /* first transient delay before jitter; default 200 */
    long throttle_base_ms;  /* first throttling delay before jitter; default 1000 */
    long cap_ms;            /* no delay exceeds this; default 60000 */
    unsigned max_attempts;  /* attempts including the first; 0 = unlimited (logs: 14 days) */
    enum cw_retry_jitter jitter;
    cw_retry_rand_fn rand; /* NULL: getrandom(2) */
    void *rand_ud;
};

/* Fills the defaults above (unlimited attempts, equal jitter, getrandom). */
void cw_retry_policy_init(struct cw_retry_policy *p);

/* Per-request progress; zero-initialise (or cw_retry_state_init) before the first attempt. */
struct cw_retry_state {
    unsigned attempts;         /* attempts decided on so far */
    unsigned backoffs;         /* retries that waited; the exponent of the next backoff */
    unsigned cred_refreshes;   /* refreshes asked for */
    unsigned skew_corrections; /* clock corrections asked for */
};
void cw_retry_state_init(struct cw_retry_state *s);

enum cw_retry_action {
    CW_RETRY_DONE = 0, /* success: stop */
    CW_RETRY_AGAIN,    /* send again after delay_ms (re-signed) */
    CW_RETRY_GIVE_UP,  /* permanent failure, or max_attempts reached */
};

struct cw_retry_decision {
    enum cw_retry_action action;
    enum cw_retry_class
        cls; /* the class, after "once" rules (a repeated auth_invalid → permanent) */
    long delay_ms;
    int refresh_credentials; /* force a credentials refresh before resending */
    int correct_clock;       /* update the cw_clock_skew from this response's Date header */
};

/* Decides what follows an attempt of class `cls` and advances `s`. */
void cw_retry_decide(const struct cw_retry_policy *p, struct cw_retry_state *s,
                     enum cw_retry_class cls, struct cw_retry_decision *out);

/* The jittered delay before retry number n (0-based) of a throttle or other retryable class:
 * d = min(cap, base * 2^n), then jitter. */
long cw_retry_backoff_ms(const struct cw_retry_policy *p, enum cw_retry_class cls, unsigned n);

/* Parses an RFC 1123 HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") into seconds since the epoch.
 * Strict: other date forms and out-of-range fields fail. 0 or -1. */
int cw_retry_parse_http_date(const char *s, int64_t *epoch_sec);

/* The offset between the service's clock and ours, applied by signers: signing time =
 * cw_clock_skew_now_ms(&skew, wall clock ms). Holds no global state: one per agent, passed in. */
struct cw_clock_skew {
    int64_t offset_ms; /* server - local */
};
void cw_clock_skew_init(struct cw_clock_skew *s);
/* Corrections larger than this are refused: real clocks drift by seconds or minutes, and an
 * endpoint that claims the year 9999 must not move the signing clock. */
#define CW_CLOCK_SKEW_MAX_MS (24LL * 3600 * 1000)
/* Sets the offset from a response's Date header received at local wall time `local_ms`.
 * Offsets within the header's 1-second resolution count as none. 0, -1 for a bad date, -2 for
 * an offset beyond CW_CLOCK_SKEW_MAX_MS (the offset is then unchanged). */
int cw_clock_skew_update(struct cw_clock_skew *s, const char *date_header, int64_t local_ms);
int64_t cw_clock_skew_now_ms(const struct cw_clock_skew *s, int64_t local_ms);

#endif
