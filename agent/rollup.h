/* rollup — turns one collected sample into the datums the reference agent would send.
 *
 * Rules (amazon-cloudwatch-agent, plugins/outputs/cloudwatch BuildDimensions/ProcessRollup):
 *  - dimensions = the sample's own tags, then the plugin's append_dimensions (they do not
 *    override a tag of the same name), then the global EC2 dimensions (they do override);
 *    `host` is added unless the host name is omitted; when metrics-level append_dimensions are
 *    configured any `host` is removed, even a plugin tag (the reference's ec2tagger does);
 *  - empty values are skipped; order is `host` first, then the others by name (byte order);
 *    at most 30 are kept (host, then the first alphabetically);
 *  - StorageResolution is 1 when the collection interval is below 60 s, else 60;
 *  - for each aggregation_dimensions set (deduplicated, names sorted) that is strictly smaller
 *    than the datum's dimension set and contained in it, one more datum with only those
 *    dimensions, in sorted order (`[]` gives a datum with no dimensions);
 *  - drop_original_metrics lists final metric names whose original datum is not sent (only
 *    the roll-ups are); names match exactly, no wildcard (the reference's IsDropping is a map
 *    lookup keyed by final metric name, merged across plugins).
 * Packing (off by default, rollup_pack) merges the datums of one series into Values/Counts.
 */
#ifndef CW_ROLLUP_H
#define CW_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "agent/datum.h"

#define ROLLUP_MAX_SETS 64 /* aggregation_dimensions sets kept (more are ignored, logged) */

/* One aggregation_dimensions set: `n` names (n == 0 is the empty roll-up). */
struct rollup_dimset {
    const char *const *names;
    size_t n;
};

/* Everything about one metrics plugin instance that shapes its datums. All pointers are
 * borrowed during rollup_new only: it copies what it keeps. */
struct rollup_opts {
    const char *host;               /* host name; NULL or "" = no host dimension (omit_hostname) */
    int global_append;              /* metrics-level append_dimensions configured: removes `host` */
    const struct datum_dim *append; /* plugin append_dimensions (already resolved) */
    size_t nappend;
    const struct datum_dim *ec2; /* global EC2 dims present (InstanceId, InstanceType, ...) */
    size_t nec2;
    const struct rollup_dimset *agg; /* aggregation_dimensions */
    size_t nagg;
    const char *const *drop_original; /* metric names */
    size_t ndrop;
    int interval_s; /* metrics_collection_interval in seconds */
};

/* One measurement from a collector. Strings are borrowed during rollup_apply only. */
struct rollup_sample {
    const char *name;
    const char *unit;
    const struct datum_dim *dims; /* plugin tags, any order */
    size_t ndims;
    double value;
    int64_t ts_ms;
};

struct rollup;

/* Compiles the options; returns NULL (logged) when out of memory. Free with rollup_free. */
struct rollup *rollup_new(const struct rollup_opts *o);
void rollup_free(struct rollup *r);

/* Appends the datums for `s` to `out` (original unless dropped, then roll-ups); strings are
 * copied into out's arena once and shared between those datums. Returns 0, or -1 when `out`
 * is full (datums added for this sample are removed again). */
int rollup_apply(const struct rollup *r, const struct rollup_sample *s, struct datum_list *out);

/* A distribution to send instead of a sample's single value (StatsD and collectd aggregation):
 * Values with their Counts, and StatisticValues when `stats` is not NULL. Borrowed. */
struct rollup_values {
    const double *values;
    const double *counts; /* NULL or nvalues entries */
    size_t nvalues;       /* 1..DATUM_MAX_VALUES */
    const struct datum_stats *stats;
};

/* rollup_apply for a distribution: the datums carry `v` (copied into out's arena) instead of
 * s->value. Same return values. */
int rollup_apply_values(const struct rollup *r, const struct rollup_sample *s,
                        const struct rollup_values *v, struct datum_list *out);

/* Packs `in` into `out`: datums of one series (same name, unit, dimensions and storage
 * resolution, each with a single Value) become datums with Values/Counts (identical values
 * counted, at most 150 distinct per datum, split beyond; `stats` filled but has_stats 0: CloudWatch
 * refuses Values together with StatisticValues), stamped with the
 * series' earliest timestamp. Datums that already carry Values pass through. Order follows the
 * first appearance of each series. Strings are borrowed from `in`, which must outlive `out`.
 * Returns 0, or -1 when `out` is full or memory is exhausted. */
int rollup_pack(const struct datum_list *in, struct datum_list *out);

#endif
