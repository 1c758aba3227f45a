/* ple — PutLogEvents batches: collect events for one log stream within every rule of the API,
 * encode them as the JSON 1.1 request body, and read `rejectedLogEventsInfo` from the response.
 *
 * Rules (aws-api-contract.md §2.2): ≤ 10,000 events; Σ(UTF-8 message bytes + 26) ≤ 1,048,576;
 * chronological order (the batch is stably sorted by timestamp when encoded); the span between
 * the oldest and newest event ≤ 24 h; events older than 14 days or more than 2 hours in the future
 * are rejected by CloudWatch, so they are refused here (the caller counts and reports them).
 *
 * Each event carries an opaque 64-bit cookie (the caller's commit token) so that, once the batch
 * is accepted, the caller can commit exactly what was delivered.
 *
 * Ownership: the batch copies messages into its own storage; ple_batch_free releases it.
 */
#ifndef CW_PLE_H
#define CW_PLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define PLE_MAX_EVENTS     10000   /* API: events per PutLogEvents */
#define PLE_MAX_BYTES      1048576 /* API: Σ message bytes + 26 per event */
#define PLE_EVENT_OVERHEAD 26      /* API: bytes counted per event */
#define PLE_MAX_EVENT_MSG  (PLE_MAX_BYTES - PLE_EVENT_OVERHEAD) /* one event alone in a batch */
#define PLE_MAX_SPAN_MS    (24LL * 3600 * 1000)                 /* API: span of one batch */
#define PLE_MAX_AGE_MS     (14LL * 86400 * 1000)                /* API: older events are rejected */
#define PLE_MAX_FUTURE_MS  (2LL * 3600 * 1000)                  /* API: newer events are rejected */

enum ple_add_result {
    PLE_ADDED = 0,
    PLE_FULL,    /* would break a batch rule: send this batch, then add the event to a new one */
    PLE_TOO_OLD, /* older than 14 days: CloudWatch would reject it */
    PLE_TOO_NEW, /* more than 2 hours ahead: CloudWatch would reject it */
    PLE_TOO_BIG, /* the message alone exceeds PLE_MAX_EVENT_MSG (the reader must split it) */
    PLE_EMPTY,   /* an empty message is invalid (API: min length 1) */
    PLE_ENOMEM,
};

struct ple_batch;

struct ple_batch *ple_batch_new(void);
void ple_batch_free(struct ple_batch *b);
/* Empties the batch for reuse, keeping its storage. */
void ple_batch_reset(struct ple_batch *b);
/* Empties the batch and releases its storage (a quiet stream's batch between flushes). */
void ple_batch_release(struct ple_batch *b);

/* Adds one event. `msg` must be valid UTF-8 (the tailer guarantees it). now_ms is the wall clock
 * used for the age rules. */
enum ple_add_result ple_batch_add(struct ple_batch *b, int64_t ts_ms, const char *msg, size_t len,
                                  uint64_t cookie, int64_t now_ms);

size_t ple_batch_count(const struct ple_batch *b);
/* Bytes as the API counts them (messages + 26 per event). */
size_t ple_batch_bytes(const struct ple_batch *b);

/* Sorts the events by timestamp (stable) and appends the request body to `out`:
 * {"logGroupName":..,"logStreamName":..,"logEvents":[{"timestamp":..,"message":..},..]}
 * Returns 0, or -1 when `out`'s cap is too small. After it, ple_batch_cookie(b, i) is the
 * cookie of the i-th event as sent. */
int ple_batch_encode(struct ple_batch *b, const char *group, const char *stream,
                     struct cw_buf *out);
uint64_t ple_batch_cookie(const struct ple_batch *b, size_t i);
int64_t ple_batch_timestamp(const struct ple_batch *b, size_t i);

/* rejectedLogEventsInfo of a PutLogEvents response; -1 for an absent index. */
struct ple_rejected {
    long too_new_start; /* first too-new event (inclusive) */
    long too_old_end;   /* last too-old event (exclusive) */
    long expired_end;   /* last expired event (exclusive) */
};

/* Parses a 200 response body (may be empty). Returns 0, or -1 when the body is not JSON. */
int ple_parse_response(const char *body, size_t len, struct ple_rejected *out);
/* How many of `nevents` events the response says were rejected. */
size_t ple_rejected_count(const struct ple_rejected *r, size_t nevents);

/* Appends `s` as a JSON string literal (with quotes) to out. Returns 0 or -1 (cap). */
int ple_json_string(struct cw_buf *out, const char *s, size_t len) CW_WARN_UNUSED;

#endif
