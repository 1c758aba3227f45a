/* libFuzzer target: raw file bytes to events — lt_lines_feed (line splitting in any code unit
 * width, fed in chunks) -> lt_dec_run (UTF-8 repair, iconv) -> lt_utf8_cut -> lt_ml_line
 * (multi-line). Input: byte 0 encoding, byte 1 max event (16..4096), byte 2 chunk size, byte 3
 * start pattern, then the file. Invariant: every event is valid UTF-8 and at most max bytes. */
#include "logtail/lt_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
    struct lt_dec dec;
    struct lt_ml ml;
    struct lt_re re;
    size_t max;
};

static void check(const char *s, size_t n, size_t max)
{
    if (n > max || !lt_utf8_valid(s, n))
        __builtin_trap();
}

static void ev_cb(void *ud, struct cw_buf *msg, uint64_t end_off)
{
    struct ctx *c = ud;
    (void)end_off;
    check(msg->data ? msg->data : "", msg->len, c->max);
}

/* Mirrors logtail/tailfile.c line_cb. */
static void line_cb(void *ud, const char *p, size_t n, uint64_t start_off, uint64_t end_off,
                    bool piece)
{
    struct ctx *c = ud;
    const char *s;
    size_t len;
    if (lt_dec_run(&c->dec, p, n, start_off == 0, &s, &len) != 0)
        return;
    if (!piece && len > 0 && s[len - 1] == '\r')
        len--;
    while (len > c->max || (piece && len > 0)) {
        size_t cut = lt_utf8_cut(s, len, c->max);
        check(s, cut, c->max);
        bool last = cut == len;
        s += cut;
        len -= cut;
        if (last)
            return;
    }
    if (piece)
        return;
    lt_ml_line(&c->ml, &c->re, s, len, end_off, ev_cb, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *encs[] = {"utf-8",   "utf-16",    "utf-16be", "latin1",
                                 "gb18030", "shift_jis", "utf-32",   "windows-1252"};
    static const char *pats[] = {"^[\\S]", "^\\d{4}-", "^(?:INFO|WARN|ERROR)\\b", "^\\s*\\["};
    if (size < 4 || size > 200000)
        return 0;
    struct ctx c;
    char err[256];
    if (lt_dec_init(&c.dec, encs[data[0] % 8], err, sizeof err) != 0)
        return 0;
    c.max = 16 + (size_t)data[1] * 16;
    unsigned chunk = 1 + data[2] * 7u;
    if (lt_re_compile(&c.re, pats[data[3] % 4], err, sizeof err) != 0) {
        lt_dec_free(&c.dec);
        return 0;
    }
    lt_ml_init(&c.ml, c.max);
    struct lt_lines l;
    lt_lines_init(&l, c.max, c.dec.unit, c.dec.big_endian);
    data += 4, size -= 4;
    for (uint64_t off = 0; off < size;) {
        size_t k = size - off < chunk ? size - off : chunk;
        char *buf = malloc(k); /* exact size: ASan sees overreads */
        if (!buf)
            break;
        memcpy(buf, data + off, k);
        lt_lines_feed(&l, buf, k, off, line_cb, &c);
        free(buf);
        off += k;
    }
    lt_lines_flush(&l, line_cb, &c);
    lt_ml_flush(&c.ml, ev_cb, &c);
    lt_lines_free(&l);
    lt_ml_free(&c.ml);
    lt_re_free(&c.re);
    lt_dec_free(&c.dec);
    return 0;
}
