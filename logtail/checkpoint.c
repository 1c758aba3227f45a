/* checkpoint — committed offsets on disk, one small text file per followed file, named
 * "<source>-<dev>-<ino>.ckpt" (source = FNV-1a of the file_path pattern) so a file keeps its
 * state across renames:
 *   cwagent-logtail 1\n source HEX\n dev N\n ino N\n fp_len N\n fp HEX\n offset N\n path P\n
 * Written atomically: temp file (0600), fsync, rename, fsync of the directory (0700).
 * At load, checkpoints not written for 14 days whose file is no longer at its recorded path
 * are purged (a quiet file that is still there keeps its offset).
 */
#include "logtail/lt_int.h"
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

#define CKPT_MAGIC     "cwagent-logtail 1"
#define CKPT_MAX_BYTES 8192
#define CKPT_STALE_S   (14 * 86400)

static void ckpt_name(const struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino,
                      const char *suffix, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%016llx-%llu-%llu.ckpt%s", c->dir, (unsigned long long)src,
             (unsigned long long)dev, (unsigned long long)ino, suffix);
}

/* Parses "key value" lines into k; 0 when all numeric keys were found. */
static int parse(char *text, struct lt_ckpt *k)
{
    int seen = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, CKPT_MAGIC) != 0)
        return -1;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp++ = '\0';
        char *end = NULL;
        errno = 0;
        bool hex = strcmp(line, "fp") == 0 || strcmp(line, "source") == 0;
        unsigned long long v = strtoull(sp, &end, hex ? 16 : 10);
        bool num_ok = errno == 0 && end != sp && *end == '\0';
        if (strcmp(line, "path") == 0) {
            free(k->path);
            k->path = strdup(sp);
        } else if (num_ok && strcmp(line, "dev") == 0) {
            k->dev = v, seen |= 1;
        } else if (num_ok && strcmp(line, "ino") == 0) {
            k->ino = v, seen |= 2;
        } else if (num_ok && strcmp(line, "fp_len") == 0 && v <= LT_FINGERPRINT_MAX) {
            k->fp_len = (uint32_t)v, seen |= 4;
        } else if (num_ok && strcmp(line, "fp") == 0) {
            k->fp = v, seen |= 8;
        } else if (num_ok && strcmp(line, "offset") == 0) {
            k->offset = v, seen |= 16;
        } else if (num_ok && strcmp(line, "source") == 0) {
            k->src = v, seen |= 32;
        }
    }
    return seen == 63 ? 0 : -1;
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

/* True when the checkpointed file still sits at its recorded path. */
static bool still_there(const struct lt_ckpt *k)
{
    struct stat st;
    return k->path && stat(k->path, &st) == 0 && (uint64_t)st.st_dev == k->dev &&
           (uint64_t)st.st_ino == k->ino;
}

/* Loads one checkpoint file (full path) unless stale or malformed. */
static void load_one(struct lt_ckpts *c, const char *path, time_t now)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CKPT_MAX_BYTES)
        return;
    size_t len = 0;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char text[CKPT_MAX_BYTES + 1];
    len = fread(text, 1, CKPT_MAX_BYTES, fp);
    fclose(fp);
    text[len] = '\0';
    struct lt_ckpt k = {0};
    if (parse(text, &k) != 0) {
        cw_warn(LT_COMP, "ignoring malformed checkpoint %s", path);
    } else if (now - st.st_mtime > CKPT_STALE_S && !still_there(&k)) {
        unlink(path);
    } else if (push(c, &k) == 0) {
        return;
    }
    free(k.path);
}

int lt_ckpts_load(struct lt_ckpts *c, const char *dir)
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
    DIR *d = opendir(dir);
    if (!d) {
        cw_error(LT_COMP, "cannot open state dir %s: %s", dir, strerror(errno));
        return -1;
    }
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".ckpt") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        load_one(c, path, now);
    }
    closedir(d);
    return 0;
}

struct lt_ckpt *lt_ckpts_find(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].src == src && c->v[i].dev == dev && c->v[i].ino == ino)
            return &c->v[i];
    return NULL;
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

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

/* Writes k atomically (temp file, fsync, rename). The rename is durable after the caller's
 * lt_ckpts_sync, done once per round of writes. 0, or -1 (logged). */
int lt_ckpt_write(const struct lt_ckpts *c, const struct lt_ckpt *k)
{
    if (!c->dir)
        return 0;
    char tmp[4096], final[4096], text[CKPT_MAX_BYTES], path[4001];
    /* keep the file line-oriented: a newline in a path becomes '?' (the path is informative) */
    snprintf(path, sizeof path, "%s", k->path ? k->path : "");
    for (char *q = path; *q; q++)
        if (*q == '\n')
            *q = '?';
    ckpt_name(c, k->src, k->dev, k->ino, ".tmp", tmp, sizeof tmp);
    ckpt_name(c, k->src, k->dev, k->ino, "", final, sizeof final);
    int n = snprintf(
        text, sizeof text,
        CKPT_MAGIC "\nsource %016llx\ndev %llu\nino %llu\nfp_len %u\nfp %016llx\noffset %llu\n"
                   "path %s\n",
        (unsigned long long)k->src, (unsigned long long)k->dev, (unsigned long long)k->ino,
        k->fp_len, (unsigned long long)k->fp, (unsigned long long)k->offset, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, text, (size_t)n) != 0 || fsync(fd) != 0) {
        cw_error(LT_COMP, "cannot write checkpoint %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, final) != 0) {
        cw_error(LT_COMP, "cannot rename checkpoint %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void lt_ckpts_sync(const struct lt_ckpts *c)
{
    if (c->dir)
        fsync_dir(c->dir);
}

void lt_ckpt_remove(struct lt_ckpts *c, uint64_t src, uint64_t dev, uint64_t ino)
{
    struct lt_ckpt *k = lt_ckpts_find(c, src, dev, ino);
    if (k) {
        free(k->path);
        *k = c->v[--c->n];
    }
    if (!c->dir)
        return;
    char final[4096];
    ckpt_name(c, src, dev, ino, "", final, sizeof final);
    if (unlink(final) == 0)
        fsync_dir(c->dir);
}

void lt_ckpts_free(struct lt_ckpts *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].path);
    free(c->v);
    free(c->dir);
    memset(c, 0, sizeof *c);
}
