/* logtail — follow log files and turn their lines into CloudWatch Logs events, losing,
 * duplicating and re-ordering nothing.
 *
 * The module owns no thread and no loop. The agent's epoll loop drives it:
 *   - watch logtail_fd() for EPOLLIN and call logtail_on_readable() when it fires;
 *   - call logtail_tick(now) about once a second (stat poll, partial-line and multi-line idle
 *     flushes, rotation grace, re-globbing, coalesced checkpoint writes);
 *   - after either, and after every logtail_commit(), pull with logtail_next_event() until it
 *     returns 0 or the sender's batches are full (back-pressure: simply stop pulling); if
 *     logtail_has_work() then says true, pull again on the next loop turn (zero timeout).
 * Reading is pulled by logtail_next_event(): each call reads at most 1 MiB, so no call blocks
 * the loop for long. Reading pauses while more than `max_uncommitted` bytes have
 * been read but not committed; it resumes after logtail_commit() releases some.
 *
 * Delivery contract (at-least-once, in order per file and per stream path):
 *   an event carries (file_id, end_offset). The agent calls logtail_commit(file_id, end_offset)
 *   only after CloudWatch accepted the batch holding it, and also for events it drops on
 *   purpose (rejected as too old, InvalidParameter): an event never committed holds its bytes
 *   against max_uncommitted. Commit in order per file: the highest committed offset is what is
 *   saved, so committing a later batch while an earlier one is still retrying would lose the
 *   earlier one on a crash. Checkpoints (state_dir/logtail.state, 0600 in a 0700 directory:
 *   one record per followed file: source, device, inode, fingerprint, committed offset, path)
 *   hold only committed offsets; the file is replaced atomically (temp, fsync, rename, fsync
 *   of the directory), at most once per checkpoint_interval_ms (and on logtail_flush /
 *   logtail_free). A crash re-sends at most what was uncommitted; files rotated while the
 *   agent was stopped are found next to their old path and finished first (see Start below).
 *
 * Behaviour decisions (the reference agent is amazon-cloudwatch-agent, see notes d.5/d.6):
 *   - New files are read from the beginning; a file whose (device, inode, fingerprint of its
 *     first <= 1 KiB) matches a checkpoint resumes at the committed offset; a fingerprint
 *     mismatch (inode reuse, copytruncate while stopped) starts at 0.
 *   - Rotation (the path now names another inode, or the file was deleted): the old file keeps
 *     being read through its open descriptor until it has been quiet for `rotate_quiet_ms`
 *     after the later of its last data and the rotation (writers that reopen late), or until
 *     it is deleted, read to its end and quiet for 2 s. Order within a stream is the order
 *     written: the next file of the stream produces events only once the old one "handed
 *     over" — a later file was seen holding data before the old one was read to its end (the
 *     writer moved on), or the old one was let go. A rotated file whose new name still matches
 *     the glob stays the same follower (identity is the inode while its descriptor is open;
 *     a closed follower must also have the same first bytes, inode numbers are reused), so it
 *     is never read twice. A file renamed away from a followed path before it was opened is
 *     found from the directory's rename event (renames queued before a re-glob are handled
 *     first), or, without publish_multi_logs, as a generation of the stream (siblings.c names)
 *     modified after the source started that no follower saw; it is read before its successor.
 *   - copytruncate: when a truncated file's old content, with bytes not read yet, sits in a
 *     copy next to it (same first bytes and same bytes before the read offset), the follower
 *     finishes the copy, then later copies, then the truncated file from 0. What was written
 *     between the copy and the truncation is lost for every tailer; the bytes of it that were
 *     seen are counted (lt_stats.truncated_unread_bytes).
 *   - Start: a checkpointed file that is no longer at its path is looked for among the path's
 *     rotated generations (by inode, or by content for a copytruncate copy) and finished from
 *     its offset, then the generations modified after it, oldest first, then the current file.
 *   - Truncation (size below the read offset, or the first bytes changed): pending lines of
 *     the old content are flushed, then the file is read again from 0 under a new file_id
 *     (commits for the old id are ignored).
 *   - Lines end at "\n"; one trailing "\r" is removed (CRLF files). Empty events are skipped.
 *     A final line without "\n" is emitted after `partial_timeout_ms` without new data (at
 *     EOF); if its writer completes it later, the rest becomes an event of its own.
 *   - A line longer than the maximum event size is split into pieces; every piece but the last
 *     ends with LT_SPLIT_MARKER, and no piece (marker included) exceeds max_event_size. Pieces
 *     never cut a UTF-8 sequence.
 *   - Messages are valid UTF-8: invalid bytes become U+FFFD; `encoding` (any iconv name, e.g.
 *     "utf-16le", "latin1", "gbk") is converted to UTF-8, a leading BOM is dropped.
 *   - Multi-line is always on (as the reference): default start pattern ^[\S]; lines that do
 *     not match are appended with "\n" to the pending event; the pending event is emitted when
 *     the next start line comes, after `multiline_idle_ms` without new data, or when appending
 *     would pass the maximum event size (then the continuation starts a new event: nothing is
 *     dropped, unlike the reference). With the default pattern, a file in which no continuation
 *     line has been seen yet is taken to be single-line: its pending event goes as soon as a
 *     read finds the end of the file (no partial line pending), instead of 5 s later (the last
 *     line of a burst waited 5 s; the cost: the first multi-line event of such a file, if its
 *     continuation lines are written after its first line has been read, is split in two).
 *   - Patterns are PCRE2 with Go/RE2 semantics where they differ: `$` matches only at the end
 *     (PCRE2_DOLLAR_ENDONLY), `(?P<name>…)` and `\z` work as in RE2, a match limit guards
 *     against catastrophic backtracking (a pattern that hits it counts as "no match").
 *   - Timestamps: see lt_source_config.timestamp_format.
 *   - Compressed files (.gz .zip .bz2 .xz .zst .lz4 .tar .tgz .rar .7z), non-regular files and
 *     files under state_dir are skipped; symlinks to files are followed (identity = target).
 */
#ifndef CW_LOGTAIL_H
#define CW_LOGTAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CloudWatch Logs: an event is at most 1 MiB counted as UTF-8 message bytes + 26 bytes
 * (PutLogEvents API reference; reference notes aws-api-contract 2.2). */
#define LT_API_EVENT_MAX      1048576
#define LT_API_EVENT_OVERHEAD 26
#define LT_MAX_EVENT_DEFAULT  (LT_API_EVENT_MAX - LT_API_EVENT_OVERHEAD)
/* Appended to every piece of a split line except the last. */
#define LT_SPLIT_MARKER     "[...]"
#define LT_SPLIT_MARKER_LEN 5
/* Fingerprint: FNV-1a 64 of the first up to 1 KiB of a file. */
#define LT_FINGERPRINT_MAX 1024

/* A rotated file is read until it has been quiet this long (agent.cwagent.
 * rotated_file_quiet_seconds): writers that reopen their log late keep writing to it. */
#define LT_DEFAULT_ROTATE_QUIET_MS 30000

/* The injected clock: wall-clock milliseconds since the epoch. */
typedef int64_t (*lt_clock_fn)(void *ud);

struct lt_options {
    const char *state_dir;      /* checkpoint directory (created 0700); NULL = no checkpoints */
    size_t max_uncommitted;     /* bytes read but not committed; 0 = 8 MiB; >= 2*max_event */
    unsigned max_open_files;    /* descriptor cap; 0 = 512 */
    size_t max_event_size;      /* message bytes; 0 = LT_MAX_EVENT_DEFAULT; min 256 */
    int partial_timeout_ms;     /* 0 = 5000 */
    int multiline_idle_ms;      /* 0 = 5000 (reference: 5 ticks of 1 s) */
    int rotate_quiet_ms;        /* 0 = LT_DEFAULT_ROTATE_QUIET_MS: see Rotation above */
    int poll_interval_ms;       /* stat safety net; 0 = 2000 */
    int rescan_interval_ms;     /* slow re-glob; 0 = 10000 (also on directory events) */
    int checkpoint_interval_ms; /* coalescing; 0 = 100 */
    lt_clock_fn clock;          /* NULL = CLOCK_REALTIME */
    void *clock_ud;
};

enum lt_filter_type { LT_FILTER_INCLUDE, LT_FILTER_EXCLUDE };

struct lt_filter {
    enum lt_filter_type type;
    const char *expression; /* PCRE2 (RE2-compatible subset) */
};

enum lt_timezone { LT_TZ_LOCAL = 0, LT_TZ_UTC };

/* One collect_list item. Strings are copied by logtail_add_source. */
struct lt_source_config {
    const char *file_path;   /* glob: * ? [..] per component, ** = any depth (<= 32) */
    const char *blacklist;   /* regex on the base name; NULL = none */
    bool publish_multi_logs; /* false: only the most recently modified match is read */
    bool auto_removal;       /* delete a superseded file once fully committed (!multi) */
    const char *encoding;    /* NULL/"utf-8"/"ascii" = UTF-8; else an iconv name */
    /* strftime subset: %Y %y %m %-m %d %-d %e %b %h %B %a %A %H %-H %I %-I %p %M %-M %S %-S
     * %f (1-9 fraction digits, ms precision) %j %Z (UTC/GMT/Z honoured, other names use
     * `timezone`) %z (+hhmm, +hh:mm, Z) %T (%H:%M:%S) %% ; and epoch forms (not in the
     * reference): %s = seconds since the epoch (10 digits), %Q = milliseconds since the epoch
     * (13 digits). The first match anywhere in the event is used. Missing year: current year
     * (minus one if that lands > 30 days ahead); missing date: today. NULL = none. */
    const char *timestamp_format;
    enum lt_timezone timezone;
    bool trim_timestamp;                  /* remove the match and the whitespace after it */
    const char *multi_line_start_pattern; /* NULL = ^[\S]; "{timestamp_format}" = ts regex */
    const struct lt_filter *filters;      /* evaluated in order, all must pass */
    size_t n_filters;
    void *source_ud; /* opaque id handed back in every event (the agent's route) */
};

struct lt_event {
    void *source_ud;         /* from lt_source_config */
    const char *stream_path; /* path the file was first found at (publish_multi_logs name) */
    uint64_t file_id;        /* commit token, with end_offset */
    uint64_t end_offset;     /* file offset just past the bytes of this event */
    int64_t timestamp_ms;    /* parsed; else the source's previous event's; else now */
    const char *message;     /* valid UTF-8, NUL-terminated, 1..max_event_size bytes */
    size_t len;
};

struct lt_stats {
    unsigned files_open, files_followed, files_waiting_fd;
    uint64_t events, bytes_read, uncommitted, lines_split, filtered;
    uint64_t links_refused;    /* symlinks not followed (links.c: owner rule, /proc, /sys) */
    uint64_t regex_limit_hits; /* lines a regex could not match within its backtracking limit */
    uint64_t ckpt_failures;    /* failed writes of logtail.state (retried with back-off) */
    /* bytes seen in a file that were neither read nor in its copy when it was truncated
     * (copytruncate's copy-then-truncate window, or a truncation with no copy): lost */
    uint64_t truncated_unread_bytes;
    bool paused; /* reading stopped by max_uncommitted */
};

struct logtail;

/* Creates the tailer: inotify instance, checkpoint directory, loaded checkpoints.
 * Returns NULL (logged) on failure. Free with logtail_free. */
struct logtail *logtail_new(const struct lt_options *opt);
/* Writes pending checkpoints, closes every descriptor, frees everything. NULL is a no-op. */
void logtail_free(struct logtail *lt);

/* Checks a source without adding it (regexes, timestamp format, encoding). 0, or -1 with a
 * message in err (may be NULL). */
int logtail_validate_source(const struct lt_source_config *cfg, char *err, size_t errlen);
/* Adds a source and discovers its files right away. 0, or -1 with a message in err. */
int logtail_add_source(struct logtail *lt, const struct lt_source_config *cfg, char *err,
                       size_t errlen);

/* The inotify descriptor to watch for EPOLLIN (owned by the module). */
int logtail_fd(const struct logtail *lt);
/* Drains the inotify queue; marks files readable and sources for re-globbing. Never blocks. */
void logtail_on_readable(struct logtail *lt);
/* Timers: call about every second with the injected clock's time. */
void logtail_tick(struct logtail *lt, int64_t now_ms);

/* Pulls the next event. Returns 1 and fills *ev, or 0 when nothing is ready now (or reading
 * is paused by back-pressure). message and stream_path are borrowed until the next call of
 * logtail_next_event, logtail_tick or logtail_free: copy what the batch keeps. */
int logtail_next_event(struct logtail *lt, struct lt_event *ev);

/* True when logtail_next_event returned 0 only because its per-call budget ran out (readable
 * data remains and the cap allows reading): the loop should call it again soon (e.g. with a
 * zero epoll timeout) rather than wait for inotify or the next tick. */
bool logtail_has_work(struct logtail *lt);
/* True when nothing is queued and no file has bytes left to read: the reader caught up with
 * the writers (false while only the read-ahead cap holds it back, unlike !logtail_has_work). */
bool logtail_caught_up(struct logtail *lt);

/* Marks bytes of file_id up to end_offset as delivered (monotonic; stale or unknown ids are
 * ignored). Releases back-pressure; the checkpoint write is coalesced. */
void logtail_commit(struct logtail *lt, uint64_t file_id, uint64_t end_offset);
/* Emits every pending multi-line event now, without waiting for multiline_idle_ms (shutdown:
 * the last event of a quiet file is delivered before the agent exits). Partial lines (no
 * newline yet) keep waiting. Pull the events with logtail_next_event afterwards. */
void logtail_flush_events(struct logtail *lt);
/* Writes every pending checkpoint now (shutdown, SIGHUP). 0, or -1 if one failed (logged). */
int logtail_flush(struct logtail *lt);

void logtail_stats(const struct logtail *lt, struct lt_stats *out);

/* One followed file, for status reports. Strings are borrowed during the callback. */
struct lt_file_status {
    const char *path;   /* where the file is now (a rotated file's new name) */
    uint64_t committed; /* bytes CloudWatch accepted */
    uint64_t read;      /* bytes read so far */
    uint64_t size;      /* current size (from the last stat), or `read` when unknown */
    bool open;
};
/* Calls fn once per followed file. */
void logtail_files(const struct logtail *lt, void (*fn)(void *ud, const struct lt_file_status *f),
                   void *ud);

#endif
