/* creds — the credentials object, ISO-8601 parsing, the context helpers and the JSON parser
 * shared by the ECS, IMDS and credential_process providers. */
#include "sigv4/creds.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sigv4/creds_internal.h"

static void free_secret_str(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

struct creds *creds_new(const char *access_key_id, const char *secret, const char *token,
                        double expiration, const char *provider)
{
    if (!access_key_id || !*access_key_id || !secret || !*secret)
        return NULL;
    struct creds *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->refs = 1;
    c->expiration = expiration;
    snprintf(c->provider, sizeof c->provider, "%s", provider ? provider : "");
    c->access_key_id = strdup(access_key_id);
    c->secret_access_key = strdup(secret);
    if (token && *token)
        c->session_token = strdup(token);
    if (!c->access_key_id || !c->secret_access_key || (token && *token && !c->session_token)) {
        creds_release(c);
        return NULL;
    }
    return c;
}

struct creds *creds_ref(struct creds *c)
{
    c->refs++;
    return c;
}

void creds_release(struct creds *c)
{
    if (!c || --c->refs > 0)
        return;
    free_secret_str(c->access_key_id);
    free_secret_str(c->secret_access_key);
    free_secret_str(c->session_token);
    explicit_bzero(c, sizeof *c);
    free(c);
}

struct sigv4_credentials creds_for_signing(const struct creds *c)
{
    struct sigv4_credentials s = {c->access_key_id, c->secret_access_key, c->session_token};
    return s;
}

/* ---- time ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* Reads exactly n digits at *p; returns -1 when they are not all digits. */
static int read_digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_offset(const char *p, int *offset)
{
    if (*p == 'Z' || *p == 'z') {
        *offset = 0;
        return p[1] == '\0' ? 0 : -1;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    int hh = read_digits(&p, 2);
    if (*p == ':')
        p++;
    int mm = read_digits(&p, 2);
    if (hh < 0 || mm < 0 || hh > 23 || mm > 59 || *p)
        return -1;
    *offset = sign * (hh * 3600 + mm * 60);
    return 0;
}

int creds_parse_time(const char *s, double *out)
{
    if (!s)
        return -1;
    const char *p = s;
    int y = read_digits(&p, 4);
    int mo = *p == '-' ? (p++, read_digits(&p, 2)) : -1;
    int d = *p == '-' ? (p++, read_digits(&p, 2)) : -1;
    int h = (*p == 'T' || *p == 't' || *p == ' ') ? (p++, read_digits(&p, 2)) : -1;
    int mi = *p == ':' ? (p++, read_digits(&p, 2)) : -1;
    int se = *p == ':' ? (p++, read_digits(&p, 2)) : -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 60 || d > days_in_month(y, mo))
        return -1;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    int offset;
    if (parse_offset(p, &offset) != 0)
        return -1;
    long long days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *out = (double)(days * 86400 + h * 3600 + mi * 60 + se - offset) + frac;
    return 0;
}

/* ---- context ---- */

const char *creds_getenv(const struct creds_ctx *ctx, const char *name)
{
    size_t n = strlen(name);
    if (!ctx || !ctx->envp)
        return NULL;
    for (const char *const *e = ctx->envp; *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return (*e)[n + 1] ? *e + n + 1 : NULL;
    }
    return NULL;
}

double creds_now(const struct creds_ctx *ctx)
{
    if (ctx && ctx->now)
        return ctx->now(ctx->now_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int creds_env_true(const char *v)
{
    return v && strcasecmp(v, "true") == 0;
}

char *creds_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return buf;
}

void creds_first_line(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    while (n && (*s == '\n' || *s == '\r' || *s == ' '))
        s++, n--;
    for (size_t i = 0; i < n && s[i] != '\n' && s[i] != '\r' && k + 1 < outlen; i++)
        out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (outlen)
        out[k] = '\0';
}

/* ---- providers ---- */

void creds_provider_fetch(struct creds_provider *p, creds_done_fn done, void *ud)
{
    p->fetch(p, done, ud);
}

void creds_provider_free(struct creds_provider *p)
{
    if (p)
        p->free(p);
}

/* ---- files ---- */

/* Allocates the buffer's full size up front, so that growing never leaves copies of secret
 * bytes behind in memory released by realloc. */
static int presize(struct cw_buf *b, size_t n)
{
    if (n > b->max || n > (size_t)INT32_MAX)
        return -1;
    if (cw_buf_printf(b, "%*s", (int)n, "") != 0)
        return -1;
    cw_buf_reset(b);
    return 0;
}

char *creds_read_file(const char *path, size_t max, size_t *len_out, char *err, size_t errlen)
{
    struct cw_buf b;
    struct stat st;
    cw_buf_init(&b, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        creds_fmt(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char chunk[4096];
    ssize_t r = 0;
    int rc = 0;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && (size_t)st.st_size > max) {
        creds_fmt(err, errlen, "%s is larger than %zu bytes", path, max);
        rc = -1;
    } else if (regular && presize(&b, (size_t)st.st_size) != 0) {
        creds_fmt(err, errlen, "out of memory reading %s", path);
        rc = -1;
    }
    while (rc == 0 && (r = read(fd, chunk, sizeof chunk)) > 0) {
        if (cw_buf_append(&b, chunk, (size_t)r) != 0) {
            creds_fmt(err, errlen, "%s is larger than %zu bytes", path, max);
            rc = -1;
        }
    }
    if (rc == 0 && r < 0) {
        creds_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        rc = -1;
    }
    explicit_bzero(chunk, sizeof chunk);
    close(fd);
    if (rc != 0) {
        cw_buf_free_secret(&b);
        return NULL;
    }
    return cw_buf_detach(&b, len_out);
}

int creds_buf_presize(struct cw_buf *b)
{
    return presize(b, b->max);
}

/* ---- JSON credentials ---- */

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static struct creds *creds_from_object(json_t *o, const char *provider, int require_expiration,
                                       char *err, size_t errlen)
{
    const char *akid = json_str(o, "AccessKeyId");
    const char *secret = json_str(o, "SecretAccessKey");
    const char *token = json_str(o, "Token");
    if (!token)
        token = json_str(o, "SessionToken");
    const char *exp = json_str(o, "Expiration");
    double expiration = 0;
    if (!akid || !*akid || !secret || !*secret) {
        creds_fmt(err, errlen, "response lacks %s",
                  !akid || !*akid ? "AccessKeyId" : "SecretAccessKey");
        return NULL;
    }
    if (!exp && json_object_get(o, "Expiration") &&
        !json_is_null(json_object_get(o, "Expiration"))) {
        creds_fmt(err, errlen, "Expiration is not a string");
        return NULL;
    }
    if (exp && creds_parse_time(exp, &expiration) != 0) {
        creds_fmt(err, errlen, "unparseable Expiration \"%.40s\"", exp);
        return NULL;
    }
    if (!exp && require_expiration) {
        creds_fmt(err, errlen, "response lacks Expiration");
        return NULL;
    }
    struct creds *c = creds_new(akid, secret, token, expiration, provider);
    if (!c)
        creds_fmt(err, errlen, "out of memory");
    return c;
}

/* Describes an error document ({"Code":..,"Message":..} or {"code":..,"message":..}). */
static int json_error_doc(json_t *o, char *err, size_t errlen)
{
    const char *code = json_str(o, "Code");
    const char *msg = json_str(o, "Message");
    if (!code)
        code = json_str(o, "code");
    if (!msg)
        msg = json_str(o, "message");
    if (!code || (strcmp(code, "Success") == 0 && json_str(o, "AccessKeyId")))
        return 0;
    char m[160];
    creds_first_line(msg ? msg : "", msg ? strlen(msg) : 0, m, sizeof m);
    creds_fmt(err, errlen, "error %.60s: %s", code, m);
    return 1;
}

struct creds *creds_from_json(const char *body, size_t len, const char *provider,
                              int require_version1, int require_expiration, char *err,
                              size_t errlen)
{
    if (len > CREDS_MAX_JSON) {
        creds_fmt(err, errlen, "response larger than %d bytes", CREDS_MAX_JSON);
        return NULL;
    }
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    struct creds *c = NULL;
    if (!o) {
        /* never jerr.text: it quotes the offending token, which may be part of a secret */
        creds_fmt(err, errlen, "malformed JSON at line %d, column %d (byte %d)", jerr.line,
                  jerr.column, jerr.position);
        return NULL;
    }
    if (!json_is_object(o)) {
        creds_fmt(err, errlen, "JSON is not an object");
    } else if (require_version1 && !(json_is_integer(json_object_get(o, "Version")) &&
                                     json_integer_value(json_object_get(o, "Version")) == 1)) {
        creds_fmt(err, errlen, "\"Version\" must be 1");
    } else if (!json_error_doc(o, err, errlen)) {
        c = creds_from_object(o, provider, require_expiration, err, errlen);
    }
    /* The parsed secret lives in jansson's strings; wipe them before they are freed. */
    const char *keys[] = {"SecretAccessKey", "Token", "SessionToken"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (json_is_string(v))
            explicit_bzero((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(o);
    return c;
}
