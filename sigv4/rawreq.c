/* rawreq — a raw HTTP/1.1 request parsed in place in an owned copy of the input. */
#include "sigv4/rawreq.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parser {
    char *s;    /* the owned, NUL-terminated copy */
    size_t len; /* input length */
    size_t pos; /* next unread byte */
    char *err;  /* reason buffer */
    size_t errlen;
    size_t hcap; /* capacity of out->headers */
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Returns the next line [start, *end) without its LF/CRLF; *next is where the following line
 * starts. */
static char *next_line(struct parser *p, size_t *end, size_t *next)
{
    char *start = p->s + p->pos;
    char *nl = memchr(start, '\n', p->len - p->pos);
    size_t e = nl ? (size_t)(nl - p->s) : p->len;
    *next = nl ? e + 1 : p->len;
    if (e > p->pos && p->s[e - 1] == '\r')
        e--;
    *end = e;
    return start;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int parse_request_line(struct parser *p, struct rawreq *out)
{
    size_t end, next;
    char *line = next_line(p, &end, &next);
    size_t n = end - p->pos;
    char *sp1 = memchr(line, ' ', n);
    char *sp2 = sp1 ? memrchr(line, ' ', n) : NULL;
    if (!sp1 || sp2 == sp1)
        return fail(p, "request line must be 'METHOD /path HTTP/1.1'");
    *sp1 = '\0';
    *sp2 = '\0';
    line[n] = '\0';
    out->method = line;
    out->path = sp1 + 1;
    out->version = sp2 + 1;
    if (!*out->method || strncmp(out->version, "HTTP/", 5) != 0)
        return fail(p, "request line must be 'METHOD /path HTTP/1.1'");
    if (out->path[0] != '/')
        return fail(p, "request target must start with '/' (origin form)");
    char *q = strchr(sp1 + 1, '?');
    if (q) {
        *q = '\0';
        out->query = q + 1;
    }
    p->pos = next;
    return 0;
}

static int add_header(struct parser *p, struct rawreq *out, const char *name, const char *value)
{
    if (out->nheaders == RAWREQ_MAX_HEADERS)
        return fail(p, "more than %d headers", RAWREQ_MAX_HEADERS);
    if (out->nheaders == p->hcap) {
        size_t ncap = p->hcap ? p->hcap * 2 : 16;
        struct sigv4_header *nh = realloc(out->headers, ncap * sizeof *nh);
        if (!nh)
            return fail(p, "out of memory");
        out->headers = nh;
        p->hcap = ncap;
    }
    out->headers[out->nheaders].name = name;
    out->headers[out->nheaders].value = value;
    out->nheaders++;
    return 0;
}

/* Joins a folded continuation (line [start, end)) to the previous header's value with one
 * space. The value ends before this line in the buffer, so moving the text left is safe. */
static int fold_continuation(struct parser *p, struct rawreq *out, char *start, size_t end)
{
    if (out->nheaders == 0)
        return fail(p, "continuation line before any header");
    char *v = (char *)out->headers[out->nheaders - 1].value;
    char *dst = v + strlen(v);
    char *src = start;
    char *stop = p->s + end;
    while (src < stop && is_ws(*src))
        src++;
    while (stop > src && is_ws(stop[-1]))
        stop--;
    if (src == stop)
        return 0;
    if (dst > v)
        *dst++ = ' ';
    memmove(dst, src, (size_t)(stop - src));
    dst[stop - src] = '\0';
    return 0;
}

static int parse_header_line(struct parser *p, struct rawreq *out, char *line, size_t end)
{
    char *stop = p->s + end;
    char *colon = memchr(line, ':', (size_t)(stop - line));
    if (!colon)
        return fail(p, "header line without ':': '%.40s'", line);
    if (colon == line || is_ws(colon[-1]))
        return fail(p, "bad header name before ':' in '%.40s'", line);
    char *v = colon + 1;
    while (v < stop && is_ws(*v))
        v++;
    while (stop > v && is_ws(stop[-1]))
        stop--;
    *colon = '\0';
    *stop = '\0';
    return add_header(p, out, line, v);
}

/* Reads the header lines (the copied head ends before the empty line). */
static int parse_headers(struct parser *p, struct rawreq *out)
{
    while (p->pos < p->len) {
        size_t end, next;
        char *line = next_line(p, &end, &next);
        p->pos = next;
        if (line == p->s + end)
            return 0; /* the empty line: the body follows */
        int rc = is_ws(*line) ? fold_continuation(p, out, line, end)
                              : parse_header_line(p, out, line, end);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Strict decimal: digits only, no sign, no overflow. */
static int parse_length(const char *s, size_t *out)
{
    size_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Finds the empty line that ends the head: *head_len is the head without it, *body_start the
 * first byte after it. Without an empty line the head is the whole input. */
static void find_head_end(const char *data, size_t len, size_t *head_len, size_t *body_start)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (!nl)
            break;
        size_t end = (size_t)(nl - data);
        if (end == pos || (end == pos + 1 && data[pos] == '\r')) {
            *head_len = pos;
            *body_start = end + 1;
            return;
        }
        pos = end + 1;
    }
    *head_len = len;
    *body_start = len;
}

/* Copies the body that follows the head: Content-Length bytes; without it the rest of the
 * input, or (pipelined) nothing. */
static int parse_body(struct parser *p, struct rawreq *out, const char *body, size_t avail,
                      int pipelined)
{
    const char *te = rawreq_header(out, "transfer-encoding");
    if (te && strcasestr(te, "chunked"))
        return fail(p, "chunked request bodies are not supported");
    const char *cl = rawreq_header(out, "content-length");
    size_t n = pipelined ? 0 : avail;
    if (cl) {
        if (parse_length(cl, &n) != 0)
            return fail(p, "bad Content-Length '%.40s'", cl);
        if (n > avail)
            return fail(p, "body has %zu bytes but Content-Length is %zu", avail, n);
    }
    if (n == SIZE_MAX || !(out->body_storage_ = malloc(n + 1)))
        return fail(p, "out of memory");
    if (n)
        memcpy(out->body_storage_, body, n);
    out->body_storage_[n] = '\0';
    out->body = out->body_storage_;
    out->body_len = n;
    return 0;
}

static int parse_impl(const char *data, size_t len, struct rawreq *out, char *err, size_t errlen,
                      int pipelined)
{
    struct parser p = {NULL, 0, 0, err, errlen, 0};
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!data || len == 0)
        return fail(&p, "empty request");
    size_t head_len, body_start;
    find_head_end(data, len, &head_len, &body_start);
    if (head_len == SIZE_MAX || !(p.s = malloc(head_len + 1)))
        return fail(&p, "out of memory");
    memcpy(p.s, data, head_len);
    p.s[head_len] = '\0';
    p.len = head_len;
    out->storage_ = p.s;
    int rc = memchr(p.s, '\0', head_len) ? fail(&p, "NUL byte in the request head") : 0;
    if (rc == 0)
        rc = parse_request_line(&p, out);
    if (rc == 0)
        rc = parse_headers(&p, out);
    if (rc == 0)
        rc = parse_body(&p, out, data + body_start, len - body_start, pipelined);
    if (rc != 0) {
        rawreq_free(out);
        return -1;
    }
    out->consumed = body_start + out->body_len;
    return 0;
}

int rawreq_parse(const char *data, size_t len, struct rawreq *out, char *err, size_t errlen)
{
    return parse_impl(data, len, out, err, errlen, 0);
}

int rawreq_parse_next(const char *data, size_t len, struct rawreq *out, char *err, size_t errlen)
{
    size_t skip = 0;
    while (data && skip < len && (data[skip] == '\r' || data[skip] == '\n'))
        skip++;
    int rc = parse_impl(data ? data + skip : NULL, len - skip, out, err, errlen, 1);
    if (rc == 0)
        out->consumed += skip;
    return rc;
}

const char *rawreq_header(const struct rawreq *r, const char *name)
{
    for (size_t i = 0; r && i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void rawreq_free(struct rawreq *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->storage_);
    free(r->body_storage_);
    memset(r, 0, sizeof *r);
}
