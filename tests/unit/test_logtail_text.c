/* logtail: lines to events — partial lines, multi-line, splitting, UTF-8 repair, encodings,
 * timestamps, filters, back-pressure. */
#include "logtail/lt_int.h"
#include "tests/unit/test_logtail_util.h"

#include <time.h>

struct fixture {
    char *dir, *log, *glob;
    struct logtail *lt;
    struct evs e;
};

static int fx_open(struct fixture *fx, struct lt_source_config *c, const struct lt_options *o)
{
    memset(fx, 0, sizeof *fx);
    fx->dir = mk_tmp();
    if (!fx->dir)
        return -1;
    fx->log = path_join(fx->dir, "app.log");
    fx->glob = path_join(fx->dir, "*.log");
    struct lt_options dflt = test_opts(NULL);
    fx->lt = logtail_new(o ? o : &dflt);
    c->file_path = fx->glob;
    char err[256] = "";
    if (!fx->lt || logtail_add_source(fx->lt, c, err, sizeof err) != 0) {
        t_fail_at(__FILE__, __LINE__, "setup: %s", err);
        return -1;
    }
    return 0;
}

static void fx_close(struct fixture *fx)
{
    logtail_free(fx->lt);
    evs_free(&fx->e);
    free(fx->log);
    free(fx->glob);
    rm_tree(fx->dir);
}

TEST(partial_line_waits_then_flushes_after_timeout)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "a\nb\nc", 0);
    turn(fx.lt, &fx.e, 0, 1); /* discovers, reads */
    logtail_tick(fx.lt, g_now);
    pull(fx.lt, &fx.e, 1);
    T_EQ_INT(fx.e.n, 1); /* "b" pending (multi-line), "c" has no newline */
    g_now += 4000;
    logtail_tick(fx.lt, g_now);
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 0);
    g_now += 1100;
    logtail_tick(fx.lt, g_now);
    pull(fx.lt, &fx.e, 1);
    T_ASSERT(fx.e.n == 3);
    T_EQ_STR(fx.e.msg[0], "a");
    T_EQ_STR(fx.e.msg[1], "b");
    T_EQ_STR(fx.e.msg[2], "c");
    T_EQ_INT(fx.e.end[2], 5);
    fx_close(&fx);
}

TEST(crlf_and_empty_lines)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "one\r\n\r\ntwo\r\n", 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 2);
    T_EQ_STR(fx.e.msg[0], "one\n"); /* the empty line continues "one" (^[\S]) */
    T_EQ_STR(fx.e.msg[1], "two");
    fx_close(&fx);
}

TEST(java_stack_trace_becomes_one_event)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    const char *trace = "2024-01-01 12:00:00 ERROR boom\n"
                        "java.lang.NullPointerException: x\n"
                        "\tat com.example.A.b(A.java:10)\n"
                        "\tat com.example.Main.main(Main.java:5)\n"
                        "Caused by: java.io.IOException\n"
                        "\t... 3 more\n"
                        "2024-01-01 12:00:01 INFO next\n";
    c.multi_line_start_pattern = "^\\d{4}-\\d{2}-\\d{2}";
    fx_close(&fx);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, trace, 0);
    turn(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 1);
    T_EQ_STR(fx.e.msg[0], "2024-01-01 12:00:00 ERROR boom\n"
                          "java.lang.NullPointerException: x\n"
                          "\tat com.example.A.b(A.java:10)\n"
                          "\tat com.example.Main.main(Main.java:5)\n"
                          "Caused by: java.io.IOException\n"
                          "\t... 3 more");
    /* the last event waits for the idle flush (5 s), not before */
    g_now += 3000;
    logtail_tick(fx.lt, g_now);
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 0);
    g_now += 2500;
    logtail_tick(fx.lt, g_now);
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 1);
    T_EQ_STR(fx.e.msg[1], "2024-01-01 12:00:01 INFO next");
    T_EQ_INT(fx.e.end[1], strlen(trace));
    fx_close(&fx);
}

/* Fixture: a Java log with stack traces, timestamps with milliseconds, {timestamp_format}. */
TEST(java_fixture_with_timestamp_start_pattern)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    c.timestamp_format = "%Y-%m-%d %H:%M:%S,%f";
    c.timezone = LT_TZ_UTC;
    c.multi_line_start_pattern = "{timestamp_format}";
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    char *src = t_repo_path("tests/fixtures/logs/java_trace.log");
    size_t len = 0;
    char *text = src ? t_read_file(src, &len) : NULL;
    T_ASSERT(text != NULL);
    write_file(fx.log, text, len, 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 3);
    T_EQ_STR(fx.e.msg[0], "2024-03-05 10:20:30,123 ERROR [main] c.e.App - request failed\n"
                          "java.lang.IllegalStateException: boom\n"
                          "\tat com.example.App.handle(App.java:42)\n"
                          "\tat com.example.App.main(App.java:10)\n"
                          "Caused by: java.io.IOException: disk full\n"
                          "\tat com.example.Store.write(Store.java:7)\n"
                          "\t... 2 more");
    T_EQ_INT(fx.e.ts[0], 1709634030123LL);
    T_EQ_INT(fx.e.ts[1], 1709634031500LL);
    T_EQ_STR(fx.e.msg[2], "2024-03-05 10:20:32,000 WARN  [pool-1] c.e.Pool - slow\n"
                          "  detail: 1200 ms");
    T_EQ_INT(fx.e.end[2], len);
    free(text);
    free(src);
    fx_close(&fx);
}

TEST(multiline_event_never_exceeds_max_size)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    struct lt_options o = test_opts(NULL);
    o.max_event_size = 256;
    if (fx_open(&fx, &c, &o) != 0)
        return fx_close(&fx);
    struct cw_buf b;
    cw_buf_init(&b, 1 << 16);
    T_ASSERT(cw_buf_append_str(&b, "START of a long trace\n") == 0);
    for (int i = 0; i < 50; i++)
        T_ASSERT(cw_buf_printf(&b, "    continuation line %02d\n", i) == 0);
    write_file(fx.log, b.data, b.len, 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_CHECK(fx.e.n > 1);
    struct cw_buf joined;
    cw_buf_init(&joined, 1 << 16);
    int small = 1;
    for (size_t i = 0; i < fx.e.n; i++) {
        small &= fx.e.len[i] <= 256;
        T_ASSERT(cw_buf_append(&joined, fx.e.msg[i], fx.e.len[i]) == 0);
        T_ASSERT(cw_buf_append_char(&joined, '\n') == 0);
    }
    T_CHECK(small);
    T_EQ_STR(joined.data, b.data); /* nothing dropped, nothing reordered */
    cw_buf_free(&b);
    cw_buf_free(&joined);
    fx_close(&fx);
}

TEST(inotify_alone_wakes_the_reader)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "one\n", 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 1);
    write_str(fx.log, "two\nthree\nfour\n", 1);
    logtail_on_readable(fx.lt);         /* no tick: the inotify watch on the file is enough */
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 3); /* "four" too: a single-line file does not wait */
    T_EQ_STR(fx.e.n == 4 ? fx.e.msg[3] : "", "four");
    fx_close(&fx);
}

/* Default pattern: the last line of a file that never had a continuation line goes at the end
 * of the file, with no 5 s wait; once a continuation was seen the file waits as the reference. */
TEST(last_line_waits_only_in_files_with_continuations)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "one\ntwo\n", 0);
    turn(fx.lt, &fx.e, 0, 1);
    T_EQ_INT(fx.e.n, 2); /* at once: no tick, no idle time */
    T_EQ_STR(fx.e.n == 2 ? fx.e.msg[1] : "", "two");
    write_str(fx.log, "three\n  cont\nfour\n", 1);
    turn(fx.lt, &fx.e, 0, 1);
    T_EQ_INT(fx.e.n, 3); /* "four" waits: this file has multi-line events now */
    T_EQ_STR(fx.e.n == 3 ? fx.e.msg[2] : "", "three\n  cont");
    g_now += 4000;
    logtail_tick(fx.lt, g_now);
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 0);
    g_now += 1100;
    logtail_tick(fx.lt, g_now);
    T_EQ_INT(pull(fx.lt, &fx.e, 1), 1);
    T_EQ_STR(fx.e.n == 4 ? fx.e.msg[3] : "", "four");
    T_EQ_INT(fx.e.n == 4 ? fx.e.end[3] : 0, 26);
    fx_close(&fx);
}

TEST(latin1_is_converted)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    c.encoding = "ISO-8859-1";
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "caf\xe9 cr\xe8me\n", 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 1);
    T_EQ_STR(fx.e.msg[0], "caf\xc3\xa9 cr\xc3\xa8me");
    fx_close(&fx);
}

TEST(five_mb_line_split_with_marker)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    size_t n = 5u << 20;
    char *big = malloc(n + 6);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    memcpy(big + n, "\nend\n", 5);
    write_file(fx.log, big, n + 5, 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n >= 6);
    size_t total = 0;
    int ok = 1;
    for (size_t i = 0; i + 1 < fx.e.n; i++) {
        size_t len = fx.e.len[i];
        ok &= len <= LT_MAX_EVENT_DEFAULT;
        int last_piece = i + 2 == fx.e.n;
        int marked =
            len >= LT_SPLIT_MARKER_LEN && memcmp(fx.e.msg[i] + len - LT_SPLIT_MARKER_LEN,
                                                 LT_SPLIT_MARKER, LT_SPLIT_MARKER_LEN) == 0;
        ok &= last_piece ? !marked : marked;
        size_t body = last_piece ? len : len - LT_SPLIT_MARKER_LEN;
        ok &= total + body <= n && memcmp(fx.e.msg[i], big + total, body) == 0;
        total += body;
    }
    T_CHECK(ok);
    T_EQ_INT(total, n);
    T_EQ_STR(fx.e.msg[fx.e.n - 1], "end");
    struct lt_stats st;
    logtail_stats(fx.lt, &st);
    T_EQ_INT(st.uncommitted, 0);
    free(big);
    fx_close(&fx);
}

TEST(binary_garbage_never_stalls)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    struct lt_options o = test_opts(NULL);
    o.max_event_size = 4096;
    if (fx_open(&fx, &c, &o) != 0)
        return fx_close(&fx);
    size_t n = 3u << 20;
    unsigned char *bin = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        bin[i] = (unsigned char)(x >> 16);
    }
    write_file(fx.log, bin, n, 0);
    int valid = 1, small = 1;
    for (int r = 0; r < 400; r++) {
        turn(fx.lt, &fx.e, 1000, 1);
        for (size_t i = 0; i < fx.e.n; i++) {
            valid &= lt_utf8_valid(fx.e.msg[i], fx.e.len[i]);
            small &= fx.e.len[i] <= 4096 && fx.e.len[i] > 0;
        }
        evs_free(&fx.e);
        struct lt_stats st;
        logtail_stats(fx.lt, &st);
        if (st.bytes_read == n && st.uncommitted == 0)
            break;
    }
    struct lt_stats st;
    logtail_stats(fx.lt, &st);
    T_EQ_INT(st.bytes_read, n);
    T_EQ_INT(st.uncommitted, 0);
    T_CHECK(valid);
    T_CHECK(small);
    free(bin);
    fx_close(&fx);
}

TEST(invalid_utf8_becomes_replacement_char)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log,
              "ab\xff"
              "cd\xc3\nok \xc3\xa9\xed\xa0\x80!\n",
              0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 2);
    T_EQ_STR(fx.e.msg[0], "ab\xEF\xBF\xBD"
                          "cd\xEF\xBF\xBD");
    T_EQ_STR(fx.e.msg[1], "ok \xc3\xa9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
    fx_close(&fx);
}

TEST(utf16le_is_converted)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    c.encoding = "utf-16le";
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    /* BOM, "héllo\n", "wörld ✓\n" */
    static const uint16_t u[] = {
        0xFEFF, 'h', 0xE9, 'l', 'l', 'o',    '\n', 'w',
        0xF6,   'r', 'l',  'd', ' ', 0x2713, '\n', 0x0A00 /* U+0A00, not a newline */,
        '\n'};
    unsigned char raw[sizeof u];
    for (size_t i = 0; i < sizeof u / 2; i++) {
        raw[2 * i] = (unsigned char)(u[i] & 0xFF);
        raw[2 * i + 1] = (unsigned char)(u[i] >> 8);
    }
    write_file(fx.log, raw, sizeof raw, 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 3);
    T_EQ_STR(fx.e.msg[0], "h\xc3\xa9llo");
    T_EQ_STR(fx.e.msg[1], "w\xc3\xb6rld \xe2\x9c\x93");
    T_EQ_STR(fx.e.msg[2], "\xe0\xa8\x80");
    T_EQ_INT(fx.e.end[2], sizeof raw);
    fx_close(&fx);
}

TEST(filters_in_order_and_filtered_bytes_commit)
{
    struct fixture fx;
    struct lt_filter fl[] = {{LT_FILTER_INCLUDE, "ERROR|WARN"}, {LT_FILTER_EXCLUDE, "ignore"}};
    struct lt_source_config c = src_cfg(NULL);
    c.filters = fl;
    c.n_filters = 2;
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "INFO a\nERROR b\nWARN ignore c\nWARN d\nINFO e\nINFO f\n", 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 2);
    T_EQ_STR(fx.e.msg[0], "ERROR b");
    T_EQ_STR(fx.e.msg[1], "WARN d");
    struct lt_stats st;
    logtail_stats(fx.lt, &st);
    T_EQ_INT(st.uncommitted, 0); /* trailing filtered lines do not hold back-pressure */
    T_EQ_INT(st.filtered, 4);
    fx_close(&fx);
}

TEST(backpressure_pauses_and_resumes_after_commit)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    struct lt_options o = test_opts(NULL);
    o.max_event_size = 256;
    o.max_uncommitted = 4096;
    if (fx_open(&fx, &c, &o) != 0)
        return fx_close(&fx);
    char line[64];
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    for (int i = 0; i < 2000; i++) {
        snprintf(line, sizeof line, "line %05d\n", i);
        T_ASSERT(cw_buf_append_str(&b, line) == 0);
    }
    write_file(fx.log, b.data, b.len, 0);
    settle(fx.lt, &fx.e, 1000, 0); /* pull without committing */
    struct lt_stats st;
    logtail_stats(fx.lt, &st);
    T_CHECK(st.paused);
    T_CHECK(st.uncommitted <= 4096);
    T_CHECK(st.bytes_read <= 4096);
    size_t first = fx.e.n;
    T_CHECK(first > 100 && first < 400);
    for (size_t i = 0; i < fx.e.n; i++)
        logtail_commit(fx.lt, fx.e.file_id[i], fx.e.end[i]);
    settle(fx.lt, &fx.e, 1000, 1);
    T_EQ_INT(fx.e.n, 2000);
    int order = 1;
    for (size_t i = 0; i < fx.e.n; i++) {
        snprintf(line, sizeof line, "line %05zu", i);
        order &= strcmp(fx.e.msg[i], line) == 0;
    }
    T_CHECK(order);
    cw_buf_free(&b);
    fx_close(&fx);
}

TEST(trim_timestamp_and_previous_timestamp_reuse)
{
    struct fixture fx;
    struct lt_source_config c = src_cfg(NULL);
    c.timestamp_format = "%Y-%m-%d %H:%M:%S";
    c.timezone = LT_TZ_UTC;
    c.trim_timestamp = true;
    c.multi_line_start_pattern = "{timestamp_format}";
    if (fx_open(&fx, &c, NULL) != 0)
        return fx_close(&fx);
    write_str(fx.log, "2024-03-05 10:20:30   first\n  cont\n2024-03-05 10:20:31 second\n", 0);
    settle(fx.lt, &fx.e, 1000, 1);
    T_ASSERT(fx.e.n == 2);
    T_EQ_STR(fx.e.msg[0], "first\n  cont");
    T_EQ_INT(fx.e.ts[0], 1709634030000LL);
    T_EQ_STR(fx.e.msg[1], "second");
    T_EQ_INT(fx.e.ts[1], 1709634031000LL);
    fx_close(&fx);
}

struct ts_case {
    const char *fmt;
    int utc;
    const char *text;
    int64_t want;
};

TEST(timestamp_formats)
{
    /* now = 2023-11-14T22:13:20Z */
    static const struct ts_case cases[] = {
        {"%Y-%m-%dT%H:%M:%S%z", 1, "at 2024-03-05T10:20:30+0200 x", 1709626830000LL},
        {"%Y-%m-%dT%H:%M:%S%z", 0, "2024-03-05T10:20:30+02:00", 1709626830000LL},
        {"%Y-%m-%dT%H:%M:%S%z", 0, "2024-03-05T10:20:30Z", 1709634030000LL},
        {"%Y-%m-%d %H:%M:%S.%f", 1, "2024-03-05 10:20:30.123456 msg", 1709634030123LL},
        {"%Y-%m-%d %H:%M:%S,%f", 1, "2024-03-05 10:20:30,5 msg", 1709634030500LL},
        {"%d/%b/%Y:%H:%M:%S %z", 1, "1.2.3.4 - - [05/Mar/2024:10:20:30 -0500] \"GET\"",
         1709652030000LL},
        {"%b %d %H:%M:%S", 1, "Nov 14 21:00:00 host sshd", 1699995600000LL},
        {"%b %-d %H:%M:%S", 1, "Dec 25 08:00:00 host", 1671955200000LL}, /* year-1 */
        {"%Q", 1, "{\"t\":1709634030123}", 1709634030123LL},
        {"%s", 1, "ts=1709634030 x", 1709634030000LL},
        {"%m/%d/%Y %I:%M:%S %p", 1, "03/05/2024 01:02:03 PM", 1709643723000LL},
        {"%m/%d/%Y %I:%M:%S %p", 1, "03/05/2024 12:02:03 AM", 1709596923000LL},
        {"%A, %B %d, %Y %H:%M:%S %Z", 0, "Tuesday, March 05, 2024 10:20:30 UTC", 1709634030000LL},
        {"%Y %j %T", 1, "2024 065 10:20:30", 1709634030000LL},
        {"%H:%M:%S", 1, "22:00:00 today", 1699999200000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lt_ts ts;
        char err[200] = "";
        if (lt_ts_init(&ts, cases[i].fmt, cases[i].utc, err, sizeof err) != 0) {
            t_fail_at(__FILE__, __LINE__, "case %zu: %s", i, err);
            continue;
        }
        int64_t ms = 0;
        int rc = lt_ts_parse(&ts, cases[i].text, strlen(cases[i].text), g_now, &ms, NULL, NULL);
        if (rc != 0 || ms != cases[i].want)
            t_fail_at(__FILE__, __LINE__, "case %zu (%s on \"%s\"): expected %lld, got rc=%d %lld",
                      i, cases[i].fmt, cases[i].text, (long long)cases[i].want, rc, (long long)ms);
        lt_ts_free(&ts);
    }
}

TEST(timestamp_local_zone)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    tzset();
    int64_t ms = 0;
    T_EQ_INT(lt_ts_parse_exact("%Y-%m-%d %H:%M:%S", false, "2024-07-01 12:00:00", 19, g_now, &ms),
             0);
    T_EQ_INT(ms, 1719828000000LL); /* 10:00Z in summer */
    T_EQ_INT(lt_ts_parse_exact("%Y-%m-%d %H:%M:%S", false, "2024-01-01 12:00:00", 19, g_now, &ms),
             0);
    T_EQ_INT(ms, 1704106800000LL); /* 11:00Z in winter */
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
}

TEST(bad_config_is_reported)
{
    char err[256] = "";
    struct lt_source_config c = src_cfg("/tmp/x/*.log");
    c.timestamp_format = "%Y %q";
    T_EQ_INT(logtail_validate_source(&c, err, sizeof err), -1);
    T_CHECK(strstr(err, "%q") != NULL);
    c.timestamp_format = NULL;
    c.multi_line_start_pattern = "([a-z";
    T_EQ_INT(logtail_validate_source(&c, err, sizeof err), -1);
    T_CHECK(strstr(err, "invalid regex") != NULL);
    c.multi_line_start_pattern = "(?P<lvl>ERROR|WARN) .*\\z";
    T_EQ_INT(logtail_validate_source(&c, err, sizeof err), 0);
    c.encoding = "no-such-charset";
    T_EQ_INT(logtail_validate_source(&c, err, sizeof err), -1);
    T_CHECK(strstr(err, "encoding") != NULL);
}

TEST(regex_dollar_matches_only_at_end)
{
    struct lt_re re;
    T_ASSERT(lt_re_compile(&re, "abc$", NULL, 0) == 0);
    T_EQ_INT(lt_re_match(&re, "abc\n", 4, NULL, NULL), 0);
    T_EQ_INT(lt_re_match(&re, "xabc", 4, NULL, NULL), 1);
    lt_re_free(&re);
}

T_MAIN("logtail_text", T_CASE(partial_line_waits_then_flushes_after_timeout),
       T_CASE(crlf_and_empty_lines), T_CASE(java_stack_trace_becomes_one_event),
       T_CASE(java_fixture_with_timestamp_start_pattern),
       T_CASE(multiline_event_never_exceeds_max_size), T_CASE(inotify_alone_wakes_the_reader),
       T_CASE(last_line_waits_only_in_files_with_continuations),
       T_CASE(last_line_waits_only_in_files_with_continuations), T_CASE(latin1_is_converted),
       T_CASE(five_mb_line_split_with_marker), T_CASE(binary_garbage_never_stalls),
       T_CASE(invalid_utf8_becomes_replacement_char), T_CASE(utf16le_is_converted),
       T_CASE(filters_in_order_and_filtered_bytes_commit),
       T_CASE(backpressure_pauses_and_resumes_after_commit),
       T_CASE(trim_timestamp_and_previous_timestamp_reuse), T_CASE(timestamp_formats),
       T_CASE(timestamp_local_zone), T_CASE(bad_config_is_reported),
       T_CASE(regex_dollar_matches_only_at_end))
