/* pmd — PutMetricData request bodies (CloudWatch awsQuery protocol) and a batcher.
 *
 * The body is byte-for-byte what botocore's query serializer + urlencode produce for the same
 * input (tests/e2e/test_pmd_botocore.py checks this):
 *   Action=PutMetricData&Version=2010-08-01&Namespace=<ns>
 *   &MetricData.member.<i>.MetricName=..  .Dimensions.member.<j>.Name=.. .Value=..
 *   .Timestamp=YYYY-MM-DDTHH%3AMM%3ASSZ (".ffffffZ" when the milliseconds are non-zero)
 *   .Value=.. | .Values.member.<j>=.. .Counts.member.<j>=.. [.StatisticValues.SampleCount|Sum|
 *   Minimum|Maximum=..]  .Unit=..  .StorageResolution=1|60
 * Percent-encoding is Python's quote_plus (unreserved A-Za-z0-9 -_.~, space as '+', %XX upper
 * case). Doubles are written as Python's repr(float) (shortest round-trip: "1.0", "0.1",
 * "1e-05", "1.2345678901234567e+16").
 *
 * Batching: datums are appended to an open batch; when the next datum would exceed
 * max_datums or max_body (exact byte count of the uncompressed body), the open batch is handed
 * to the emit callback and a new one starts. Datums whose numbers CloudWatch rejects (NaN,
 * ±Inf, |v| > 2^360, 0 < |v| < 2^-360) or which break the model's limits are dropped and
 * counted, never sent.
 */
#ifndef CW_PMD_H
#define CW_PMD_H

#include <stddef.h>
#include <stdint.h>

#include "agent/datum.h"

#define PMD_MAX_DATUMS       1000    /* API: MetricData max 1000 per call (service-2.json doc) */
#define PMD_API_MAX_BODY     1000000 /* API: "limited to 1 MB in size for HTTP POST requests" */
#define PMD_DEFAULT_MAX_BODY 990000  /* 1% margin under the API limit; the count is exact */
#define PMD_MAX_NAMESPACE    255     /* API: Namespace 1..255 */

/* One sealed request body. Borrowed by the emit callback: valid only during the call. */
struct pmd_batch {
    const char *body; /* application/x-www-form-urlencoded; charset=utf-8 */
    size_t len;
    size_t ndatums;
    int64_t oldest_ms; /* oldest and newest datum Timestamp in the batch (0 when none had one) */
    int64_t newest_ms;
};

/* Called for each sealed batch. Its return value (0 / -1) is passed back by the encoder call
 * that triggered it; the batch is consumed either way. */
typedef int (*pmd_emit_fn)(void *ud, const struct pmd_batch *b);

struct pmd_limits {
    size_t max_datums; /* 0 = PMD_MAX_DATUMS; clamped to it */
    size_t max_body;   /* 0 = PMD_DEFAULT_MAX_BODY; clamped to PMD_API_MAX_BODY */
};

struct pmd_stats {
    uint64_t datums_encoded;
    uint64_t dropped_bad_value; /* NaN, ±Inf or out of CloudWatch's range */
    uint64_t dropped_invalid;   /* empty name, too many dims/values, over-long strings */
    uint64_t batches;
    uint64_t bytes; /* total uncompressed body bytes emitted */
};

struct pmd_encoder;

/* Creates an encoder for `ns` (copied; 1..255 chars, must not start with ':'). `lim` may be
 * NULL. `emit` receives every sealed batch. Preallocates one body buffer (~max_body + 160 KB;
 * untouched pages are not resident). Returns NULL (logged) on a bad namespace or no memory. */
struct pmd_encoder *pmd_encoder_new(const char *ns, const struct pmd_limits *lim, pmd_emit_fn emit,
                                    void *ud);
void pmd_encoder_free(struct pmd_encoder *e);

/* Appends one datum (copied into the body at once; `d` is only borrowed). May emit the open
 * batch first. Returns 0 (also when the datum was dropped and counted) or -1 when emit
 * returned -1. */
int pmd_encoder_add(struct pmd_encoder *e, const struct datum *d);
/* Emits the open batch if it holds any datum. Returns emit's result, or 0 when empty. */
int pmd_encoder_flush(struct pmd_encoder *e);
/* Number of datums in the open batch. */
size_t pmd_encoder_pending(const struct pmd_encoder *e);
void pmd_encoder_stats(const struct pmd_encoder *e, struct pmd_stats *out);

/* 0 when CloudWatch accepts v as a datapoint value, -1 otherwise. */
int pmd_value_ok(double v);
/* Writes Python's repr(v) for a finite v into out (at least 32 bytes); returns its length. */
size_t pmd_format_double(char *out, double v);

#endif
