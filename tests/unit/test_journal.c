/* The journal reader (logtail/journal.h) on journal files written by systemd-journal-remote:
 * cursor moves only on commit, the saved position after a restart, pending cap, the MESSAGE-only
 * format and journald filter semantics. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logtail/journal.h"
#include "logtail/sdj.h"
#include "t.h"

static const char *remote(void)
{
    static const char *const p[] = {"/lib/systemd/systemd-journal-remote",
                                    "/usr/lib/systemd/systemd-journal-remote"};
    for (size_t i = 0; i < 2; i++)
        if (access(p[i], X_OK) == 0)
            return p[i];
    return NULL;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

struct fx {
    char root[64], jdir[128], sdir[128];
};

/* Appends n entries "MESSAGE=<prefix><i>" (PRIORITY 6, every third also TAG=skip). */
static int jwrite(struct fx *f, const char *prefix, int first, int n)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -o %s/system.journal - 2>/dev/null", remote(), f->jdir);
    FILE *p = popen(cmd, "w");
    if (!p)
        return -1;
    static int mono = 0;
    for (int i = first; i < first + n; i++)
        fprintf(p,
                "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%d\n"
                "_BOOT_ID=0123456789abcdef0123456789abcdef\nPRIORITY=6\n%sMESSAGE=%s%d\n\n",
                1700000000000000LL + i * 1000, ++mono, i % 3 == 0 ? "TAG=skip\n" : "", prefix, i);
    return pclose(p) == 0 ? 0 : -1;
}

static int setup(struct fx *f)
{
    if (!remote()) {
        t_skip("systemd-journal-remote is not installed");
        return -1;
    }
    snprintf(f->root, sizeof f->root, "/tmp/cwtest-journal-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->jdir, sizeof f->jdir, "%s/j", f->root);
    snprintf(f->sdir, sizeof f->sdir, "%s/s", f->root);
    mkdir(f->jdir, 0700);
    return 0;
}

static void teardown(struct fx *f)
{
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static struct lt_journal *open_reader(struct fx *f, const struct lt_journal_config *c)
{
    struct lt_journal_options o = {.state_dir = f->sdir, .directory = f->jdir};
    struct lt_journal *j = lt_journal_new(&o);
    char err[256];
    if (j && lt_journal_add(j, c, err, sizeof err) != 0) {
        t_fail_at(__FILE__, __LINE__, "lt_journal_add: %s", err);
        lt_journal_free(j);
        return NULL;
    }
    return j;
}

/* Reads every ready event into out (copies), returns the count. */
static int read_all(struct lt_journal *j, char out[][32], uint64_t *last_seq, int max)
{
    struct lt_journal_event ev;
    int n = 0;
    lt_journal_tick(j, 0);
    while (n < max && lt_journal_next(j, &ev) == 1) {
        snprintf(out[n++], 32, "%.*s", (int)ev.len, ev.message);
        *last_seq = ev.seq;
    }
    return n;
}

TEST(cursor_moves_only_on_commit)
{
    struct fx f;
    if (setup(&f) != 0)
        return;
    T_ASSERT(jwrite(&f, "a", 0, 5) == 0);
    struct lt_journal_config c = {.priority = 6, .format = LT_JOURNAL_MESSAGE, .key = "k"};
    struct lt_journal *j = open_reader(&f, &c);
    T_ASSERT(j);
    char got[64][32];
    uint64_t seq = 0;
    int n = read_all(j, got, &seq, 64);
    T_EQ_INT(n, 5); /* first start: the last (up to) 10 */
    T_EQ_STR(got[0], "a0");
    T_EQ_STR(got[4], "a4");
    /* deliver the first three only, then "crash" (free saves only committed cursors) */
    lt_journal_commit(j, 0, seq - 2);
    lt_journal_free(j);
    T_ASSERT(jwrite(&f, "b", 0, 2) == 0);
    j = open_reader(&f, &c);
    T_ASSERT(j);
    n = read_all(j, got, &seq, 64);
    T_EQ_INT(n, 4);
    T_EQ_STR(got[0], "a3"); /* re-read: never committed */
    T_EQ_STR(got[3], "b1");
    struct lt_journal_stats st;
    lt_journal_stats(j, &st);
    T_EQ_INT(st.pending, 4);
    lt_journal_commit(j, 0, seq);
    lt_journal_stats(j, &st);
    T_EQ_INT(st.pending, 0);
    lt_journal_free(j);
    j = open_reader(&f, &c);
    T_ASSERT(j);
    T_EQ_INT(read_all(j, got, &seq, 64), 0); /* everything delivered */
    lt_journal_free(j);
    teardown(&f);
}

TEST(first_start_saves_its_position)
{
    struct fx f;
    if (setup(&f) != 0)
        return;
    T_ASSERT(jwrite(&f, "x", 0, 30) == 0);
    struct lt_journal_config c = {.priority = 6, .format = LT_JOURNAL_MESSAGE, .key = "k"};
    struct lt_journal *j = open_reader(&f, &c);
    T_ASSERT(j);
    lt_journal_free(j); /* stopped before reading anything */
    T_ASSERT(jwrite(&f, "y", 0, 15) == 0);
    j = open_reader(&f, &c);
    T_ASSERT(j);
    char got[64][32];
    uint64_t seq = 0;
    int n = read_all(j, got, &seq, 64);
    T_EQ_INT(n, 25); /* x20..x29 then every y: not "the last 10" again */
    T_EQ_STR(got[0], "x20");
    T_EQ_STR(got[24], "y14");
    lt_journal_free(j);
    teardown(&f);
}

TEST(filters_and_json_shape)
{
    struct fx f;
    if (setup(&f) != 0)
        return;
    struct lt_filter flt[] = {{LT_FILTER_INCLUDE, "m1"},
                              {LT_FILTER_INCLUDE, "m2"},
                              {LT_FILTER_EXCLUDE, "\"TAG\":\"skip\""}};
    struct lt_journal_config c = {
        .priority = 6, .filters = flt, .n_filters = 3, .format = LT_JOURNAL_JSON, .key = "f"};
    struct lt_journal *j = open_reader(&f, &c); /* empty journal: reads from its start */
    T_ASSERT(j);
    T_ASSERT(jwrite(&f, "m", 0, 30) == 0);
    struct lt_journal_event ev;
    int n = 0, ok_shape = 1;
    char first[64] = "";
    lt_journal_tick(j, 0);
    while (lt_journal_next(j, &ev) == 1) {
        if (!n)
            snprintf(first, sizeof first, "%.*s", (int)(ev.len < 40 ? ev.len : 40), ev.message);
        ok_shape &= strncmp(ev.message, "{\"body\":{\"__CURSOR\":\"s=", 23) == 0 &&
                    strstr(ev.message, "__REALTIME_TIMESTAMP") == NULL;
        T_CHECK(ev.timestamp_ms >= 1700000000000LL && ev.timestamp_ms < 1700000000030LL);
        n++;
        lt_journal_commit(j, ev.reader, ev.seq);
    }
    /* m1, m2, m10-m29 contain "m1" or "m2"; those with i % 3 == 0 carry TAG=skip */
    int want = 0;
    for (int i = 0; i < 30; i++) {
        char m[16];
        snprintf(m, sizeof m, "m%d", i);
        want += (strstr(m, "m1") || strstr(m, "m2")) && i % 3 != 0;
    }
    T_EQ_INT(n, want);
    if (!ok_shape)
        t_fail_at(__FILE__, __LINE__, "event shape: %s", first);
    struct lt_journal_stats st;
    lt_journal_stats(j, &st);
    T_EQ_INT(st.entries, 30);
    T_EQ_INT(st.filtered, 30 - want);
    T_EQ_INT(st.pending, 0); /* filtered entries do not hold the cursor back */
    lt_journal_free(j);
    teardown(&f);
}

TEST(bad_filter_is_refused)
{
    struct lt_filter flt[] = {{LT_FILTER_INCLUDE, "("}};
    struct lt_journal_config c = {.priority = 6, .filters = flt, .n_filters = 1, .key = "b"};
    struct lt_journal_options o = {.directory = "/nonexistent-cwagent-test"};
    struct lt_journal *j = lt_journal_new(&o);
    char err[256] = "";
    T_ASSERT(j);
    T_CHECK(lt_journal_add(j, &c, err, sizeof err) == -1);
    T_CHECK(strstr(err, "filters[0]") != NULL);
    lt_journal_free(j);
}

/* libsystemd is loaded on demand: the real one has every symbol; a missing library or one
 * without the journal API is refused with a reason, and leaves the table cleared. */
TEST(journal_api_is_loaded_on_demand)
{
    struct lt_sdj api;
    char err[256] = "";
    T_EQ_INT(lt_sdj_load(&api, err, sizeof err), 0);
    T_ASSERT(api.dl && api.next && api.enumerate_data && api.open_directory);
    lt_sdj_unload(&api);
    T_ASSERT(api.dl == NULL && api.next == NULL);
    T_EQ_INT(lt_sdj_load_from(&api, "libcwagent-no-such-library.so.0", err, sizeof err), -1);
    T_ASSERT(strstr(err, "cannot load libcwagent-no-such-library.so.0") != NULL);
    T_ASSERT(api.dl == NULL);
    T_EQ_INT(lt_sdj_load_from(&api, "libm.so.6", err, sizeof err), -1);
    T_ASSERT(strstr(err, "libm.so.6 has no sd_journal_open") != NULL);
    T_ASSERT(api.dl == NULL && api.open == NULL);
}

T_MAIN("test_journal", T_CASE(cursor_moves_only_on_commit), T_CASE(first_start_saves_its_position),
       T_CASE(filters_and_json_shape), T_CASE(bad_filter_is_refused),
       T_CASE(journal_api_is_loaded_on_demand))
