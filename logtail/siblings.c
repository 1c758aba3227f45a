/* siblings — the rotated generations of a log file: the files next to it whose names are the
 * ones rotation tools give (logrotate: app.log.1, app.log-20240101, app.log.1-...; savelog,
 * newsyslog: app.log.0): the base name, then '.', '-' or '_', then a digit. Compressed names
 * are left out (they cannot be tailed). Used to find a checkpointed file wherever it now lives,
 * the copy that copytruncate made, and the generations rotated while nobody looked.
 */
#include "logtail/lt_int.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool lt_rotation_name(const char *base, const char *name)
{
    size_t n = strlen(base);
    if (n == 0 || strncmp(name, base, n) != 0 || !name[n] || !strchr(".-_", name[n]))
        return false;
    return isdigit((unsigned char)name[n + 1]) && !lt_compressed_name(name);
}

bool lt_same_prefix(const char *path, uint64_t fp, uint32_t fp_len)
{
    char buf[LT_FINGERPRINT_MAX];
    if (fp_len == 0 || fp_len > sizeof buf)
        return false;
    char why[160];
    int fd = lt_open_checked(path, why, sizeof why); /* links.c: no unsafe symlink */
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, fp_len, 0);
    close(fd);
    return n == (ssize_t)fp_len && lt_fnv1a(buf, fp_len) == fp;
}

int lt_siblings(const char *path, struct lt_matches *out)
{
    memset(out, 0, sizeof *out);
    char dir[4096], full[4096 + 258];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return -1;
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    char basecopy[256];
    if (snprintf(basecopy, sizeof basecopy, "%s", base) >= (int)sizeof basecopy)
        return 0;
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!lt_rotation_name(basecopy, e->d_name))
            continue;
        snprintf(full, sizeof full, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            rc = lt_matches_add(out, full, &st);
    }
    closedir(d);
    return rc;
}
