/* logtail: regex limits (filter.c) — a pattern that needs runaway backtracking still gets
 * RE2's answer (DFA fallback), costs bounded work per line, is counted, and an exclude filter
 * never lets through a line it could not check. */
#include "common/log.h"
#include "logtail/lt_int.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_warns;

static void count_sink(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)len;
    if (level == CW_LOG_WARN && strstr(line, "heavy backtracking"))
        g_warns++;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "aaaa…a!" (n a's): catastrophic for ^(a|a)+$ in a backtracking engine. */
static char *evil_line(size_t n)
{
    char *s = malloc(n + 2);
    memset(s, 'a', n);
    s[n] = '!';
    s[n + 1] = '\0';
    return s;
}

TEST(exclude_with_runaway_alternative_still_excludes)
{
    struct lt_filter in = {LT_FILTER_EXCLUDE, "^(a|a)+$|!"};
    struct lt_filters f;
    char err[200];
    T_ASSERT(lt_filters_init(&f, &in, 1, err, sizeof err) == 0);
    g_warns = 0;
    cw_log_set_sink(count_sink, NULL);
    char *line = evil_line(40);
    size_t passed = 0;
    double t0 = cpu_s();
    for (int i = 0; i < 2000; i++)
        passed += lt_filters_pass(&f, line, strlen(line));
    double spent = cpu_s() - t0;
    T_EQ_INT(passed, 0); /* RE2 matches "!" in every line: every line is excluded */
    T_EQ_INT(lt_filters_limit_hits(&f), 2000);
    T_EQ_INT(g_warns, 1);
    /* bounded work: the old 200,000-step limit took ~1.2 s here; now a few ms */
    if (spent > 0.5)
        t_fail_at(__FILE__, __LINE__, "2000 lines took %.3f s of CPU (want < 0.5 s)", spent);
    T_CHECK(lt_filters_pass(&f, "all good", 8));
    cw_log_set_sink(NULL, NULL);
    free(line);
    lt_filters_free(&f);
}

TEST(undecidable_line_fails_closed)
{
    /* a backreference: beyond the DFA, so a line that exhausts the backtracking limit cannot
     * be checked: it must not pass an exclude filter (nor an include filter) */
    struct lt_filter ex = {LT_FILTER_EXCLUDE, "^(a|a)+(b)\\2$|!"};
    struct lt_filter inc = {LT_FILTER_INCLUDE, "^(a|a)+(b)\\2$|!"};
    struct lt_filters fe, fi;
    char err[200];
    T_ASSERT(lt_filters_init(&fe, &ex, 1, err, sizeof err) == 0);
    T_ASSERT(lt_filters_init(&fi, &inc, 1, err, sizeof err) == 0);
    cw_log_set_sink(count_sink, NULL);
    g_warns = 0;
    char *line = evil_line(40);
    T_CHECK(!lt_filters_pass(&fe, line, strlen(line)));
    T_CHECK(!lt_filters_pass(&fi, line, strlen(line)));
    T_EQ_INT(fe.re[0].unknown, 1);
    T_EQ_INT(g_warns, 2);
    T_CHECK(lt_filters_pass(&fe, "fine", 4)); /* ordinary lines are decided as before */
    T_CHECK(!lt_filters_pass(&fi, "fine", 4));
    cw_log_set_sink(NULL, NULL);
    free(line);
    lt_filters_free(&fe);
    lt_filters_free(&fi);
}

TEST(dfa_fallback_gives_match_span)
{
    struct lt_re re;
    char err[200];
    T_ASSERT(lt_re_compile(&re, "(a|a)+!", err, sizeof err) == 0);
    char *line = evil_line(40);
    size_t so = 99, eo = 99;
    cw_log_set_sink(count_sink, NULL);
    T_EQ_INT(lt_re_exec(&re, line, strlen(line), &so, &eo), 1);
    cw_log_set_sink(NULL, NULL);
    T_EQ_INT(so, 0);
    T_EQ_INT(eo, 41);
    T_EQ_INT(lt_re_exec(&re, "bbb", 3, NULL, NULL), 0);
    free(line);
    lt_re_free(&re);
}

T_MAIN("logtail_regex", T_CASE(exclude_with_runaway_alternative_still_excludes),
       T_CASE(undecidable_line_fails_closed), T_CASE(dfa_fallback_gives_match_span))
