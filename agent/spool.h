/* spool — a bounded on-disk queue of PutMetricData request bodies that could not be delivered.
 *
 * One file per entry in a 0700 directory: "<16 hex digit sequence>.spl", mode 0600, written as
 * "<seq>.spl.tmp", fsync'd, renamed into place and the directory fsync'd, so an entry is either
 * whole or absent after a crash. Each file carries a header (magic, version, flags, namespace,
 * lengths, oldest/newest datum time, datum count) and a CRC32 of header + namespace + body.
 * Opening re-scans the directory: temp files are removed, files with a bad header are counted
 * as corrupt and removed (a bad CRC is found when the entry is read).
 *
 * Bounds: the total of file sizes stays <= max_bytes; a push that does not fit drops the
 * OLDEST entries (counted in dropped_full, warned). Entries whose newest datum is older than
 * CloudWatch's 14-day window minus SPOOL_EXPIRY_MARGIN_MS are dropped (dropped_expired,
 * warned) when seen. Replay is oldest first: spool_peek_oldest, send, spool_pop on success.
 * The clock is injected for tests.
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_WINDOW_MS        (14LL * 86400 * 1000) /* API: timestamps up to two weeks old */
#define SPOOL_EXPIRY_MARGIN_MS (2LL * 3600 * 1000)   /* room for the replay itself to finish */
#define SPOOL_MAX_NAMESPACE    255
#define SPOOL_F_GZIP           1u /* flags bit: the body is gzip-compressed */

typedef int64_t (*spool_clock_fn)(void *ud); /* wall clock, ms since the epoch */

struct spool_meta {
    const char *ns; /* namespace the body was encoded for (1..255 bytes) */
    int64_t oldest_ms;
    int64_t newest_ms;
    uint32_t ndatums;
    uint32_t flags; /* SPOOL_F_* */
};

/* An entry read back. `body` is owned by the entry: release with spool_entry_release. */
struct spool_entry {
    char *body;
    size_t len;
    char ns[SPOOL_MAX_NAMESPACE + 1];
    int64_t oldest_ms;
    int64_t newest_ms;
    uint32_t ndatums;
    uint32_t flags;
    uint64_t seq;
};

struct spool_stats {
    size_t entries;
    uint64_t bytes;
    uint64_t dropped_full;    /* entries dropped (oldest first) to make room, or too big */
    uint64_t dropped_expired; /* entries past the 14-day window */
    uint64_t corrupt;         /* files with a bad header or CRC, removed */
    uint64_t dropped_datums;  /* datums in entries dropped_full or dropped_expired */
    uint64_t write_failures;  /* entries that could not be written (e.g. disk full) */
};

struct spool;

/* Opens (creating with mode 0700 if needed) the spool directory `dir`, bounded to max_bytes.
 * `now_ms` NULL means CLOCK_REALTIME. Returns NULL (logged) on error. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, spool_clock_fn now_ms,
                         void *clock_ud);
void spool_close(struct spool *sp);

/* Stores a copy of body[0..len) durably. Returns 0, or -1 (logged, counted) when it is larger
 * than the whole spool, already expired, or cannot be written. */
int spool_push(struct spool *sp, const void *body, size_t len, const struct spool_meta *meta);
/* As spool_push, but without its two fsyncs (~200 us of CPU and two sleeps on ext4): the entry
 * is whole in the page cache, so a crash of the process (even SIGKILL) keeps it, but a power
 * loss before spool_sync can lose it (or leave it corrupt: counted when read). For a batch that
 * is about to be sent and removed: call spool_sync when it is not delivered promptly. */
int spool_push_unsynced(struct spool *sp, const void *body, size_t len,
                        const struct spool_meta *meta);
/* Makes every unsynced entry durable (fsync of each, then of the directory). 0, or -1 when an
 * fsync failed (logged; the entries stay in the spool). spool_close calls it. */
int spool_sync(struct spool *sp);
/* Number of entries written by spool_push_unsynced and not yet synced. */
size_t spool_unsynced(const struct spool *sp);

/* Reads the oldest valid entry into `out` (dropping expired and corrupt ones on the way).
 * Returns 0, or -1 when the spool has nothing to replay (empty, or unreadable: logged). */
int spool_peek_oldest(struct spool *sp, struct spool_entry *out);
void spool_entry_release(struct spool_entry *e);
/* Removes the oldest entry (the one spool_peek_oldest returned). Returns 0 or -1 when empty.
 * The removal is made durable by the next push's directory fsync, not here: after a power loss
 * (not a crash) an entry can come back and be sent a second time, never lost. */
int spool_pop(struct spool *sp);
/* The sequence number of the oldest entry (without reading it): lets a sender check that the
 * entry it replayed is still the oldest (a full spool may have dropped it meanwhile).
 * Returns 0, or -1 when the spool is empty. */
int spool_oldest_seq(const struct spool *sp, uint64_t *seq);

void spool_get_stats(const struct spool *sp, struct spool_stats *out);

#endif
