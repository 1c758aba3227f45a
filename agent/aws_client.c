#include "agent/aws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "sigv4/creds.h"
#include "sigv4/sigv4.h"

#define CREDS_WAIT_MS     250   /* poll for credentials not yet available */
#define REFRESH_POLL_MS   50    /* poll for a forced refresh to land before resending */
#define REFRESH_MAX_POLLS 100   /* then resend anyway (5 s) */
#define FAILING_LOG_MS    60000 /* a persistent failure is logged at once, then once a minute */

struct call {
    struct call *next, *prev;
    struct aws_client *client; /* NULL once orphaned by aws_client_free */
    char *target;
    char *content_type;
    char *body;
    size_t body_len;
    int gzip;
    int emf;
    unsigned max_attempts;
    size_t max_response;
    aws_done_fn done;
    void *ud;
    struct cw_retry_state rs;
    uint64_t timer; /* waiting for a retry or credentials */
    int in_flight;
    unsigned refresh_polls; /* > 0: the credentials were refused, a refresh was asked for */
};

struct aws_client {
    struct cw_loop *loop;
    struct cw_http_transport http;
    struct creds_cache *creds;
    struct cw_clock_skew *skew;
    struct cw_clock_skew own_skew; /* when the options give none: one per endpoint */
    int skew_warned;
    char *service, *region, *endpoint, *host, *path;
    struct cw_retry_policy policy;
    long timeout_ms;
    int64_t (*wall_ms)(void *);
    void *wall_ud;
    struct sigv4_key_cache *keys;
    struct call *calls;
    unsigned pending;
    struct aws_client_stats st;
    /* the endpoint's current failure streak (attempts retried since the last success) */
    uint64_t failing;
    int64_t failing_since_ms, failing_logged_ms;
    int ever_logged, streak_logged;
};

/* Splits "scheme://authority/path" into host (authority) and path; both malloc'd. */
static int split_endpoint(const char *url, char **host, char **path)
{
    const char *p = strstr(url, "://");
    if (!p || p == url)
        return -1;
    p += 3;
    size_t alen = strcspn(p, "/?#");
    if (alen == 0)
        return -1;
    *host = strndup(p, alen);
    const char *rest = p + alen;
    *path = strdup(*rest == '/' ? rest : "/");
    if (!*host || !*path) {
        free(*host);
        free(*path);
        return -1;
    }
    return 0;
}

struct aws_client *aws_client_new(const struct aws_client_options *o)
{
    if (!o->loop || !o->http || !o->creds || !o->service || !o->region || !o->endpoint) {
        cw_error("aws", "client options incomplete");
        return NULL;
    }
    struct aws_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = o->loop;
    c->http = *o->http;
    c->creds = o->creds;
    cw_clock_skew_init(&c->own_skew);
    c->skew = o->skew ? o->skew : &c->own_skew;
    c->policy = o->policy;
    c->timeout_ms = o->timeout_ms ? o->timeout_ms : 30000;
    c->wall_ms = o->wall_ms ? o->wall_ms : cw_wall_ms;
    c->wall_ud = o->wall_ud;
    c->service = strdup(o->service);
    c->region = strdup(o->region);
    c->endpoint = strdup(o->endpoint);
    c->keys = sigv4_key_cache_new();
    if (!c->service || !c->region || !c->endpoint || !c->keys ||
        split_endpoint(o->endpoint, &c->host, &c->path) != 0) {
        cw_error("aws", "bad endpoint URL '%s' (expected scheme://host[:port][/path])",
                 o->endpoint);
        aws_client_free(c);
        return NULL;
    }
    return c;
}

static void unlink_call(struct aws_client *c, struct call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
    c->pending--;
}

static void free_call(struct call *k)
{
    free(k->target);
    free(k->content_type);
    free(k->body);
    free(k);
}

void aws_client_free(struct aws_client *c)
{
    if (!c)
        return;
    while (c->calls) {
        struct call *k = c->calls;
        unlink_call(c, k);
        if (k->timer)
            cw_loop_timer_cancel(c->loop, k->timer);
        if (k->in_flight)
            k->client = NULL; /* freed when the transport completes it */
        else
            free_call(k);
    }
    sigv4_key_cache_free(c->keys);
    free(c->service);
    free(c->region);
    free(c->endpoint);
    free(c->host);
    free(c->path);
    free(c);
}

unsigned aws_client_pending(const struct aws_client *c)
{
    return c->pending;
}

unsigned aws_client_on_wire(const struct aws_client *c)
{
    unsigned n = 0;
    for (const struct call *k = c->calls; k; k = k->next)
        n += k->in_flight != 0;
    return n;
}

void aws_client_stats(const struct aws_client *c, struct aws_client_stats *out)
{
    *out = c->st;
}

static void copy_trunc(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", s ? s : "");
}

/* ---- attempts ------------------------------------------------------------------------------ */

static void attempt(struct aws_client *c, struct call *k);

static void on_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct call *k = ud;
    k->timer = 0;
    attempt(k->client, k);
}

static void wait_then_attempt(struct aws_client *c, struct call *k, long delay_ms)
{
    k->timer = cw_loop_timer_add(c->loop, delay_ms, on_timer, k);
    if (!k->timer)
        cw_error("aws", "%s: cannot schedule a retry timer", c->service);
}

static void finish(struct aws_client *c, struct call *k, struct aws_result *r)
{
    if (!r->ok) {
        c->st.failures++;
    }
    unlink_call(c, k);
    k->done(k->ud, r);
    free_call(k);
}

/* Builds the signed header lines for one attempt into hdr (NULL-terminated) and strings into
 * store. Returns 0 or -1. */
static int sign_attempt(struct aws_client *c, struct call *k, const struct creds *cr,
                        struct sigv4_result *sig)
{
    struct sigv4_header h[5];
    size_t nh = 0;
    h[nh++] = (struct sigv4_header){"Host", c->host};
    h[nh++] = (struct sigv4_header){"Content-Type", k->content_type};
    if (k->target)
        h[nh++] = (struct sigv4_header){"X-Amz-Target", k->target};
    if (k->gzip)
        h[nh++] = (struct sigv4_header){"Content-Encoding", "gzip"};
    if (k->emf)
        h[nh++] = (struct sigv4_header){"x-amzn-logs-format", "json/emf"};
    struct sigv4_request req = {"POST", c->path, NULL, h, nh, k->body, k->body_len, NULL};
    struct sigv4_params p = {0};
    p.service = c->service;
    p.region = c->region;
    p.now = (time_t)(cw_clock_skew_now_ms(c->skew, c->wall_ms(c->wall_ud)) / 1000);
    p.sign_session_token = 1;
    p.normalize_path = 1;
    struct sigv4_credentials sc = creds_for_signing(cr);
    return sigv4_sign(&req, &sc, &p, c->keys, sig);
}

/* An attempt failed and will be retried: the first failure of a streak is logged at once (a
 * TLS, proxy or DNS problem must not hide behind silent retries), then at most once a minute,
 * across streaks too (a client throttled now and then logs one line a minute, not two per
 * blip); the recovery of a streak whose start was logged is logged. */
static void note_retry(struct aws_client *c, long delay_ms)
{
    int64_t now = cw_loop_now_ms(c->loop);
    int due = !c->ever_logged || now - c->failing_logged_ms >= FAILING_LOG_MS;
    c->st.failing_attempts = c->failing + 1;
    if (c->failing++ == 0) {
        c->failing_since_ms = now;
        c->st.failing_since_ms = c->wall_ms(c->wall_ud);
        c->streak_logged = due;
        if (due)
            cw_warn("aws", "%s (%s): %s; retrying in %ld ms (repeats are logged once a minute)",
                    c->service, c->host, c->st.last_error, delay_ms);
    } else if (due) {
        c->streak_logged = 1;
        cw_warn("aws", "%s (%s): still failing: %llu attempts over %lld s, last: %s", c->service,
                c->host, (unsigned long long)c->failing,
                (long long)((now - c->failing_since_ms) / 1000), c->st.last_error);
    }
    if (due) {
        c->failing_logged_ms = now;
        c->ever_logged = 1;
    }
}

static void note_success(struct aws_client *c)
{
    c->st.last_success_ms = c->wall_ms(c->wall_ud);
    c->st.failing_since_ms = 0;
    c->st.failing_attempts = 0;
    if (!c->failing)
        return;
    if (c->streak_logged)
        cw_info("aws", "%s (%s): delivering again after %llu failed attempts over %lld s",
                c->service, c->host, (unsigned long long)c->failing,
                (long long)((cw_loop_now_ms(c->loop) - c->failing_since_ms) / 1000));
    c->failing = 0;
}

static void on_response(void *ud, const struct cw_http_response *resp);

/* Appends "name: value" to lines[*n] when value is non-NULL. 0, or -1 when out of memory. */
static int add_header(char **lines, size_t *n, const char *name, const char *value)
{
    if (!value)
        return 0;
    char *l = NULL;
    if (asprintf(&l, "%s: %s", name, value) < 0)
        return -1;
    lines[(*n)++] = l;
    return 0;
}

static int submit_signed(struct aws_client *c, struct call *k, const struct sigv4_result *sig)
{
    char *lines[8] = {0};
    size_t n = 0;
    int rc = -1;
    if (add_header(lines, &n, "Content-Type", k->content_type) == 0 &&
        add_header(lines, &n, "X-Amz-Target", k->target) == 0 &&
        add_header(lines, &n, "Content-Encoding", k->gzip ? "gzip" : NULL) == 0 &&
        add_header(lines, &n, "x-amzn-logs-format", k->emf ? "json/emf" : NULL) == 0 &&
        add_header(lines, &n, "X-Amz-Date", sig->amz_date) == 0 &&
        add_header(lines, &n, "X-Amz-Security-Token", sig->security_token) == 0 &&
        add_header(lines, &n, "Authorization", sig->authorization) == 0) {
        struct cw_http_request req = {0};
        req.method = "POST";
        req.url = c->endpoint;
        req.headers = (const char *const *)lines; /* NULL-terminated: lines[n] is NULL */
        req.body = k->body;
        req.body_len = k->body_len;
        req.timeout_ms = c->timeout_ms;
        req.max_response = k->max_response;
        rc = c->http.submit(c->http.impl, &req, on_response, k);
    }
    for (size_t i = 0; i < n; i++) {
        explicit_bzero(lines[i], strlen(lines[i])); /* the token and signature */
        free(lines[i]);
    }
    return rc;
}

/* After the service refused the credentials: non-zero while the forced refresh is still in
 * flight (resending now would sign with the refused set again and waste an attempt). */
static int awaiting_refresh(struct aws_client *c, struct call *k)
{
    if (!k->refresh_polls)
        return 0;
    struct creds_cache_status cs;
    creds_cache_status(c->creds, &cs);
    if (cs.refreshing && k->refresh_polls++ <= REFRESH_MAX_POLLS)
        return 1;
    k->refresh_polls = 0;
    return 0;
}

static void attempt(struct aws_client *c, struct call *k)
{
    struct creds *cr = NULL;
    if (awaiting_refresh(c, k)) {
        wait_then_attempt(c, k, REFRESH_POLL_MS);
        return;
    }
    if (creds_cache_get(c->creds, &cr) != 0) {
        creds_cache_tick(c->creds);
        wait_then_attempt(c, k, CREDS_WAIT_MS);
        return;
    }
    struct sigv4_result sig = {0};
    int rc = sign_attempt(c, k, cr, &sig);
    creds_release(cr);
    if (rc == 0)
        rc = submit_signed(c, k, &sig);
    sigv4_result_free(&sig);
    if (rc != 0) {
        cw_warn("aws", "%s: could not start a request; retrying in 1 s", c->service);
        wait_then_attempt(c, k, 1000);
        return;
    }
    k->in_flight = 1;
    c->st.attempts++;
}

static void fill_result(struct aws_result *r, const struct cw_http_response *resp,
                        enum cw_retry_class cls, unsigned attempts)
{
    memset(r, 0, sizeof *r);
    r->cls = cls;
    r->status = resp->status;
    r->error = resp->error;
    r->attempts = attempts;
    r->body = resp->body;
    r->body_len = resp->body_len;
    r->ok = resp->error == CW_HTTP_OK && resp->status >= 200 && resp->status < 300;
    if (r->ok)
        return;
    if (resp->error != CW_HTTP_OK) {
        copy_trunc(r->message, sizeof r->message, resp->error_msg ? resp->error_msg : "error");
        return;
    }
    cw_retry_parse_error(resp, r->code, sizeof r->code, r->message, sizeof r->message);
}

static void note_failure(struct aws_client *c, const struct aws_result *r)
{
    if (r->code[0])
        snprintf(c->st.last_error, sizeof c->st.last_error, "%s (HTTP %ld): %s", r->code, r->status,
                 r->message);
    else if (r->status)
        snprintf(c->st.last_error, sizeof c->st.last_error, "HTTP %ld", r->status);
    else
        snprintf(c->st.last_error, sizeof c->st.last_error, "%s", r->message);
}

static void apply_decision(struct aws_client *c, struct call *k, const struct cw_retry_decision *d,
                           const struct cw_http_response *resp)
{
    if (d->correct_clock) {
        char date[64];
        int rc = cw_http_response_header(resp, "Date", date, sizeof date)
                     ? cw_clock_skew_update(c->skew, date, c->wall_ms(c->wall_ud))
                     : -1;
        if (rc == 0) {
            c->st.skew_corrections++;
            cw_warn("aws", "%s: clock skew detected; now signing with an offset of %lld ms",
                    c->service, (long long)c->skew->offset_ms);
        } else if (rc == -2 && !c->skew_warned) {
            c->skew_warned = 1;
            cw_warn("aws",
                    "%s: the endpoint's Date is more than 24 h from this host's clock; not "
                    "correcting for it (check the endpoint, or set the system clock)",
                    c->service);
        }
    }
    if (d->refresh_credentials) {
        c->st.cred_refreshes++;
        cw_warn("aws", "%s: credentials rejected; refreshing them", c->service);
        creds_cache_invalidate(c->creds);
        k->refresh_polls = 1;
    }
}

static void on_response(void *ud, const struct cw_http_response *resp)
{
    struct call *k = ud;
    struct aws_client *c = k->client;
    k->in_flight = 0;
    if (!c) { /* orphaned by aws_client_free */
        free_call(k);
        return;
    }
    struct aws_result r;
    fill_result(&r, resp, CW_RETRY_SUCCESS, k->rs.attempts + 1);
    struct cw_retry_input in = {resp->error, resp->status, r.code, r.message};
    enum cw_retry_class cls = cw_retry_classify(&in);
    struct cw_retry_policy pol = c->policy;
    if (k->max_attempts)
        pol.max_attempts = k->max_attempts;
    struct cw_retry_decision d;
    cw_retry_decide(&pol, &k->rs, cls, &d);
    r.cls = d.cls;
    if (r.ok)
        note_success(c);
    if (!r.ok) {
        note_failure(c, &r);
        if (cls == CW_RETRY_THROTTLE)
            c->st.throttled++;
    }
    apply_decision(c, k, &d, resp);
    if (d.action == CW_RETRY_AGAIN) {
        c->st.retries++;
        cw_debug("aws", "%s: %s; retry %u in %ld ms", c->service, c->st.last_error, k->rs.attempts,
                 d.delay_ms);
        note_retry(c, d.delay_ms);
        wait_then_attempt(c, k, d.delay_ms);
        return;
    }
    finish(c, k, &r);
}

int aws_client_call(struct aws_client *c, const struct aws_call *call, aws_done_fn done, void *ud)
{
    struct call *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    const char *ct = call->content_type;
    if (!ct)
        ct = call->target ? "application/x-amz-json-1.1"
                          : "application/x-www-form-urlencoded; charset=utf-8";
    k->content_type = strdup(ct);
    k->target = call->target ? strdup(call->target) : NULL;
    k->body = malloc(call->body_len ? call->body_len : 1);
    if (!k->content_type || (call->target && !k->target) || !k->body) {
        free_call(k);
        return -1;
    }
    memcpy(k->body, call->body, call->body_len);
    k->body_len = call->body_len;
    k->gzip = call->gzip;
    k->emf = call->emf;
    k->max_attempts = call->max_attempts;
    k->max_response = call->max_response;
    k->done = done;
    k->ud = ud;
    k->client = c;
    cw_retry_state_init(&k->rs);
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    c->pending++;
    c->st.calls++;
    wait_then_attempt(c, k, 0); /* never call back from inside this function */
    return 0;
}
