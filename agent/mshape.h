/* mshape — one configured metrics plugin instance shaped exactly as the agent publishes it:
 * its collector set, the configured field -> CloudWatch name/unit map (renames, units) and the
 * roll-up rules (host, append_dimensions, EC2 dimensions, aggregation_dimensions,
 * drop_original_metrics).
 *
 * `cwagent run` (metrics_pipe) collects through it on each plugin's interval; `cwagent alarms`,
 * `dashboard` and `cost` (agent/series) collect one round through the same code to learn which
 * series this configuration publishes on this host, so alarms and dashboards can never be
 * bound to a dimension set the agent does not send.
 *
 * Ownership: mshape_new copies what it keeps from the configuration and options.
 */
#ifndef CW_MSHAPE_H
#define CW_MSHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/datum.h"
#include "config/config.h"

struct mshape_options {
    const struct cw_config *cfg;
    const char *host;            /* host dimension; NULL with omit_hostname */
    const struct datum_dim *ec2; /* global EC2 dimensions with known values */
    size_t nec2;
    const char *root; /* /proc and /sys root for collectors; NULL = "/" */
};

struct mshape;

/* Builds the instance for plugin `name` ("cpu", ..., "procstat"); `pr` names the procstat entry
 * when `p` is its common part. Returns NULL with a message in err. */
struct mshape *mshape_new(const struct mshape_options *o, const char *name,
                          const struct cw_metric_plugin *p, const struct cw_procstat *pr, char *err,
                          size_t errlen);
void mshape_free(struct mshape *s);

/* The plugin's JSON key ("cpu", "procstat") and collection interval in seconds. */
const char *mshape_plugin(const struct mshape *s);
int mshape_interval(const struct mshape *s);

/* Called when `out` is full: it should empty the list (e.g. spool it). */
typedef void (*mshape_full_fn)(void *ud);

/* Collects one round and appends every datum the configuration asks for to `out`, stamped
 * now_ms. When `out` is full, full(ud) runs and the sample is retried once; a sample that does
 * not fit an empty list is dropped, logged and counted in *dropped (when not NULL). Returns the
 * number of samples shaped. */
size_t mshape_gather(struct mshape *s, int64_t now_ms, struct datum_list *out, mshape_full_fn full,
                     void *ud, uint64_t *dropped);

/* Every instance the configuration enables, in the order the agent runs them (the plugins in
 * cw_plugin_id order, then each procstat entry). *out is an array of *n instances; free with
 * mshape_free_all. Returns 0, or -1 with a message in err. */
int mshape_new_all(const struct mshape_options *o, struct mshape ***out, size_t *n, char *err,
                   size_t errlen);
void mshape_free_all(struct mshape **v, size_t n);

#endif
