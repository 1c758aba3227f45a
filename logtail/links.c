/* links — which paths a log glob may follow. The agent can read files its users cannot
 * (CAP_DAC_READ_SEARCH), so a symbolic link planted in a watched directory must not turn it
 * into a reader of root-only files or of its own /proc/self/environ. The rule, after the
 * kernel's fs.protected_symlinks:
 *   - a path that is not a symlink is taken as it is (it is then opened with O_NOFOLLOW);
 *   - a symlink is followed only when the link is owned by root or by the owner of what it
 *     finally points to: whoever made it could read the target anyway;
 *   - nothing on a kernel pseudo file system (procfs, sysfs, debugfs, tracefs, securityfs,
 *     efivarfs, bpf) is ever reached through a link, whoever owns it.
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* At most this many refused links are remembered (and logged once each); more are counted. */
#define LT_LINKS_WARN_MAX 4096

bool lt_fs_is_pseudo(long f_type)
{
    switch ((unsigned long)f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case EFIVARFS_MAGIC:
    case BPF_FS_MAGIC:
        return true;
    default:
        return false;
    }
}

int lt_link_check(const char *path, struct stat *target, bool *is_link, char *why, size_t whylen)
{
    struct stat l;
    *is_link = false;
    if (lstat(path, &l) != 0)
        return 1;
    if (!S_ISLNK(l.st_mode)) {
        *target = l;
        return 0;
    }
    *is_link = true;
    if (stat(path, target) != 0)
        return 1; /* dangling: nothing to follow (yet) */
    struct statfs fs;
    if (statfs(path, &fs) != 0 || lt_fs_is_pseudo(fs.f_type)) {
        snprintf(why, whylen, "it points into a kernel file system (/proc, /sys, ...)");
        return -1;
    }
    if (l.st_uid != 0 && l.st_uid != target->st_uid) {
        snprintf(why, whylen,
                 "the link's owner (uid %u) is neither root nor the owner of its target "
                 "(uid %u)",
                 (unsigned)l.st_uid, (unsigned)target->st_uid);
        return -1;
    }
    return 0;
}

/* Escapes control bytes of a file name for one log line. */
static void printable(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o < n ? o : n - 1] = '\0';
}

void lt_link_refused(struct logtail *lt, const char *path, const char *why)
{
    uint64_t h = lt_fnv1a(path, strlen(path));
    for (size_t i = 0; i < lt->nrefused; i++)
        if (lt->refused[i] == h)
            return;
    lt->st.links_refused++;
    if (lt->nrefused >= LT_LINKS_WARN_MAX)
        return;
    if (lt->nrefused == lt->rcap) {
        size_t ncap = lt->rcap ? lt->rcap * 2 : 16;
        uint64_t *v = realloc(lt->refused, ncap * sizeof *v);
        if (!v)
            return;
        lt->refused = v;
        lt->rcap = ncap;
    }
    lt->refused[lt->nrefused++] = h;
    char p[1024];
    printable(p, sizeof p, path);
    cw_warn(LT_COMP, "not following the symlink %s: %s (see README, \"Symbolic links\")", p, why);
}

int lt_open_checked(const char *path, char *why, size_t whylen)
{
    struct stat st;
    bool link = false;
    int rc = lt_link_check(path, &st, &link, why, whylen);
    if (rc != 0) {
        errno = rc > 0 ? ENOENT : EPERM;
        return -1;
    }
    int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (link ? 0 : O_NOFOLLOW);
    /* Reading a log must not write its inode: no access-time update (allowed to the file's
     * owner and to CAP_FOWNER; anyone else opens it as usual). */
    int fd = open(path, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(path, flags);
    if (fd < 0) {
        if (errno == ELOOP) /* became a link since the check: decide again next time */
            errno = ENOENT;
        return -1;
    }
    struct statfs fs;
    if (link && (fstatfs(fd, &fs) != 0 || lt_fs_is_pseudo(fs.f_type))) {
        snprintf(why, whylen, "it points into a kernel file system (/proc, /sys, ...)");
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}
