/* series — the metric series this configuration publishes on this host, learned by running the
 * agent's own collectors and shaping code (agent/mshape: names, units, append_dimensions, EC2
 * dimensions, aggregation_dimensions roll-ups, drop_original_metrics) for two rounds.
 *
 * This is what `cwagent alarms`, `dashboard` and `cost` build on: an alarm or a widget is only
 * ever bound to a (namespace, name, dimension set) found here, so it matches what `cwagent run`
 * sends with the same configuration and identity. Series that depend on the host's state
 * (mounts, interfaces, disks, processes) are those present when the command runs.
 *
 * Ownership: a series_set owns every string it hands out; free it with series_free.
 */
#ifndef CW_SERIES_H
#define CW_SERIES_H

#include <stddef.h>

#include "agent/datum.h"
#include "agent/mshape.h"

struct series_item {
    const char *plugin; /* "mem", "disk", "procstat", ... */
    const char *name;   /* CloudWatch metric name */
    const char *unit;   /* CloudWatch unit, or NULL */
    const struct datum_dim *dims;
    size_t ndims;
    int storage_res; /* 1 or 60 */
    int interval;    /* the plugin's collection interval, seconds */
    int is_rollup;   /* an aggregation_dimensions datum, not the plugin's original */
};

struct series_set;

/* Collects two rounds `wait_ms` apart (deltas and cpu percentages need two) through every
 * plugin instance the configuration enables, and keeps each distinct series once, sorted by
 * plugin order, name, then dimensions. Returns 0, or -1 with a message in err. */
int series_collect(const struct mshape_options *o, int wait_ms, struct series_set **out, char *err,
                   size_t errlen);
void series_free(struct series_set *s);

size_t series_count(const struct series_set *s);
const struct series_item *series_get(const struct series_set *s, size_t i);
/* The namespace (metrics.namespace or CWAgent). */
const char *series_namespace(const struct series_set *s);

/* The first series named `name` whose dimension names are exactly `names` (any order);
 * NULL when none. */
const struct series_item *series_find(const struct series_set *s, const char *name,
                                      const char *const *names, size_t n);

/* The original (not a roll-up) series named `name` with the most dimensions, else the roll-up
 * with the most dimensions; i-th match among them when several differ by dimension values
 * (e.g. one per disk mount). Returns how many series named `name` exist and stores up to
 * `max` pointers in out, originals first. */
size_t series_by_name(const struct series_set *s, const char *name, const struct series_item **out,
                      size_t max);

/* Value of dimension `dim` in `it`, or NULL. */
const char *series_dim(const struct series_item *it, const char *dim);

#endif
