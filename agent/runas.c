#include "agent/runas.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static uid_t g_uid; /* nftw has no user pointer: set only for the walk below */
static gid_t g_gid;

static int give(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    if (st->st_uid != g_uid && lchown(path, g_uid, g_gid) != 0)
        cw_warn("agent", "run_as_user: cannot chown %s: %s", path, strerror(errno));
    return 0;
}

static int switch_to(const struct passwd *pw, char *err, size_t errlen)
{
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        snprintf(err, errlen, "agent.run_as_user: cannot switch to %s: %s", pw->pw_name,
                 strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* must be impossible now */
        snprintf(err, errlen, "agent.run_as_user: could still regain root after switching");
        return -1;
    }
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* a uid change resets it to fs.suid_dumpable */
    return 0;
}

int cw_run_as_user(const char *user, const char *state_dir, const char *logfile, char *err,
                   size_t errlen)
{
    if (!user || !*user)
        return 0;
    struct passwd pwbuf, *pw = NULL;
    char buf[4096];
    if (getpwnam_r(user, &pwbuf, buf, sizeof buf, &pw) != 0 || !pw) {
        snprintf(err, errlen, "agent.run_as_user: there is no user \"%s\" on this host", user);
        return -1;
    }
    if (geteuid() != 0) {
        if (pw->pw_uid != geteuid())
            cw_warn("agent",
                    "agent.run_as_user is \"%s\" but cwagent runs as uid %u and cannot switch "
                    "(only a process started as root can; the systemd unit sets User=)",
                    user, (unsigned)geteuid());
        return 0;
    }
    if (pw->pw_uid == 0)
        return 0;
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", state_dir, strerror(errno));
        return -1;
    }
    g_uid = pw->pw_uid;
    g_gid = pw->pw_gid;
    nftw(state_dir, give, 16, FTW_PHYS);
    struct stat st;
    if (logfile && lstat(logfile, &st) == 0 && S_ISREG(st.st_mode))
        (void)give(logfile, &st, 0, NULL);
    if (switch_to(pw, err, errlen) != 0)
        return -1;
    cw_info("agent", "running as %s (uid %u, gid %u), as agent.run_as_user asks", user,
            (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
    return 0;
}
