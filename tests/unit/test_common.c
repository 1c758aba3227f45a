/* Unit tests for common/: the capped buffer, log formatting and redaction, header lookup. */
#include "common/buf.h"
#include "common/http.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <stdlib.h>

TEST(buf_appends_and_terminates)
{
    struct cw_buf b;
    cw_buf_init(&b, 100);
    T_EQ_INT(cw_buf_append_str(&b, "abc"), 0);
    T_EQ_INT(cw_buf_printf(&b, "-%d-", 42), 0);
    T_EQ_INT(cw_buf_append_char(&b, 'z'), 0);
    T_EQ_STR(b.data, "abc-42-z");
    T_EQ_INT(b.len, 8);
    cw_buf_free(&b);
}

TEST(buf_refuses_past_cap_and_stays_intact)
{
    struct cw_buf b;
    cw_buf_init(&b, 5);
    T_EQ_INT(cw_buf_append_str(&b, "12345"), 0);
    T_EQ_INT(cw_buf_append_char(&b, '6'), -1);
    T_EQ_INT(cw_buf_printf(&b, "%s", "x"), -1);
    T_EQ_STR(b.data, "12345");
    size_t len = 0;
    char *p = cw_buf_detach(&b, &len);
    T_EQ_STR(p, "12345");
    T_EQ_INT(len, 5);
    T_EQ_INT(b.len, 0);
    free(p);
}

TEST(buf_grows_across_many_appends)
{
    struct cw_buf b;
    cw_buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        T_ASSERT(cw_buf_append(&b, "0123456789", 10) == 0);
    T_EQ_INT(b.len, 100000);
    T_CHECK(b.data[99999] == '9' && b.data[100000] == '\0');
    cw_buf_free_secret(&b);
}

struct captured {
    char line[512];
    int calls;
};

static void capture(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    struct captured *c = ud;
    (void)level;
    c->calls++;
    snprintf(c->line, sizeof c->line, "%.*s", (int)len, line);
}

TEST(log_format_and_level_filter)
{
    struct captured c = {{0}, 0};
    cw_log_set_sink(capture, &c);
    cw_log_set_level(CW_LOG_INFO);
    cw_debug("test", "hidden %d", 1);
    T_EQ_INT(c.calls, 0);
    cw_warn("sender", "retry %d of %d", 2, 5);
    T_EQ_INT(c.calls, 1);
    /* 2024-04-17T01:07:02Z W! [sender] retry 2 of 5\n */
    T_CHECK(strlen(c.line) == 21 + strlen("W! [sender] retry 2 of 5\n"));
    T_EQ_STR(c.line + 21, "W! [sender] retry 2 of 5\n");
    T_CHECK(c.line[4] == '-' && c.line[10] == 'T' && c.line[19] == 'Z');
    cw_log_set_sink(NULL, NULL);
    enum cw_log_level lv;
    T_EQ_INT(cw_log_parse_level("DEBUG", &lv), 0);
    T_EQ_INT(lv, CW_LOG_DEBUG);
    T_EQ_INT(cw_log_parse_level("verbose", &lv), -1);
}

TEST(log_redacts_key_ids)
{
    char out[32];
    cw_log_redact_key("AKIDEXAMPLE12345", out, sizeof out);
    T_EQ_STR(out, "AKID****2345");
    cw_log_redact_key("short", out, sizeof out);
    T_EQ_STR(out, "****");
}

TEST(http_header_lookup)
{
    const char *hdrs[] = {"Content-Type: text/xml", "Date:  Mon, 23 Nov 2026 12:00:00 GMT \r\n",
                          NULL};
    struct cw_http_response r = {0};
    r.headers = hdrs;
    r.nheaders = 2;
    char out[64];
    T_EQ_STR(cw_http_response_header(&r, "date", out, sizeof out), "Mon, 23 Nov 2026 12:00:00 GMT");
    T_CHECK(cw_http_response_header(&r, "x-amzn-requestid", out, sizeof out) == NULL);
}

T_MAIN("common", T_CASE(buf_appends_and_terminates), T_CASE(buf_refuses_past_cap_and_stays_intact),
       T_CASE(buf_grows_across_many_appends), T_CASE(log_format_and_level_filter),
       T_CASE(log_redacts_key_ids), T_CASE(http_header_lookup))
