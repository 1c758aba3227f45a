/* logtail: symbolic links in log globs (links.c) — a link planted by another user to a root-only
 * file or to /proc/self/environ is not followed, logged once and counted; a link owned by root
 * or by its target's owner is followed; a regular file is opened with O_NOFOLLOW. */
#include "common/log.h"
#include "logtail/lt_int.h"
#include "tests/unit/test_logtail_util.h"

#include <errno.h>

#define OTHER_UID 1 /* daemon: "another user" that can write into the watched directory */

static int g_refused_lines;

static void count_sink(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)len;
    if (level == CW_LOG_WARN && strstr(line, "not following the symlink"))
        g_refused_lines++;
}

struct lenv {
    char *dir, *state, *app, *glob;
    struct logtail *lt;
    struct evs e;
};

static int lenv_init(struct lenv *v)
{
    memset(v, 0, sizeof *v);
    v->dir = mk_tmp();
    if (!v->dir)
        return -1;
    v->state = path_join(v->dir, "state");
    v->app = path_join(v->dir, "app");
    g_refused_lines = 0;
    cw_log_set_sink(count_sink, NULL);
    return mkdir(v->app, 0777);
}

static int lenv_start(struct lenv *v, const char *glob_rel)
{
    struct lt_options o = test_opts(v->state);
    v->lt = logtail_new(&o);
    if (!v->lt)
        return -1;
    v->glob = path_join(v->dir, glob_rel);
    struct lt_source_config c = src_cfg(v->glob);
    c.publish_multi_logs = true;
    char err[200];
    return logtail_add_source(v->lt, &c, err, sizeof err);
}

static void lenv_done(struct lenv *v)
{
    logtail_free(v->lt);
    cw_log_set_sink(NULL, NULL);
    evs_free(&v->e);
    free(v->state);
    free(v->app);
    free(v->glob);
    rm_tree(v->dir);
}

static bool shipped(const struct evs *e, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (strstr(e->msg[i], needle))
            return true;
    return false;
}

/* Creates a symlink at dir/name -> target owned by uid (lchown). 0, or -1. */
static int plant(const char *dir, const char *name, const char *target, uid_t uid)
{
    char *l = path_join(dir, name);
    int rc = symlink(target, l) == 0 && lchown(l, uid, (gid_t)-1) == 0 ? 0 : -1;
    free(l);
    return rc;
}

TEST(link_by_other_user_to_root_file_is_not_followed)
{
    if (geteuid() != 0) {
        t_skip("needs root to create files of another owner (lchown)");
        return;
    }
    struct lenv v;
    T_ASSERT(lenv_init(&v) == 0);
    char *secret = path_join(v.dir, "rootonly.txt");
    write_str(secret, "ROOT-ONLY-SECRET\n", 0);
    T_ASSERT(chmod(secret, 0600) == 0);
    char *own = path_join(v.dir, "own.txt"); /* the other user's own file: fine to follow */
    write_str(own, "OTHER-USERS-OWN-LINE\n", 0);
    T_ASSERT(chown(own, OTHER_UID, (gid_t)-1) == 0);
    char *plain = path_join(v.app, "plain.log");
    write_str(plain, "PLAIN-LINE\n", 0);
    T_ASSERT(plant(v.app, "evil.log", secret, OTHER_UID) == 0);
    T_ASSERT(plant(v.app, "env.log", "/proc/self/environ", OTHER_UID) == 0);
    T_ASSERT(plant(v.app, "rootenv.log", "/proc/self/status", 0) == 0); /* root's link, /proc */
    T_ASSERT(plant(v.app, "mine.log", own, OTHER_UID) == 0);
    T_ASSERT(plant(v.app, "byroot.log", plain, 0) == 0); /* root's link to root's file */
    T_ASSERT(lenv_start(&v, "app/*.log") == 0);
    settle(v.lt, &v.e, 1000, 1);
    settle(v.lt, &v.e, 3000, 1); /* polls and re-globs: still refused, still logged once */
    T_CHECK(!shipped(&v.e, "ROOT-ONLY-SECRET"));
    T_CHECK(!shipped(&v.e, "PATH="));
    T_CHECK(!shipped(&v.e, "Uid:"));
    T_CHECK(shipped(&v.e, "OTHER-USERS-OWN-LINE"));
    T_CHECK(shipped(&v.e, "PLAIN-LINE"));
    struct lt_stats st;
    logtail_stats(v.lt, &st);
    T_EQ_INT(st.links_refused, 3);
    T_EQ_INT(g_refused_lines, 3);
    free(secret);
    free(own);
    free(plain);
    lenv_done(&v);
}

TEST(link_to_proc_is_never_followed)
{
    struct lenv v;
    T_ASSERT(lenv_init(&v) == 0);
    char *l = path_join(v.app, "env.log"); /* our own link: the owner rule alone would pass */
    T_ASSERT(symlink("/proc/self/environ", l) == 0);
    T_ASSERT(lenv_start(&v, "app/*.log") == 0);
    settle(v.lt, &v.e, 1000, 1);
    T_EQ_INT(v.e.n, 0);
    struct lt_stats st;
    logtail_stats(v.lt, &st);
    T_EQ_INT(st.links_refused, 1);
    T_EQ_INT(g_refused_lines, 1);
    free(l);
    lenv_done(&v);
}

TEST(link_to_other_users_directory_is_not_descended)
{
    if (geteuid() != 0) {
        t_skip("needs root to create files of another owner (lchown)");
        return;
    }
    struct lenv v;
    T_ASSERT(lenv_init(&v) == 0);
    char *secret_dir = path_join(v.dir, "rootdir");
    T_ASSERT(mkdir(secret_dir, 0700) == 0);
    char *secret = path_join(secret_dir, "app.log");
    write_str(secret, "ROOT-DIR-SECRET\n", 0);
    char *sub = path_join(v.app, "real");
    T_ASSERT(mkdir(sub, 0755) == 0);
    char *ok = path_join(sub, "app.log");
    write_str(ok, "REAL-DIR-LINE\n", 0);
    T_ASSERT(plant(v.app, "evil", secret_dir, OTHER_UID) == 0);
    T_ASSERT(lenv_start(&v, "app/*/app.log") == 0);
    settle(v.lt, &v.e, 1000, 1);
    T_CHECK(!shipped(&v.e, "ROOT-DIR-SECRET"));
    T_CHECK(shipped(&v.e, "REAL-DIR-LINE"));
    T_EQ_INT(g_refused_lines, 1);
    free(secret_dir);
    free(secret);
    free(sub);
    free(ok);
    lenv_done(&v);
}

TEST(open_checked_uses_nofollow_for_plain_paths)
{
    char *dir = mk_tmp();
    T_ASSERT(dir);
    char *f = path_join(dir, "f.log"), *l = path_join(dir, "l.log");
    write_str(f, "x\n", 0);
    T_ASSERT(symlink("/proc/self/environ", l) == 0);
    char why[160] = "";
    int fd = lt_open_checked(f, why, sizeof why);
    T_CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    errno = 0;
    T_EQ_INT(lt_open_checked(l, why, sizeof why), -1);
    T_EQ_INT(errno, EPERM);
    T_CHECK(strstr(why, "kernel file system") != NULL);
    struct stat st;
    bool link = false;
    T_EQ_INT(lt_link_check(f, &st, &link, why, sizeof why), 0);
    T_CHECK(!link);
    T_EQ_INT(lt_link_check(l, &st, &link, why, sizeof why), -1);
    T_CHECK(link);
    free(f);
    free(l);
    rm_tree(dir);
}

T_MAIN("logtail_links", T_CASE(link_by_other_user_to_root_file_is_not_followed),
       T_CASE(link_to_proc_is_never_followed),
       T_CASE(link_to_other_users_directory_is_not_descended),
       T_CASE(open_checked_uses_nofollow_for_plain_paths))
