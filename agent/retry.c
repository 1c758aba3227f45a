#include "agent/retry.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define DEFAULT_TRANSIENT_BASE_MS 200   /* reference agent: 200 ms·2^n (notes c, d.4) */
#define DEFAULT_THROTTLE_BASE_MS  1000  /* botocore 2026 rules: 1 s for throttling (notes §8) */
#define DEFAULT_CAP_MS            60000 /* reference agent: backoff tops out at 1 min */
#define CODE_MAX                  128

/* ---- classification tables ---- */

/* botocore standard retry: throttling codes (notes §8). */
static const char *const throttle_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
    NULL,
};

/* Transient codes: botocore's, the server faults of CloudWatch / Logs / STS, and Logs'
 * OperationAbortedException (a conflicting concurrent update). */
static const char *const transient_codes[] = {
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "InternalFailure",
    "InternalError",
    "InternalServiceError",
    "InternalServiceFault",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "IDPCommunicationError",
    "OperationAbortedException",
    NULL,
};

static const char *const expired_codes[] = {"ExpiredToken", "ExpiredTokenException", NULL};

static const char *const auth_codes[] = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    NULL,
};

static const char *const skew_codes[] = {"RequestTimeTooSkewed", "RequestExpired",
                                         "RequestInTheFuture", NULL};

/* Messages of signature errors that are really clock problems. */
static const char *const skew_messages[] = {"Signature expired", "Signature not yet current", NULL};

static int in_list(const char *const *list, const char *code)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], code) == 0)
            return 1;
    return 0;
}

static int message_says_skew(const char *msg)
{
    for (size_t i = 0; msg && skew_messages[i]; i++)
        if (strcasestr(msg, skew_messages[i]))
            return 1;
    return 0;
}

const char *cw_retry_normalize_code(const char *type, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    const char *start = type ? type : "";
    const char *colon = strchr(start, ':');
    size_t len = colon ? (size_t)(colon - start) : strlen(start);
    const char *hash = memchr(start, '#', len);
    if (hash) {
        len -= (size_t)(hash + 1 - start);
        start = hash + 1;
    }
    while (len && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, start, len);
    out[len] = '\0';
    return out;
}

static enum cw_retry_class classify_transport(enum cw_http_error err)
{
    switch (err) {
    case CW_HTTP_ETOOBIG:
        return CW_RETRY_PERMANENT;
    default: /* timeouts, refused, reset, other (TLS, DNS trouble): worth another try */
        return CW_RETRY_TRANSIENT;
    }
}

static enum cw_retry_class classify_code(const char *code, const char *msg)
{
    if (in_list(throttle_codes, code))
        return CW_RETRY_THROTTLE;
    if (in_list(transient_codes, code))
        return CW_RETRY_TRANSIENT;
    if (in_list(expired_codes, code))
        return CW_RETRY_REFRESH_CREDENTIALS;
    if (in_list(skew_codes, code))
        return CW_RETRY_CLOCK_SKEW;
    if (in_list(auth_codes, code))
        return message_says_skew(msg) ? CW_RETRY_CLOCK_SKEW : CW_RETRY_AUTH_INVALID;
    return CW_RETRY_SUCCESS; /* unknown: decided by the status */
}

static enum cw_retry_class classify_status(long status, int has_code)
{
    if (status == 429)
        return CW_RETRY_THROTTLE;
    if (status >= 500 || status == 408)
        return CW_RETRY_TRANSIENT;
    if ((status == 401 || status == 403) && !has_code)
        return CW_RETRY_AUTH_INVALID;
    return CW_RETRY_PERMANENT;
}

enum cw_retry_class cw_retry_classify(const struct cw_retry_input *in)
{
    /* A body over the cap after a status line: the status still says what happened (a proxy's
     * huge 502 page is as transient as a small one); the cap itself stays. */
    if (in->error == CW_HTTP_ETOOBIG &&
        (in->status >= 500 || in->status == 429 || in->status == 408))
        return classify_status(in->status, 0);
    if (in->error != CW_HTTP_OK)
        return classify_transport(in->error);
    if (in->status >= 200 && in->status < 300)
        return CW_RETRY_SUCCESS;
    char code[CODE_MAX];
    cw_retry_normalize_code(in->code, code, sizeof code);
    if (code[0]) {
        enum cw_retry_class c = classify_code(code, in->message);
        if (c != CW_RETRY_SUCCESS)
            return c;
    }
    return classify_status(in->status, code[0] != '\0');
}

/* ---- error responses ---- */

static void copy_span(char *out, size_t outlen, const char *p, size_t n)
{
    if (outlen == 0)
        return;
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Copies p[0..n) into out, decoding XML's five predefined entities (AWS escapes messages). */
static void copy_xml_text(char *out, size_t outlen, const char *p, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < outlen;) {
        size_t k = 0;
        while (k < sizeof ents / sizeof ents[0] &&
               !(p[i] == '&' && strlen(ents[k].ent) <= n - i &&
                 memcmp(p + i, ents[k].ent, strlen(ents[k].ent)) == 0))
            k++;
        if (k < sizeof ents / sizeof ents[0]) {
            out[o++] = ents[k].c;
            i += strlen(ents[k].ent);
        } else {
            out[o++] = p[i++];
        }
    }
    out[o] = '\0';
}

/* Copies the text of the first <tag>...</tag> in the body; 0 when found. */
static int xml_element(const char *body, size_t len, const char *tag, char *out, size_t outlen)
{
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(body, len, open, strlen(open));
    if (!a)
        return -1;
    a += strlen(open);
    const char *b = memmem(a, len - (size_t)(a - body), close, strlen(close));
    if (!b)
        return -1;
    copy_xml_text(out, outlen, a, (size_t)(b - a));
    return 0;
}

static int json_error(const struct cw_http_response *resp, char *code, size_t codelen, char *msg,
                      size_t msglen)
{
    if (resp->body_len == 0 || resp->body[0] != '{')
        return -1;
    json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (!root)
        return -1;
    const char *type = json_string_value(json_object_get(root, "__type"));
    const char *m = json_string_value(json_object_get(root, "message"));
    if (!m)
        m = json_string_value(json_object_get(root, "Message"));
    if (type)
        cw_retry_normalize_code(type, code, codelen);
    if (m)
        copy_span(msg, msglen, m, strlen(m));
    json_decref(root);
    return type ? 0 : -1;
}

int cw_retry_parse_error(const struct cw_http_response *resp, char *code, size_t codelen, char *msg,
                         size_t msglen)
{
    char hdr[CODE_MAX];
    copy_span(code, codelen, "", 0);
    copy_span(msg, msglen, "", 0);
    int found = json_error(resp, code, codelen, msg, msglen) == 0;
    if (!found && resp->body_len &&
        xml_element(resp->body, resp->body_len, "Code", code, codelen) == 0) {
        found = 1;
        xml_element(resp->body, resp->body_len, "Message", msg, msglen);
    }
    /* The query-compatible header names the legacy query code, which our tables use. */
    if (cw_http_response_header(resp, "x-amzn-query-error", hdr, sizeof hdr)) {
        const char *semi = strchr(hdr, ';');
        copy_span(code, codelen, hdr, semi ? (size_t)(semi - hdr) : strlen(hdr));
        found = code[0] != '\0';
    }
    if (!found && cw_http_response_header(resp, "X-Amzn-ErrorType", hdr, sizeof hdr)) {
        cw_retry_normalize_code(hdr, code, codelen);
        found = code[0] != '\0';
    }
    return found ? 0 : -1;
}

enum cw_retry_class cw_retry_classify_response(const struct cw_http_response *resp)
{
    char code[CODE_MAX], msg[512];
    struct cw_retry_input in = {resp->error, resp->status, NULL, NULL};
    if (resp->error == CW_HTTP_OK && (resp->status < 200 || resp->status >= 300) &&
        cw_retry_parse_error(resp, code, sizeof code, msg, sizeof msg) == 0) {
        in.code = code;
        in.message = msg;
    }
    return cw_retry_classify(&in);
}

const char *cw_retry_class_name(enum cw_retry_class cls)
{
    static const char *const names[] = {
        "success",      "throttle",   "transient", "refresh_credentials",
        "auth_invalid", "clock_skew", "permanent"};
    return (unsigned)cls < sizeof names / sizeof names[0] ? names[cls] : "unknown";
}

/* ---- backoff and decisions ---- */

void cw_retry_policy_init(struct cw_retry_policy *p)
{
    memset(p, 0, sizeof *p);
    p->transient_base_ms = DEFAULT_TRANSIENT_BASE_MS;
    p->throttle_base_ms = DEFAULT_THROTTLE_BASE_MS;
    p->cap_ms = DEFAULT_CAP_MS;
    p->jitter = CW_RETRY_JITTER_EQUAL;
}

void cw_retry_state_init(struct cw_retry_state *s)
{
    memset(s, 0, sizeof *s);
}

static uint64_t random_u64(const struct cw_retry_policy *p)
{
    if (p->rand)
        return p->rand(p->rand_ud);
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (uint64_t)(uintptr_t)&v * 0x9E3779B97F4A7C15ull; /* no entropy yet: any spread */
    return v;
}

long cw_retry_backoff_ms(const struct cw_retry_policy *p, enum cw_retry_class cls, unsigned n)
{
    long base = cls == CW_RETRY_THROTTLE ? p->throttle_base_ms : p->transient_base_ms;
    long cap = p->cap_ms > 0 ? p->cap_ms : DEFAULT_CAP_MS;
    long d = base > 0 ? base : 1;
    for (unsigned i = 0; i < n && d < cap && d <= LONG_MAX / 2; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    uint64_t r = random_u64(p);
    if (p->jitter == CW_RETRY_JITTER_FULL)
        return (long)(r % ((uint64_t)d + 1));
    long half = d / 2;
    return d - half + (long)(r % ((uint64_t)half + 1));
}

static void retry_after(const struct cw_retry_policy *p, struct cw_retry_state *s,
                        enum cw_retry_class backoff_cls, struct cw_retry_decision *out)
{
    out->action = CW_RETRY_AGAIN;
    out->delay_ms = cw_retry_backoff_ms(p, backoff_cls, s->backoffs);
    s->backoffs++;
}

void cw_retry_decide(const struct cw_retry_policy *p, struct cw_retry_state *s,
                     enum cw_retry_class cls, struct cw_retry_decision *out)
{
    memset(out, 0, sizeof *out);
    out->cls = cls;
    s->attempts++;
    if (cls == CW_RETRY_AUTH_INVALID && s->cred_refreshes > 0)
        out->cls = cls = CW_RETRY_PERMANENT; /* refreshed once already: it is not stale creds */
    if (cls == CW_RETRY_SUCCESS) {
        out->action = CW_RETRY_DONE;
        return;
    }
    if (cls == CW_RETRY_PERMANENT || (p->max_attempts && s->attempts >= p->max_attempts)) {
        out->action = CW_RETRY_GIVE_UP;
        return;
    }
    out->action = CW_RETRY_AGAIN;
    switch (cls) {
    case CW_RETRY_REFRESH_CREDENTIALS:
    case CW_RETRY_AUTH_INVALID:
        out->refresh_credentials = 1;
        if (s->cred_refreshes++ > 0)
            retry_after(p, s, CW_RETRY_TRANSIENT, out);
        break;
    case CW_RETRY_CLOCK_SKEW:
        out->correct_clock = 1;
        if (s->skew_corrections++ > 0)
            retry_after(p, s, CW_RETRY_TRANSIENT, out);
        break;
    default:
        retry_after(p, s, cls, out);
        break;
    }
}

/* ---- HTTP dates and the clock offset ---- */

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static int parse_name(const char **p, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strncmp(*p, names[i], 3) == 0) {
            *p += 3;
            return i;
        }
    return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int cw_retry_parse_http_date(const char *s, int64_t *epoch_sec)
{
    static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day, mon, year, hh, mm, ss;
    const char *p = s;
    if (!p)
        return -1;
    while (*p == ' ')
        p++;
    if (parse_name(&p, wd, 7) < 0 || expect(&p, ", ") || parse_digits(&p, 2, &day) ||
        expect(&p, " ") || (mon = parse_name(&p, mo, 12)) < 0 || expect(&p, " ") ||
        parse_digits(&p, 4, &year) || expect(&p, " ") || parse_digits(&p, 2, &hh) ||
        expect(&p, ":") || parse_digits(&p, 2, &mm) || expect(&p, ":") ||
        parse_digits(&p, 2, &ss) || expect(&p, " GMT"))
        return -1;
    while (*p == ' ' || *p == '\r' || *p == '\n')
        p++;
    if (*p || day < 1 || day > days_in_month(year, mon + 1) || hh > 23 || mm > 59 || ss > 60)
        return -1;
    if (ss == 60) /* a leap second: the next second is as good */
        ss = 59;
    *epoch_sec = days_from_civil(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

void cw_clock_skew_init(struct cw_clock_skew *s)
{
    s->offset_ms = 0;
}

int cw_clock_skew_update(struct cw_clock_skew *s, const char *date_header, int64_t local_ms)
{
    int64_t server;
    if (cw_retry_parse_http_date(date_header, &server) != 0)
        return -1;
    /* The Date was taken somewhere in [server, server + 1 s): use the middle. */
    int64_t off = server * 1000 + 500 - local_ms;
    if (off > CW_CLOCK_SKEW_MAX_MS || off < -CW_CLOCK_SKEW_MAX_MS)
        return -2; /* a hostile or broken endpoint, not a drifting clock */
    s->offset_ms = off > -1000 && off < 1000 ? 0 : off;
    return 0;
}

int64_t cw_clock_skew_now_ms(const struct cw_clock_skew *s, int64_t local_ms)
{
    return local_ms + s->offset_ms;
}
