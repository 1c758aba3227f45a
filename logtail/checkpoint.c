/* checkpoint — committed offsets on disk. One state file, `<state_dir>/logtail.state`, holds a
 * record per followed file, keyed by (source, device, inode) so a file keeps its state across
 * renames (source = FNV-1a of the file_path pattern):
 *   cwagent-logtail-state 1
 *   <source hex> <dev> <ino> <fp_len> <fp hex> <offset> <updated epoch s> <path>
 * (path: the stream path the file was first followed at, not a rotated name it has now: the
 * file and its later generations are looked for next to it after a restart, recover.c)
 * A round of changes is written atomically: temp file (0600), fsync, rename, fsync of the
 * directory (0700). One file rather than one per followed file: each atomic replacement costs
 * an inode allocation, which dominated the CPU profile with 100 files (ext4).
 * At load, records not updated for 14 days whose file is no longer at its recorded path are
 * dropped (a quiet file that is still there keeps its offset).
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

#define STATE_NAME   "logtail.state"
#define STATE_MAGIC  "cwagent-logtail-state 1"
#define STATE_MAX    (64u << 20) /* refuse to load a state file larger than this */
#define CKPT_STALE_S (14 * 86400)

static void state_path(const struct lt_ckpts *c, const char *suffix, char *out, size_t n)
{
    snprintf(out, n, "%s/" STATE_NAME "%s", c->dir, suffix);
}

static int push(struct lt_ckpts *c, const struct lt_ckpt *k)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct lt_ckpt *v = realloc(c->v, ncap * sizeof *v);
        if (!v)
            return -1;
        c->v = v;
        c->cap = ncap;
    }
    c->v[c->n++] = *k;
    return 0;
}

/* Reads one unsigned field (base 10 or 16) followed by a space. */
static int field(char **p, int base, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, base);
    if (errno || end == *p || *end != ' ')
        return -1;
    *out = v;
    *p = end + 1;
    return 0;
}

/* Parses one record line into k (path copied). 0 or -1. */
static int parse_line(char *line, struct lt_ckpt *k)
{
    uint64_t fp_len, updated;
    char *p = line;
    if (field(&p, 16, &k->src) || field(&p, 10, &k->dev) || field(&p, 10, &k->ino) ||
        field(&p, 10, &fp_len) || field(&p, 16, &k->fp) || field(&p, 10, &k->offset) ||
        field(&p, 10, &updated) || fp_len > LT_FINGERPRINT_MAX || !*p)
        return -1;
    k->fp_len = (uint32_t)fp_len;
    k->updated_s = (int64_t)updated;
    k->path = strdup(p);
    return k->path ? 0 : -1;
}

static bool still_there(const struct lt_ckpt *k)
{
    struct stat st;
    return stat(k->path, &st) == 0 && (uint64_t)st.st_dev == k->dev &&
           (uint64_t)st.st_ino == k->ino;
}

static void parse_all(struct lt_ckpts *c, char *text, const char *path, int64_t now)
{
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, STATE_MAGIC) != 0) {
        cw_warn(LT_COMP, "%s is not a logtail state file: ignored", path);
        return;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        struct lt_ckpt k = {0};
        if (parse_line(line, &k) != 0) {
            cw_warn(LT_COMP, "%s: skipping a malformed record", path);
        } else if (now - k.updated_s > CKPT_STALE_S && !still_there(&k)) {
            c->dirty = true; /* dropped: rewrite without it */
        } else if (push(c, &k) == 0) {
            continue;
        }
        free(k.path);
    }
}

int lt_ckpts_load(struct lt_ckpts *c, const char *dir, int64_t now_s)
{
    memset(c, 0, sizeof *c);
    if (!dir)
        return 0;
    c->dir = strdup(dir);
    if (!c->dir)
        return -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cw_error(LT_COMP, "cannot create state dir %s: %s", dir, strerror(errno));
        return -1;
    }
    char path[4096];
    state_path(c, "", path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* first start */
    if (st.st_size > (off_t)STATE_MAX) {
        cw_error(LT_COMP, "%s is too large (%lld bytes): ignored", path, (long long)st.st_size);
        return 0;
    }
    FILE *fp = fopen(path, "r");
    char *text = malloc((size_t)st.st_size + 1);
    size_t len = fp && text ? fread(text, 1, (size_t)st.st_size, fp) : 0;
    if (fp)
        fclose(fp);
    if (!text)
        return -1;
    text[len] = '\0';
    parse_all(c, text, path, now_s);
    free(text);
    return 0;
}

struct lt_ckpt *lt_ckpts_find(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].src == src && c->v[i].dev == dev && c->v[i].ino == ino)
            return &c->v[i];
    return NULL;
}

int lt_ckpts_put(struct lt_ckpts *c, const struct lt_ckpt *k, int64_t now_s)
{
    struct lt_ckpt *old = lt_ckpts_find(c, k->src, k->dev, k->ino);
    char *path = strdup(k->path ? k->path : "");
    if (!path)
        return -1;
    for (char *q = path; *q; q++) /* records are lines: a newline in a path becomes '?' */
        if (*q == '\n')
            *q = '?';
    struct lt_ckpt n = *k;
    n.path = path;
    n.updated_s = now_s;
    if (old) {
        n.claimed = old->claimed;
        free(old->path);
        *old = n;
    } else if (push(c, &n) != 0) {
        free(path);
        return -1;
    }
    c->dirty = true;
    return 0;
}

void lt_ckpt_remove(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino)
{
    struct lt_ckpt *k = lt_ckpts_find(c, src, dev, ino);
    if (!k)
        return;
    free(k->path);
    *k = c->v[--c->n];
    c->dirty = true;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int serialize(const struct lt_ckpts *c, struct cw_buf *b)
{
    int rc = cw_buf_append_str(b, STATE_MAGIC "\n");
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        const struct lt_ckpt *k = &c->v[i];
        rc = cw_buf_printf(b, "%016llx %llu %llu %u %016llx %llu %lld %s\n",
                           (unsigned long long)k->src, (unsigned long long)k->dev,
                           (unsigned long long)k->ino, k->fp_len, (unsigned long long)k->fp,
                           (unsigned long long)k->offset, (long long)k->updated_s, k->path);
    }
    return rc;
}

/* Logs a failed save: the 1st, 2nd, 4th, 8th... of a streak (a full disk fails every time). */
static void save_failed(struct lt_ckpts *c, const char *what, const char *path)
{
    int e = errno;
    c->failures++;
    c->streak++;
    if ((c->streak & (c->streak - 1)) == 0)
        cw_error(LT_COMP,
                 "cannot %s %s: %s (%llu failures in a row; offsets are kept in memory and "
                 "saved when writing works again, retrying with back-off)",
                 what, path, strerror(e), (unsigned long long)c->streak);
}

static int replace_file(struct lt_ckpts *c, const struct cw_buf *b)
{
    char tmp[4096], final[4096];
    state_path(c, ".tmp", tmp, sizeof tmp);
    state_path(c, "", final, sizeof final);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || write_all(fd, b->data, b->len) != 0 || fsync(fd) != 0) {
        save_failed(c, "write", tmp);
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, final) != 0) {
        save_failed(c, "rename", tmp);
        unlink(tmp);
        return -1;
    }
    if (c->streak)
        cw_info(LT_COMP, "%s written again after %llu failed attempts", final,
                (unsigned long long)c->streak);
    c->streak = 0;
    int dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}

int lt_ckpts_save(struct lt_ckpts *c)
{
    if (!c->dir || !c->dirty)
        return 0;
    struct cw_buf b;
    cw_buf_init(&b, STATE_MAX);
    int rc = serialize(c, &b) == 0 ? replace_file(c, &b) : -1;
    if (rc == 0)
        c->dirty = false;
    cw_buf_free(&b);
    return rc;
}

void lt_ckpts_free(struct lt_ckpts *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    free(c->v);
    free(c->dir);
    memset(c, 0, sizeof *c);
}
