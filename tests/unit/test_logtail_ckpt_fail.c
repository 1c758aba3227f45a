/* logtail: a checkpoint that cannot be written (disk full, here a directory in the way of
 * logtail.state.tmp) is retried with back-off, logged rate-limited, counted in the stats, and
 * saved as soon as writing works again. */
#include "common/log.h"
#include "tests/unit/test_logtail_util.h"

#include <sys/stat.h>

static int g_errors, g_recovered;

static void sink(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)len;
    if (level == CW_LOG_ERROR && strstr(line, "logtail.state"))
        g_errors++;
    if (strstr(line, "written again"))
        g_recovered++;
}

TEST(checkpoint_write_failure_backs_off_and_recovers)
{
    char *dir = mk_tmp();
    T_ASSERT(dir);
    char *state = path_join(dir, "state"), *log = path_join(dir, "app.log");
    char *glob = path_join(dir, "*.log");
    T_ASSERT(mkdir(state, 0700) == 0);
    char *blocker = path_join(state, "logtail.state.tmp");
    T_ASSERT(mkdir(blocker, 0700) == 0); /* open(O_WRONLY) fails with EISDIR, even for root */
    cw_log_set_sink(sink, NULL);
    g_errors = g_recovered = 0;
    struct lt_options o = test_opts(state);
    struct logtail *lt = logtail_new(&o);
    T_ASSERT(lt);
    struct lt_source_config c = src_cfg(glob);
    char err[200];
    T_ASSERT(logtail_add_source(lt, &c, err, sizeof err) == 0);
    struct evs e;
    memset(&e, 0, sizeof e);
    /* two minutes of 250 ms turns, a new line every turn: each commit wants a save */
    for (int i = 0; i < 480; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %d\n", i);
        write_str(log, line, 1);
        turn(lt, &e, 250, 1);
        if (e.n > 1000)
            evs_free(&e);
    }
    struct lt_stats st;
    logtail_stats(lt, &st);
    /* back-off 1, 2, 4 ... 60 s: about 8 attempts in 120 s (every turn without it) */
    if (st.ckpt_failures < 3 || st.ckpt_failures > 12)
        t_fail_at(__FILE__, __LINE__, "ckpt_failures = %llu, want 3..12",
                  (unsigned long long)st.ckpt_failures);
    if (g_errors < 2 || g_errors > 5)
        t_fail_at(__FILE__, __LINE__, "%d error lines, want 2..5 (1st, 2nd, 4th, 8th)", g_errors);
    T_ASSERT(rmdir(blocker) == 0);
    for (int i = 0; i < 280; i++) { /* the longest back-off is 60 s */
        write_str(log, "more\n", 1);
        turn(lt, &e, 250, 1);
        if (e.n > 1000)
            evs_free(&e);
    }
    settle(lt, &e, 100, 1);
    T_EQ_INT(g_recovered, 1);
    char *sf = path_join(state, "logtail.state");
    size_t n = 0;
    char *text = t_read_file(sf, &n);
    T_CHECK(text && strstr(text, "app.log") != NULL);
    free(text);
    free(sf);
    logtail_free(lt);
    cw_log_set_sink(NULL, NULL);
    evs_free(&e);
    free(blocker);
    free(state);
    free(log);
    free(glob);
    rm_tree(dir);
}

T_MAIN("logtail_ckpt_fail", T_CASE(checkpoint_write_failure_backs_off_and_recovers))
