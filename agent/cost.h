/* cost — what a configuration costs on this host, from the series the agent publishes with it
 * (agent/series): distinct series per plugin (each is a custom metric), PutMetricData datums and
 * calls per month with and without Values/Counts packing (--pack-values), log ingestion when the
 * caller knows the volume, and the monthly ESTIMATE at the prices of a data file
 * (packaging/cloudwatch-prices.json: tiers, API and logs prices with their date and region).
 * Configurations that explode (per-cpu, per-mount on container hosts, per-device, per-process)
 * get a warning.
 *
 * Ownership: cost_prices_load fills a struct the caller clears with cost_prices_free.
 */
#ifndef CW_COST_H
#define CW_COST_H

#include <stddef.h>

#include "agent/series.h"

#define COST_MAX_TIERS 8

struct cost_prices {
    char *as_of, *region, *currency, *source;
    struct {
        double up_to; /* < 0: no upper bound */
        double price; /* per metric per month */
    } tiers[COST_MAX_TIERS];
    size_t ntiers;
    double api_per_1000; /* PutMetricData, per 1,000 requests */
    double logs_per_gb;  /* ingestion */
    double hours_per_month;
};

/* Reads the price file; returns 0, or -1 with a message naming the file and the key. */
int cost_prices_load(const char *path, struct cost_prices *p, char *err, size_t errlen);
void cost_prices_free(struct cost_prices *p);

struct cost_inputs {
    const struct series_set *series;
    int flush_interval;  /* metrics.force_flush_interval, seconds */
    double log_gb_month; /* < 0: unknown */
    int list_series;     /* also list every series (plugin, name, dimensions) */
    int listeners;       /* statsd/collectd enabled: their series depend on traffic */
};

/* The report as text (json == 0) or JSON (json != 0); caller frees. NULL when out of memory. */
char *cost_report(const struct cost_inputs *in, const struct cost_prices *p, int json);

#endif
