#include "agent/spool.h"

#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_MAGIC   "CWSP"
#define SPOOL_VERSION 1
#define SPOOL_HDR                                                                                  \
    36 /* magic 4, version 1, flags 1, ns_len 2, body_len 4, oldest 8, newest 8,                   \
          ndatums 4, crc 4 — little endian */
#define SPOOL_MAX_BODY (64u << 20) /* sanity bound on a stored body */
#define SPOOL_NAME_LEN 20          /* 16 hex digits + ".spl" */

struct idx {
    uint64_t seq;
    uint64_t size;
    int64_t newest_ms;
    uint32_t ndatums;
    int unsynced; /* spool_push_unsynced: written, not yet fsync'd */
};

struct spool {
    int dirfd;
    char *dir;
    uint64_t max_bytes;
    spool_clock_fn now_ms;
    void *clock_ud;
    struct idx *ix; /* sorted by seq, oldest first */
    size_t n, cap;
    uint64_t next_seq;
    uint64_t failing; /* consecutive failed writes */
    size_t unsynced;  /* entries with idx.unsynced set */
    struct spool_stats st;
};

/* ---- little-endian fields ---- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

struct hdr {
    uint32_t flags, ns_len, body_len, ndatums, crc;
    int64_t oldest_ms, newest_ms;
};

static void hdr_encode(unsigned char *h, const struct hdr *x)
{
    memcpy(h, SPOOL_MAGIC, 4);
    h[4] = SPOOL_VERSION;
    h[5] = (unsigned char)x->flags;
    put_le(h + 6, x->ns_len, 2);
    put_le(h + 8, x->body_len, 4);
    put_le(h + 12, (uint64_t)x->oldest_ms, 8);
    put_le(h + 20, (uint64_t)x->newest_ms, 8);
    put_le(h + 28, x->ndatums, 4);
    put_le(h + 32, x->crc, 4);
}

static int hdr_decode(const unsigned char *h, struct hdr *x)
{
    if (memcmp(h, SPOOL_MAGIC, 4) != 0 || h[4] != SPOOL_VERSION)
        return -1;
    x->flags = h[5];
    x->ns_len = (uint32_t)get_le(h + 6, 2);
    x->body_len = (uint32_t)get_le(h + 8, 4);
    x->oldest_ms = (int64_t)get_le(h + 12, 8);
    x->newest_ms = (int64_t)get_le(h + 20, 8);
    x->ndatums = (uint32_t)get_le(h + 28, 4);
    x->crc = (uint32_t)get_le(h + 32, 4);
    if (x->ns_len == 0 || x->ns_len > SPOOL_MAX_NAMESPACE || x->body_len > SPOOL_MAX_BODY)
        return -1;
    return 0;
}

/* CRC32 of the header's first 32 bytes, the namespace and the body. */
static uint32_t entry_crc(const unsigned char *h, const void *ns, size_t ns_len, const void *body,
                          size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, h, 32);
    c = crc32(c, ns, (uInt)ns_len);
    c = crc32(c, body, (uInt)len);
    return (uint32_t)c;
}

/* ---- small helpers ---- */

static int64_t now_ms(const struct spool *sp)
{
    if (sp->now_ms)
        return sp->now_ms(sp->clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void entry_name(char *out, size_t n, uint64_t seq, int tmp)
{
    snprintf(out, n, "%016llx.spl%s", (unsigned long long)seq, tmp ? ".tmp" : "");
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int is_expired(int64_t newest_ms, int64_t now)
{
    return newest_ms < now - (SPOOL_WINDOW_MS - SPOOL_EXPIRY_MARGIN_MS);
}

/* Removes index entry i and its file. */
static void drop_at(struct spool *sp, size_t i)
{
    char name[32];
    entry_name(name, sizeof name, sp->ix[i].seq, 0);
    if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
        cw_warn("spool", "cannot remove %s/%s: %s", sp->dir, name, strerror(errno));
    sp->st.bytes -= sp->ix[i].size;
    if (sp->ix[i].unsynced)
        sp->unsynced--;
    memmove(&sp->ix[i], &sp->ix[i + 1], (sp->n - i - 1) * sizeof *sp->ix);
    sp->n--;
    sp->st.entries = sp->n;
}

static int index_add(struct spool *sp, uint64_t seq, uint64_t size, int64_t newest,
                     uint32_t ndatums)
{
    if (sp->n == sp->cap) {
        size_t ncap = sp->cap ? sp->cap * 2 : 64;
        struct idx *p = realloc(sp->ix, ncap * sizeof *p);
        if (!p)
            return -1;
        sp->ix = p;
        sp->cap = ncap;
    }
    sp->ix[sp->n++] = (struct idx){seq, size, newest, ndatums, 0};
    sp->st.bytes += size;
    sp->st.entries = sp->n;
    return 0;
}

/* Drops every expired entry (any position: batches can be pushed out of time order). */
static void sweep_expired(struct spool *sp)
{
    int64_t now = now_ms(sp);
    for (size_t i = 0; i < sp->n;) {
        if (!is_expired(sp->ix[i].newest_ms, now)) {
            i++;
            continue;
        }
        cw_warn("spool",
                "dropping spooled metrics older than CloudWatch's 14-day window "
                "(entry %016llx)",
                (unsigned long long)sp->ix[i].seq);
        sp->st.dropped_datums += sp->ix[i].ndatums;
        drop_at(sp, i);
        sp->st.dropped_expired++;
    }
}

/* Drops the oldest entries until `need` more bytes fit. */
static void make_room(struct spool *sp, uint64_t need)
{
    uint64_t dropped = 0;
    while (sp->n > 0 && sp->st.bytes + need > sp->max_bytes) {
        sp->st.dropped_datums += sp->ix[0].ndatums;
        drop_at(sp, 0);
        sp->st.dropped_full++;
        dropped++;
    }
    if (dropped)
        cw_warn("spool",
                "spool full (%llu bytes): dropped the %llu oldest entries "
                "(%llu dropped so far)",
                (unsigned long long)sp->max_bytes, (unsigned long long)dropped,
                (unsigned long long)sp->st.dropped_full);
}

/* ---- opening: scan the directory ---- */

static int parse_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + 16, ".spl") != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = (v << 4) | (uint64_t)d;
    }
    *seq = v;
    return 0;
}

static int has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcmp(name + n - s, suffix) == 0;
}

/* Reads and checks the header of one entry file; returns 0 and fills size/newest. */
static int scan_entry(struct spool *sp, const char *name, uint64_t *size, int64_t *newest,
                      uint32_t *ndatums)
{
    int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    unsigned char h[SPOOL_HDR];
    struct hdr x;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read_all(fd, h, sizeof h) == 0 &&
        hdr_decode(h, &x) == 0 &&
        (uint64_t)st.st_size == (uint64_t)SPOOL_HDR + x.ns_len + x.body_len) {
        *size = (uint64_t)st.st_size;
        *newest = x.newest_ms;
        *ndatums = x.ndatums;
        rc = 0;
    }
    close(fd);
    return rc;
}

static int cmp_idx(const void *a, const void *b)
{
    uint64_t x = ((const struct idx *)a)->seq, y = ((const struct idx *)b)->seq;
    return (x > y) - (x < y);
}

static void scan_one(struct spool *sp, const char *name)
{
    uint64_t seq, size;
    int64_t newest;
    uint32_t ndatums;
    if (has_suffix(name, ".spl.tmp")) {
        unlinkat(sp->dirfd, name, 0); /* half-written before a crash */
        return;
    }
    if (parse_name(name, &seq) != 0)
        return;
    if (seq >= sp->next_seq) /* past every name seen, even a corrupt one */
        sp->next_seq = seq + 1;
    if (scan_entry(sp, name, &size, &newest, &ndatums) != 0) {
        cw_warn("spool", "removing corrupt spool file %s/%s", sp->dir, name);
        unlinkat(sp->dirfd, name, 0);
        sp->st.corrupt++;
        return;
    }
    (void)index_add(sp, seq, size, newest,
                    ndatums); /* out of memory: the file stays for next time */
}

static int scan_dir(struct spool *sp)
{
    int fd = dup(sp->dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        scan_one(sp, de->d_name);
    closedir(d);
    if (sp->n > 1)
        qsort(sp->ix, sp->n, sizeof *sp->ix, cmp_idx);
    return 0;
}

static int open_dir(struct spool *sp, const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cw_error("spool", "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (sp->dirfd < 0 || fstat(sp->dirfd, &st) != 0) {
        cw_error("spool", "cannot open %s: %s", dir, strerror(errno));
        return -1;
    }
    if ((st.st_mode & 077) && fchmod(sp->dirfd, 0700) != 0)
        cw_warn("spool", "%s is accessible to others and cannot be restricted to 0700", dir);
    return 0;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, spool_clock_fn now_fn, void *clock_ud)
{
    struct spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return NULL;
    sp->dirfd = -1;
    sp->max_bytes = max_bytes;
    sp->now_ms = now_fn;
    sp->clock_ud = clock_ud;
    sp->next_seq = 1;
    if (!(sp->dir = strdup(dir)) || open_dir(sp, dir) != 0 || scan_dir(sp) != 0) {
        spool_close(sp);
        return NULL;
    }
    sweep_expired(sp);
    make_room(sp, 0);
    if (sp->n)
        cw_info("spool", "%zu spooled metric batches (%llu bytes) to replay from %s", sp->n,
                (unsigned long long)sp->st.bytes, dir);
    return sp;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    spool_sync(sp);
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    free(sp->ix);
    free(sp->dir);
    free(sp);
}

/* ---- push ---- */

/* Writes header + ns + body to "<seq>.spl.tmp", fsyncs, renames into place, fsyncs the dir
 * (without the two fsyncs when !durable: spool_sync does them later). */
static int write_entry(struct spool *sp, uint64_t seq, const unsigned char *h, const char *ns,
                       size_t ns_len, const void *body, size_t len, int durable)
{
    char tmp[32], fin[32];
    entry_name(tmp, sizeof tmp, seq, 1);
    entry_name(fin, sizeof fin, seq, 0);
    int fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    int ok = write_all(fd, h, SPOOL_HDR) == 0 && write_all(fd, ns, ns_len) == 0 &&
             write_all(fd, body, len) == 0 && (!durable || fsync(fd) == 0);
    if (close(fd) != 0 || !ok)
        goto fail_unlink;
    if (renameat(sp->dirfd, tmp, sp->dirfd, fin) != 0)
        goto fail_unlink;
    if (durable && fsync(sp->dirfd) != 0)
        cw_warn("spool", "fsync of %s failed: %s", sp->dir, strerror(errno));
    if (sp->failing)
        cw_info("spool", "writing to %s works again (%llu writes had failed)", sp->dir,
                (unsigned long long)sp->st.write_failures);
    sp->failing = 0;
    return 0;
fail_unlink:;
    int e = errno;
    unlinkat(sp->dirfd, tmp, 0);
    errno = e;
fail:
    sp->st.write_failures++;
    /* a full disk fails every flush: the first failure of a streak and every 100th */
    if (sp->failing++ % 100 == 0)
        cw_error("spool", "cannot write %s/%s: %s (%llu failed writes so far)", sp->dir, fin,
                 strerror(errno), (unsigned long long)sp->st.write_failures);
    return -1;
}

static int push(struct spool *sp, const void *body, size_t len, const struct spool_meta *meta,
                int durable)
{
    size_t ns_len = meta->ns ? strlen(meta->ns) : 0;
    uint64_t size = (uint64_t)SPOOL_HDR + ns_len + len;
    if (ns_len == 0 || ns_len > SPOOL_MAX_NAMESPACE || len > SPOOL_MAX_BODY ||
        size > sp->max_bytes) {
        cw_warn("spool", "batch of %zu bytes cannot be spooled (spool holds %llu bytes)", len,
                (unsigned long long)sp->max_bytes);
        sp->st.dropped_full++;
        return -1;
    }
    if (is_expired(meta->newest_ms, now_ms(sp))) {
        cw_warn("spool", "not spooling a batch already outside CloudWatch's 14-day window");
        sp->st.dropped_expired++;
        return -1;
    }
    sweep_expired(sp);
    make_room(sp, size);
    struct hdr x = {meta->flags, (uint32_t)ns_len, (uint32_t)len,  meta->ndatums,
                    0,           meta->oldest_ms,  meta->newest_ms};
    unsigned char h[SPOOL_HDR];
    hdr_encode(h, &x);
    x.crc = entry_crc(h, meta->ns, ns_len, body, len);
    hdr_encode(h, &x);
    uint64_t seq = sp->next_seq++;
    if (write_entry(sp, seq, h, meta->ns, ns_len, body, len, durable) != 0)
        return -1;
    if (index_add(sp, seq, size, meta->newest_ms, meta->ndatums) != 0) {
        char fin[32];
        entry_name(fin, sizeof fin, seq, 0);
        unlinkat(sp->dirfd, fin, 0);
        return -1;
    }
    if (!durable) {
        sp->ix[sp->n - 1].unsynced = 1;
        sp->unsynced++;
    }
    return 0;
}

int spool_push(struct spool *sp, const void *body, size_t len, const struct spool_meta *meta)
{
    return push(sp, body, len, meta, 1);
}

int spool_push_unsynced(struct spool *sp, const void *body, size_t len,
                        const struct spool_meta *meta)
{
    return push(sp, body, len, meta, 0);
}

size_t spool_unsynced(const struct spool *sp)
{
    return sp->unsynced;
}

int spool_sync(struct spool *sp)
{
    if (sp->unsynced == 0)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < sp->n; i++) {
        if (!sp->ix[i].unsynced)
            continue;
        char name[32];
        entry_name(name, sizeof name, sp->ix[i].seq, 0);
        int fd = openat(sp->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            cw_warn("spool", "cannot fsync %s/%s: %s", sp->dir, name, strerror(errno));
            rc = -1;
        }
        if (fd >= 0)
            close(fd);
        sp->ix[i].unsynced = 0;
    }
    sp->unsynced = 0;
    if (fsync(sp->dirfd) != 0) {
        cw_warn("spool", "fsync of %s failed: %s", sp->dir, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* ---- replay ---- */

/* Reads entry ix[0] fully and checks it. Returns 0 (out->body owned by the caller), or -1
 * when it is corrupt or unreadable. */
static int read_entry(struct spool *sp, struct spool_entry *out)
{
    char name[32];
    entry_name(name, sizeof name, sp->ix[0].seq, 0);
    int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    unsigned char h[SPOOL_HDR];
    struct hdr x;
    int rc = -1;
    char *body = NULL;
    if (read_all(fd, h, sizeof h) != 0 || hdr_decode(h, &x) != 0 ||
        sp->ix[0].size != (uint64_t)SPOOL_HDR + x.ns_len + x.body_len)
        goto out;
    memset(out, 0, sizeof *out);
    if (!(body = malloc((size_t)x.body_len + 1)) || read_all(fd, out->ns, x.ns_len) != 0 ||
        read_all(fd, body, x.body_len) != 0)
        goto out;
    if (entry_crc(h, out->ns, x.ns_len, body, x.body_len) != x.crc)
        goto out;
    body[x.body_len] = '\0';
    out->body = body;
    out->len = x.body_len;
    out->oldest_ms = x.oldest_ms;
    out->newest_ms = x.newest_ms;
    out->ndatums = x.ndatums;
    out->flags = x.flags;
    out->seq = sp->ix[0].seq;
    rc = 0;
out:
    close(fd);
    if (rc != 0)
        free(body);
    return rc;
}

int spool_peek_oldest(struct spool *sp, struct spool_entry *out)
{
    memset(out, 0, sizeof *out);
    sweep_expired(sp);
    while (sp->n > 0) {
        if (read_entry(sp, out) == 0)
            return 0;
        cw_warn("spool", "removing corrupt spool entry %016llx in %s",
                (unsigned long long)sp->ix[0].seq, sp->dir);
        sp->st.corrupt++;
        drop_at(sp, 0);
    }
    return -1;
}

void spool_entry_release(struct spool_entry *e)
{
    free(e->body);
    e->body = NULL;
    e->len = 0;
}

/* No directory fsync here: a process crash cannot undo an unlink, and the next push's directory
 * fsync (or the kernel's writeback, within seconds) makes the removal durable. Only a power loss
 * in between can bring the entry back, and then it is sent once more: a duplicate at worst,
 * never a loss. That fsync cost ~50 us of CPU and a sleep per delivered batch. */
int spool_pop(struct spool *sp)
{
    if (sp->n == 0)
        return -1;
    drop_at(sp, 0);
    return 0;
}

int spool_oldest_seq(const struct spool *sp, uint64_t *seq)
{
    if (sp->n == 0)
        return -1;
    *seq = sp->ix[0].seq;
    return 0;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *out)
{
    *out = sp->st;
    out->entries = sp->n;
}
