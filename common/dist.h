/* dist — a weighted distribution of values, as CloudWatch's Values/Counts/StatisticValues carry it.
 *
 * Values are kept exactly while there are at most DIST_EXACT_MAX distinct ones. The next distinct
 * value turns the distribution into log buckets, as amazon-cloudwatch-agent's SEH1 distribution
 * does: bucket b = floor(ln|v| / ln 1.1), represented by its midpoint sign(v)·exp((b+0.5)·ln 1.1)
 * (within ±5 % of every value in it; 0 is its own bucket). Unlike the reference, every entry (exact
 * value or bucket) also keeps the exact sum, minimum and maximum of what went into it, so the
 * StatisticValues of any group of entries are exact, and negative values are kept (mirrored
 * buckets) instead of dropped.
 *
 * Entries are kept sorted by value. Memory: the entry array grows by doubling and is owned by
 * the distribution (dist_free). One thread; no hidden state.
 */
#ifndef CW_DIST_H
#define CW_DIST_H

#include <stddef.h>
#include <stdint.h>

#define DIST_EXACT_MAX 150 /* API: at most 150 distinct Values per datum */

struct dist_entry {
    double value; /* exact value, or the bucket midpoint */
    double count; /* summed weights */
    double sum;   /* exact sum of value·weight */
    double min, max;
};

struct dist {
    struct dist_entry *e;
    uint32_t n, cap;
    uint8_t bucketed;
};

/* Totals of a group of entries (SampleCount, Sum, Minimum, Maximum). */
struct dist_stats {
    double count, sum, min, max;
};

void dist_init(struct dist *d);
/* Frees the entries and re-initialises. */
void dist_free(struct dist *d);
/* Empties, keeping the allocated entry array. */
void dist_reset(struct dist *d);

/* Adds `v` with `weight` (> 0). Returns 0, or -1 when v or weight is not finite, weight <= 0,
 * or memory is exhausted (the distribution is unchanged then). */
int dist_add(struct dist *d, double v, double weight) __attribute__((warn_unused_result));
/* Adds every entry of `src` (its values with their counts and exact stats). 0 or -1 (memory). */
int dist_merge(struct dist *d, const struct dist *src) __attribute__((warn_unused_result));

/* Stats of entries [from, from+n). */
void dist_stats(const struct dist *d, size_t from, size_t n, struct dist_stats *out);

/* The bucket midpoint a value maps to once bucketed (exposed for tests). */
double dist_bucket_value(double v);

#endif
