/* disk — statfs(2) of the mounted file systems listed in <root>/proc/1/mountinfo (or
 * <root>/proc/self/mountinfo when that is unreadable), as
 * telegraf's inputs.disk over gopsutil (values with f_frsize, equal to f_bsize on Linux):
 *   total = f_blocks*frsize, free = f_bavail*frsize (what an unprivileged user can still write),
 *   used = (f_blocks - f_bfree)*frsize, used_percent = 100*used/(used+free) (as df),
 *   inodes_total = f_files, inodes_free = f_ffree, inodes_used = f_files - f_ffree.
 * Dimensions: path (mount point), device (source without "/dev/"; dropped with drop_device),
 * fstype. A file system whose total is 0 is skipped, as telegraf does. When a mount point is
 * mounted over, only the visible (last) mount is reported.
 *
 * Which mounts: with no resources or "*", every mount except the pseudo and virtual types in
 * skip_fs[] and the network types in net_fs[] (reasons in docs/metrics.md); a mount point named
 * in resources is reported whatever its type (ignore_file_system_types still applies).
 * Network file systems can hang statfs forever when the server is gone, so they are sampled in
 * a helper thread with a timeout; a mount whose previous probe is still stuck is skipped. */
#include "collectors/internal.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static const struct coll_field fields[] = {
    {"free", "disk_free", "Bytes"},
    {"total", "disk_total", "Bytes"},
    {"used", "disk_used", "Bytes"},
    {"used_percent", "disk_used_percent", "Percent"},
    {"inodes_free", "disk_inodes_free", "Count"},
    {"inodes_total", "disk_inodes_total", "Count"},
    {"inodes_used", "disk_inodes_used", "Count"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const skip_fs[] = {
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "overlay",
    "aufs",
    "squashfs",
    "autofs",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "hugetlbfs",
    "binfmt_misc",
    "nsfs",
    "ramfs",
    "rpc_pipefs",
    "nfsd",
    "efivarfs",
    "selinuxfs",
    "fuse.lxcfs",
    "fuse.gvfsd-fuse",
    "fuse.portal",
    "devfs",
    "shiftfs",
    NULL,
};
static const char *const net_fs[] = {
    "nfs",       "nfs4",        "cifs",           "smb3",        "smbfs", "fuse.sshfs", "ceph",
    "fuse.ceph", "glusterfs",   "fuse.glusterfs", "9p",          "afs",   "lustre",     "gpfs",
    "fuse.s3fs", "fuse.rclone", "davfs",          "fuse.davfs2", "ncpfs", "coda",       NULL,
};

struct mnt {
    size_t mp, dev, fs; /* offsets into arena */
};

/* A statfs still running in a helper thread: shared by the thread and the owner (refs). */
struct probe {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, rc;
    bool done;
    collectors_statfs_fn fn;
    void *ud;
    struct collectors_statfs out;
    char path[COLL_PATH_MAX];
};

struct disk_state {
    coll_mask mask;
    struct collectors_list mounts, ignore_fs;
    bool all, drop_device;
    collectors_statfs_fn fn;
    void *ud;
    int timeout_ms;
    struct mnt *m;
    size_t nm, capm;
    char *arena;
    size_t alen, acap;
    struct probe **stuck; /* probes that timed out and have not finished yet */
    size_t nstuck;
};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

static int default_statfs(void *ud, const char *path, struct collectors_statfs *out)
{
    (void)ud;
    struct statvfs v;
    if (statvfs(path, &v) != 0)
        return -1;
    out->frsize = v.f_frsize ? v.f_frsize : v.f_bsize;
    out->blocks = v.f_blocks;
    out->bfree = v.f_bfree;
    out->bavail = v.f_bavail;
    out->files = v.f_files;
    out->ffree = v.f_ffree;
    return 0;
}

static void probe_unref(struct probe *p)
{
    pthread_mutex_lock(&p->mu);
    int left = --p->refs;
    pthread_mutex_unlock(&p->mu);
    if (left == 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
    }
}

static void disk_destroy(void *st)
{
    struct disk_state *s = st;
    coll_list_free(&s->mounts);
    coll_list_free(&s->ignore_fs);
    for (size_t i = 0; i < s->nstuck; i++)
        probe_unref(s->stuck[i]);
    free(s->stuck);
    free(s->m);
    free(s->arena);
    free(s);
}

static void *disk_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct disk_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "disk", &o->plugin[COLL_DISK].measurements, &s->mask, err,
                       errlen) != 0 ||
        coll_list_copy(&s->mounts, &o->plugin[COLL_DISK].resources) != 0 ||
        coll_list_copy(&s->ignore_fs, &o->disk_ignore_fs) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        disk_destroy(s);
        return NULL;
    }
    s->all = s->mounts.n == 0 || coll_list_has(&s->mounts, "*");
    s->drop_device = o->disk_drop_device;
    s->fn = o->statfs_fn ? o->statfs_fn : default_statfs;
    s->ud = o->statfs_ud;
    s->timeout_ms = o->netfs_timeout_ms > 0 ? o->netfs_timeout_ms : 2000;
    return s;
}

/* Appends the mountinfo-escaped string (\040 etc.) to the arena; returns its offset or -1. */
static long arena_add(struct disk_state *s, const char *p, size_t n)
{
    if (s->alen + n + 1 > s->acap) {
        size_t cap = s->acap ? s->acap * 2 : 4096;
        while (cap < s->alen + n + 1)
            cap *= 2;
        if (cap > COLL_READ_MAX)
            return -1;
        char *a = realloc(s->arena, cap);
        if (!a)
            return -1;
        s->arena = a;
        s->acap = cap;
    }
    size_t start = s->alen;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\\' && i + 3 < n && p[i + 1] >= '0' && p[i + 1] <= '3' && p[i + 2] >= '0' &&
            p[i + 2] <= '7' && p[i + 3] >= '0' && p[i + 3] <= '7') {
            ch = (char)((p[i + 1] - '0') * 64 + (p[i + 2] - '0') * 8 + (p[i + 3] - '0'));
            i += 3;
        }
        s->arena[s->alen++] = ch;
    }
    s->arena[s->alen++] = '\0';
    return (long)start;
}

/* Splits the next blank-separated word of [*p, end). */
static size_t word(const char **p, const char *end, const char **start)
{
    const char *q = *p;
    while (q < end && *q == ' ')
        q++;
    *start = q;
    while (q < end && *q != ' ' && *q != '\n')
        q++;
    *p = q;
    return (size_t)(q - *start);
}

static int add_mount(struct disk_state *s, const char *mp, size_t mpl, const char *dev, size_t devl,
                     const char *fs, size_t fsl)
{
    if (s->nm == s->capm) {
        size_t cap = s->capm ? s->capm * 2 : 32;
        struct mnt *m = realloc(s->m, cap * sizeof *m);
        if (!m)
            return -1;
        s->m = m;
        s->capm = cap;
    }
    long a = arena_add(s, mp, mpl), b = arena_add(s, dev, devl), f = arena_add(s, fs, fsl);
    if (a < 0 || b < 0 || f < 0)
        return -1;
    s->m[s->nm++] = (struct mnt){(size_t)a, (size_t)b, (size_t)f};
    return 0;
}

/* One mountinfo line: id parent maj:min root mountpoint opts [optional...] - fstype source ... */
static int mountinfo_line(struct disk_state *s, const char *p, const char *end)
{
    const char *mp, *w, *fs, *dev;
    size_t mpl, wl, fsl, devl;
    p = coll_skip_words(p, end, 4);
    mpl = word(&p, end, &mp);
    do
        wl = word(&p, end, &w);
    while (wl > 0 && !(wl == 1 && *w == '-'));
    fsl = word(&p, end, &fs);
    devl = word(&p, end, &dev);
    if (mpl == 0 || fsl == 0)
        return 0;
    return add_mount(s, mp, mpl, dev, devl, fs, fsl);
}

static int read_mounts(struct disk_state *s, struct coll_ctx *c)
{
    size_t len;
    /* pid 1's view first (gopsutil does the same: with a host root mounted in a container,
     * "self" would be the container's own mounts), then our own. */
    if (coll_read(c, "/proc/1/mountinfo", &len) != 0 &&
        coll_read(c, "/proc/self/mountinfo", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    s->nm = 0;
    s->alen = 0;
    const char *p = c->buf, *end = c->buf + len;
    while (p < end) {
        const char *next = coll_next_line(p, end);
        if (mountinfo_line(s, p, next) != 0)
            return coll_fail(c, "out of memory reading %s", c->path);
        p = next;
    }
    return 0;
}

/* True when a later entry mounts over the same mount point (only the last one is visible). */
static bool shadowed(const struct disk_state *s, size_t i)
{
    const char *mp = s->arena + s->m[i].mp;
    for (size_t j = i + 1; j < s->nm; j++)
        if (strcmp(s->arena + s->m[j].mp, mp) == 0)
            return true;
    return false;
}

static bool selected(const struct disk_state *s, const struct mnt *m)
{
    const char *mp = s->arena + m->mp, *fs = s->arena + m->fs;
    if (coll_list_has(&s->ignore_fs, fs))
        return false;
    if (coll_list_has(&s->mounts, mp))
        return true;
    return s->all && !in_list(skip_fs, fs) && !in_list(net_fs, fs);
}

static void *probe_thread(void *arg)
{
    struct probe *p = arg;
    struct collectors_statfs out;
    int rc = p->fn(p->ud, p->path, &out);
    pthread_mutex_lock(&p->mu);
    p->out = out;
    p->rc = rc;
    p->done = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    probe_unref(p);
    return NULL;
}

/* Drops stuck probes that finished; returns true if `path` is still stuck. */
static bool still_stuck(struct disk_state *s, const char *path)
{
    bool stuck = false;
    size_t j = 0;
    for (size_t i = 0; i < s->nstuck; i++) {
        struct probe *p = s->stuck[i];
        pthread_mutex_lock(&p->mu);
        bool done = p->done;
        pthread_mutex_unlock(&p->mu);
        if (done) {
            probe_unref(p);
            continue;
        }
        if (strcmp(p->path, path) == 0)
            stuck = true;
        s->stuck[j++] = p;
    }
    s->nstuck = j;
    return stuck;
}

static struct probe *probe_start(struct disk_state *s, const char *path)
{
    struct probe *p = calloc(1, sizeof *p);
    struct probe **st = realloc(s->stuck, (s->nstuck + 1) * sizeof *st);
    if (!p || !st) {
        free(p);
        return NULL;
    }
    s->stuck = st;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->refs = 2;
    p->fn = s->fn;
    p->ud = s->ud;
    snprintf(p->path, sizeof p->path, "%s", path);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, probe_thread, p);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return NULL;
    }
    return p;
}

/* statfs in a helper thread, waiting at most timeout_ms. Returns 0 or -1 (failed, timed out,
 * or a previous probe of the same path is still stuck). */
static int statfs_bounded(struct disk_state *s, const char *path, struct collectors_statfs *out)
{
    if (still_stuck(s, path))
        return -1;
    struct probe *p = probe_start(s, path);
    if (!p)
        return -1;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += s->timeout_ms / 1000;
    dl.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (!p->done && pthread_cond_timedwait(&p->cv, &p->mu, &dl) == 0)
        ;
    bool done = p->done;
    int rc = done ? p->rc : -1;
    if (done)
        *out = p->out;
    pthread_mutex_unlock(&p->mu);
    if (done) {
        probe_unref(p);
        return rc;
    }
    cw_warn("disk", "statfs %s did not answer within %d ms; skipping it", path, s->timeout_ms);
    s->stuck[s->nstuck++] = p;
    return -1;
}

static void emit_mount(struct coll_ctx *c, const struct disk_state *s, const struct mnt *m,
                       const struct collectors_statfs *v)
{
    const char *dev = s->arena + m->dev;
    if (strncmp(dev, "/dev/", 5) == 0)
        dev += 5;
    struct collectors_dim d[3] = {
        {"path", s->arena + m->mp}, {"device", dev}, {"fstype", s->arena + m->fs}};
    if (s->drop_device)
        d[1] = d[2];
    size_t nd = s->drop_device ? 2 : 3;
    double total = (double)v->blocks * (double)v->frsize;
    double free_b = (double)v->bavail * (double)v->frsize;
    double used = (double)(v->blocks - v->bfree) * (double)v->frsize;
    double pct = used + free_b > 0 ? 100.0 * used / (used + free_b) : 0.0;
    double vals[NFIELDS] = {free_b,
                            total,
                            used,
                            pct,
                            (double)v->ffree,
                            (double)v->files,
                            (double)(v->files - v->ffree)};
    for (unsigned i = 0; i < NFIELDS; i++)
        coll_emit(c, fields, s->mask, i, vals[i], d, nd);
}

static void sample_mount(struct coll_ctx *c, struct disk_state *s, const struct mnt *m)
{
    char path[COLL_PATH_MAX];
    const char *mp = s->arena + m->mp;
    int n = snprintf(path, sizeof path, "%s%s", c->root, mp);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    struct collectors_statfs v;
    int rc =
        in_list(net_fs, s->arena + m->fs) ? statfs_bounded(s, path, &v) : s->fn(s->ud, path, &v);
    if (rc != 0 || v.blocks == 0 || v.bfree > v.blocks || v.ffree > v.files)
        return;
    emit_mount(c, s, m, &v);
}

static int disk_gather(void *st, struct coll_ctx *c)
{
    struct disk_state *s = st;
    if (read_mounts(s, c) != 0)
        return -1;
    for (size_t i = 0; i < s->nm; i++)
        if (selected(s, &s->m[i]) && !shadowed(s, i))
            sample_mount(c, s, &s->m[i]);
    return 0;
}

const struct coll_impl coll_disk_impl = {"disk", disk_create, disk_gather, disk_destroy};
