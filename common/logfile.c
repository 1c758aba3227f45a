#include "common/logfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cw_logfile {
    char *path;
    int fd;
    uint64_t size;
    uint64_t max;
    unsigned backups;
};

static int open_fd(struct cw_logfile *lf)
{
    struct stat st;
    lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (lf->fd < 0)
        return -1;
    lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

struct cw_logfile *cw_logfile_open(const char *path, uint64_t max_bytes, unsigned backups)
{
    struct cw_logfile *lf = calloc(1, sizeof *lf);
    if (!lf || !(lf->path = strdup(path))) {
        free(lf);
        return NULL;
    }
    lf->max = max_bytes ? max_bytes : CW_LOGFILE_MAX_BYTES;
    lf->backups = backups ? backups : CW_LOGFILE_BACKUPS;
    if (open_fd(lf) != 0) {
        free(lf->path);
        free(lf);
        return NULL;
    }
    return lf;
}

void cw_logfile_close(struct cw_logfile *lf)
{
    if (!lf)
        return;
    if (lf->fd >= 0)
        close(lf->fd);
    free(lf->path);
    free(lf);
}

/* FILE.(n-1) -> FILE.n ... FILE -> FILE.1, then a fresh FILE. */
static void rotate(struct cw_logfile *lf)
{
    size_t n = strlen(lf->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (from && to) {
        snprintf(to, n, "%s.%u", lf->path, lf->backups);
        unlink(to);
        for (unsigned i = lf->backups; i > 1; i--) {
            snprintf(from, n, "%s.%u", lf->path, i - 1);
            snprintf(to, n, "%s.%u", lf->path, i);
            rename(from, to);
        }
        snprintf(to, n, "%s.1", lf->path);
        rename(lf->path, to);
    }
    free(from);
    free(to);
    close(lf->fd);
    if (open_fd(lf) != 0)
        lf->fd = -1;
}

void cw_logfile_sink(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    struct cw_logfile *lf = ud;
    (void)level;
    if (lf->fd >= 0 && lf->size > 0 && lf->size + len > lf->max)
        rotate(lf);
    if (lf->fd < 0 || write(lf->fd, line, len) != (ssize_t)len) {
        fwrite(line, 1, len, stderr);
        return;
    }
    lf->size += len;
}
