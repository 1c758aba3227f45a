/* proclist — see proclist.h. */
#include "collectors/proclist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

/* /proc/<pid>/stat is one line of at most ~700 bytes (comm is 64 bytes at most for kthreads). */
#define STAT_BUF 1024
/* include/linux/sched.h: "I am a kernel thread" (field 9 of /proc/<pid>/stat) */
#define PF_KTHREAD 0x00200000u
/* One getdents64 call lists ~2,700 /proc entries (24-32 bytes each). */
#define DENTS_BUF 65536

struct pl_entry {
    int32_t pid;
    int fd; /* -1 once taken over by the current round or closed */
    uint64_t starttime;
};

struct proclist {
    size_t max_fds;
    struct pl_entry *prev, *cur; /* cached descriptors of the last and this round, by pid */
    size_t nprev, ncur, capent;
    struct coll_proc *procs;
    size_t nprocs, capprocs;
    char dents[DENTS_BUF];
};

struct proclist *proclist_new(size_t max_fds)
{
    struct proclist *pl = calloc(1, sizeof *pl);
    if (pl)
        pl->max_fds = max_fds;
    return pl;
}

static void close_entries(struct pl_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].fd >= 0) {
            close(e[i].fd);
            e[i].fd = -1;
        }
}

void proclist_free(struct proclist *pl)
{
    if (!pl)
        return;
    close_entries(pl->prev, pl->nprev);
    close_entries(pl->cur, pl->ncur);
    free(pl->prev);
    free(pl->cur);
    free(pl->procs);
    free(pl);
}

size_t proclist_cached(const struct proclist *pl)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->ncur; i++)
        n += pl->cur[i].fd >= 0;
    return n;
}

/* Parses "<pid> (<comm>) <state> ... <9 flags> ... <20 num_threads> <21> <22 starttime>". */
static int parse_stat(const char *buf, size_t len, struct coll_proc *p)
{
    const char *end = buf + len, *open = memchr(buf, '(', len), *close = memrchr(buf, ')', len);
    if (!open || !close || close < open || close + 2 >= end)
        return -1;
    size_t n = (size_t)(close - open - 1);
    if (n >= sizeof p->comm)
        n = sizeof p->comm - 1;
    memcpy(p->comm, open + 1, n);
    p->comm[n] = '\0';
    p->state = close[2];
    /* from the state (field 3), 6 words on is field 9 (flags), 11 more is field 20 */
    const char *q = coll_skip_words(close + 2, end, 6);
    uint64_t flags, threads, skip;
    if (coll_u64(&q, end, &flags) != 0)
        return -1;
    q = coll_skip_words(q, end, 10);
    if (coll_u64(&q, end, &threads) != 0 || coll_u64(&q, end, &skip) != 0 ||
        coll_u64(&q, end, &p->starttime) != 0)
        return -1;
    p->threads = (uint32_t)threads;
    p->kthread = (flags & PF_KTHREAD) != 0;
    return 0;
}

static int push_proc(struct proclist *pl, const struct coll_proc *p)
{
    if (pl->nprocs == pl->capprocs) {
        size_t cap = pl->capprocs ? pl->capprocs * 2 : 512;
        struct coll_proc *np = cap <= COLL_MAX_PROCS ? realloc(pl->procs, cap * sizeof *np) : NULL;
        if (!np)
            return -1;
        pl->procs = np;
        pl->capprocs = cap;
    }
    pl->procs[pl->nprocs++] = *p;
    return 0;
}

/* Keeps fd for the next round (cur is appended in listing order: ascending pids on procfs). */
static void keep_fd(struct proclist *pl, size_t limit, int32_t pid, int fd, uint64_t start)
{
    if (pl->ncur >= limit || pl->ncur == pl->capent ||
        (pl->ncur > 0 && pl->cur[pl->ncur - 1].pid >= pid)) {
        close(fd);
        return;
    }
    pl->cur[pl->ncur++] = (struct pl_entry){pid, fd, start};
}

static int cmp_entry(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = ((const struct pl_entry *)b)->pid;
    return (x > y) - (x < y);
}

/* Takes over last round's descriptor of pid, if any; returns it or -1. */
static int take_prev(struct proclist *pl, int32_t pid, uint64_t *start)
{
    struct pl_entry *e = pl->prev ? bsearch(&pid, pl->prev, pl->nprev, sizeof *e, cmp_entry) : NULL;
    if (!e || e->fd < 0)
        return -1;
    int fd = e->fd;
    e->fd = -1;
    *start = e->starttime;
    return fd;
}

/* Reads one whole /proc/<pid>/stat record (one read: procfs hands it over at once). */
static ssize_t read_record(int fd, char *buf, bool at_zero)
{
    ssize_t r;
    do
        r = at_zero ? pread(fd, buf, STAT_BUF - 1, 0) : read(fd, buf, STAT_BUF - 1);
    while (r < 0 && errno == EINTR);
    if (r >= 0)
        buf[r] = '\0';
    return r;
}

/* Drops every cached descriptor (the process ran out of them: give them back). */
static void drop_cache(struct proclist *pl)
{
    close_entries(pl->prev, pl->nprev);
    close_entries(pl->cur, pl->ncur);
    pl->ncur = 0;
}

/* Opens <pid>/stat under procfd; on EMFILE/ENFILE gives the cache back and tries once more. */
static int open_stat(struct proclist *pl, int procfd, int32_t pid, size_t *limit)
{
    char rel[32];
    snprintf(rel, sizeof rel, "%d/stat", (int)pid);
    int fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && *limit > 0) {
        drop_cache(pl);
        *limit = 0;
        fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC);
    }
    return fd;
}

/* Re-reads last round's descriptor of pid into *p; returns it, or -1 (none, or that process
 * was reaped: ESRCH, and the pid may since name another process). */
static int read_cached(struct proclist *pl, int32_t pid, struct coll_proc *p)
{
    char buf[STAT_BUF];
    uint64_t start = 0;
    int fd = take_prev(pl, pid, &start);
    if (fd < 0)
        return -1;
    ssize_t r = read_record(fd, buf, true);
    if (r > 0 && parse_stat(buf, (size_t)r, p) == 0 && p->starttime == start)
        return fd;
    close(fd);
    return -1;
}

/* Opens and reads <pid>/stat into *p; returns the descriptor, or -1 (the process exited). */
static int read_fresh(struct proclist *pl, int procfd, int32_t pid, size_t *limit,
                      struct coll_proc *p)
{
    char buf[STAT_BUF];
    int fd = open_stat(pl, procfd, pid, limit);
    if (fd < 0)
        return -1;
    ssize_t r = read_record(fd, buf, false);
    if (r <= 0 || parse_stat(buf, (size_t)r, p) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one process and lists it; returns -1 only when the list cannot grow. */
static int scan_one(struct proclist *pl, int procfd, int32_t pid, size_t *limit)
{
    struct coll_proc p;
    int fd = read_cached(pl, pid, &p);
    if (fd < 0 && (fd = read_fresh(pl, procfd, pid, limit, &p)) < 0)
        return 0; /* exited between the listing and the read */
    p.pid = pid;
    if (push_proc(pl, &p) != 0) {
        close(fd);
        return -1;
    }
    keep_fd(pl, *limit, pid, fd, p.starttime);
    return 0;
}

/* How many descriptors this round may keep: the cap, within an eighth of RLIMIT_NOFILE, and
 * none unless the tree is a procfs (a fixture's files are replaced between rounds). */
static size_t fd_limit(const struct proclist *pl, int procfd)
{
    struct statfs sf;
    struct rlimit rl;
    if (pl->max_fds == 0 || fstatfs(procfd, &sf) != 0 || sf.f_type != PROC_SUPER_MAGIC ||
        getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 8 < pl->max_fds)
        return (size_t)(rl.rlim_cur / 8);
    return pl->max_fds;
}

/* Makes last round's cache `prev` and gives `cur` room for `limit` entries. */
static int rotate(struct proclist *pl, size_t limit)
{
    struct pl_entry *t = pl->prev;
    pl->prev = pl->cur;
    pl->nprev = pl->ncur;
    pl->cur = t;
    pl->ncur = 0;
    if (limit > pl->capent || !pl->cur) {
        size_t cap = limit > pl->capent ? limit : pl->capent;
        struct pl_entry *a = realloc(pl->cur, (cap ? cap : 1) * sizeof *a);
        struct pl_entry *b = a ? realloc(pl->prev, (cap ? cap : 1) * sizeof *b) : NULL;
        if (a)
            pl->cur = a;
        if (!b)
            return -1;
        pl->prev = b;
        pl->capent = cap;
    }
    return 0;
}

/* Lists the pid entries of procfd with getdents64 and reads each. */
static int list_dir(struct proclist *pl, int procfd, size_t limit)
{
    for (;;) {
        ssize_t n = getdents64(procfd, pl->dents, sizeof pl->dents);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? 0 : -1;
        for (ssize_t off = 0; off < n;) {
            const struct dirent64 *de = (const struct dirent64 *)(const void *)(pl->dents + off);
            off += de->d_reclen;
            const char *s = de->d_name;
            if (*s < '1' || *s > '9')
                continue;
            uint64_t pid;
            if (coll_u64(&s, s + strlen(s), &pid) != 0 || *s || pid > INT32_MAX)
                continue;
            if (scan_one(pl, procfd, (int32_t)pid, &limit) != 0)
                return 0; /* COLL_MAX_PROCS or out of memory: the list is cut there */
        }
    }
}

int proclist_scan(struct proclist *pl, const char *root, const struct coll_proc **out, size_t *n)
{
    char path[COLL_PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/proc", root);
    if (len < 0 || (size_t)len >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool starved = procfd < 0 && (errno == EMFILE || errno == ENFILE) && pl->ncur > 0;
    if (starved) { /* the process ran out of descriptors: give the cache back */
        drop_cache(pl);
        procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (procfd < 0)
        return -1;
    size_t limit = starved ? 0 : fd_limit(pl, procfd);
    if (rotate(pl, limit) != 0)
        limit = 0;
    pl->nprocs = 0;
    int rc = list_dir(pl, procfd, limit);
    int saved = errno;
    close_entries(pl->prev, pl->nprev); /* pids gone since last round */
    pl->nprev = 0;
    close(procfd);
    errno = saved;
    *out = pl->procs;
    *n = pl->nprocs;
    return rc;
}
