/* recover — files rotated while the agent was stopped. A checkpoint names (device, inode,
 * fingerprint, offset) and the path the file was followed at. At a source's first scan, when
 * the file at that path is no longer the checkpointed content:
 *   - the checkpointed content is looked for among the path's rotated generations
 *     (siblings.c): by inode (renamed: app.log -> app.log.2) or, when that inode now holds
 *     other bytes (copytruncate), by its first bytes (the copy);
 *   - the generations newer than it (modified later), which nobody has read, are read too;
 * all in the order they were written (modification time), the checkpointed one from its
 * offset and the others from 0, before the file now at the path. A restart during rotations
 * loses nothing. (The reference agent loses all of that.)
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cand {
    struct lt_match m;  /* path owned */
    uint64_t off;       /* where reading starts */
    const char *stream; /* borrowed from the checkpoint: the stream the file belongs to */
};

struct cands {
    struct cand *v;
    size_t n, cap;
};

static const struct lt_match *in_matches(const struct lt_matches *m, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].dev == dev && m->v[i].ino == ino)
            return &m->v[i];
    return NULL;
}

static bool have(const struct cands *c, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].m.dev == dev && c->v[i].m.ino == ino)
            return true;
    return false;
}

static bool followed(struct logtail *lt, struct lt_source *s, uint64_t dev, uint64_t ino)
{
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (f->src == s && f->fd >= 0 && f->dev == dev && f->ino == ino)
            return true;
    return false;
}

static int add(struct cands *c, const struct lt_match *m, uint64_t off, const char *stream)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        struct cand *v = realloc(c->v, ncap * sizeof *v);
        if (!v)
            return -1;
        c->v = v;
        c->cap = ncap;
    }
    struct cand *x = &c->v[c->n];
    x->m = *m;
    x->m.path = strdup(m->path);
    x->off = off;
    x->stream = stream;
    if (!x->m.path)
        return -1;
    c->n++;
    return 0;
}

static uint64_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Where k's content lives among its path's generations: its inode (with the same first
 * bytes), else the newest generation starting with the same bytes (a copytruncate copy).
 * Returns the index in sib, or -1. */
static long locate(const struct lt_ckpt *k, const struct lt_matches *sib)
{
    long by_content = -1;
    for (size_t i = 0; i < sib->n; i++) {
        const struct lt_match *x = &sib->v[i];
        if (!lt_same_prefix(x->path, k->fp, k->fp_len))
            continue;
        if (x->dev == k->dev && x->ino == k->ino)
            return (long)i;
        if (by_content < 0 || x->mtime_ns > sib->v[by_content].mtime_ns)
            by_content = (long)i;
    }
    return by_content;
}

/* True when a generation already has a checkpoint of this source for its content. */
static bool checkpointed(struct logtail *lt, struct lt_source *s, const struct lt_match *x)
{
    struct lt_ckpt *k = lt_ckpts_find(&lt->ckpts, s->key, x->dev, x->ino);
    return k && lt_same_prefix(x->path, k->fp, k->fp_len);
}

/* Adds what checkpoint k needs read: its content's new home from k's offset, and every newer
 * generation no one has read, from 0. */
static int recover_ckpt(struct logtail *lt, struct lt_source *s, const struct lt_matches *m,
                        const struct lt_ckpt *k, struct cands *c)
{
    const struct lt_match *here = in_matches(m, k->dev, k->ino);
    if (here && lt_same_prefix(here->path, k->fp, k->fp_len))
        return 0; /* still there: resumed by the normal scan */
    struct lt_matches sib;
    if (lt_siblings(k->path, &sib) != 0) {
        lt_matches_free(&sib);
        return -1;
    }
    int rc = 0;
    long at = locate(k, &sib);
    int64_t since = (int64_t)k->updated_s * 1000000000LL;
    if (at >= 0) {
        since = sib.v[at].mtime_ns;
        if (size_of(sib.v[at].path) > k->offset && !have(c, sib.v[at].dev, sib.v[at].ino))
            rc = add(c, &sib.v[at], k->offset, k->path);
    }
    for (size_t i = 0; rc == 0 && i < sib.n; i++) {
        const struct lt_match *x = &sib.v[i];
        if ((long)i == at || x->mtime_ns <= since || have(c, x->dev, x->ino) ||
            followed(lt, s, x->dev, x->ino) || checkpointed(lt, s, x) ||
            (s->cfg.publish_multi_logs && in_matches(m, x->dev, x->ino)))
            continue;
        rc = add(c, x, 0, k->path);
    }
    lt_matches_free(&sib);
    return rc;
}

static int by_mtime(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->m.mtime_ns < y->m.mtime_ns ? -1 : x->m.mtime_ns > y->m.mtime_ns;
}

struct lt_file *lt_follow_rotated(struct logtail *lt, struct lt_source *s, const struct lt_match *m,
                                  uint64_t off, const char *stream)
{
    struct lt_file *pred = lt_predecessor(lt, s, stream);
    struct lt_file *f = lt_file_new(lt, s, m);
    char *sp = strdup(stream);
    if (!f || !sp) {
        free(sp);
        return NULL;
    }
    free(f->stream_path);
    f->stream_path = sp;
    f->pred_id = pred ? pred->id : 0;
    if (pred)
        pred->superseded = true;
    if (lt_file_open(lt, f) == 0 && f->read_off != off)
        lt_file_resume_at(lt, f, off);
    lt_start_drain(lt, f, "is a rotated file");
    return f;
}

void lt_recover_rotated(struct logtail *lt, struct lt_source *s, const struct lt_matches *m)
{
    struct lt_ckpts *ck = &lt->ckpts;
    struct cands c = {0};
    for (size_t i = 0; i < ck->n; i++) {
        const struct lt_ckpt *k = &ck->v[i];
        if (k->src != s->key || k->claimed)
            continue;
        if (recover_ckpt(lt, s, m, k, &c) != 0) {
            cw_error(LT_COMP, "out of memory looking for rotated files of %s", k->path);
            break;
        }
    }
    if (c.n > 1)
        qsort(c.v, c.n, sizeof *c.v, by_mtime);
    for (size_t i = 0; i < c.n; i++) {
        cw_info(LT_COMP,
                "%s (a generation of %s) was rotated while stopped: sending it from "
                "offset %llu",
                c.v[i].m.path, c.v[i].stream, (unsigned long long)c.v[i].off);
        (void)lt_follow_rotated(lt, s, &c.v[i].m, c.v[i].off, c.v[i].stream);
        free(c.v[i].m.path);
    }
    free(c.v);
}
