/* logs_sources — the log sources beyond files: the systemd journal (logtail/journal.h) and the
 * EMF listener (logtail/emf.h), behind one narrow interface for logs_pipe.
 *
 * Each event names its destination (group, stream, class, retention) and carries a commit
 * token (file_id, end) in the same shape as logtail's, told apart by a kind in the top byte of
 * file_id (logtail's ids are counters far below 2^56). logs_pipe hands tokens back through
 * logs_sources_commit after CloudWatch accepted them; journal cursors move only then. EMF
 * events need no commit (a socket cannot be re-read): their back-pressure is the listener's
 * bounded queue, which stops reading TCP clients when full.
 *
 * The sources register their descriptors with the loop themselves and call `wake` when
 * events may be ready; the pipe then pulls with logs_sources_next.
 *
 * Ownership: borrows the loop and the configuration; copies what it keeps.
 */
#ifndef CW_LOGS_SOURCES_H
#define CW_LOGS_SOURCES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/loop.h"
#include "config/config.h"

#define LOGS_SRC_KIND_SHIFT 56

struct logs_src_event {
    const char *group, *stream, *klass; /* borrowed until the next call */
    int retention;                      /* -1 = leave alone */
    int emf;                            /* send with x-amzn-logs-format: json/emf */
    int64_t timestamp_ms;
    const char *message;
    size_t len;
    uint64_t file_id, end; /* commit token */
};

struct logs_sources_options {
    struct cw_loop *loop;
    const struct cw_config *cfg;
    const char *state_dir;   /* journal cursors go to <state_dir>/journald.state */
    const char *journal_dir; /* NULL: CWAGENT_JOURNAL_DIR, else the system journal */
    void (*wake)(void *ud);  /* events may be ready */
    void *wake_ud;
    int64_t (*wall_ms)(void *ud);
    void *wall_ud;
};

/* NULL with a message in err on failure (bad filter, port in use). With nothing configured
 * it returns a source set that never produces. */
struct logs_sources *logs_sources_new(const struct logs_sources_options *o, char *err,
                                      size_t errlen);
void logs_sources_free(struct logs_sources *s);
/* 1 and *ev filled (borrowed until the next call), or 0. */
int logs_sources_next(struct logs_sources *s, struct logs_src_event *ev);
bool logs_sources_has_work(const struct logs_sources *s);
static inline bool logs_sources_owns(uint64_t file_id)
{
    return (file_id >> LOGS_SRC_KIND_SHIFT) != 0;
}
void logs_sources_commit(struct logs_sources *s, uint64_t file_id, uint64_t end);
/* Timers (about every second): journal re-open and safety-net reads. */
void logs_sources_tick(struct logs_sources *s, int64_t now_ms);
/* Saves the journal cursors that moved. */
void logs_sources_save(struct logs_sources *s);
/* {"journald":{...},"emf":{...}} members for `cwagent status`, set into obj. */
void logs_sources_status(const struct logs_sources *s, json_t *obj);

#endif
