/* libFuzzer target: what AWS (or anything claiming to be it) answers — error bodies
 * (cw_retry_parse_error / classify: JSON __type, XML <Code>, headers), HTTP dates and the
 * clock-skew correction, PutLogEvents responses, and the SWAR JSON string escaper checked
 * against jansson. Input: byte 0 selects the parser (mod 4), the rest is its input; for the
 * error parser "header\nheader\n\nbody". */
#include "agent/ple.h"
#include "agent/retry.h"
#include "common/buf.h"
#include "common/http.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void error_body(char *b, size_t size, long status)
{
    char code[128], msg[512];
    const char *hdrs[8] = {0};
    size_t nh = 0;
    const char *body = b;
    size_t blen = size;
    char *sep = strstr(b, "\n\n");
    if (sep) {
        *sep = '\0';
        body = sep + 2;
        blen = size - (size_t)(body - b);
        char *save = NULL;
        for (char *l = strtok_r(b, "\n", &save); l && nh < 7; l = strtok_r(NULL, "\n", &save))
            hdrs[nh++] = l;
    }
    struct cw_http_response r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.body = body;
    r.body_len = blen;
    r.headers = hdrs;
    r.nheaders = nh;
    cw_retry_parse_error(&r, code, sizeof code, msg, sizeof msg);
    (void)cw_retry_classify_response(&r);
}

static void skew(const char *b)
{
    int64_t e;
    struct cw_clock_skew sk;
    cw_clock_skew_init(&sk);
    (void)cw_retry_parse_http_date(b, &e);
    (void)cw_clock_skew_update(&sk, b, 1796200000000LL);
}

static void json_escape(const char *b, size_t size)
{
    json_t *ref = json_stringn(b, size); /* only valid UTF-8 is compared */
    if (!ref)
        return;
    struct cw_buf o;
    cw_buf_init(&o, 8 * size + 64);
    if (ple_json_string(&o, b, size) != 0)
        __builtin_trap();
    json_error_t je;
    json_t *back = json_loadb(o.data ? o.data : "", o.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!back || !json_is_string(back) || json_string_length(back) != size ||
        memcmp(json_string_value(back), b, size) != 0)
        __builtin_trap();
    json_decref(back);
    cw_buf_free(&o);
    json_decref(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 200000)
        return 0;
    unsigned sel = data[0] % 4;
    data++, size--;
    char *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    b[size] = '\0';
    switch (sel) {
    case 0:
        error_body(b, size, size & 1 ? 503 : 400);
        break;
    case 1:
        skew(b);
        break;
    case 2: {
        struct ple_rejected rj;
        if (ple_parse_response(b, size, &rj) == 0)
            (void)ple_rejected_count(&rj, 10000);
        break;
    }
    default:
        json_escape(b, size);
    }
    free(b);
    return 0;
}
