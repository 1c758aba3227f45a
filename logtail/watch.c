/* watch — inotify (directories: creations, moves, deletions ⇒ re-glob; files, through their
 * open descriptor so the watch follows the inode across renames: writes ⇒ read), and the stat
 * poll that backs it up (missed events, network file systems, exhausted watch limits).
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MASK                                                                                   \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF |         \
     IN_ONLYDIR)
#define FILE_MASK            (IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define LT_MAX_INOTIFY_READS 64  /* bound the work of one on_readable call */
#define LT_POLL_RECHECK_MS   900 /* the poll leaves alone files checked since the last poll */

/* Records a watch; file watches (src NULL) may repeat (two followers of one inode). `dir` is
 * copied for a directory watch. */
static int wd_add(struct logtail *lt, int wd, struct lt_source *src, const char *dir)
{
    for (size_t i = 0; i < lt->nwds; i++)
        if (src && lt->wds[i].wd == wd && lt->wds[i].src == src)
            return 0;
    char *d = dir ? strdup(dir) : NULL;
    if (dir && !d)
        return -1;
    if (lt->nwds == lt->wcap) {
        size_t ncap = lt->wcap ? lt->wcap * 2 : 32;
        struct lt_wd *v = realloc(lt->wds, ncap * sizeof *v);
        if (!v) {
            free(d);
            return -1;
        }
        lt->wds = v;
        lt->wcap = ncap;
    }
    lt->wds[lt->nwds++] = (struct lt_wd){wd, src, d};
    return 0;
}

static bool wd_used(const struct logtail *lt, int wd)
{
    for (size_t i = 0; i < lt->nwds; i++)
        if (lt->wds[i].wd == wd)
            return true;
    return false;
}

void lt_watch_file(struct logtail *lt, struct lt_file *f)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    int wd = inotify_add_watch(lt->ifd, proc, FILE_MASK);
    if (wd < 0) {
        cw_debug(LT_COMP, "no inotify watch for %s (%s): stat poll only", f->cur_path,
                 strerror(errno));
        return;
    }
    f->wd = wd;
    if (wd_add(lt, wd, NULL, NULL) != 0)
        f->wd = -1;
}

void lt_unwatch_file(struct logtail *lt, struct lt_file *f)
{
    if (f->wd < 0)
        return;
    for (size_t i = 0; i < lt->nwds; i++) {
        if (lt->wds[i].wd == f->wd && !lt->wds[i].src) {
            lt->wds[i] = lt->wds[--lt->nwds];
            break;
        }
    }
    if (!wd_used(lt, f->wd))
        inotify_rm_watch(lt->ifd, f->wd);
    f->wd = -1;
}

void lt_watch_dirs(struct logtail *lt, struct lt_source *s, struct lt_matches *m)
{
    for (size_t i = 0; i < m->ndirs; i++) {
        int wd = inotify_add_watch(lt->ifd, m->dirs[i], DIR_MASK);
        if (wd >= 0)
            (void)wd_add(lt, wd, s, m->dirs[i]);
    }
}

/* Files keep their watch id when truncation changes their id: match on wd too. */
static void file_event(struct logtail *lt, int wd, uint32_t mask)
{
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->wd != wd)
            continue;
        f->dirty = f->need_check = true; /* truncated and regrown: caught before reading */
        if (mask & (IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)) {
            if (f->state == LT_ACTIVE)
                f->src->need_rescan = true;
        }
    }
}

static void forget_wd(struct logtail *lt, int wd)
{
    for (size_t i = 0; i < lt->nwds;) {
        if (lt->wds[i].wd == wd) {
            free(lt->wds[i].dir);
            lt->wds[i] = lt->wds[--lt->nwds];
        } else {
            i++;
        }
    }
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->wd == wd)
            f->wd = -1;
}

static void everything_changed(struct logtail *lt)
{
    for (struct lt_source *s = lt->sources; s; s = s->next)
        s->need_rescan = true;
    for (struct lt_file *f = lt->files; f; f = f->next)
        f->dirty = f->need_check = true;
}

/* The follower of source s whose stream was first found at path, if any. */
static struct lt_file *stream_file(struct logtail *lt, struct lt_source *s, const char *path)
{
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->src == s && strcmp(f->stream_path, path) == 0)
            return f;
    return NULL;
}

/* True when a follower of s follows the file at path (stat st). (device, inode) alone is not
 * an identity once a follower's descriptor is closed: the number may have been handed to a new
 * file, so a closed follower must also have the same first bytes. */
static bool followed(struct logtail *lt, struct lt_source *s, const struct stat *st,
                     const char *path)
{
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->src != s || f->dev != (uint64_t)st->st_dev || f->ino != (uint64_t)st->st_ino)
            continue;
        if (f->fd >= 0 || (f->state == LT_ACTIVE && f->fp_len == 0) ||
            (f->fp_len && lt_same_prefix(path, f->fp, f->fp_len)))
            return true;
    }
    return false;
}

/* A file of a followed stream renamed away (app.log -> app.log.3) before it was ever opened: a
 * writer rotating faster than the re-glob. Follows it as a rotated file of that stream, after
 * the stream's newest file, so nothing written to the path is skipped. */
static void rotated_unseen(struct logtail *lt, struct lt_source *s, const char *from,
                           const char *to)
{
    struct stat st;
    if (!stream_file(lt, s, from) || stat(to, &st) != 0 || !S_ISREG(st.st_mode) ||
        followed(lt, s, &st, to))
        return;
    struct lt_match m = {(char *)to, (uint64_t)st.st_dev, (uint64_t)st.st_ino, 0};
    struct lt_file *pred = lt_predecessor(lt, s, from);
    struct lt_file *f = lt_file_new(lt, s, &m);
    char *stream = strdup(from);
    if (!f || !stream) {
        free(stream);
        return;
    }
    free(f->stream_path);
    f->stream_path = stream;
    f->pred_id = pred ? pred->id : 0;
    if (pred)
        pred->superseded = true;
    (void)lt_file_open(lt, f);
    lt_start_drain(lt, f, "(rotated before it was opened)");
}

/* Pairs IN_MOVED_FROM / IN_MOVED_TO of a watched directory (same cookie). */
static void dir_move(struct logtail *lt, const struct lt_wd *w, const struct inotify_event *ev)
{
    if (!w->dir || !ev->len || !(ev->mask & (IN_MOVED_FROM | IN_MOVED_TO)))
        return;
    char path[4096 + 256];
    int n = snprintf(path, sizeof path, "%s/%s", strcmp(w->dir, "/") ? w->dir : "", ev->name);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    if (ev->mask & IN_MOVED_FROM) {
        free(lt->move_from);
        lt->move_from = strdup(path);
        lt->move_cookie = ev->cookie;
        return;
    }
    if (lt->move_from && lt->move_cookie == ev->cookie)
        rotated_unseen(lt, w->src, lt->move_from, path);
}

static void handle(struct logtail *lt, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        cw_warn(LT_COMP, "inotify queue overflow: re-checking every file");
        everything_changed(lt);
        return;
    }
    if (ev->mask & IN_IGNORED) {
        forget_wd(lt, ev->wd);
        return;
    }
    bool is_file = false;
    for (size_t i = 0; i < lt->nwds; i++) {
        if (lt->wds[i].wd != ev->wd)
            continue;
        if (lt->wds[i].src) {
            lt->wds[i].src->need_rescan = true;
            dir_move(lt, &lt->wds[i], ev);
        } else {
            is_file = true;
        }
    }
    if (is_file)
        file_event(lt, ev->wd, ev->mask);
}

void lt_watch_drain(struct logtail *lt)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (int r = 0; r < LT_MAX_INOTIFY_READS; r++) {
        ssize_t n = read(lt->ifd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            handle(lt, ev);
            p += sizeof *ev + ev->len;
        }
    }
}

void lt_watch_free(struct logtail *lt)
{
    for (size_t i = 0; i < lt->nwds; i++)
        free(lt->wds[i].dir);
    free(lt->wds);
    lt->wds = NULL;
    lt->nwds = lt->wcap = 0;
    free(lt->move_from);
    lt->move_from = NULL;
}

void logtail_on_readable(struct logtail *lt)
{
    lt->now = lt_now(lt);
    lt_watch_drain(lt);
    for (struct lt_source *s = lt->sources; s; s = s->next)
        if (s->need_rescan && lt->now - s->last_rescan_ms >= 250)
            lt_rescan(lt, s);
}

/* The safety net: sizes and identities by stat, whatever inotify said. */
void lt_poll(struct logtail *lt)
{
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->fd < 0)
            continue;
        struct stat st;
        if (fstat(f->fd, &st) != 0)
            continue;
        if ((uint64_t)st.st_size != f->read_off)
            f->dirty = true;
        /* Also while reading is paused: a copytruncate is seen early. Not when neither size
         * nor mtime changed since the last check (content is not replaced without both), nor
         * when a write event had it checked in the last LT_POLL_RECHECK_MS. */
        if (((uint64_t)st.st_size != f->chk_size || lt_mtime_ns(&st) != f->chk_mtime_ns) &&
            ((uint64_t)st.st_size < f->read_off || lt->now - f->chk_ms >= LT_POLL_RECHECK_MS))
            lt_file_check(lt, f);
        if (f->fd < 0 || f->state != LT_ACTIVE)
            continue;
        if (stat(f->cur_path, &st) != 0 || (uint64_t)st.st_ino != f->ino ||
            (uint64_t)st.st_dev != f->dev)
            f->src->need_rescan = true;
    }
}
