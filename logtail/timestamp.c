/* timestamp — the reference agent's strftime subset (notes d.6), turned into a PCRE2 search
 * pattern plus a parser for the matched text. Additions over the reference: %z with a colon
 * or "Z", %s (epoch seconds) and %Q (epoch milliseconds), %j, %T, %e, %h, %%.
 */
#include "logtail/lt_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY_MS    86400000LL
#define FUTURE_MS (30 * DAY_MS) /* a year-less date further ahead belongs to last year */

struct spec {
    const char *name; /* after '%', e.g. "-d" */
    const char *regex;
};

static const struct spec SPECS[] = {
    {"Y", "\\d{4}"},
    {"y", "\\d{2}"},
    {"m", "\\s{0,1}\\d{1,2}"},
    {"-m", "\\d{1,2}"},
    {"d", "\\s{0,1}\\d{1,2}"},
    {"-d", "\\d{1,2}"},
    {"e", "\\s{0,1}\\d{1,2}"},
    {"b", "[A-Za-z]{3}"},
    {"h", "[A-Za-z]{3}"},
    {"B", "[A-Za-z]{3,9}"},
    {"a", "[A-Za-z]{3}"},
    {"A", "[A-Za-z]{6,9}"},
    {"H", "\\d{2}"},
    {"-H", "\\d{1,2}"},
    {"I", "\\d{2}"},
    {"-I", "\\d{1,2}"},
    {"p", "[AaPp][Mm]"},
    {"M", "\\d{2}"},
    {"-M", "\\d{1,2}"},
    {"S", "\\d{2}"},
    {"-S", "\\d{1,2}"},
    {"f", "\\d{1,9}"},
    {"j", "\\d{3}"},
    {"Z", "[A-Za-z]{1,5}"},
    {"z", "(?:Z|[+-]\\d{2}:?\\d{2})"},
    {"T", "\\d{2}:\\d{2}:\\d{2}"},
    {"s", "\\d{10}"},
    {"Q", "\\d{13}"},
    {"%", "%"},
};

static const char *const MONTHS[] = {"january",   "february", "march",    "april",
                                     "may",       "june",     "july",     "august",
                                     "september", "october",  "november", "december"};
static const char *const DAYS[] = {"sunday",   "monday", "tuesday", "wednesday",
                                   "thursday", "friday", "saturday"};

/* Finds the spec at fmt (just after '%'); NULL when unknown. */
static const struct spec *find_spec(const char *fmt)
{
    for (size_t i = 0; i < sizeof SPECS / sizeof SPECS[0]; i++) {
        size_t k = strlen(SPECS[i].name);
        if (strncmp(fmt, SPECS[i].name, k) == 0)
            return &SPECS[i];
    }
    return NULL;
}

/* Compiles format into ops (a spec, or a literal byte). Returns the count, or -1. */
static int compile_ops(const char *format, struct lt_ts_op *ops, int max)
{
    int n = 0;
    for (const char *p = format; *p; n++) {
        if (n == max)
            return -1;
        if (*p == '%') {
            const struct spec *s = find_spec(p + 1);
            if (!s)
                return -1;
            ops[n].spec = (unsigned char)(s - SPECS) + 1;
            ops[n].lit = 0;
            p += 1 + strlen(s->name);
        } else {
            ops[n].spec = 0;
            ops[n].lit = *p++;
        }
    }
    return n;
}

/* Builds the search regex for format into b. 0, or -1 with err set. */
static int build_regex(const char *format, struct cw_buf *b, char *err, size_t errlen)
{
    for (const char *p = format; *p;) {
        int rc;
        if (*p == '%') {
            const struct spec *s = find_spec(p + 1);
            if (!s) {
                if (err)
                    snprintf(err, errlen, "timestamp_format \"%s\": unsupported %%%.2s", format,
                             p + 1);
                return -1;
            }
            rc = cw_buf_append_str(b, s->regex);
            p += 1 + strlen(s->name);
        } else {
            if (strchr("\\^$.|?*+()[]{}", *p))
                rc = cw_buf_append_char(b, '\\');
            else
                rc = 0;
            rc |= cw_buf_append_char(b, *p++);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int lt_ts_init(struct lt_ts *ts, const char *format, bool utc, char *err, size_t errlen)
{
    memset(ts, 0, sizeof *ts);
    struct cw_buf b;
    cw_buf_init(&b, 4096);
    if (!format || !*format || build_regex(format, &b, err, errlen) != 0) {
        if (err && (!format || !*format))
            snprintf(err, errlen, "empty timestamp_format");
        cw_buf_free(&b);
        return -1;
    }
    ts->nops = compile_ops(format, ts->ops, LT_TS_MAX_OPS);
    if (ts->nops < 0) {
        if (err)
            snprintf(err, errlen, "timestamp_format \"%s\" is too long", format);
        cw_buf_free(&b);
        return -1;
    }
    ts->regex = cw_buf_detach(&b, NULL);
    ts->format = strdup(format);
    ts->utc = utc;
    if (!ts->regex || !ts->format || lt_re_compile(&ts->re, ts->regex, err, errlen) != 0) {
        lt_ts_free(ts);
        return -1;
    }
    return 0;
}

void lt_ts_free(struct lt_ts *ts)
{
    free(ts->format);
    free(ts->regex);
    lt_re_free(&ts->re);
    memset(ts, 0, sizeof *ts);
}

/* Fields collected while parsing; -1 = absent. */
struct fields {
    int year, mon, mday, yday, hour, min, sec, ms, pm;
    int tzoff; /* seconds east of UTC */
    bool has_tz;
    int64_t epoch_ms;
    bool has_epoch;
};

struct cursor {
    const char *s;
    size_t n, i;
};

/* Reads 1..maxd digits (after optional spaces when `spaces`); -1 when none. */
static long read_num(struct cursor *c, int maxd, bool spaces, int *ndigits)
{
    while (spaces && c->i < c->n && c->s[c->i] == ' ')
        c->i++;
    long v = 0;
    int d = 0;
    while (d < maxd && c->i < c->n && isdigit((unsigned char)c->s[c->i])) {
        v = v * 10 + (c->s[c->i++] - '0');
        d++;
    }
    if (ndigits)
        *ndigits = d;
    return d ? v : -1;
}

/* Matches an English name (full or 3-letter prefix); returns its index or -1. */
static int read_name(struct cursor *c, const char *const *names, int count)
{
    size_t len = 0;
    while (c->i + len < c->n && isalpha((unsigned char)c->s[c->i + len]))
        len++;
    for (int k = 0; k < count; k++) {
        size_t full = strlen(names[k]);
        if ((len == full || len == 3) && strncasecmp(c->s + c->i, names[k], len) == 0) {
            c->i += len;
            return k;
        }
    }
    return -1;
}

static int read_zone_offset(struct cursor *c, struct fields *f)
{
    if (c->i < c->n && (c->s[c->i] == 'Z' || c->s[c->i] == 'z')) {
        c->i++;
        f->tzoff = 0;
        f->has_tz = true;
        return 0;
    }
    if (c->i >= c->n || (c->s[c->i] != '+' && c->s[c->i] != '-'))
        return -1;
    int sign = c->s[c->i++] == '-' ? -1 : 1;
    long hh = read_num(c, 2, false, NULL);
    if (c->i < c->n && c->s[c->i] == ':')
        c->i++;
    long mm = read_num(c, 2, false, NULL);
    if (hh < 0 || mm < 0)
        return -1;
    f->tzoff = sign * (int)(hh * 3600 + mm * 60);
    f->has_tz = true;
    return 0;
}

static int read_zone_name(struct cursor *c, struct fields *f)
{
    size_t st = c->i;
    while (c->i < c->n && isalpha((unsigned char)c->s[c->i]))
        c->i++;
    size_t len = c->i - st;
    if (len == 0)
        return -1;
    if ((len == 3 &&
         (strncasecmp(c->s + st, "UTC", 3) == 0 || strncasecmp(c->s + st, "GMT", 3) == 0)) ||
        (len == 1 && (c->s[st] == 'Z' || c->s[st] == 'z'))) {
        f->tzoff = 0;
        f->has_tz = true;
    }
    return 0;
}

static int read_fraction(struct cursor *c, struct fields *f)
{
    int nd = 0;
    size_t st = c->i;
    if (read_num(c, 9, false, &nd) < 0)
        return -1;
    int ms = 0;
    for (int k = 0; k < 3; k++)
        ms = ms * 10 + (k < nd ? c->s[st + k] - '0' : 0);
    f->ms = ms;
    return 0;
}

static int set_num(long v, int *dst)
{
    if (v < 0)
        return -1;
    *dst = (int)v;
    return 0;
}

/* Parses one conversion; 0 or -1. */
static int parse_spec(const char *name, struct cursor *c, struct fields *f)
{
    char k = name[0] == '-' ? name[1] : name[0];
    bool sp = name[0] != '-';
    switch (k) {
    case 'Y':
        return set_num(read_num(c, 4, false, NULL), &f->year);
    case 'y':
        if (set_num(read_num(c, 2, false, NULL), &f->year) != 0)
            return -1;
        f->year += f->year < 69 ? 2000 : 1900;
        return 0;
    case 'm':
        return set_num(read_num(c, 2, sp, NULL), &f->mon);
    case 'd':
    case 'e':
        return set_num(read_num(c, 2, sp, NULL), &f->mday);
    case 'b':
    case 'h':
    case 'B': {
        int m = read_name(c, MONTHS, 12);
        return m < 0 ? -1 : (f->mon = m + 1, 0);
    }
    case 'a':
    case 'A':
        return read_name(c, DAYS, 7) < 0 ? -1 : 0;
    case 'H':
    case 'I':
        return set_num(read_num(c, 2, false, NULL), &f->hour);
    case 'M':
        return set_num(read_num(c, 2, false, NULL), &f->min);
    case 'S':
        return set_num(read_num(c, 2, false, NULL), &f->sec);
    case 'j':
        return set_num(read_num(c, 3, false, NULL), &f->yday);
    case 'f':
        return read_fraction(c, f);
    case 'z':
        return read_zone_offset(c, f);
    case 'Z':
        return read_zone_name(c, f);
    case 'p':
        if (c->i + 2 > c->n)
            return -1;
        f->pm = tolower((unsigned char)c->s[c->i]) == 'p';
        c->i += 2;
        return 0;
    case 'T':
        return parse_spec("H", c, f) || c->i >= c->n || c->s[c->i++] != ':' ||
                       parse_spec("M", c, f) || c->i >= c->n || c->s[c->i++] != ':' ||
                       parse_spec("S", c, f)
                   ? -1
                   : 0;
    case 's':
    case 'Q': {
        long v = read_num(c, k == 's' ? 10 : 13, false, NULL);
        if (v < 0)
            return -1;
        f->epoch_ms = k == 's' ? (int64_t)v * 1000 : (int64_t)v;
        f->has_epoch = true;
        return 0;
    }
    case '%':
        return c->i < c->n && c->s[c->i++] == '%' ? 0 : -1;
    default:
        return -1;
    }
}

/* Walks the compiled format over text, filling f. */
static int parse_fields(const struct lt_ts_op *ops, int nops, const char *s, size_t n,
                        struct fields *f)
{
    struct cursor c = {s, n, 0};
    for (int k = 0; k < nops; k++) {
        if (ops[k].spec) {
            if (parse_spec(SPECS[ops[k].spec - 1].name, &c, f) != 0)
                return -1;
        } else if (c.i < c.n && c.s[c.i] == ops[k].lit) {
            c.i++;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Converts broken-down fields to epoch ms in the given zone. */
static int64_t to_ms(const struct fields *f, int year, bool utc)
{
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = f->yday > 0 ? 0 : f->mon - 1;
    tm.tm_mday = f->yday > 0 ? f->yday : f->mday;
    int hour = f->hour < 0 ? 0 : f->hour;
    if (f->pm >= 0)
        hour = hour % 12 + (f->pm ? 12 : 0);
    tm.tm_hour = hour;
    tm.tm_min = f->min < 0 ? 0 : f->min;
    tm.tm_sec = f->sec < 0 ? 0 : f->sec;
    tm.tm_isdst = -1;
    time_t t;
    if (f->has_tz)
        t = timegm(&tm) - f->tzoff;
    else if (utc)
        t = timegm(&tm);
    else
        t = mktime(&tm);
    return (int64_t)t * 1000 + (f->ms < 0 ? 0 : f->ms);
}

/* Fills missing date parts from now (in the zone) and converts. */
static int64_t resolve(struct fields *f, bool utc, int64_t now_ms)
{
    if (f->has_epoch)
        return f->epoch_ms + (f->ms > 0 && f->epoch_ms % 1000 == 0 ? f->ms : 0);
    time_t now = (time_t)(now_ms / 1000);
    struct tm nt;
    if (utc || (f->has_tz && f->tzoff == 0))
        gmtime_r(&now, &nt);
    else
        localtime_r(&now, &nt);
    if (f->mon < 0 && f->mday < 0 && f->yday < 0) {
        f->mon = nt.tm_mon + 1;
        f->mday = nt.tm_mday;
    }
    if (f->mon < 0)
        f->mon = 1;
    if (f->mday < 0)
        f->mday = 1;
    if (f->year >= 0)
        return to_ms(f, f->year, utc);
    int64_t ms = to_ms(f, nt.tm_year + 1900, utc);
    if (ms > now_ms + FUTURE_MS)
        ms = to_ms(f, nt.tm_year + 1899, utc);
    return ms;
}

static int parse_ops(const struct lt_ts_op *ops, int nops, bool utc, const char *s, size_t n,
                     int64_t now_ms, int64_t *ms)
{
    struct fields f = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 0, false, 0, false};
    if (parse_fields(ops, nops, s, n, &f) != 0)
        return -1;
    *ms = resolve(&f, utc, now_ms);
    return 0;
}

int lt_ts_parse_exact(const char *format, bool utc, const char *s, size_t n, int64_t now_ms,
                      int64_t *ms)
{
    struct lt_ts_op ops[LT_TS_MAX_OPS];
    int nops = compile_ops(format, ops, LT_TS_MAX_OPS);
    return nops < 0 ? -1 : parse_ops(ops, nops, utc, s, n, now_ms, ms);
}

int lt_ts_parse(struct lt_ts *ts, const char *s, size_t n, int64_t now_ms, int64_t *ms, size_t *so,
                size_t *eo)
{
    size_t a, b;
    if (!lt_re_match(&ts->re, s, n, &a, &b))
        return -1;
    if (parse_ops(ts->ops, ts->nops, ts->utc, s + a, b - a, now_ms, ms) != 0)
        return -1;
    if (so)
        *so = a;
    if (eo)
        *eo = b;
    return 0;
}
