#include "agent/pmd.h"

#include "common/log.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound of one encoded datum once its lengths are validated (names 255, 30 dims with
 * 1024-byte values, 150 Values + Counts, stats): every byte may become %XX. */
#define PMD_DATUM_MAX_BYTES 160000
#define PMD_MAX_UNIT        32
#define PMD_ERROR_SCAN      65536

struct pmd_encoder {
    char *buf;
    size_t len;     /* bytes of the open body */
    size_t hdr_len; /* "Action=...&Namespace=..." prefix */
    size_t cap;
    size_t max_body;
    size_t max_datums;
    size_t ndatums; /* in the open batch */
    int64_t oldest_ms, newest_ms;
    int64_t ts_cached_sec; /* timestamp text cache: one per second */
    char ts_text[40];
    size_t ts_len;
    pmd_emit_fn emit;
    void *ud;
    struct pmd_stats st;
};

/* Python's quote_plus: these bytes pass through unchanged. */
static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static char *put_esc(char *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        unsigned char c = *u;
        if (is_unreserved(c)) {
            *p++ = (char)c;
        } else if (c == ' ') {
            *p++ = '+';
        } else {
            p[0] = '%';
            p[1] = hex[c >> 4];
            p[2] = hex[c & 15];
            p += 3;
        }
    }
    return p;
}

static char *put_mem(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put_mem((p), (lit), sizeof(lit) - 1)

static char *put_uint(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* ---- numbers: Python repr(float) ---- */

typedef unsigned __int128 u128;

static const uint64_t pow10_u64[20] = {1ULL,
                                       10ULL,
                                       100ULL,
                                       1000ULL,
                                       10000ULL,
                                       100000ULL,
                                       1000000ULL,
                                       10000000ULL,
                                       100000000ULL,
                                       1000000000ULL,
                                       10000000000ULL,
                                       100000000000ULL,
                                       1000000000000ULL,
                                       10000000000000ULL,
                                       100000000000000ULL,
                                       1000000000000000ULL,
                                       10000000000000000ULL,
                                       100000000000000000ULL,
                                       1000000000000000000ULL,
                                       10000000000000000000ULL};

static u128 pow10_128(int s)
{
    return s <= 19 ? (u128)pow10_u64[s] : (u128)pow10_u64[19] * pow10_u64[s - 19];
}

/* Decimal exponent estimate: 10^(decpt-1) <= a < 10^decpt (corrected by the caller). */
static int estimate_decpt(double a)
{
    static const double p[] = {1e-3, 1e-2, 1e-1, 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                               1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};
    int d = -3;
    for (size_t i = 0; i < sizeof p / sizeof p[0] && a >= p[i]; i++)
        d++;
    return d;
}

/* Tries the n-digit decimal nearest to a = m / 2^E (exactly, in 128-bit integers). Returns 1
 * and sets *q when it round-trips, 0 when it does not, -1 when an exact tie or a wrong decpt
 * estimate needs the caller to stop. Round trip: |q/10^s - m/2^E| < half the gap to the
 * neighbour on that side, i.e. 2|q 2^E - m 10^s| < 10^s (4x when the gap below is halved). */
static int try_digits(uint64_t m, int E, int s, int n, int lower_closer, uint64_t *q)
{
    u128 N = (u128)m * pow10_128(s);
    u128 mask = ((u128)1 << E) - 1, half = (u128)1 << (E - 1);
    u128 r = N & mask, d = N >> E;
    if (r == half)
        return -1;
    if (r > half)
        d++;
    if (d >= pow10_u64[n] || d < pow10_u64[n - 1])
        return -1;
    u128 de = d << E;
    u128 diff = de > N ? de - N : N - de;
    u128 lim = pow10_128(s);
    u128 scaled = de < N && lower_closer ? diff * 4 : diff * 2;
    if (scaled == lim)
        return -1;
    *q = (uint64_t)d;
    return scaled < lim;
}

/* Shortest round-trip digits of a in [1e-4, 2^53) without printf. Returns the digit count, or
 * 0 when an edge case (tie, estimate off by one) is left to the printf path. */
static int shortest_exact(double a, char dg[20], int *exp10)
{
    int e2;
    double fr = frexp(a, &e2);
    uint64_t m = (uint64_t)ldexp(fr, 53);
    int E = 53 - e2; /* a = m / 2^E, 1 <= E <= 67 in this range */
    int decpt = estimate_decpt(a);
    uint64_t q = 0;
    for (int n = 15; n <= 17; n++) {
        int s = n - decpt;
        if (s < 0)
            continue;
        int rc = try_digits(m, E, s, n, m == (1ULL << 52), &q);
        if (rc < 0)
            return 0;
        if (rc == 0)
            continue;
        while (q % 10 == 0) {
            q /= 10;
            n--;
        }
        for (int i = n - 1; i >= 0; i--) {
            dg[i] = (char)('0' + q % 10);
            q /= 10;
        }
        *exp10 = decpt - 1;
        return n;
    }
    return 0;
}

/* Shortest round-trip digits of a > 0 via printf: digits[] (no dot) and the decimal exponent
 * of the first digit. Returns the digit count. For normal doubles any decimal of <= 15 digits
 * round-trips, so when the shortest has <= 15 digits "%.14e" is it padded with zeros; search
 * from 15. Subnormals have less precision and search from 1. */
static int shortest_digits(double a, char digits[20], int *exp10)
{
    char tmp[40];
    for (int prec = a < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, a);
        if (prec < 17 && strtod(tmp, NULL) != a)
            continue;
        int n = 0;
        for (const char *s = tmp; *s && *s != 'e'; s++)
            if (*s != '.')
                digits[n++] = *s;
        while (n > 1 && digits[n - 1] == '0')
            n--;
        *exp10 = (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
        return n;
    }
    return 0; /* not reached: 17 digits always round-trip */
}

/* Lays the digits out as Python's float_repr_style 'short' does. */
static size_t layout_repr(char *out, const char *dg, int n, int exp10)
{
    char *p = out;
    int decpt = exp10 + 1;
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            p = PUT_LIT(p, "0.");
            for (int i = 0; i < -decpt; i++)
                *p++ = '0';
            p = put_mem(p, dg, (size_t)n);
        } else if (decpt >= n) {
            p = put_mem(p, dg, (size_t)n);
            for (int i = n; i < decpt; i++)
                *p++ = '0';
            p = PUT_LIT(p, ".0");
        } else {
            p = put_mem(p, dg, (size_t)decpt);
            *p++ = '.';
            p = put_mem(p, dg + decpt, (size_t)(n - decpt));
        }
        return (size_t)(p - out);
    }
    *p++ = dg[0];
    if (n > 1) {
        *p++ = '.';
        p = put_mem(p, dg + 1, (size_t)(n - 1));
    }
    int e = decpt - 1;
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    if (e < 0)
        e = -e;
    if (e < 10)
        *p++ = '0';
    p = put_uint(p, (uint64_t)e);
    return (size_t)(p - out);
}

size_t pmd_format_double(char *out, double v)
{
    char *p = out;
    if (signbit(v)) {
        *p++ = '-';
        v = -v;
    }
    if (v == 0) {
        p = PUT_LIT(p, "0.0");
        return (size_t)(p - out);
    }
    if (v < 9007199254740992.0 && v == (double)(uint64_t)v) {
        p = put_uint(p, (uint64_t)v);
        p = PUT_LIT(p, ".0");
        return (size_t)(p - out);
    }
    char dg[20];
    int e10 = 0, nd = 0;
    if (v >= 1e-4 && v < 9007199254740992.0)
        nd = shortest_exact(v, dg, &e10);
    if (nd == 0)
        nd = shortest_digits(v, dg, &e10);
    return (size_t)(p - out) + layout_repr(p, dg, nd, e10);
}

int pmd_value_ok(double v)
{
    if (!isfinite(v))
        return -1;
    double a = fabs(v);
    if (a > 0x1p360 || (a != 0 && a < 0x1p-360))
        return -1;
    return 0;
}

/* ---- timestamps ---- */

/* Days since 1970-01-01 to civil date (H. Hinnant's algorithm; proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_2d(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Fills the cache with the already percent-encoded "YYYY-MM-DDTHH%3AMM%3ASS" for `sec`. */
static void cache_ts(struct pmd_encoder *e, int64_t sec)
{
    int64_t days = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    int64_t rem = sec - days * 86400;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    char *p = e->ts_text;
    unsigned yy = (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y);
    p = put_2d(p, yy / 100);
    p = put_2d(p, yy % 100);
    *p++ = '-';
    p = put_2d(p, mo);
    *p++ = '-';
    p = put_2d(p, d);
    *p++ = 'T';
    p = put_2d(p, (unsigned)(rem / 3600));
    p = PUT_LIT(p, "%3A");
    p = put_2d(p, (unsigned)(rem / 60 % 60));
    p = PUT_LIT(p, "%3A");
    p = put_2d(p, (unsigned)(rem % 60));
    e->ts_len = (size_t)(p - e->ts_text);
    e->ts_cached_sec = sec;
}

static char *put_ts(struct pmd_encoder *e, char *p, int64_t ms)
{
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    unsigned msec = (unsigned)(ms - sec * 1000);
    if (sec != e->ts_cached_sec)
        cache_ts(e, sec);
    p = put_mem(p, e->ts_text, e->ts_len);
    if (msec) { /* botocore writes microseconds: ".%fZ" */
        *p++ = '.';
        *p++ = (char)('0' + msec / 100);
        p = put_2d(p, msec % 100);
        p = PUT_LIT(p, "000");
    }
    *p++ = 'Z';
    return p;
}

/* ---- datums ---- */

static int valid_datum(const struct datum *d)
{
    if (!d->name || !d->name[0] || strlen(d->name) > DATUM_MAX_NAME)
        return -1;
    if (d->ndims > DATUM_MAX_DIMS || d->nvalues > DATUM_MAX_VALUES)
        return -1;
    if (d->unit && strlen(d->unit) > PMD_MAX_UNIT)
        return -1;
    for (size_t i = 0; i < d->ndims; i++) {
        const struct datum_dim *dm = &d->dims[i];
        if (!dm->name || !dm->value || !dm->name[0] || !dm->value[0] ||
            strlen(dm->name) > DATUM_MAX_DIM_NAME || strlen(dm->value) > DATUM_MAX_DIM_VALUE)
            return -1;
    }
    return 0;
}

static int values_ok(const struct datum *d)
{
    if (d->nvalues == 0 && pmd_value_ok(d->value) != 0)
        return -1;
    for (size_t i = 0; i < d->nvalues; i++)
        if (pmd_value_ok(d->values[i]) != 0 || (d->counts && pmd_value_ok(d->counts[i]) != 0))
            return -1;
    if (d->has_stats && (pmd_value_ok(d->stats.sample_count) || pmd_value_ok(d->stats.sum) ||
                         pmd_value_ok(d->stats.min) || pmd_value_ok(d->stats.max)))
        return -1;
    return 0;
}

/* Writes "&<prefix><key>=" where prefix is "MetricData.member.<i>.". */
static char *put_key(char *p, const char *pre, size_t pre_len, const char *key, size_t key_len)
{
    *p++ = '&';
    p = put_mem(p, pre, pre_len);
    p = put_mem(p, key, key_len);
    *p++ = '=';
    return p;
}

#define KEY(p, lit) put_key((p), pre, pre_len, (lit), sizeof(lit) - 1)

/* The number as form data: only an exponent's '+' needs escaping. */
static char *put_num(char *p, double v)
{
    size_t n = pmd_format_double(p, v);
    char *plus = memchr(p, '+', n);
    if (!plus)
        return p + n;
    size_t tail = n - (size_t)(plus - p) - 1;
    memmove(plus + 3, plus + 1, tail);
    memcpy(plus, "%2B", 3);
    return p + n + 2;
}

static char *put_dims(char *p, const char *pre, size_t pre_len, const struct datum *d)
{
    for (size_t j = 0; j < d->ndims; j++) {
        char *k = KEY(p, "Dimensions.member.");
        k = put_uint(k - 1, j + 1);
        k = PUT_LIT(k, ".Name=");
        k = put_esc(k, d->dims[j].name);
        k = KEY(k, "Dimensions.member.");
        k = put_uint(k - 1, j + 1);
        k = PUT_LIT(k, ".Value=");
        p = put_esc(k, d->dims[j].value);
    }
    return p;
}

static char *put_list(char *p, const char *pre, size_t pre_len, const char *key, size_t key_len,
                      const double *v, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        p = put_key(p, pre, pre_len, key, key_len);
        p = put_uint(p - 1, j + 1);
        *p++ = '=';
        p = put_num(p, v[j]);
    }
    return p;
}

static char *put_values(char *p, const char *pre, size_t pre_len, const struct datum *d)
{
    if (d->nvalues == 0) {
        p = KEY(p, "Value");
        return put_num(p, d->value);
    }
    p = put_list(p, pre, pre_len, "Values.member.", 14, d->values, d->nvalues);
    if (d->counts)
        p = put_list(p, pre, pre_len, "Counts.member.", 14, d->counts, d->nvalues);
    if (d->has_stats) {
        p = put_num(KEY(p, "StatisticValues.SampleCount"), d->stats.sample_count);
        p = put_num(KEY(p, "StatisticValues.Sum"), d->stats.sum);
        p = put_num(KEY(p, "StatisticValues.Minimum"), d->stats.min);
        p = put_num(KEY(p, "StatisticValues.Maximum"), d->stats.max);
    }
    return p;
}

/* Encodes datum number `idx` (1-based) at the end of the open body; returns the new end. */
static char *encode_datum(struct pmd_encoder *e, const struct datum *d, size_t idx)
{
    char pre[40];
    char *q = PUT_LIT(pre, "MetricData.member.");
    q = put_uint(q, idx);
    *q++ = '.';
    size_t pre_len = (size_t)(q - pre);
    char *p = e->buf + e->len;
    p = put_esc(KEY(p, "MetricName"), d->name);
    p = put_dims(p, pre, pre_len, d);
    if (d->ts_ms >= 0)
        p = put_ts(e, KEY(p, "Timestamp"), d->ts_ms);
    p = put_values(p, pre, pre_len, d);
    if (d->unit)
        p = put_esc(KEY(p, "Unit"), d->unit);
    if (d->storage_res) {
        p = KEY(p, "StorageResolution");
        p = put_uint(p, d->storage_res);
    }
    return p;
}

/* ---- batching ---- */

static void open_batch(struct pmd_encoder *e)
{
    e->len = e->hdr_len;
    e->ndatums = 0;
    e->oldest_ms = INT64_MAX;
    e->newest_ms = INT64_MIN;
}

static int seal_batch(struct pmd_encoder *e)
{
    if (e->ndatums == 0)
        return 0;
    e->buf[e->len] = '\0';
    struct pmd_batch b = {e->buf, e->len, e->ndatums, e->oldest_ms, e->newest_ms};
    if (b.oldest_ms > b.newest_ms) /* no datum carried a Timestamp */
        b.oldest_ms = b.newest_ms = 0;
    e->st.batches++;
    e->st.bytes += e->len;
    int rc = e->emit(e->ud, &b);
    open_batch(e);
    return rc;
}

static int check_namespace(const char *ns)
{
    size_t n = ns ? strlen(ns) : 0;
    if (n == 0 || n > PMD_MAX_NAMESPACE || ns[0] == ':')
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ns[i] < 0x20 || (unsigned char)ns[i] >= 0x7f)
            return -1;
    return 0;
}

struct pmd_encoder *pmd_encoder_new(const char *ns, const struct pmd_limits *lim, pmd_emit_fn emit,
                                    void *ud)
{
    if (check_namespace(ns) != 0) {
        cw_error("pmd", "invalid namespace (1..255 printable ASCII, not starting with ':')");
        return NULL;
    }
    struct pmd_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->max_datums = lim && lim->max_datums ? lim->max_datums : PMD_MAX_DATUMS;
    e->max_body = lim && lim->max_body ? lim->max_body : PMD_DEFAULT_MAX_BODY;
    if (e->max_datums > PMD_MAX_DATUMS)
        e->max_datums = PMD_MAX_DATUMS;
    if (e->max_body > PMD_API_MAX_BODY)
        e->max_body = PMD_API_MAX_BODY;
    e->cap = e->max_body + PMD_DATUM_MAX_BYTES + 3 * PMD_MAX_NAMESPACE + 64;
    e->buf = malloc(e->cap);
    if (!e->buf) {
        free(e);
        return NULL;
    }
    char *p = PUT_LIT(e->buf, "Action=PutMetricData&Version=2010-08-01&Namespace=");
    p = put_esc(p, ns);
    e->hdr_len = (size_t)(p - e->buf);
    e->emit = emit;
    e->ud = ud;
    e->ts_cached_sec = INT64_MIN;
    open_batch(e);
    return e;
}

void pmd_encoder_free(struct pmd_encoder *e)
{
    if (!e)
        return;
    free(e->buf);
    free(e);
}

static void note_datum(struct pmd_encoder *e, const struct datum *d, char *end)
{
    e->len = (size_t)(end - e->buf);
    e->ndatums++;
    e->st.datums_encoded++;
    if (d->ts_ms >= 0 && d->ts_ms < e->oldest_ms)
        e->oldest_ms = d->ts_ms;
    if (d->ts_ms >= 0 && d->ts_ms > e->newest_ms)
        e->newest_ms = d->ts_ms;
}

int pmd_encoder_add(struct pmd_encoder *e, const struct datum *d)
{
    if (valid_datum(d) != 0) {
        e->st.dropped_invalid++;
        return 0;
    }
    if (values_ok(d) != 0) {
        e->st.dropped_bad_value++;
        return 0;
    }
    int rc = 0;
    if (e->ndatums >= e->max_datums)
        rc = seal_batch(e);
    char *end = encode_datum(e, d, e->ndatums + 1);
    if ((size_t)(end - e->buf) > e->max_body && e->ndatums > 0) {
        /* Does not fit: ship what we have and encode it again as member 1. */
        rc |= seal_batch(e);
        end = encode_datum(e, d, 1);
    }
    if ((size_t)(end - e->buf) > e->max_body) {
        e->st.dropped_invalid++; /* alone it exceeds a (small, configured) body cap */
        return rc;
    }
    note_datum(e, d, end);
    return rc;
}

int pmd_encoder_flush(struct pmd_encoder *e)
{
    return seal_batch(e);
}

size_t pmd_encoder_pending(const struct pmd_encoder *e)
{
    return e->ndatums;
}

void pmd_encoder_stats(const struct pmd_encoder *e, struct pmd_stats *out)
{
    *out = e->st;
}
