/* lines — raw bytes to lines (bounded: a line longer than max_raw is cut into pieces), and
 * lines to valid UTF-8 (iconv for other encodings, U+FFFD for invalid sequences).
 */
#include "logtail/lt_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid/truncated. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool lt_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) { /* ASCII fast path, 8 bytes at a time */
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

size_t lt_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t cut = max;
    /* back up over continuation bytes to the start of the sequence crossing the cut */
    while (cut > 0 && cut > max - 3 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    if (((unsigned char)s[cut] & 0xC0) == 0x80)
        return max; /* not UTF-8 anyway: cut anywhere */
    return cut;
}

/* Copies s into out replacing invalid sequences by U+FFFD. */
static int repair(struct cw_buf *out, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        size_t k = u[i] < 0x80 ? 1 : utf8_seq(u + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        if (cw_buf_append(out, s + run, i - run) != 0 || cw_buf_append_str(out, REPLACEMENT))
            return -1;
        i++;
        run = i;
    }
    return cw_buf_append(out, s + run, n - run);
}

/* Picks the code unit width and endianness of an encoding name. */
static void unit_of(const char *enc, unsigned *unit, bool *be)
{
    *unit = 1;
    *be = false;
    if (strncasecmp(enc, "utf-16", 6) == 0 || strncasecmp(enc, "utf16", 5) == 0 ||
        strncasecmp(enc, "ucs-2", 5) == 0)
        *unit = 2;
    else if (strncasecmp(enc, "utf-32", 6) == 0 || strncasecmp(enc, "utf32", 5) == 0)
        *unit = 4;
    *be = *unit > 1 && strcasestr(enc, "be") != NULL;
}

static bool is_utf8_name(const char *enc)
{
    return !enc || !*enc || strcasecmp(enc, "utf-8") == 0 || strcasecmp(enc, "utf8") == 0 ||
           strcasecmp(enc, "ascii") == 0 || strcasecmp(enc, "us-ascii") == 0;
}

int lt_dec_init(struct lt_dec *d, const char *encoding, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->cd = (iconv_t)-1;
    d->unit = 1;
    cw_buf_init(&d->out, (size_t)4 * LT_API_EVENT_MAX + 16);
    if (is_utf8_name(encoding))
        return 0;
    unit_of(encoding, &d->unit, &d->big_endian);
    /* "utf-16" without a byte order: little endian (what Windows writes); see header */
    const char *from = encoding;
    if (strcasecmp(encoding, "utf-16") == 0 || strcasecmp(encoding, "utf16") == 0)
        from = "UTF-16LE";
    else if (strcasecmp(encoding, "utf-32") == 0)
        from = "UTF-32LE";
    d->cd = iconv_open("UTF-8", from);
    if (d->cd == (iconv_t)-1) {
        if (err)
            snprintf(err, errlen, "unsupported encoding \"%s\"", encoding);
        return -1;
    }
    return 0;
}

/* Converts with iconv; an invalid or truncated unit becomes U+FFFD. */
static int convert(struct lt_dec *d, const char *raw, size_t n)
{
    char *in = (char *)raw;
    size_t inleft = n;
    char tmp[4096];
    iconv(d->cd, NULL, NULL, NULL, NULL);
    while (inleft > 0) {
        char *o = tmp;
        size_t oleft = sizeof tmp;
        size_t r = iconv(d->cd, &in, &inleft, &o, &oleft);
        int e = errno;
        if (cw_buf_append(&d->out, tmp, sizeof tmp - oleft) != 0)
            return -1;
        if (r != (size_t)-1 || e == E2BIG)
            continue;
        if (cw_buf_append_str(&d->out, REPLACEMENT) != 0)
            return -1;
        size_t skip = inleft < d->unit ? inleft : d->unit; /* EILSEQ or EINVAL */
        in += skip;
        inleft -= skip;
    }
    return 0;
}

int lt_dec_run(struct lt_dec *d, const char *raw, size_t n, bool at_file_start, const char **out,
               size_t *outlen)
{
    if (d->out.cap > LT_IDLE_BUF_MAX) /* the previous result was big: release it now */
        cw_buf_free(&d->out);
    cw_buf_reset(&d->out);
    if (d->cd == (iconv_t)-1) {
        if (lt_utf8_valid(raw, n)) {
            *out = raw;
            *outlen = n;
        } else {
            if (repair(&d->out, raw, n) != 0)
                return -1;
            *out = d->out.data;
            *outlen = d->out.len;
        }
    } else {
        if (convert(d, raw, n) != 0)
            return -1;
        *out = d->out.data ? d->out.data : "";
        *outlen = d->out.len;
    }
    if (at_file_start && *outlen >= 3 && memcmp(*out, "\xEF\xBB\xBF", 3) == 0) {
        *out += 3;
        *outlen -= 3;
    }
    return 0;
}

void lt_dec_free(struct lt_dec *d)
{
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    d->cd = (iconv_t)-1;
    cw_buf_free(&d->out);
}

/* ---- line splitting ---- */

void lt_lines_init(struct lt_lines *l, size_t max_raw, unsigned unit, bool big_endian)
{
    l->max_raw = max_raw - max_raw % unit;
    cw_buf_init(&l->carry, l->max_raw + 8);
    l->carry_start = 0;
    l->unit = unit;
    l->big_endian = big_endian;
}

void lt_lines_reset(struct lt_lines *l, uint64_t off)
{
    cw_buf_reset(&l->carry);
    l->carry_start = off;
}

void lt_lines_free(struct lt_lines *l)
{
    cw_buf_free(&l->carry);
}

/* Finds the next newline unit in p[0..n) where p starts at file offset off; returns its index
 * or n. For wide encodings the newline unit must be aligned on the unit size. */
static size_t find_nl(const struct lt_lines *l, const char *p, size_t n, uint64_t off)
{
    if (l->unit == 1) {
        const char *q = memchr(p, '\n', n);
        return q ? (size_t)(q - p) : n;
    }
    size_t i = (l->unit - off % l->unit) % l->unit;
    size_t nlpos = l->big_endian ? l->unit - 1 : 0;
    for (; i + l->unit <= n; i += l->unit) {
        if (p[i + nlpos] != '\n')
            continue;
        bool zero = true;
        for (unsigned k = 0; k < l->unit; k++)
            if (k != nlpos && p[i + k] != 0)
                zero = false;
        if (zero)
            return i;
    }
    return n;
}

/* Cuts forced pieces off the carry while it is at least max_raw long. */
static void cut_pieces(struct lt_lines *l, lt_line_fn fn, void *ud)
{
    while (l->carry.len >= l->max_raw) {
        size_t cut = l->max_raw;
        if (l->unit == 1)
            cut = lt_utf8_cut(l->carry.data, l->carry.len, l->max_raw - 1);
        if (cut == 0)
            cut = l->max_raw;
        fn(ud, l->carry.data, cut, l->carry_start, l->carry_start + cut, true);
        memmove(l->carry.data, l->carry.data + cut, l->carry.len - cut);
        l->carry.len -= cut;
        l->carry_start += cut;
    }
}

/* Appends what fits of p to the carry, cutting pieces as it fills. */
static int carry_add(struct lt_lines *l, const char *p, size_t n, lt_line_fn fn, void *ud)
{
    while (n > 0) {
        size_t room = l->max_raw - l->carry.len;
        size_t k = n < room ? n : room;
        if (cw_buf_append(&l->carry, p, k) != 0)
            return -1;
        p += k;
        n -= k;
        cut_pieces(l, fn, ud);
    }
    return 0;
}

int lt_lines_feed(struct lt_lines *l, const char *p, size_t n, uint64_t off, lt_line_fn fn,
                  void *ud)
{
    size_t i = 0;
    while (i < n) {
        size_t nl = i + find_nl(l, p + i, n - i, off + i);
        if (nl == n)
            return carry_add(l, p + i, n - i, fn, ud);
        uint64_t end = off + nl + l->unit;
        if (l->carry.len == 0 && nl - i < l->max_raw) {
            fn(ud, p + i, nl - i, off + i, end, false); /* zero-copy path */
        } else {
            if (carry_add(l, p + i, nl - i, fn, ud) != 0)
                return -1;
            fn(ud, l->carry.data ? l->carry.data : "", l->carry.len, l->carry_start, end, false);
            lt_lines_shrink(l);
        }
        i = nl + l->unit;
        l->carry_start = off + i;
    }
    return 0;
}

void lt_lines_shrink(struct lt_lines *l)
{
    if (l->carry.cap > LT_IDLE_BUF_MAX)
        cw_buf_free(&l->carry); /* a long line passed: do not keep its memory */
    else
        cw_buf_reset(&l->carry);
}

void lt_lines_flush(struct lt_lines *l, lt_line_fn fn, void *ud)
{
    if (l->carry.len == 0)
        return;
    uint64_t end = l->carry_start + l->carry.len;
    fn(ud, l->carry.data, l->carry.len, l->carry_start, end, false);
    lt_lines_shrink(l);
    l->carry_start = end;
}
