/* logs_pipe — the logs job: tail the configured files (logtail) and ship their events with
 * PutLogEvents (ple), never losing, duplicating or re-ordering a line.
 *
 * Each (log group, log stream) is a destination with one batch filling and at most one batch
 * in flight, so events of a stream — and of each file — are delivered in order. A batch is sent
 * when it is full (a PutLogEvents rule would break) or force_flush_interval after its first
 * event. File offsets are committed to logtail only after CloudWatch accepted the batch that
 * carried them (checkpoints are therefore at-least-once: a crash re-sends at most the batches
 * in flight). Groups and streams are created on demand (ResourceNotFoundException →
 * CreateLogStream → CreateLogGroup with its class → PutRetentionPolicy), retention is applied
 * once per group. Events CloudWatch would reject for age are not sent, and events a response
 * reports in rejectedLogEventsInfo are counted; both are logged, never silently dropped.
 *
 * Back-pressure: when a destination has a full batch and one in flight, reading stops (the
 * held event waits) until that call completes; logtail's own cap bounds what is buffered.
 *
 * Ownership: borrows the loop and the client; copies what it keeps from the configuration.
 */
#ifndef CW_LOGS_PIPE_H
#define CW_LOGS_PIPE_H

#include <jansson.h>
#include <stdint.h>

#include "agent/aws_client.h"
#include "agent/loop.h"
#include "config/config.h"

struct logs_pipe_options {
    struct cw_loop *loop;
    const struct cw_config *cfg;
    struct aws_client *client; /* logs */
    const char *state_dir;     /* checkpoints go to <state_dir>/logs */
    size_t max_uncommitted;    /* bytes read but not delivered; 0 = logtail's default */
    int64_t (*wall_ms)(void *ud);
    void *wall_ud;
};

struct logs_pipe_stats {
    uint64_t events_read;
    uint64_t events_sent; /* accepted by CloudWatch */
    uint64_t bytes_sent;  /* message bytes accepted */
    uint64_t calls_ok;
    uint64_t rejected_too_old;       /* not sent: older than 14 days */
    uint64_t rejected_too_new;       /* not sent: more than 2 hours ahead */
    uint64_t rejected_by_service;    /* reported in rejectedLogEventsInfo */
    uint64_t dropped_invalid;        /* refused for good (InvalidParameterException...), logged */
    uint64_t truncated_unread_bytes; /* seen in a log file, gone before read (copytruncate) */
    uint64_t groups_created, streams_created;
    unsigned destinations;
};

struct logs_pipe *logs_pipe_new(const struct logs_pipe_options *o, char *err, size_t errlen);
/* Sends every non-empty batch now and saves checkpoints (shutdown, SIGHUP). */
void logs_pipe_flush(struct logs_pipe *lp);
/* Non-zero while a call is in flight or a batch waits. */
int logs_pipe_busy(const struct logs_pipe *lp);
void logs_pipe_stats(const struct logs_pipe *lp, struct logs_pipe_stats *out);
/* Calls fn for each followed file (path, committed and read offsets, size): see logtail.h. */
struct lt_file_status;
void logs_pipe_files(const struct logs_pipe *lp,
                     void (*fn)(void *ud, const struct lt_file_status *f), void *ud);
/* Sets the "journald" and "emf" members of a status object (see logs_sources.h). */
void logs_pipe_sources_status(const struct logs_pipe *lp, json_t *obj);
/* The tailer's counters (filtered lines, refused symlinks, regex limits, checkpoint failures). */
struct lt_stats;
void logs_pipe_tail_stats(const struct logs_pipe *lp, struct lt_stats *out);
void logs_pipe_free(struct logs_pipe *lp);

#endif
