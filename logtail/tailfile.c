/* tailfile — one followed file: open (resuming from a checkpoint), read, fingerprint,
 * truncation, and the path from raw lines to assembled messages.
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LT_READ_CHUNK (256 * 1024)

static void ev_cb(void *ud, struct cw_buf *msg, uint64_t end_off)
{
    struct lt_file *f = ud;
    lt_emit(f->src->lt, f, msg, end_off);
}

/* Emits s + LT_SPLIT_MARKER as an event of its own (a piece of an over-long line). */
static void emit_piece(struct lt_file *f, const char *s, size_t n, uint64_t end_off)
{
    lt_ml_flush(&f->ml, ev_cb, f);
    struct cw_buf b;
    cw_buf_init(&b, n + LT_SPLIT_MARKER_LEN);
    if (cw_buf_append(&b, s, n) != 0 || cw_buf_append_str(&b, LT_SPLIT_MARKER) != 0) {
        cw_error(LT_COMP, "out of memory splitting a line of %s", f->cur_path);
        cw_buf_free(&b);
        return;
    }
    f->src->lt->st.lines_split++;
    lt_emit(f->src->lt, f, &b, end_off);
    cw_buf_free(&b);
}

/* Decoded text of one raw line or piece: cut to the event size, then into multi-line. */
static void line_cb(void *ud, const char *p, size_t n, uint64_t start_off, uint64_t end_off,
                    bool piece)
{
    struct lt_file *f = ud;
    size_t max = f->src->lt->o.max_event_size - LT_SPLIT_MARKER_LEN;
    const char *s;
    size_t len;
    if (lt_dec_run(&f->dec, p, n, start_off == 0, &s, &len) != 0) {
        cw_error(LT_COMP, "out of memory decoding %s", f->cur_path);
        return;
    }
    if (!piece && len > 0 && s[len - 1] == '\r')
        len--;
    /* decoding can grow text (U+FFFD, iconv): cut what does not fit into marked pieces */
    while (len > max || (piece && len > 0)) {
        size_t cut = lt_utf8_cut(s, len, max);
        bool last = cut == len;
        emit_piece(f, s, cut, last ? end_off : start_off);
        s += cut;
        len -= cut;
        if (last)
            return;
    }
    if (piece)
        return;
    lt_ml_line(&f->ml, &f->src->start, s, len, end_off, ev_cb, f);
}

/* Hashes the first up to LT_FINGERPRINT_MAX bytes; *len = how many there were. */
static int fingerprint(int fd, uint64_t *fp, uint32_t *len, uint32_t prefix, uint64_t *pfp)
{
    char buf[LT_FINGERPRINT_MAX];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n < 0)
        return -1;
    *fp = lt_fnv1a(buf, (size_t)n);
    *len = (uint32_t)n;
    if (pfp) /* the prefix is usually all of it (a file of 1 KiB or more): hashed once */
        *pfp = (size_t)n == prefix ? *fp : (size_t)n > prefix ? lt_fnv1a(buf, prefix) : 0;
    return 0;
}

struct lt_file *lt_file_new(struct logtail *lt, struct lt_source *src, const struct lt_match *m)
{
    struct lt_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->src = src;
    f->id = ++lt->next_id;
    f->stream_path = strdup(m->path);
    f->cur_path = strdup(m->path);
    if (!f->stream_path || !f->cur_path || lt_dec_init(&f->dec, src->cfg.encoding, NULL, 0) != 0) {
        free(f->stream_path);
        free(f->cur_path);
        free(f);
        return NULL;
    }
    f->dev = m->dev;
    f->ino = m->ino;
    f->fd = f->wd = -1;
    f->state = LT_ACTIVE;
    f->dirty = f->need_check = true;
    f->last_data_ms = lt->now;
    lt_lines_init(&f->lines, lt->o.max_event_size - LT_SPLIT_MARKER_LEN, f->dec.unit,
                  f->dec.big_endian);
    lt_ml_init(&f->ml, lt->o.max_event_size);
    f->next = lt->files;
    lt->files = f;
    return f;
}

/* Positions f at a matching checkpoint's offset, or at 0. */
static void resume(struct logtail *lt, struct lt_file *f, const struct stat *st)
{
    uint64_t off = 0;
    struct lt_ckpt *k = lt_ckpts_find(&lt->ckpts, f->src->key, f->dev, f->ino);
    if (k) {
        uint64_t fp, pfp = 0;
        uint32_t len;
        bool same = fingerprint(f->fd, &fp, &len, k->fp_len, &pfp) == 0 && len >= k->fp_len &&
                    pfp == k->fp && k->offset <= (uint64_t)st->st_size;
        if (same)
            off = k->offset;
        k->claimed = same;
        if (!same)
            cw_info(LT_COMP,
                    "%s: checkpoint does not match the file (new content), reading "
                    "from 0",
                    f->cur_path);
    }
    f->read_off = f->committed = f->emitted_end = f->settled_off = off;
    if (off && lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        f->read_off = f->committed = f->emitted_end = f->settled_off = 0;
    lt_lines_reset(&f->lines, f->read_off);
    (void)fingerprint(f->fd, &f->fp, &f->fp_len, 0, NULL);
    f->ckpt_dirty = !(k && k->claimed && off == k->offset);
}

void lt_file_resume_at(struct logtail *lt, struct lt_file *f, uint64_t off)
{
    lt->uncommitted -= f->read_off - f->committed;
    f->read_off = f->committed = f->emitted_end = f->settled_off = off;
    if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
        f->read_off = f->committed = f->emitted_end = f->settled_off = 0;
    lt_lines_reset(&f->lines, f->read_off);
    f->ckpt_dirty = f->dirty = true;
}

/* Opens f (subject to the descriptor cap). 0, or -1 when it must wait or is gone. */
int lt_file_open(struct logtail *lt, struct lt_file *f)
{
    if (f->fd >= 0)
        return 0;
    if (lt->nopen >= lt->o.max_open_files) {
        if (!lt->fd_warned)
            cw_warn(LT_COMP,
                    "open-file cap (%u) reached: %s and others wait until rotated or "
                    "deleted files are drained; raise the cap or narrow file_path",
                    lt->o.max_open_files, f->cur_path);
        lt->fd_warned = true;
        return -1;
    }
    char why[160];
    int fd = lt_open_checked(f->cur_path, why, sizeof why); /* links.c: no unsafe symlink */
    if (fd < 0 && errno == EPERM) {
        lt_link_refused(lt, f->cur_path, why);
        errno = ENOENT;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_dev != f->dev ||
        (uint64_t)st.st_ino != f->ino) {
        if (fd < 0 && errno != ENOENT && !f->open_warned) /* once: retried every tick */
            cw_warn(LT_COMP, "cannot open %s: %s (will retry)", f->cur_path, strerror(errno));
        f->open_warned |= fd < 0 && errno != ENOENT;
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f->fd = fd;
    lt->nopen++;
    if (f->state == LT_RETIRED) { /* selected again: continue where it stopped */
        f->state = LT_ACTIVE;
        if (lseek(fd, (off_t)f->read_off, SEEK_SET) < 0)
            f->read_off = 0;
    } else {
        resume(lt, f, &st);
        lt->uncommitted += f->read_off - f->committed;
        /* Saved at once (logtail's next pump): killed before its first batch was accepted,
         * the agent must still know this inode after a restart, to find it among the rotated
         * generations (recover.c). Without it, a file rotated while the agent was down before
         * anything of it was delivered was never read: its lines were lost. */
        lt->ckpt_new |= f->ckpt_dirty;
    }
    f->dirty = f->need_check = true;
    lt_watch_file(lt, f);
    return 0;
}

void lt_file_close(struct logtail *lt, struct lt_file *f)
{
    lt_unwatch_file(lt, f);
    if (f->fd >= 0) {
        close(f->fd);
        lt->nopen--;
        if (lt->nopen < lt->o.max_open_files)
            lt->fd_warned = false;
    }
    f->fd = -1;
}

void lt_file_free(struct logtail *lt, struct lt_file *f)
{
    lt_file_close(lt, f);
    if (f->read_off > f->committed)
        lt->uncommitted -= f->read_off - f->committed;
    lt_lines_free(&f->lines);
    lt_dec_free(&f->dec);
    lt_ml_free(&f->ml);
    free(f->stream_path);
    free(f->cur_path);
    free(f);
}

void lt_file_flush_pending(struct logtail *lt, struct lt_file *f)
{
    (void)lt;
    lt_lines_flush(&f->lines, line_cb, f);
    lt_ml_flush(&f->ml, ev_cb, f);
}

void lt_file_flush_multiline(struct logtail *lt, struct lt_file *f)
{
    (void)lt;
    lt_ml_flush(&f->ml, ev_cb, f);
}

void lt_file_flush_partial(struct logtail *lt, struct lt_file *f)
{
    (void)lt;
    lt_lines_flush(&f->lines, line_cb, f);
}

/* Content replaced under us: flush what we have, then start again at 0 under a new id. */
static void restart_at_zero(struct logtail *lt, struct lt_file *f, const char *why)
{
    cw_info(LT_COMP, "%s: %s, reading again from offset 0 (was %llu)", f->cur_path, why,
            (unsigned long long)f->read_off);
    lt_file_flush_pending(lt, f);
    lt->uncommitted -= f->read_off - f->committed;
    f->id = ++lt->next_id;
    f->read_off = f->committed = f->emitted_end = f->settled_off = 0;
    f->seen_size = 0;
    f->tail_len = 0;
    (void)lseek(f->fd, 0, SEEK_SET);
    lt_lines_reset(&f->lines, 0);
    (void)fingerprint(f->fd, &f->fp, &f->fp_len, 0, NULL);
    f->ckpt_dirty = f->dirty = true;
}

/* The content f was reading is gone from its inode: finish it from its copy when there is one,
 * else read the file again from 0 (and count what was seen but never read). */
static void truncated(struct logtail *lt, struct lt_file *f, const char *why)
{
    if (f->state == LT_ACTIVE && lt_follow_copy(lt, f))
        return;
    if (f->seen_size > f->read_off) {
        uint64_t lost = f->seen_size - f->read_off;
        lt->st.truncated_unread_bytes += lost;
        cw_warn(LT_COMP,
                "%s: %s with %llu bytes not read yet and no copy of them next to it: "
                "lost",
                f->cur_path, why, (unsigned long long)lost);
    }
    restart_at_zero(lt, f, why);
}

/* Truncation (size below our offset, or the first bytes changed) and deletion checks. */
void lt_file_check(struct logtail *lt, struct lt_file *f)
{
    f->need_check = false;
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0)
        return;
    f->chk_ms = lt->now;
    f->chk_size = (uint64_t)st.st_size;
    f->chk_mtime_ns = lt_mtime_ns(&st);
    if (st.st_nlink == 0 && f->state == LT_ACTIVE)
        f->src->need_rescan = true;
    if ((uint64_t)st.st_size < f->read_off) {
        truncated(lt, f, "truncated");
        return;
    }
    uint64_t fp, pfp = 0;
    uint32_t len;
    if (fingerprint(f->fd, &fp, &len, f->fp_len, &pfp) != 0)
        return;
    if (len < f->fp_len || pfp != f->fp) {
        truncated(lt, f, "content replaced (copytruncate)");
        return;
    }
    if ((uint64_t)st.st_size > f->seen_size)
        f->seen_size = (uint64_t)st.st_size;
    if (len > f->fp_len) {
        f->fp = fp;
        f->fp_len = len;
        f->ckpt_dirty = true;
    }
    if ((uint64_t)st.st_size > f->read_off)
        f->dirty = true;
}

/* Remembers the last LT_TAIL_MAX bytes read (what a copytruncate copy must hold too). */
static void keep_tail(struct lt_file *f, const char *p, size_t n)
{
    if (n >= LT_TAIL_MAX) {
        memcpy(f->tail, p + n - LT_TAIL_MAX, LT_TAIL_MAX);
        f->tail_len = LT_TAIL_MAX;
        return;
    }
    size_t keep = f->tail_len + n > LT_TAIL_MAX ? LT_TAIL_MAX - n : f->tail_len;
    memmove(f->tail, f->tail + f->tail_len - keep, keep);
    memcpy(f->tail + keep, p, n);
    f->tail_len = (uint32_t)(keep + n);
}

long lt_file_read(struct logtail *lt, struct lt_file *f)
{
    if (f->fd < 0)
        return 0;
    if (f->need_check)
        lt_file_check(lt, f);
    size_t want = LT_READ_CHUNK; /* never read past the uncommitted-bytes cap */
    if (lt->uncommitted >= lt->o.max_uncommitted)
        return 0;
    if (lt->o.max_uncommitted - lt->uncommitted < want)
        want = lt->o.max_uncommitted - lt->uncommitted;
    ssize_t n = read(f->fd, lt->rbuf, want);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        cw_warn(LT_COMP, "read %s: %s", f->cur_path, strerror(errno));
        f->at_eof = true;
        return -1;
    }
    if (n == 0) {
        f->at_eof = true;
        if (f->ml.has && !f->ml.cont_seen && f->src->start.fast_nonspace && f->lines.carry.len == 0)
            lt_ml_flush(&f->ml, ev_cb, f); /* single-line file: no continuation to wait for */
        return 0;
    }
    f->at_eof = false;
    keep_tail(f, lt->rbuf, (size_t)n);
    uint64_t off = f->read_off;
    f->read_off += (uint64_t)n;
    lt->uncommitted += (uint64_t)n;
    lt->st.bytes_read += (uint64_t)n;
    f->last_data_ms = lt->now;
    if (lt_lines_feed(&f->lines, lt->rbuf, (size_t)n, off, line_cb, f) != 0)
        cw_error(LT_COMP, "out of memory reading %s", f->cur_path);
    return (long)n;
}

size_t lt_read_chunk_size(void)
{
    return LT_READ_CHUNK;
}

int lt_file_write_ckpt(struct logtail *lt, struct lt_file *f)
{
    if (!f->ckpt_dirty)
        return 0;
    struct lt_ckpt k = {0};
    k.path = f->stream_path; /* where its generations are looked for after a restart */
    k.src = f->src->key;
    k.dev = f->dev;
    k.ino = f->ino;
    k.fp = f->fp;
    k.fp_len = f->fp_len;
    k.offset = f->committed;
    if (lt_ckpts_put(&lt->ckpts, &k, lt->now / 1000) != 0)
        return -1;
    f->ckpt_dirty = false;
    return 1;
}

struct lt_file *lt_file_by_id(struct logtail *lt, uint64_t id)
{
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}
