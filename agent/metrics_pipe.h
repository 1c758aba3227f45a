/* metrics_pipe — the metrics job: collect on each plugin's interval, shape samples into datums
 * as the reference agent does (rollup), and deliver them with PutMetricData without loss.
 *
 * Delivery is write-ahead: every flush encodes the pending datums into PutMetricData bodies
 * (gzip when smaller) and stores each in the on-disk spool before anything is sent. One call at a
 * time replays the spool, oldest first, through the aws_client (which retries throttling,
 * 5xx and network errors with backoff, refreshes credentials, corrects clock skew). An entry
 * leaves the spool only when CloudWatch accepted it, or refused it for good (a validation
 * error, logged with AWS's message and counted). So an outage, a restart or a SIGKILL loses
 * nothing that was flushed; the spool's own bounds (size, 14-day window) drop oldest, counted.
 *
 * Ownership: borrows the loop, client and spool (they outlive the pipe); copies what it keeps
 * from the configuration.
 */
#ifndef CW_METRICS_PIPE_H
#define CW_METRICS_PIPE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/aws_client.h"
#include "agent/datum.h"
#include "agent/loop.h"
#include "agent/spool.h"
#include "config/config.h"

struct metrics_pipe_options {
    struct cw_loop *loop;
    const struct cw_config *cfg;
    const char *host;            /* host dimension; NULL with omit_hostname */
    const struct datum_dim *ec2; /* global EC2 dimensions with known values */
    size_t nec2;
    struct aws_client *client; /* monitoring */
    struct spool *spool;
    const char *root; /* /proc and /sys root for collectors; NULL = "/" */
    int pack_values;  /* pack a series' samples of one flush into Values/Counts */
    uint64_t jitter;  /* per-host value (< 1 s used) shifting the rounds and flushes of this host */
    int64_t (*wall_ms)(void *ud);
    void *wall_ud;
};

struct metrics_pipe_stats {
    uint64_t samples;       /* from collectors */
    uint64_t datums_queued; /* datums encoded into the spool */
    uint64_t datums_sent;   /* datums CloudWatch accepted */
    uint64_t calls_ok;
    uint64_t datums_rejected;  /* refused by CloudWatch (validation), logged */
    uint64_t datums_dropped;   /* never sent: bad values, over the API limits, or dropped from a
                                  full spool or memory queue */
    uint64_t datums_in_memory; /* waiting in memory because the spool could not take them */
    uint64_t flushes;
};

/* Builds the collectors and roll-ups for every enabled plugin and starts their timers.
 * Returns NULL with a message in err on a bad configuration. */
struct metrics_pipe *metrics_pipe_new(const struct metrics_pipe_options *o, char *err,
                                      size_t errlen);
/* Encodes every pending datum into the spool now and kicks delivery. */
void metrics_pipe_flush(struct metrics_pipe *mp);
/* Stops collecting and flushes the pending datums to the spool (delivery continues while the
 * loop runs). */
void metrics_pipe_stop(struct metrics_pipe *mp);
/* Non-zero while a PutMetricData call is in flight or the spool holds entries. */
int metrics_pipe_busy(const struct metrics_pipe *mp);
/* hold != 0: start no further PutMetricData call (the spool keeps what is not sent); 0 resumes.
 * For a reload: stop, hold, wait until metrics_pipe_on_wire() is 0, free; the next pipe on the
 * same spool replays the rest. Freeing while a request is on the wire would send its batch
 * twice when CloudWatch had already accepted it. */
void metrics_pipe_hold(struct metrics_pipe *mp, int hold);
/* Non-zero while a PutMetricData request is on the wire (not waiting for a retry). */
int metrics_pipe_on_wire(const struct metrics_pipe *mp);
void metrics_pipe_stats(const struct metrics_pipe *mp, struct metrics_pipe_stats *out);
/* Counters of the StatsD and collectd listeners (zeros when none is configured). */
struct listeners_stats;
void metrics_pipe_listener_stats(const struct metrics_pipe *mp, struct listeners_stats *out);
void metrics_pipe_free(struct metrics_pipe *mp);

#endif
