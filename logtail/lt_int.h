/* lt_int — logtail's internal types and the functions its files share. Not an API: only
 * the logtail folder include it. */
#ifndef CW_LT_INT_H
#define CW_LT_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/buf.h"
#include "logtail/logtail.h"

#include <iconv.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define LT_COMP "logtail"
/* Scratch buffers larger than this are released after use (a long line must not pin 1 MiB
 * per file). */
#define LT_IDLE_BUF_MAX (64 * 1024)
/* Bytes kept from just before a file's read offset: a copytruncate copy must hold them too. */
#define LT_TAIL_MAX 64

/* ---- regex (filter.c) ---- */
struct lt_re {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    char *pattern;       /* for the one warning */
    bool fast_nonspace;  /* the default ^[\S]: a byte test instead of PCRE2 */
    bool warned;         /* the match-limit warning was logged */
    uint64_t limit_hits; /* lines that hit the backtracking limit */
    uint64_t unknown;    /* ...of which the DFA could not decide either */
};
int lt_re_compile(struct lt_re *re, const char *pattern, char *err, size_t errlen);
/* 1 = match (group 0 span in so, eo when non-NULL), 0 = no match, -1 = could not be decided
 * within the limits (counted, warned once). */
int lt_re_exec(struct lt_re *re, const char *s, size_t n, size_t *so, size_t *eo);
/* lt_re_exec as a boolean: only a decided match is a match. */
int lt_re_match(struct lt_re *re, const char *s, size_t n, size_t *so, size_t *eo);
void lt_re_free(struct lt_re *re);

struct lt_filters {
    struct lt_re *re;
    bool *exclude;
    size_t n;
};
int lt_filters_init(struct lt_filters *f, const struct lt_filter *in, size_t n, char *err,
                    size_t errlen);
bool lt_filters_pass(struct lt_filters *f, const char *s, size_t n);
uint64_t lt_filters_limit_hits(const struct lt_filters *f);
void lt_filters_free(struct lt_filters *f);

/* ---- timestamps (timestamp.c) ---- */
#define LT_TS_MAX_OPS 128
struct lt_ts_op {
    unsigned char spec; /* 1 + index in the spec table, or 0 for a literal */
    char lit;
};
struct lt_ts {
    struct lt_ts_op ops[LT_TS_MAX_OPS];
    int nops;
    char *format;
    char *regex; /* the PCRE2 pattern that finds a timestamp */
    struct lt_re re;
    bool utc;
};
int lt_ts_init(struct lt_ts *ts, const char *format, bool utc, char *err, size_t errlen);
/* Finds and parses a timestamp in s. 0 with *ms and the match span, -1 when none. */
int lt_ts_parse(struct lt_ts *ts, const char *s, size_t n, int64_t now_ms, int64_t *ms, size_t *so,
                size_t *eo);
/* Parses text that is exactly a timestamp in `format` (no search). 0 or -1. */
int lt_ts_parse_exact(const char *format, bool utc, const char *s, size_t n, int64_t now_ms,
                      int64_t *ms);
void lt_ts_free(struct lt_ts *ts);

/* ---- lines (lines.c) ---- */
struct lt_dec {
    iconv_t cd;        /* (iconv_t)-1 for UTF-8 */
    unsigned unit;     /* code unit width of the raw encoding: 1, 2 or 4 */
    bool big_endian;   /* for unit > 1: where the '\n' byte sits */
    struct cw_buf out; /* decoded scratch */
};
int lt_dec_init(struct lt_dec *d, const char *encoding, char *err, size_t errlen);
/* Decodes raw into valid UTF-8 (borrowed in *out until the next call). 0 or -1 (memory). */
int lt_dec_run(struct lt_dec *d, const char *raw, size_t n, bool at_file_start, const char **out,
               size_t *outlen);
void lt_dec_free(struct lt_dec *d);
/* Length of the longest prefix of s (<= max) that does not cut a UTF-8 sequence. */
size_t lt_utf8_cut(const char *s, size_t n, size_t max);
bool lt_utf8_valid(const char *s, size_t n);

/* A raw line or piece: [p, p+n) without its newline, ending at file offset end_off. */
typedef void (*lt_line_fn)(void *ud, const char *p, size_t n, uint64_t start_off, uint64_t end_off,
                           bool piece);
struct lt_lines {
    struct cw_buf carry; /* bytes of an unfinished line */
    uint64_t carry_start;
    size_t max_raw; /* piece size */
    unsigned unit;
    bool big_endian;
};
void lt_lines_init(struct lt_lines *l, size_t max_raw, unsigned unit, bool big_endian);
/* Feeds bytes read at file offset off; calls fn for each complete line or forced piece. */
int lt_lines_feed(struct lt_lines *l, const char *p, size_t n, uint64_t off, lt_line_fn fn,
                  void *ud);
/* Emits the unfinished line (partial-line timeout, end of a rotated file). */
void lt_lines_flush(struct lt_lines *l, lt_line_fn fn, void *ud);
void lt_lines_reset(struct lt_lines *l, uint64_t off);
/* Empties the carry, releasing its memory when it grew past LT_IDLE_BUF_MAX. */
void lt_lines_shrink(struct lt_lines *l);
void lt_lines_free(struct lt_lines *l);

/* ---- multi-line assembly (multiline.c) ---- */
typedef void (*lt_event_fn)(void *ud, struct cw_buf *msg, uint64_t end_off);
struct lt_ml {
    struct cw_buf pending;
    uint64_t end_off;
    bool has;
    bool cont_seen; /* a line that is not a start line was seen: the file has multi-line events */
};
void lt_ml_init(struct lt_ml *m, size_t max_event);
/* Adds one decoded line (at most max_event bytes): a start line flushes the pending event. */
void lt_ml_line(struct lt_ml *m, struct lt_re *start, const char *s, size_t n, uint64_t end_off,
                lt_event_fn fn, void *ud);
void lt_ml_flush(struct lt_ml *m, lt_event_fn fn, void *ud);
void lt_ml_free(struct lt_ml *m);

/* ---- checkpoints (checkpoint.c) ---- */
struct lt_ckpt {
    char *path;
    uint64_t src; /* FNV-1a of the source's file_path pattern */
    uint64_t dev, ino, fp, offset;
    uint32_t fp_len;
    bool claimed;      /* a follower resumed from it (not saved) */
    int64_t updated_s; /* wall clock of the last change */
};
struct lt_ckpts {
    char *dir;
    struct lt_ckpt *v;
    size_t n, cap;
    bool dirty;
    uint64_t failures; /* saves that failed (disk full...) */
    uint64_t streak;   /* ...in a row: the caller backs off */
};
/* Loads <dir>/logtail.state (creating dir 0700). 0, or -1 (logged). */
int lt_ckpts_load(struct lt_ckpts *c, const char *dir, int64_t now_s);
struct lt_ckpt *lt_ckpts_find(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino);
/* Inserts or updates a record in memory (path copied). 0 or -1. */
int lt_ckpts_put(struct lt_ckpts *c, const struct lt_ckpt *k, int64_t now_s);
void lt_ckpt_remove(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino);
/* Writes the state file atomically if anything changed. 0, or -1 (logged). */
int lt_ckpts_save(struct lt_ckpts *c);
void lt_ckpts_free(struct lt_ckpts *c);

/* ---- glob (glob.c) ---- */
struct lt_match {
    char *path;
    uint64_t dev, ino;
    int64_t mtime_ns;
};
struct lt_matches {
    struct lt_match *v;
    size_t n, cap;
    char **dirs; /* directories to watch */
    size_t ndirs, dcap;
    char **refused; /* symlinks not followed: "path", then why, in pairs (owned) */
    size_t nrefused, rfcap;
};
/* Expands pattern; skip(path, base) returning true drops a file. 0 or -1 (memory). */
typedef bool (*lt_skip_fn)(void *ud, const char *path, const char *base);
int lt_glob(const char *pattern, lt_skip_fn skip, void *ud, struct lt_matches *out);
struct stat;
/* Appends path (stat st) unless its (dev, ino) is already there; 0, or -1 out of memory. */
int lt_matches_add(struct lt_matches *m, const char *path, const struct stat *st);
void lt_matches_free(struct lt_matches *m);
uint64_t lt_fnv1a(const void *p, size_t n);
struct stat;
/* st's modification time in nanoseconds. */
int64_t lt_mtime_ns(const struct stat *st);

/* ---- symbolic links (links.c) ---- */
struct stat;
struct logtail;
/* True for procfs, sysfs and the other kernel pseudo file systems (statfs f_type). */
bool lt_fs_is_pseudo(long f_type);
/* May path be followed? 0 with *target (what it reaches) and *is_link; 1 when it does not
 * exist (or dangles); -1 when it is a symlink that must not be followed (reason in why). */
int lt_link_check(const char *path, struct stat *target, bool *is_link, char *why, size_t whylen);
/* Opens path for reading under the same rule: a symlink only when lt_link_check allows it
 * (and its descriptor is not on a pseudo file system), anything else with O_NOFOLLOW.
 * A descriptor, or -1 with errno (EPERM: refused, reason in why). */
int lt_open_checked(const char *path, char *why, size_t whylen);
/* Logs a refused link once per path and counts it in the stats. */
void lt_link_refused(struct logtail *lt, const char *path, const char *why);

/* ---- sources and files (logtail.c, tailfile.c) ---- */
enum lt_fstate { LT_ACTIVE, LT_DRAINING, LT_RETIRED };

struct lt_source;

struct lt_file {
    struct lt_source *src;
    struct lt_file *next;
    uint64_t id; /* changes on truncation */
    char *stream_path, *cur_path;
    uint64_t dev, ino;
    int fd, wd;
    enum lt_fstate state;
    uint64_t read_off, committed, emitted_end, settled_off;
    uint64_t fp;
    uint32_t fp_len;
    uint64_t pred_id; /* 0, or the file whose events must all come first */
    uint64_t rr;      /* round-robin stamp of the last read */
    bool dirty, need_check, ckpt_dirty, at_eof, matched, superseded, selected, open_warned;
    bool succ_seen;     /* draining: a later file of the stream was seen holding data */
    bool handed_over;   /* draining: the next file of the stream may produce events */
    uint64_t seen_size; /* largest size seen (fstat) for the current content */
    uint64_t chk_size;  /* size and mtime at the last lt_file_check: unchanged, nothing to check */
    int64_t chk_mtime_ns;
    int64_t chk_ms;                  /* lt->now at the last lt_file_check */
    unsigned char tail[LT_TAIL_MAX]; /* the last bytes read, before read_off */
    uint32_t tail_len;
    int64_t last_data_ms, gone_ms;
    struct lt_lines lines;
    struct lt_dec dec;
    struct lt_ml ml;
};

struct lt_source {
    struct lt_source *next;
    struct logtail *lt;
    struct lt_source_config cfg; /* strings owned */
    struct lt_filter *filters;   /* owned copies */
    struct lt_filters flt;
    struct lt_re blacklist, start;
    bool has_blacklist;
    struct lt_ts ts;
    bool has_ts, need_rescan, recovered;
    int64_t last_ts_ms;
    bool has_last_ts;
    int64_t last_rescan_ms;
    uint64_t key;          /* checkpoint key: FNV-1a of file_path */
    int64_t base_mtime_ns; /* newest mtime among the matches at the first scan */
};

struct lt_qev {
    struct lt_qev *next;
    struct lt_event ev;
    char *msg; /* NULL: the message is stored right after the record (events.c enqueue) */
};

struct lt_wd {
    int wd;
    struct lt_source *src; /* directory watch: the source to re-glob; NULL for a file */
    char *dir;             /* directory watch: its path (owned) */
};

struct logtail {
    struct lt_options o;
    int ifd;
    struct lt_source *sources;
    struct lt_file *files;
    struct lt_ckpts ckpts;
    struct lt_qev *qhead, *qtail, *cur;
    uint64_t next_id, rr;
    unsigned nopen;
    uint64_t uncommitted;
    struct lt_stats st;
    int64_t now, last_poll, last_rescan, last_ckpt;
    bool fd_warned;
    bool ckpt_new;         /* a file was opened: save its checkpoint now, not at its first commit */
    int64_t ckpt_retry_at; /* after a failed save: no periodic save before this time */
    char *rbuf;            /* read chunk */
    struct lt_wd *wds;
    size_t nwds, wcap;
    uint32_t move_cookie; /* the last IN_MOVED_FROM of a watched directory: its cookie... */
    char *move_from;      /* ...and the path it left (owned), until its IN_MOVED_TO */
    uint64_t *refused;    /* FNV-1a of the symlinks already logged as refused */
    size_t nrefused, rcap;
};

int64_t lt_now(struct logtail *lt);
/* tailfile.c */
struct lt_file *lt_file_new(struct logtail *lt, struct lt_source *src, const struct lt_match *m);
void lt_file_free(struct logtail *lt, struct lt_file *f);
int lt_file_open(struct logtail *lt, struct lt_file *f);
void lt_file_close(struct logtail *lt, struct lt_file *f);
/* Reads one chunk; returns bytes read, 0 at EOF or when not readable, -1 on error. */
long lt_file_read(struct logtail *lt, struct lt_file *f);
void lt_file_check(struct logtail *lt, struct lt_file *f);
/* Positions an open file at off (its checkpoint was found by content, not by inode). */
void lt_file_resume_at(struct logtail *lt, struct lt_file *f, uint64_t off);
void lt_file_flush_pending(struct logtail *lt, struct lt_file *f);
void lt_file_flush_partial(struct logtail *lt, struct lt_file *f);
/* Emits the pending multi-line event (complete lines only). */
void lt_file_flush_multiline(struct logtail *lt, struct lt_file *f);
size_t lt_read_chunk_size(void);
/* Records f's checkpoint in memory if it changed (saved by logtail_flush); 1, 0 or -1. */
int lt_file_write_ckpt(struct logtail *lt, struct lt_file *f);
struct lt_file *lt_file_by_id(struct logtail *lt, uint64_t id);
/* logtail.c: hands an assembled message to the queue (or drops it through filters). */
void lt_emit(struct logtail *lt, struct lt_file *f, struct cw_buf *msg, uint64_t end_off);
void lt_settle(struct logtail *lt, struct lt_file *f);
/* watch.c */
void lt_watch_file(struct logtail *lt, struct lt_file *f);
void lt_unwatch_file(struct logtail *lt, struct lt_file *f);
void lt_watch_dirs(struct logtail *lt, struct lt_source *s, struct lt_matches *m);
void lt_poll(struct logtail *lt);
/* Handles every queued inotify event (no re-glob). */
void lt_watch_drain(struct logtail *lt);
/* Frees the watch table and the pending move. */
void lt_watch_free(struct logtail *lt);
/* scan.c */
void lt_rescan(struct logtail *lt, struct lt_source *s);
void lt_start_drain(struct logtail *lt, struct lt_file *f, const char *why);
/* The follower whose events must precede a new file found at path (same stream), or NULL. */
struct lt_file *lt_predecessor(struct logtail *lt, struct lt_source *s, const char *path);
/* siblings.c: rotated generations next to a file (base + [.-_] + digit, not compressed). */
bool lt_rotation_name(const char *base, const char *name);
/* Regular files next to `path` named as its rotated generations (paths owned by out; free
 * with lt_matches_free). 0, or -1 (memory). */
int lt_siblings(const char *path, struct lt_matches *out);
/* True when the first fp_len bytes of the file at path hash to fp. */
bool lt_same_prefix(const char *path, uint64_t fp, uint32_t fp_len);
/* scan.c: a name with a compressed file's extension (.gz, .zip, ...). */
bool lt_compressed_name(const char *base);
/* recover.c: at a source's first scan, follows files rotated away while the agent was stopped
 * (found by their checkpoint's device and inode next to the checkpoint's path). */
void lt_recover_rotated(struct logtail *lt, struct lt_source *s, const struct lt_matches *m);
/* Follows m as a rotated (draining) file of `stream`, after the stream's newest file, reading
 * from off. NULL when it could not be created. */
struct lt_file *lt_follow_rotated(struct logtail *lt, struct lt_source *s, const struct lt_match *m,
                                  uint64_t off, const char *stream);
/* copytrunc.c: f was truncated or its content replaced. If a copy of its old content with
 * bytes past f's read offset lies next to it (copytruncate), f moves to the copy and finishes
 * it, the generations copied after it follow, and a new follower takes the truncated file
 * from 0: true. Counts the bytes known lost in copytruncate's window. */
bool lt_follow_copy(struct logtail *lt, struct lt_file *f);

#endif
