/* journal — read the systemd journal with libsystemd's sd-journal and turn its entries into
 * CloudWatch Logs events, moving each reader's cursor only after its events were delivered.
 *
 * One reader per logs.logs_collected.journald.collect_list entry, each with its own
 * sd_journal handle, matches and saved cursor. The module owns no loop: watch lt_journal_fd()
 * (an epoll descriptor over every reader's sd_journal_get_fd) for EPOLLIN and call
 * lt_journal_on_readable(); call lt_journal_tick() about once a second; pull events with
 * lt_journal_next() until it returns 0 or the sender is full.
 *
 * Delivery contract (at-least-once, in order per reader): every event carries a token
 * (reader, seq). The agent calls lt_journal_commit(reader, seq) only after CloudWatch accepted
 * the batch holding it (or for an event dropped on purpose); the cursor of the highest
 * committed entry is what lt_journal_save() writes to <state_dir>/journald.state (0600,
 * replaced atomically). A reader stops producing while LT_JOURNAL_MAX_PENDING entries are
 * uncommitted. A crash therefore re-sends at most what was in flight, and skips nothing.
 *
 * Behaviour (reference notes inputs-outputs-semantics 2.4):
 *   - Matches: (matches objects, ORed; pairs of one object ANDed) AND (units, ORed: a unit
 *     matches _SYSTEMD_UNIT=u, or UNIT=u from PID 1, or OBJECT_SYSTEMD_UNIT=u / COREDUMP_UNIT=u
 *     from root, as journalctl --unit; a name without a '.' gets ".service") AND
 *     (PRIORITY=0..priority).
 *   - First start of a reader (no saved cursor): the last 10 matching entries, then new ones
 *     (the reference runs journalctl --follow, which prints the last 10). After a restart:
 *     the entry after the saved cursor; a cursor the journal no longer has (vacuumed) is
 *     logged with how many entries were skipped when the journal tells (same seqnum id).
 *   - Event: timestamp = __REALTIME_TIMESTAMP in ms. Message, LT_JOURNAL_JSON (the
 *     reference's shape): {"body":{FIELD:value,...}} with every field but
 *     __REALTIME_TIMESTAMP, plus __CURSOR and __MONOTONIC_TIMESTAMP as journalctl -o json
 *     prints them; a value that is not valid UTF-8 is an array of its bytes, a repeated field
 *     an array of its values. LT_JOURNAL_MESSAGE: the MESSAGE field alone (invalid UTF-8
 *     replaced by U+FFFD). An event larger than max_event_size has its longest values cut
 *     (marked with LT_SPLIT_MARKER) until it fits; counted in `truncated`.
 *   - Filters (journald semantics, unlike file filters): the event is dropped when any
 *     exclude matches the message; when includes exist, it is kept only if one matches.
 */
#ifndef CW_LOGTAIL_JOURNAL_H
#define CW_LOGTAIL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logtail/logtail.h"

#define LT_JOURNAL_MAX_PENDING 32768 /* uncommitted entries per reader */
#define LT_JOURNAL_FIRST_TAIL  10    /* journalctl --follow prints the last 10 entries */

enum lt_journal_format { LT_JOURNAL_JSON = 0, LT_JOURNAL_MESSAGE };

struct lt_journal_options {
    const char *state_dir; /* journald.state goes here (created 0700); NULL = no cursors */
    const char *directory; /* journal directory (CWAGENT_JOURNAL_DIR); NULL = the system's */
    size_t max_event_size; /* 0 = LT_MAX_EVENT_DEFAULT */
};

/* One collect_list entry. Strings are copied by lt_journal_add. */
struct lt_journal_config {
    int priority; /* 0..7: keep PRIORITY <= this */
    const char *const *units;
    size_t n_units;
    const char *const *const *matches; /* each: n_pairs[i] "FIELD=value" strings */
    const size_t *n_pairs;
    size_t n_matches;
    const struct lt_filter *filters;
    size_t n_filters;
    enum lt_journal_format format;
    const char *key; /* identity of the saved cursor (e.g. group/stream/matches digest) */
    void *source_ud; /* handed back in every event */
};

struct lt_journal_event {
    void *source_ud;
    unsigned reader; /* commit token, with seq */
    uint64_t seq;
    int64_t timestamp_ms;
    const char *message; /* valid UTF-8, borrowed until the next lt_journal_* call */
    size_t len;
};

struct lt_journal_stats {
    unsigned readers, readers_open;
    uint64_t entries, filtered, truncated, skipped_vacuumed, pending;
};

struct lt_journal;

/* Creates the reader set and loads saved cursors. NULL (logged) on failure. */
struct lt_journal *lt_journal_new(const struct lt_journal_options *o);
/* Saves cursors, closes every journal, frees everything. NULL is a no-op. */
void lt_journal_free(struct lt_journal *j);
/* Adds a reader and opens its journal. 0, or -1 with a message in err (bad filter). A journal
 * that cannot be opened yet (permissions, missing directory) is logged and retried by tick. */
int lt_journal_add(struct lt_journal *j, const struct lt_journal_config *c, char *err,
                   size_t errlen);
int lt_journal_fd(const struct lt_journal *j);
void lt_journal_on_readable(struct lt_journal *j);
void lt_journal_tick(struct lt_journal *j, int64_t now_ms);
/* 1 and *ev filled, or 0 when nothing is ready (or every reader is at its pending cap). */
int lt_journal_next(struct lt_journal *j, struct lt_journal_event *ev);
bool lt_journal_has_work(const struct lt_journal *j);
/* Entries of `reader` up to seq were delivered: the cursor moves (saved by lt_journal_save). */
void lt_journal_commit(struct lt_journal *j, unsigned reader, uint64_t seq);
/* Writes the cursors if any moved. 0, or -1 (logged). */
int lt_journal_save(struct lt_journal *j);
void lt_journal_stats(const struct lt_journal *j, struct lt_journal_stats *out);

#endif
