/* copytrunc — logrotate's copytruncate seen from the tailer: the file is copied to a rotated
 * name (app.log.1) and then truncated in place. Whatever the tailer had not read yet when the
 * truncation came (it was paused by an outage, or simply behind) is not lost: it is in the
 * copy. The follower moves to the copy and finishes it from its read offset (same file id,
 * same offsets, same partial line: the events keep flowing as if nothing happened), the
 * generations copied after it (several rotations during one outage) are read next, in order,
 * and a new follower reads the truncated file from 0 after them.
 *
 * The copy is recognised by its first bytes (the follower's fingerprint) and by the bytes just
 * before the read offset (LT_TAIL_MAX, so a header shared by every generation cannot fool it),
 * and it must hold more than was read. What was written between the copy and the truncation is
 * in neither file: no tailer can read it. The part of it the tailer had seen (by size) is
 * counted in truncated_unread_bytes and logged.
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* True when path holds f's last bytes read just before f->read_off. */
static bool same_tail(const struct lt_file *f, const char *path)
{
    if (f->tail_len == 0)
        return true;
    unsigned char buf[LT_TAIL_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, f->tail_len, (off_t)(f->read_off - f->tail_len));
    close(fd);
    return n == (ssize_t)f->tail_len && memcmp(buf, f->tail, f->tail_len) == 0;
}

static bool open_elsewhere(struct logtail *lt, const struct lt_file *f, const struct lt_match *x)
{
    for (struct lt_file *o = lt->files; o; o = o->next)
        if (o != f && o->fd >= 0 && o->dev == x->dev && o->ino == x->ino)
            return true;
    return false;
}

/* The newest sibling holding f's content with bytes past its read offset, or -1. */
static long find_copy(struct logtail *lt, const struct lt_file *f, const struct lt_matches *sib,
                      uint64_t *size)
{
    long best = -1;
    for (size_t i = 0; i < sib->n; i++) {
        const struct lt_match *x = &sib->v[i];
        struct stat st;
        if ((x->dev == f->dev && x->ino == f->ino) || open_elsewhere(lt, f, x) ||
            stat(x->path, &st) != 0 || (uint64_t)st.st_size <= f->read_off ||
            (uint64_t)st.st_size < f->fp_len || !lt_same_prefix(x->path, f->fp, f->fp_len) ||
            !same_tail(f, x->path))
            continue;
        if (best < 0 || x->mtime_ns > sib->v[best].mtime_ns) {
            best = (long)i;
            *size = (uint64_t)st.st_size;
        }
    }
    return best;
}

/* Moves f's descriptor, identity and path to the copy x, positioned at f->read_off. */
static int move_to(struct logtail *lt, struct lt_file *f, const struct lt_match *x)
{
    int fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    char *path = strdup(x->path);
    if (fd < 0 || !path || fstat(fd, &st) != 0 || (uint64_t)st.st_ino != x->ino ||
        lseek(fd, (off_t)f->read_off, SEEK_SET) < 0) {
        if (fd >= 0)
            close(fd);
        free(path);
        return -1;
    }
    lt_file_close(lt, f);
    f->fd = fd;
    lt->nopen++;
    f->dev = x->dev;
    f->ino = x->ino;
    free(f->cur_path);
    f->cur_path = path;
    f->dirty = f->need_check = f->ckpt_dirty = true;
    lt_watch_file(lt, f);
    return 0;
}

/* Generations copied after the copy at mtime `since`, unread: followed in order after f. */
static void follow_later(struct logtail *lt, struct lt_file *f, const struct lt_matches *sib,
                         int64_t since, uint64_t trunc_dev, uint64_t trunc_ino)
{
    for (;;) {
        long next = -1;
        for (size_t i = 0; i < sib->n; i++) {
            const struct lt_match *x = &sib->v[i];
            if (x->mtime_ns <= since || (x->dev == trunc_dev && x->ino == trunc_ino) ||
                open_elsewhere(lt, NULL, x))
                continue;
            if (next < 0 || x->mtime_ns < sib->v[next].mtime_ns)
                next = (long)i;
        }
        if (next < 0)
            return;
        const struct lt_match *x = &sib->v[next];
        cw_info(LT_COMP, "%s: a later copy of %s, not read yet: reading it next", x->path,
                f->stream_path);
        if (!lt_follow_rotated(lt, f->src, x, 0, f->stream_path))
            return;
        since = x->mtime_ns;
    }
}

/* The truncated file, from 0, as the stream's current file after everything copied. */
static void follow_truncated(struct logtail *lt, struct lt_file *f, const struct lt_match *m)
{
    struct lt_file *pred = lt_predecessor(lt, f->src, f->stream_path);
    struct lt_file *g = lt_file_new(lt, f->src, m);
    char *sp = strdup(f->stream_path);
    if (!g || !sp) {
        free(sp);
        return;
    }
    free(g->stream_path);
    g->stream_path = sp;
    g->matched = f->matched;
    g->selected = f->selected;
    g->pred_id = pred ? pred->id : 0;
    if (pred)
        pred->superseded = true;
    (void)lt_file_open(lt, g);
}

bool lt_follow_copy(struct logtail *lt, struct lt_file *f)
{
    if (f->fp_len == 0) /* nothing to recognise a copy by */
        return false;
    struct lt_matches sib;
    char *trunc_path = strdup(f->cur_path);
    if (!trunc_path || lt_siblings(f->cur_path, &sib) != 0) {
        if (trunc_path)
            lt_matches_free(&sib);
        free(trunc_path);
        return false;
    }
    uint64_t size = 0;
    long at = find_copy(lt, f, &sib, &size);
    struct lt_match trunc = {trunc_path, f->dev, f->ino, 0};
    bool moved = at >= 0 && move_to(lt, f, &sib.v[at]) == 0;
    if (at >= 0 && !moved)
        cw_warn(LT_COMP, "cannot open the copy %s: %s", sib.v[at].path, strerror(errno));
    if (moved) {
        cw_info(LT_COMP, "%s was copied to %s and truncated: finishing the copy from offset %llu",
                trunc_path, f->cur_path, (unsigned long long)f->read_off);
        if (f->seen_size > size) {
            lt->st.truncated_unread_bytes += f->seen_size - size;
            cw_warn(LT_COMP,
                    "%s: %llu bytes written between logrotate's copy and truncation are in "
                    "neither file: lost (copytruncate's window; the create mode has none)",
                    trunc_path, (unsigned long long)(f->seen_size - size));
        }
        f->seen_size = size;
        f->superseded = true;
        lt_start_drain(lt, f, "is a copytruncate copy");
        follow_later(lt, f, &sib, sib.v[at].mtime_ns, trunc.dev, trunc.ino);
        follow_truncated(lt, f, &trunc);
    }
    free(trunc_path);
    lt_matches_free(&sib);
    return moved;
}
