/* scan — reconciles a source's glob matches with the files it follows: new files, renamed
 * files (same inode, new path: same follower), superseded files (rotation: drained first), and
 * files that left the glob or were deleted.
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const COMPRESSED[] = {".gz",  ".zip", ".bz2", ".xz", ".zst", ".lz4",
                                         ".tar", ".tgz", ".rar", ".7z", ".Z"};

bool lt_compressed_name(const char *base)
{
    size_t n = strlen(base);
    for (size_t i = 0; i < sizeof COMPRESSED / sizeof COMPRESSED[0]; i++) {
        size_t k = strlen(COMPRESSED[i]);
        if (n > k && strcasecmp(base + n - k, COMPRESSED[i]) == 0)
            return true;
    }
    return false;
}

static bool skip_cb(void *ud, const char *path, const char *base)
{
    struct lt_source *s = ud;
    const char *sd = s->lt->o.state_dir;
    size_t sdl = sd ? strlen(sd) : 0;
    if (lt_compressed_name(base))
        return true;
    if (sdl && strncmp(path, sd, sdl) == 0 && path[sdl] == '/')
        return true;
    return s->has_blacklist && lt_re_match(&s->blacklist, base, strlen(base), NULL, NULL);
}

/* A follower whose file had fd closed: is the file at m still the one it followed? */
static bool same_content(const struct lt_file *f, const struct lt_match *m)
{
    char why[160];
    int fd = lt_open_checked(m->path, why, sizeof why);
    if (fd < 0)
        return false;
    char buf[LT_FINGERPRINT_MAX];
    ssize_t n = pread(fd, buf, f->fp_len, 0);
    close(fd);
    return n == (ssize_t)f->fp_len && lt_fnv1a(buf, f->fp_len) == f->fp;
}

static struct lt_file *find_known(struct logtail *lt, struct lt_source *s, const struct lt_match *m)
{
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->src != s || f->dev != m->dev || f->ino != m->ino)
            continue;
        /* an open descriptor pins the inode: it cannot have been reused */
        if (f->fd >= 0 || (f->state == LT_ACTIVE && f->fp_len == 0) || same_content(f, m))
            return f;
    }
    return NULL;
}

void lt_start_drain(struct logtail *lt, struct lt_file *f, const char *why)
{
    if (f->state != LT_ACTIVE)
        return;
    f->state = LT_DRAINING;
    f->gone_ms = lt->now;
    f->dirty = f->need_check = true;
    cw_info(LT_COMP, "%s %s: reading it to the end before moving on", f->cur_path, why);
}

/* The file whose events must precede a new file at path (same stream). */
struct lt_file *lt_predecessor(struct logtail *lt, struct lt_source *s, const char *path)
{
    struct lt_file *best = NULL;
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->src != s || f->state == LT_RETIRED)
            continue;
        if (s->cfg.publish_multi_logs && strcmp(f->stream_path, path) != 0)
            continue;
        if (!best || f->id > best->id)
            best = f;
    }
    return best;
}

static void follow_new(struct logtail *lt, struct lt_source *s, const struct lt_match *m)
{
    struct lt_file *pred = lt_predecessor(lt, s, m->path);
    struct lt_file *f = lt_file_new(lt, s, m);
    if (!f) {
        cw_error(LT_COMP, "out of memory following %s", m->path);
        return;
    }
    f->matched = f->selected = true;
    if (pred) {
        pred->superseded = true;
        lt_start_drain(lt, pred, "was rotated");
        f->pred_id = pred->id;
    }
    (void)lt_file_open(lt, f);
}

static void select_match(struct logtail *lt, struct lt_source *s, const struct lt_match *m,
                         struct lt_file *known)
{
    if (!known) {
        follow_new(lt, s, m);
        return;
    }
    if (known->state == LT_RETIRED && !known->superseded)
        (void)lt_file_open(lt, known);
}

static void update_path(struct lt_file *f, const char *path)
{
    if (strcmp(f->cur_path, path) == 0)
        return;
    char *p = strdup(path);
    if (!p)
        return;
    free(f->cur_path);
    f->cur_path = p;
}

static size_t newest(const struct lt_matches *m)
{
    size_t best = 0;
    for (size_t i = 1; i < m->n; i++)
        if (m->v[i].mtime_ns > m->v[best].mtime_ns ||
            (m->v[i].mtime_ns == m->v[best].mtime_ns && strcmp(m->v[i].path, m->v[best].path) > 0))
            best = i;
    return best;
}

/* The stream path of s whose rotated generation `path` is (app.log for app.log.1), or NULL. */
static const char *generation_of_stream(struct logtail *lt, struct lt_source *s, const char *path)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (f->src != s)
            continue;
        const char *b = strrchr(f->stream_path, '/');
        if (lt_rotation_name(b ? b + 1 : f->stream_path, name))
            return f->stream_path;
    }
    return NULL;
}

/* Without publish_multi_logs only the newest match is followed. A generation of the stream
 * that appeared after the source started (modified later than every file then) and that no
 * follower ever saw — rotated away between two looks, its rename event not recognised — would
 * be skipped: it is followed as a rotated file, oldest first, before the newest match. */
static void follow_skipped(struct logtail *lt, struct lt_source *s, const struct lt_matches *m,
                           struct lt_file **known, size_t newest_i)
{
    int64_t since = s->base_mtime_ns;
    for (;;) {
        long next = -1;
        for (size_t i = 0; i < m->n; i++) {
            if (i == newest_i || known[i] || m->v[i].mtime_ns <= since)
                continue;
            if (next < 0 || m->v[i].mtime_ns < m->v[next].mtime_ns)
                next = (long)i;
        }
        if (next < 0)
            return;
        since = m->v[next].mtime_ns;
        struct lt_file *p = lt_predecessor(lt, s, m->v[next].path);
        if (!p || !generation_of_stream(lt, s, m->v[next].path))
            continue;
        cw_info(LT_COMP, "%s: a generation of %s no one read yet: reading it now", m->v[next].path,
                p->stream_path);
        known[next] = lt_follow_rotated(lt, s, &m->v[next], 0, p->stream_path);
        if (known[next])
            known[next]->matched = true;
    }
}

void lt_rescan(struct logtail *lt, struct lt_source *s)
{
    s->need_rescan = false;
    s->last_rescan_ms = lt->now;
    struct lt_matches m;
    if (lt_glob(s->cfg.file_path, skip_cb, s, &m) != 0) {
        cw_error(LT_COMP, "out of memory expanding %s", s->cfg.file_path);
        lt_matches_free(&m);
        return;
    }
    for (size_t i = 0; i + 1 < m.nrefused; i += 2)
        lt_link_refused(lt, m.refused[i], m.refused[i + 1]);
    lt_watch_dirs(lt, s, &m);
    /* Renames that happened before the glob read the directory are queued by now: handle them
     * first, so a generation renamed away unseen is followed before the file that replaced it
     * (found by this glob). */
    lt_watch_drain(lt);
    if (!s->recovered) {
        s->recovered = true;
        lt_recover_rotated(lt, s, &m);
        for (size_t i = 0; i < m.n; i++)
            if (m.v[i].mtime_ns > s->base_mtime_ns)
                s->base_mtime_ns = m.v[i].mtime_ns;
    }
    struct lt_file **known = calloc(m.n ? m.n : 1, sizeof *known);
    if (!known) {
        lt_matches_free(&m);
        return;
    }
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->src == s)
            f->matched = f->selected = false;
    for (size_t i = 0; i < m.n; i++) {
        known[i] = find_known(lt, s, &m.v[i]);
        if (known[i]) {
            known[i]->matched = true;
            update_path(known[i], m.v[i].path);
        }
    }
    size_t first = 0, last = m.n;
    if (!s->cfg.publish_multi_logs && m.n > 0) {
        first = newest(&m), last = first + 1;
        follow_skipped(lt, s, &m, known, first);
    }
    for (size_t i = first; i < last; i++) {
        if (known[i])
            known[i]->selected = true;
        select_match(lt, s, &m.v[i], known[i]);
    }
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->src == s && f->state == LT_ACTIVE && !f->selected)
            lt_start_drain(lt, f, f->matched ? "is no longer the newest match" : "was moved away");
    free(known);
    lt_matches_free(&m);
}
