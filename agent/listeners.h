/* listeners — the metric listeners of metrics_collected (statsd, collectd) on the agent's loop.
 *
 * Each listener owns a UDP socket watched by the loop. Datagrams are parsed as they arrive
 * (collectors/statsd, collectors/collectd); StatsD series are gathered every
 * metrics_collection_interval. With a metrics_aggregation_interval (default 60 s) values are
 * collected into one distribution per series (agent/aggregate) and flushed on wall-clock
 * boundaries of that interval as datums with Values, Counts and StatisticValues; with 0 every
 * value is sent as it is, at StorageResolution 1. Datums are shaped by the listener's rollup
 * (host, append_dimensions, aggregation_dimensions, drop_original_metrics) and handed to the
 * sink (the metrics pipeline, which spools and sends them).
 *
 * Nothing is dropped silently: refused lines and packets, datagrams the kernel dropped because
 * the socket buffer was full (SO_RXQ_OVFL), truncated datagrams and series over the caps are
 * counted (listeners_get_stats, shown by `cwagent status`) and logged, rate limited.
 *
 * Ownership: borrows the loop and the configuration during listeners_new; copies what it keeps.
 */
#ifndef CW_LISTENERS_H
#define CW_LISTENERS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/datum.h"
#include "agent/loop.h"
#include "agent/rollup.h"
#include "config/config.h"

struct listeners_sink {
    /* Queues the datums of one sample (v == NULL: s->value) shaped by r; 0 or -1 (not queued). */
    int (*put)(void *ud, const struct rollup *r, const struct rollup_sample *s,
               const struct rollup_values *v);
    void *ud;
};

struct listeners_options {
    struct cw_loop *loop;
    const struct cw_config *cfg;
    const char *host;            /* host dimension; NULL with omit_hostname */
    const struct datum_dim *ec2; /* global EC2 dimensions with known values */
    size_t nec2;
    struct listeners_sink sink;
    int64_t (*wall_ms)(void *ud); /* NULL = the system clock */
    void *wall_ud;
};

struct listener_stats {
    int enabled;
    int listening;           /* 0 while the socket could not be bound (retried every 10 s) */
    int port;                /* bound UDP port */
    int rcvbuf;              /* effective socket receive buffer, bytes */
    uint64_t datagrams;      /* received */
    uint64_t items;          /* StatsD lines / collectd value lists */
    uint64_t refused;        /* unparsable lines / packets or value lists refused */
    uint64_t insecure;       /* collectd: below the configured security level */
    uint64_t kernel_drops;   /* dropped by the kernel: socket buffer full */
    uint64_t truncated;      /* datagrams longer than 64 KiB */
    uint64_t series_dropped; /* over the series caps */
    uint64_t datums_failed;  /* the sink refused them */
};

struct listeners_stats {
    struct listener_stats statsd;
    struct listener_stats collectd;
};

struct listeners;

/* Starts the configured listeners (none configured: an object that does nothing). Returns NULL
 * with a message in err on a malformed service_address or an unreadable types.db. A socket that
 * cannot be bound (port in use) is logged, shown in the status and retried every 10 s; a
 * missing collectd auth file is logged and read once it appears. */
struct listeners *listeners_new(const struct listeners_options *o, char *err, size_t errlen);
/* Reads what is waiting, gathers the current StatsD window and flushes every aggregation to the
 * sink now (for shutdown and reload: nothing received is lost). Stops reading. */
void listeners_stop(struct listeners *ls);
void listeners_get_stats(const struct listeners *ls, struct listeners_stats *out);
void listeners_free(struct listeners *ls);

#endif
