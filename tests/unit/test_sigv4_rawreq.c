/* Unit tests for sigv4/rawreq: the raw HTTP/1.1 request parser used by the vector tests and
 * `cwagent sign`. */
#include "sigv4/rawreq.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, struct rawreq *r, char *err, size_t errlen)
{
    return rawreq_parse(s, strlen(s), r, err, errlen);
}

TEST(crlf_request_with_query_and_body)
{
    const char *in = "POST /a%20b/c?x=1&y HTTP/1.1\r\nHost: h.example\r\n"
                     "Content-Type:  text/plain  \r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    struct rawreq r;
    char err[128];
    T_ASSERT(parse(in, &r, err, sizeof err) == 0);
    T_EQ_STR(r.method, "POST");
    T_EQ_STR(r.path, "/a%20b/c");
    T_EQ_STR(r.query, "x=1&y");
    T_EQ_STR(r.version, "HTTP/1.1");
    T_EQ_INT(r.nheaders, 3);
    T_EQ_STR(r.headers[0].name, "Host");
    T_EQ_STR(r.headers[1].value, "text/plain");
    T_EQ_STR(rawreq_header(&r, "content-length"), "5");
    T_EQ_INT(r.body_len, 5); /* Content-Length bounds the body */
    T_CHECK(memcmp(r.body, "hello", 5) == 0);
    rawreq_free(&r);
}

TEST(lf_only_vector_style_without_blank_line)
{
    const char *in = "GET /example space/ HTTP/1.1\nHost:example.amazonaws.com\n"
                     "X-Amz-Date:20150830T123600Z";
    struct rawreq r;
    char err[128];
    T_ASSERT(parse(in, &r, err, sizeof err) == 0);
    T_EQ_STR(r.path, "/example space/"); /* the target runs to the last space */
    T_CHECK(r.query == NULL);
    T_EQ_INT(r.nheaders, 2);
    T_EQ_STR(r.headers[1].value, "20150830T123600Z");
    T_EQ_INT(r.body_len, 0);
    rawreq_free(&r);
}

TEST(folded_header_lines_join_with_one_space)
{
    const char *in =
        "GET / HTTP/1.1\r\nHost:h\r\nMy-Header1:value1\r\n  value2\r\n\t   value3  \r\n"
        "Next: n\r\n\r\n";
    struct rawreq r;
    char err[128];
    T_ASSERT(parse(in, &r, err, sizeof err) == 0);
    T_EQ_INT(r.nheaders, 3);
    T_EQ_STR(rawreq_header(&r, "my-header1"), "value1 value2 value3");
    T_EQ_STR(rawreq_header(&r, "next"), "n");
    rawreq_free(&r);
}

TEST(body_without_content_length_is_the_rest_and_may_hold_nuls)
{
    const char in[] = "PUT /x HTTP/1.1\nHost: h\n\nab\0cd\r\n";
    struct rawreq r;
    char err[128];
    T_ASSERT(rawreq_parse(in, sizeof in - 1, &r, err, sizeof err) == 0);
    T_EQ_INT(r.body_len, 7);
    T_CHECK(memcmp(r.body, "ab\0cd\r\n", 7) == 0);
    rawreq_free(&r);
}

TEST(repeated_headers_keep_their_order)
{
    const char *in = "GET / HTTP/1.1\nHost:h\nA:1\na:2\nA:3\n";
    struct rawreq r;
    char err[128];
    T_ASSERT(parse(in, &r, err, sizeof err) == 0);
    T_EQ_INT(r.nheaders, 4);
    T_EQ_STR(r.headers[2].value, "2");
    T_EQ_STR(rawreq_header(&r, "a"), "1");
    T_CHECK(rawreq_header(&r, "missing") == NULL);
    rawreq_free(&r);
}

TEST(malformed_requests_are_refused_with_a_reason)
{
    static const struct {
        const char *in, *reason;
    } cases[] = {
        {"GET\r\nHost: h\r\n\r\n", "request line"},
        {"GET /\r\nHost: h\r\n\r\n", "request line"},
        {"GET / FTP/1.0\r\n\r\n", "request line"},
        {"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "origin form"},
        {"GET * HTTP/1.1\r\n\r\n", "origin form"},
        {"GET / HTTP/1.1\r\nHost h\r\n\r\n", "without ':'"},
        {"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "bad header name"},
        {"GET / HTTP/1.1\r\n: h\r\n\r\n", "bad header name"},
        {"GET / HTTP/1.1\r\n  folded\r\nHost: h\r\n\r\n", "continuation"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nshort", "Content-Length is 10"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         "bad Content-Length"},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "chunked"},
        {"", "empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct rawreq r;
        char err[128] = "";
        int rc = parse(cases[i].in, &r, err, sizeof err);
        T_EQ_INT(rc, -1);
        if (!strstr(err, cases[i].reason))
            t_fail_at(__FILE__, __LINE__, "case %zu: reason \"%s\" lacks \"%s\"", i, err,
                      cases[i].reason);
        T_CHECK(r.headers == NULL && r.method == NULL);
    }
    const char nul_in_head[] = "GET / HTTP/1.1\r\nHost: h\0x\r\n\r\n";
    struct rawreq r;
    char err[128] = "";
    T_EQ_INT(rawreq_parse(nul_in_head, sizeof nul_in_head - 1, &r, err, sizeof err), -1);
    T_CHECK(strstr(err, "NUL") != NULL);
}

TEST(header_count_is_capped)
{
    size_t n = RAWREQ_MAX_HEADERS + 1;
    size_t cap = 32 + n * 8;
    char *in = malloc(cap);
    T_ASSERT(in != NULL);
    size_t len = (size_t)snprintf(in, cap, "GET / HTTP/1.1\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(in + len, cap - len, "A:%zu\n", i % 10);
    struct rawreq r;
    char err[128] = "";
    T_EQ_INT(rawreq_parse(in, len, &r, err, sizeof err), -1);
    T_CHECK(strstr(err, "headers") != NULL);
    free(in);
}

TEST(pipelined_requests_use_content_length_only)
{
    const char in[] = "\r\nPOST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                      "GET /b?q HTTP/1.1\nHost: h\n\n"
                      "PUT /c HTTP/1.1\nHost: h\nContent-Length: 2\n\nxyGARBAGE";
    size_t len = sizeof in - 1, off = 0;
    struct rawreq r;
    char err[128];
    T_ASSERT(rawreq_parse_next(in, len, &r, err, sizeof err) == 0);
    T_EQ_STR(r.path, "/a");
    T_EQ_STR(r.body, "abc");
    off += r.consumed;
    rawreq_free(&r);
    T_ASSERT(rawreq_parse_next(in + off, len - off, &r, err, sizeof err) == 0);
    T_EQ_STR(r.path, "/b");
    T_EQ_INT(r.body_len, 0); /* no Content-Length: no body, the next request follows */
    off += r.consumed;
    rawreq_free(&r);
    T_ASSERT(rawreq_parse_next(in + off, len - off, &r, err, sizeof err) == 0);
    T_EQ_STR(r.method, "PUT");
    T_EQ_STR(r.body, "xy");
    off += r.consumed;
    rawreq_free(&r);
    T_EQ_STR(in + off, "GARBAGE");
    T_EQ_INT(rawreq_parse_next(in + off, len - off, &r, err, sizeof err), -1);
}

T_MAIN("sigv4_rawreq", T_CASE(pipelined_requests_use_content_length_only),
       T_CASE(crlf_request_with_query_and_body), T_CASE(lf_only_vector_style_without_blank_line),
       T_CASE(folded_header_lines_join_with_one_space),
       T_CASE(body_without_content_length_is_the_rest_and_may_hold_nuls),
       T_CASE(repeated_headers_keep_their_order),
       T_CASE(malformed_requests_are_refused_with_a_reason), T_CASE(header_count_is_capped))
