/* aggregate — per-aggregation-interval distributions of listener metrics (StatsD, collectd), as
 * amazon-cloudwatch-agent's cloudwatch output aggregates datums tagged aws:AggregationInterval.
 *
 * Each series (metric name + dimensions, as the listener built them) collects every value of
 * the interval into a distribution (common/dist.h: exact values up to 150 distinct, log buckets
 * beyond, exact statistics always). A flush turns each series into datums with Values, Counts
 * and StatisticValues (several datums when more than 150 buckets are needed, each with the exact
 * statistics of its own values), stamped with the series' first timestamp, and forgets them.
 *
 * Ownership: the aggregator copies names and dimensions it keeps; samples handed to `put` borrow
 * its memory during the call. The number of series is capped (max_series); values for new
 * series beyond the cap are refused and counted (agg_dropped).
 */
#ifndef CW_AGGREGATE_H
#define CW_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/datum.h"
#include "agent/rollup.h"
#include "common/dist.h"

/* Receives one datum-to-be; returns 0, or -1 when it could not be queued (counted by caller). */
typedef int (*agg_put_fn)(void *ud, const struct rollup_sample *s, const struct rollup_values *v);

struct agg;

struct agg *agg_new(size_t max_series);
void agg_free(struct agg *a);

/* Adds one value with weight 1 (d == NULL) or merges the distribution d into the series.
 * Returns 0, or -1 when the series limit is reached, memory is exhausted or v is not finite. */
int agg_add(struct agg *a, const char *name, const struct datum_dim *dims, size_t ndims, double v,
            const struct dist *d, int64_t ts_ms);

/* Emits every series through put and forgets them all. Returns the number of datums emitted;
 * *failed (may be NULL) counts put failures. */
size_t agg_flush(struct agg *a, agg_put_fn put, void *ud, size_t *failed);

/* Emits one distribution as datums (chunks of at most DATUM_MAX_VALUES entries, each with its
 * StatisticValues) with the name, dimensions and timestamp of `s`. Returns the number of put
 * failures. */
size_t agg_emit_dist(const struct rollup_sample *s, const struct dist *d, agg_put_fn put, void *ud);

size_t agg_series(const struct agg *a);
uint64_t agg_dropped(const struct agg *a);

#endif
