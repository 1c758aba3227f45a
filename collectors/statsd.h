/* statsd — the StatsD / DogStatsD line protocol, parsed and aggregated per collection interval
 * exactly as amazon-cloudwatch-agent's statsd input does (its telegraf fork,
 * plugins/inputs/statsd).
 *
 * Protocol: a datagram holds lines separated by '\n'; each line is trimmed, empty lines are
 * skipped, and one bad line never drops the rest. A line is
 *     bucket:value|type[|@rate][|#tag:v,tag2][:value|type...]
 * with type g (gauge; a leading + or - adds to the gauge instead of setting it), c (counter,
 * integer; a float is truncated; the value is divided by the sample rate), s (set of strings),
 * ms / h (timing / histogram: a distribution weighted by 1/rate; negative values are refused),
 * and d (DogStatsD distribution, handled like h with metric_type "distribution"; the reference
 * refuses it). `a:1|c:2|c` is two samples. The bucket may carry influx-style tags
 * (`name,k=v,k2=v2`); its '.'-separated parts are joined with the metric separator
 * (`api.req` -> `api_req`). DogStatsD tags `#k:v,k2` apply to every sample of the line; a tag
 * without a value gets "<empty>", as in the reference. DogStatsD >= 1.7 fields the reference
 * chokes on are accepted and ignored: the container id `|c:ID`, external data `|e:...` and the
 * timestamp `|T<unix>` (samples are stamped with the collection time, like everything else).
 *
 * Per collection interval (statsd_gather): counters are summed, gauges keep their last value,
 * sets count distinct strings, timings become a distribution; every series is emitted once with
 * the tag metric_type = counter|gauge|set|timing|histogram|distribution and then forgotten (a
 * series with no update in a window is not re-sent, as the reference's delete_* = true).
 *
 * Ownership: the store owns its series; samples handed to the emit callback borrow its memory
 * for the duration of the call. The number of distinct series per window is capped
 * (max_series); samples for new series beyond it are counted in `series_dropped`.
 */
#ifndef CW_STATSD_H
#define CW_STATSD_H

#include <stddef.h>
#include <stdint.h>

#include "common/dist.h"

#define STATSD_MAX_TAGS 32 /* tags per line kept (more: the line is refused) */

struct statsd_opts {
    const char *separator; /* metric_separator, "_" when NULL */
    size_t max_series;     /* distinct series per window; 0 = 100000 */
};

struct statsd_tag {
    const char *name;
    const char *value;
};

/* One series of one window. For counters, gauges and sets `value` is set and `dist` is NULL;
 * for timings, histograms and distributions `dist` holds the window's values. */
struct statsd_sample {
    const char *name;
    const struct statsd_tag *tags; /* metric_type first, then the line's tags sorted by name */
    size_t ntags;
    double value;
    const struct dist *dist;
};

typedef void (*statsd_emit_fn)(void *ud, const struct statsd_sample *s);

struct statsd_stats {
    uint64_t datagrams;
    uint64_t lines;          /* non-empty lines seen */
    uint64_t samples;        /* samples stored */
    uint64_t bad_lines;      /* lines refused (each logged, rate limited) */
    uint64_t series_dropped; /* samples refused because max_series was reached */
};

struct statsd;

/* Returns a store, or NULL when out of memory. Free with statsd_free. */
struct statsd *statsd_new(const struct statsd_opts *o);
void statsd_free(struct statsd *s);

/* Parses one datagram (not NUL-terminated) into the current window. Returns the number of
 * lines refused in it. A refused line is described in err (the first of the datagram) when
 * err is not NULL. */
size_t statsd_feed(struct statsd *s, const char *buf, size_t len, char *err, size_t errlen);

/* Emits every series of the current window and starts a new one. Returns the number emitted. */
size_t statsd_gather(struct statsd *s, statsd_emit_fn emit, void *ud);

void statsd_get_stats(const struct statsd *s, struct statsd_stats *out);
/* Series in the current window (for status and memory tests). */
size_t statsd_series(const struct statsd *s);

#endif
