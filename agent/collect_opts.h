/* collect_opts — turns the typed metrics configuration (config/config.h) into collector
 * options (collectors/collectors.h). Shared by `cwagent run` (one collector set per plugin, so
 * each keeps its own interval) and `cwagent collect -c` (one set for everything). */
#ifndef CW_COLLECT_OPTS_H
#define CW_COLLECT_OPTS_H

#include "collectors/collectors.h"
#include "config/config.h"

/* Enables configured plugin `p` (its measurement fields and resources) in `co`, plus the
 * section-wide cpu/disk options. `pr` names one procstat entry when `p` is its common part.
 * `co` must have been initialised by collectors_opts_init. Returns 0, or -1 (no memory, or no
 * collector for that plugin). */
int collect_opts_add(struct collectors_opts *co, const struct cw_metrics_config *mc,
                     const char *plugin, const struct cw_metric_plugin *p,
                     const struct cw_procstat *pr);

/* Enables every plugin and procstat entry the configuration enables. 0 or -1. */
int collect_opts_all(struct collectors_opts *co, const struct cw_metrics_config *mc);

#endif
