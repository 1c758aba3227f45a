/* fake_http — a scripted cw_http_transport for unit tests (header-only: every test binary links
 * only its own object, t.o and the library).
 *
 * Tests add rules (method + URL substring -> status/body or a transport error); submit() records
 * the request and queues it; fake_http_run() answers queued requests (including those submitted
 * while answering) in order, each with the first unused matching rule, or with a connection
 * error when no rule matches. Nothing is answered inside submit(), as the contract demands.
 * Also: a settable clock and a log sink that captures everything logged.
 */
#ifndef CW_FAKE_HTTP_H
#define CW_FAKE_HTTP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http.h"
#include "common/log.h"

#define FAKE_MAX_REQS  64
#define FAKE_MAX_RULES 64
#define FAKE_MAX_HDRS  16

struct fake_req {
    char method[8];
    char url[1024];
    char *headers[FAKE_MAX_HDRS];
    size_t nheaders;
    char *body;
    size_t body_len;
    long timeout_ms;
    size_t max_response;
    cw_http_done_fn done;
    void *ud;
    int answered;
};

struct fake_rule {
    const char *method; /* NULL = any */
    const char *url_sub;
    long status;
    enum cw_http_error error;
    const char *body; /* borrowed */
    size_t body_len;  /* 0 = strlen(body) */
    int repeat;       /* non-zero: never used up */
    int used;
};

struct fake_http {
    struct cw_http_transport t;
    struct fake_req reqs[FAKE_MAX_REQS];
    size_t nreqs;
    struct fake_rule rules[FAKE_MAX_RULES];
    size_t nrules;
    int fail_submit;
};

static inline int fake_submit(void *impl, const struct cw_http_request *req, cw_http_done_fn done,
                              void *ud)
{
    struct fake_http *f = impl;
    if (f->fail_submit || f->nreqs >= FAKE_MAX_REQS)
        return -1;
    struct fake_req *r = &f->reqs[f->nreqs++];
    memset(r, 0, sizeof *r);
    snprintf(r->method, sizeof r->method, "%s", req->method);
    snprintf(r->url, sizeof r->url, "%s", req->url);
    for (size_t i = 0; req->headers && req->headers[i] && i < FAKE_MAX_HDRS; i++)
        r->headers[r->nheaders++] = strdup(req->headers[i]);
    r->body = malloc(req->body_len + 1);
    if (req->body_len)
        memcpy(r->body, req->body, req->body_len);
    r->body[req->body_len] = '\0';
    r->body_len = req->body_len;
    r->timeout_ms = req->timeout_ms;
    r->max_response = req->max_response;
    r->done = done;
    r->ud = ud;
    return 0;
}

static inline void fake_http_init(struct fake_http *f)
{
    memset(f, 0, sizeof *f);
    f->t.submit = fake_submit;
    f->t.impl = f;
}

/* Adds a rule answering `status` with `body`. Returns the rule to tweak (repeat, error). */
static inline struct fake_rule *fake_http_on(struct fake_http *f, const char *method,
                                             const char *url_sub, long status, const char *body)
{
    struct fake_rule *r = &f->rules[f->nrules++];
    memset(r, 0, sizeof *r);
    r->method = method;
    r->url_sub = url_sub;
    r->status = status;
    r->body = body;
    return r;
}

/* Adds a rule answering with a transport error (timeout, refused...). */
static inline struct fake_rule *fake_http_on_error(struct fake_http *f, const char *method,
                                                   const char *url_sub, enum cw_http_error err)
{
    struct fake_rule *r = fake_http_on(f, method, url_sub, 0, NULL);
    r->error = err;
    return r;
}

static inline struct fake_rule *fake_match(struct fake_http *f, const struct fake_req *q)
{
    for (size_t i = 0; i < f->nrules; i++) {
        struct fake_rule *r = &f->rules[i];
        if (r->used && !r->repeat)
            continue;
        if (r->method && strcmp(r->method, q->method) != 0)
            continue;
        if (r->url_sub && !strstr(q->url, r->url_sub))
            continue;
        r->used = 1;
        return r;
    }
    return NULL;
}

static inline void fake_answer(struct fake_http *f, struct fake_req *q)
{
    static const char *hdrs[] = {"Content-Type: text/plain", NULL};
    struct fake_rule *r = fake_match(f, q);
    struct cw_http_response resp;
    memset(&resp, 0, sizeof resp);
    resp.headers = hdrs;
    resp.nheaders = 1;
    q->answered = 1;
    if (!r) {
        resp.error = CW_HTTP_ECONNECT;
        resp.error_msg = "fake: no scripted response";
    } else if (r->error != CW_HTTP_OK) {
        resp.error = r->error;
        resp.error_msg =
            r->error == CW_HTTP_ETIMEDOUT ? "fake: timed out" : "fake: transport error";
    } else {
        resp.status = r->status;
        resp.body = r->body ? r->body : "";
        resp.body_len = r->body_len ? r->body_len : strlen(resp.body);
        if (q->max_response && resp.body_len > q->max_response) {
            memset(&resp, 0, sizeof resp);
            resp.error = CW_HTTP_ETOOBIG;
            resp.error_msg = "fake: response body too large";
        }
    }
    q->done(q->ud, &resp);
}

/* Answers every queued request, including those submitted while answering. Returns how many. */
static inline int fake_http_run(struct fake_http *f)
{
    int n = 0;
    for (size_t i = 0; i < f->nreqs; i++) {
        if (!f->reqs[i].answered) {
            fake_answer(f, &f->reqs[i]);
            n++;
        }
    }
    return n;
}

static inline size_t fake_http_pending(const struct fake_http *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nreqs; i++)
        n += !f->reqs[i].answered;
    return n;
}

/* The value of header `name` in request i, or NULL. */
static inline const char *fake_req_header(const struct fake_http *f, size_t i, const char *name)
{
    size_t n = strlen(name);
    for (size_t k = 0; i < f->nreqs && k < f->reqs[i].nheaders; k++) {
        const char *h = f->reqs[i].headers[k];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h[n + 1] == ' ' ? h + n + 2 : h + n + 1;
    }
    return NULL;
}

/* Answers what is still queued (connection reset) and frees the recordings. */
static inline void fake_http_free(struct fake_http *f)
{
    for (size_t i = 0; i < f->nreqs; i++) {
        if (!f->reqs[i].answered) {
            struct cw_http_response resp;
            memset(&resp, 0, sizeof resp);
            resp.error = CW_HTTP_ECONNRESET;
            resp.error_msg = "fake: shut down";
            f->reqs[i].answered = 1;
            f->reqs[i].done(f->reqs[i].ud, &resp);
        }
    }
    for (size_t i = 0; i < f->nreqs; i++) {
        for (size_t k = 0; k < f->reqs[i].nheaders; k++)
            free(f->reqs[i].headers[k]);
        free(f->reqs[i].body);
    }
    f->nreqs = 0;
}

/* ---- a settable clock ---- */

struct fake_clock {
    double t;
};

static inline double fake_clock_now(void *ud)
{
    return ((struct fake_clock *)ud)->t;
}

/* ---- a log capture ---- */

struct fake_log {
    char text[65536];
    size_t len;
};

static inline void fake_log_sink(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    struct fake_log *l = ud;
    (void)level;
    if (l->len + len < sizeof l->text) {
        memcpy(l->text + l->len, line, len);
        l->len += len;
        l->text[l->len] = '\0';
    }
}

static inline void fake_log_start(struct fake_log *l)
{
    l->len = 0;
    l->text[0] = '\0';
    cw_log_set_level(CW_LOG_DEBUG);
    cw_log_set_sink(fake_log_sink, l);
}

static inline void fake_log_stop(void)
{
    cw_log_set_sink(NULL, NULL);
    cw_log_set_level(CW_LOG_INFO);
}

#endif
