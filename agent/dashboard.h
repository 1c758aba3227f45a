/* dashboard — a CloudWatch dashboard body for this host (or its Auto Scaling group), built from
 * the series the agent publishes with this configuration (agent/series): CPU, memory, swap, disk
 * space per mount, network and disk I/O per device, the group's roll-ups when the configuration
 * aggregates by AutoScalingGroupName, an alarm status widget and a Logs Insights widget for the
 * shipped log groups. Every metric line names an exact published dimension set.
 *
 * Body syntax: the Dashboard Body Structure of the CloudWatch API reference (metric, alarm, log
 * and text widgets on a 24-column grid).
 */
#ifndef CW_DASHBOARD_H
#define CW_DASHBOARD_H

#include <stddef.h>

#include "agent/series.h"

struct dashboard_opts {
    const char *title;             /* shown in the text widget, e.g. the instance id */
    const char *region;            /* every metric and log widget's region */
    const char *const *alarm_arns; /* for the alarm status widget (none = no widget) */
    size_t nalarms;
    const char *const *log_groups; /* for the Logs Insights widget (none = no widget) */
    size_t nlogs;
    double mem_threshold, disk_threshold; /* horizontal annotations */
    int period;                           /* seconds, default 60 */
};

/* The body as compact JSON (caller frees), or NULL when out of memory. */
char *dashboard_body(const struct series_set *s, const struct dashboard_opts *o);

/* "cwagent-<id>" with characters outside [A-Za-z0-9_-] replaced by '-' (the API's rule);
 * writes at most n bytes. */
void dashboard_name(const char *prefix, const char *id, char *out, size_t n);

#endif
