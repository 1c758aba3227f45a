/* recover — files rotated away while the agent was stopped. A checkpoint names (device,
 * inode, fingerprint, offset) and the path the file was followed at. If that inode now lives
 * under another name in the same directory (app.log -> app.log.1), still has the same first
 * bytes and has bytes past the offset, it is followed again as a rotated file: read from the
 * offset to its end before the file now at the path, so a restart during a rotation loses
 * nothing. (The reference agent loses that tail.)
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cand {
    struct lt_match m;
    const struct lt_ckpt *k;
};

static bool in_matches(const struct lt_matches *m, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].dev == dev && m->v[i].ino == ino)
            return true;
    return false;
}

static bool same_prefix(const char *path, const struct lt_ckpt *k)
{
    char buf[LT_FINGERPRINT_MAX];
    char why[160];
    int fd = lt_open_checked(path, why, sizeof why);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, k->fp_len, 0);
    close(fd);
    return n == (ssize_t)k->fp_len && lt_fnv1a(buf, k->fp_len) == k->fp;
}

/* Looks for k's inode in the directory of k->path; fills c on success. */
static bool find_sibling(const struct lt_ckpt *k, struct cand *c)
{
    char dir[4096], path[4096 + 258];
    snprintf(dir, sizeof dir, "%s", k->path ? k->path : "");
    char *slash = strrchr(dir, '/');
    if (!slash)
        return false;
    *(slash == dir ? slash + 1 : slash) = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    struct stat st;
    while (!found && (e = readdir(d)) != NULL) {
        if ((uint64_t)e->d_ino != k->ino)
            continue;
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
        found = stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == k->dev &&
                (uint64_t)st.st_ino == k->ino && (uint64_t)st.st_size > k->offset &&
                same_prefix(path, k);
    }
    closedir(d);
    if (!found)
        return false;
    c->m.path = strdup(path);
    c->m.dev = k->dev;
    c->m.ino = k->ino;
    c->m.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    c->k = k;
    return c->m.path != NULL;
}

static int by_mtime(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return x->m.mtime_ns < y->m.mtime_ns ? -1 : x->m.mtime_ns > y->m.mtime_ns;
}

/* Follows c as a rotated file of the stream it was checkpointed under. */
static void follow_rotated(struct logtail *lt, struct lt_source *s, struct cand *c)
{
    struct lt_file *pred = lt_predecessor(lt, s, c->k->path);
    struct lt_file *f = lt_file_new(lt, s, &c->m);
    char *stream = strdup(c->k->path);
    if (!f || !stream) {
        free(stream);
        return;
    }
    free(f->stream_path);
    f->stream_path = stream;
    f->pred_id = pred ? pred->id : 0;
    if (lt_file_open(lt, f) != 0)
        return;
    cw_info(LT_COMP, "%s (was %s) was rotated while stopped: sending it from offset %llu",
            c->m.path, c->k->path, (unsigned long long)f->read_off);
    lt_start_drain(lt, f, "is a rotated file");
}

void lt_recover_rotated(struct logtail *lt, struct lt_source *s, const struct lt_matches *m)
{
    struct lt_ckpts *ck = &lt->ckpts;
    struct cand *v = ck->n ? calloc(ck->n, sizeof *v) : NULL;
    size_t n = 0;
    for (size_t i = 0; v && i < ck->n; i++) {
        const struct lt_ckpt *k = &ck->v[i];
        if (k->src != s->key || k->claimed || in_matches(m, k->dev, k->ino))
            continue;
        if (find_sibling(k, &v[n]))
            n++;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_mtime);
    for (size_t i = 0; i < n; i++) {
        follow_rotated(lt, s, &v[i]);
        free(v[i].m.path);
    }
    free(v);
}
