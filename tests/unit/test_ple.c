/* Unit tests for agent/ple: PutLogEvents batch rules, encoding and rejected-events parsing. */
#include "agent/ple.h"
#include "tests/unit/t.h"

#include <jansson.h>
#include <stdlib.h>

#define NOW 1795000000000LL /* a fixed wall clock (ms) */

TEST(adds_until_event_count_limit)
{
    struct ple_batch *b = ple_batch_new();
    T_ASSERT(b);
    for (int i = 0; i < PLE_MAX_EVENTS; i++)
        T_ASSERT(ple_batch_add(b, NOW, "x", 1, (uint64_t)i, NOW) == PLE_ADDED);
    T_EQ_INT(ple_batch_add(b, NOW, "x", 1, 0, NOW), PLE_FULL);
    T_EQ_INT(ple_batch_count(b), PLE_MAX_EVENTS);
    T_EQ_INT(ple_batch_bytes(b), PLE_MAX_EVENTS * 27);
    ple_batch_free(b);
}

TEST(byte_limit_counts_26_per_event)
{
    struct ple_batch *b = ple_batch_new();
    size_t len = 100000;
    char *msg = malloc(len);
    T_ASSERT(b && msg);
    memset(msg, 'a', len);
    /* 10 events of 100,026 counted bytes = 1,000,260; an 11th would pass 1,048,576. */
    for (int i = 0; i < 10; i++)
        T_ASSERT(ple_batch_add(b, NOW, msg, len, 0, NOW) == PLE_ADDED);
    T_EQ_INT(ple_batch_add(b, NOW, msg, len, 0, NOW), PLE_FULL);
    /* What still fits exactly: 1,048,576 - 1,000,260 - 26 = 48,290 bytes. */
    T_EQ_INT(ple_batch_add(b, NOW, msg, 48291, 0, NOW), PLE_FULL);
    T_EQ_INT(ple_batch_add(b, NOW, msg, 48290, 0, NOW), PLE_ADDED);
    T_EQ_INT(ple_batch_bytes(b), PLE_MAX_BYTES);
    ple_batch_free(b);
    free(msg);
}

TEST(single_event_size_limit)
{
    struct ple_batch *b = ple_batch_new();
    char *msg = malloc(PLE_MAX_EVENT_MSG + 1);
    T_ASSERT(b && msg);
    memset(msg, 'b', PLE_MAX_EVENT_MSG + 1);
    T_EQ_INT(ple_batch_add(b, NOW, msg, PLE_MAX_EVENT_MSG + 1, 0, NOW), PLE_TOO_BIG);
    T_EQ_INT(ple_batch_add(b, NOW, msg, PLE_MAX_EVENT_MSG, 0, NOW), PLE_ADDED);
    T_EQ_INT(ple_batch_bytes(b), PLE_MAX_BYTES);
    T_EQ_INT(ple_batch_add(b, NOW, "", 0, 0, NOW), PLE_EMPTY);
    ple_batch_free(b);
    free(msg);
}

TEST(age_rules_refuse_what_cloudwatch_rejects)
{
    struct ple_batch *b = ple_batch_new();
    T_EQ_INT(ple_batch_add(b, NOW - PLE_MAX_AGE_MS - 1, "old", 3, 0, NOW), PLE_TOO_OLD);
    T_EQ_INT(ple_batch_add(b, NOW + PLE_MAX_FUTURE_MS + 1, "new", 3, 0, NOW), PLE_TOO_NEW);
    T_EQ_INT(ple_batch_add(b, NOW - PLE_MAX_AGE_MS + 1000, "ok", 2, 0, NOW), PLE_ADDED);
    T_EQ_INT(ple_batch_count(b), 1);
    ple_batch_free(b);
}

TEST(span_over_24h_starts_a_new_batch)
{
    struct ple_batch *b = ple_batch_new();
    T_EQ_INT(ple_batch_add(b, NOW - PLE_MAX_SPAN_MS, "a", 1, 0, NOW), PLE_ADDED);
    T_EQ_INT(ple_batch_add(b, NOW, "b", 1, 0, NOW), PLE_ADDED); /* exactly 24 h: allowed */
    T_EQ_INT(ple_batch_add(b, NOW + 1, "c", 1, 0, NOW), PLE_FULL);
    T_EQ_INT(ple_batch_add(b, NOW - PLE_MAX_SPAN_MS - 1, "d", 1, 0, NOW), PLE_FULL);
    ple_batch_reset(b);
    T_EQ_INT(ple_batch_count(b), 0);
    T_EQ_INT(ple_batch_add(b, NOW + 1, "c", 1, 0, NOW), PLE_ADDED);
    ple_batch_free(b);
}

TEST(encode_sorts_stably_and_escapes)
{
    struct ple_batch *b = ple_batch_new();
    T_ASSERT(ple_batch_add(b, NOW + 2, "third \"q\"", 9, 3, NOW) == PLE_ADDED);
    T_ASSERT(ple_batch_add(b, NOW + 1, "first\ttab", 9, 1, NOW) == PLE_ADDED);
    T_ASSERT(ple_batch_add(b, NOW + 1, "second\x01\\ \xc3\xa9", 11, 2, NOW) == PLE_ADDED);
    struct cw_buf out;
    cw_buf_init(&out, 1 << 20);
    T_ASSERT(ple_batch_encode(b, "/var/log/app", "i-123", &out) == 0);
    T_EQ_STR(out.data,
             "{\"logGroupName\":\"/var/log/app\",\"logStreamName\":\"i-123\",\"logEvents\":["
             "{\"timestamp\":1795000000001,\"message\":\"first\\ttab\"},"
             "{\"timestamp\":1795000000001,\"message\":\"second\\u0001\\\\ \xc3\xa9\"},"
             "{\"timestamp\":1795000000002,\"message\":\"third \\\"q\\\"\"}]}");
    T_EQ_INT(ple_batch_cookie(b, 0), 1);
    T_EQ_INT(ple_batch_cookie(b, 1), 2);
    T_EQ_INT(ple_batch_cookie(b, 2), 3);
    /* The body is valid JSON with the messages intact. */
    json_t *root = json_loadb(out.data, out.len, 0, NULL);
    T_ASSERT(root);
    json_t *ev = json_object_get(root, "logEvents");
    T_EQ_STR(json_string_value(json_object_get(json_array_get(ev, 1), "message")),
             "second\x01\\ \xc3\xa9");
    json_decref(root);
    cw_buf_free(&out);
    ple_batch_free(b);
}

TEST(encode_fails_cleanly_when_output_cap_too_small)
{
    struct ple_batch *b = ple_batch_new();
    T_ASSERT(ple_batch_add(b, NOW, "hello", 5, 0, NOW) == PLE_ADDED);
    struct cw_buf out;
    cw_buf_init(&out, 20);
    T_EQ_INT(ple_batch_encode(b, "g", "s", &out), -1);
    cw_buf_free(&out);
    ple_batch_free(b);
}

TEST(parse_rejected_info)
{
    struct ple_rejected r;
    const char *body = "{\"nextSequenceToken\":\"x\",\"rejectedLogEventsInfo\":"
                       "{\"tooOldLogEventEndIndex\":2,\"tooNewLogEventStartIndex\":8}}";
    T_EQ_INT(ple_parse_response(body, strlen(body), &r), 0);
    T_EQ_INT(r.too_old_end, 2);
    T_EQ_INT(r.too_new_start, 8);
    T_EQ_INT(r.expired_end, -1);
    T_EQ_INT(ple_rejected_count(&r, 10), 4);
    T_EQ_INT(ple_parse_response("", 0, &r), 0);
    T_EQ_INT(ple_rejected_count(&r, 10), 0);
    T_EQ_INT(ple_parse_response("{}", 2, &r), 0);
    T_EQ_INT(ple_rejected_count(&r, 10), 0);
    T_EQ_INT(ple_parse_response("{trunc", 6, &r), -1);
    const char *exp = "{\"rejectedLogEventsInfo\":{\"expiredLogEventEndIndex\":5,"
                      "\"tooOldLogEventEndIndex\":3,\"tooNewLogEventStartIndex\":2}}";
    T_EQ_INT(ple_parse_response(exp, strlen(exp), &r), 0);
    T_EQ_INT(ple_rejected_count(&r, 10), 10); /* overlapping ranges never double count */
}

/* The byte-at-a-time definition the fast escaper must match. */
static void ref_escape(struct cw_buf *o, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    T_ASSERT(cw_buf_append_char(o, '"') == 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        char e[7] = {0};
        if (c == '"' || c == '\\')
            snprintf(e, sizeof e, "\\%c", c);
        else if (c == '\n')
            snprintf(e, sizeof e, "\\n");
        else if (c == '\r')
            snprintf(e, sizeof e, "\\r");
        else if (c == '\t')
            snprintf(e, sizeof e, "\\t");
        else if (c < 0x20)
            snprintf(e, sizeof e, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        else
            e[0] = (char)c;
        T_ASSERT(cw_buf_append(o, e, e[0] ? strlen(e) : 1) == 0);
    }
    T_ASSERT(cw_buf_append_char(o, '"') == 0);
}

TEST(escaping_matches_the_byte_at_a_time_definition)
{
    /* Every special byte at every position of strings of many lengths, amid UTF-8 and
     * bytes just above and below the special ones (0x1f/0x20, 0x21/0x23, 0x5b/0x5d, 0x7f). */
    static const unsigned char pool[] = {'a',  0x20, 0x1f, 0x00, '\n', '\t', '"',  '\\', 0x21,
                                         0x23, 0x5b, 0x5d, 0x7f, 0xc3, 0xa9, 0xe2, 0x82, 0xac};
    unsigned seed = 12345;
    unsigned char buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(iter % 40);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (seed >> 16) % 5 ? 'x' : pool[(seed >> 8) % sizeof pool];
        }
        struct cw_buf got, want;
        cw_buf_init(&got, 1024);
        cw_buf_init(&want, 1024);
        T_ASSERT(ple_json_string(&got, (const char *)buf, n) == 0);
        ref_escape(&want, buf, n);
        if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0) {
            t_fail_at(__FILE__, __LINE__, "iteration %d (len %zu): got %s want %s", iter, n,
                      got.data, want.data);
            cw_buf_free(&got);
            cw_buf_free(&want);
            return;
        }
        cw_buf_free(&got);
        cw_buf_free(&want);
    }
}

T_MAIN("ple", T_CASE(escaping_matches_the_byte_at_a_time_definition),
       T_CASE(adds_until_event_count_limit), T_CASE(byte_limit_counts_26_per_event),
       T_CASE(single_event_size_limit), T_CASE(age_rules_refuse_what_cloudwatch_rejects),
       T_CASE(span_over_24h_starts_a_new_batch), T_CASE(encode_sorts_stably_and_escapes),
       T_CASE(encode_fails_cleanly_when_output_cap_too_small), T_CASE(parse_rejected_info))
