#include "agent/http_curl.h"

#include "agent/proxy.h"
#include "agent/version.h"
#include "common/buf.h"
#include "common/log.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_CONCURRENT 8
#define DEFAULT_TIMEOUT_MS     30000     /* common/http.h: timeout_ms 0 means 30000 */
#define DEFAULT_CONNECT_MS     5000      /* common/http.h: connect_timeout_ms 0 means 5000 */
#define DEFAULT_MAX_RESPONSE   (1 << 20) /* common/http.h: max_response 0 means 1 MiB */

/* One socket curl asked us to watch. */
struct sock {
    struct cw_http_curl *h;
    curl_socket_t fd;
    uint64_t watch;
    struct sock *prev, *next;
};

/* One transfer in flight. */
struct xfer {
    struct cw_http_curl *h;
    CURL *easy;
    struct curl_slist *req_headers;
    cw_http_done_fn done;
    void *ud;
    struct cw_buf body;
    char *hdrs[CW_HTTP_CURL_MAX_HEADERS + 1];
    size_t nhdrs, hdr_bytes;
    int too_big;
    const char *proxy; /* the proxy this transfer goes through (owned by h), NULL = direct */
    int secret;        /* wipe the response (credentials) before freeing it */
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *prev, *next;
};

struct cw_http_curl {
    struct cw_loop *loop;
    CURLM *multi;
    uint64_t timer;
    char *user_agent;
    char *ca_bundle;
    char *http_proxy, *https_proxy, *no_proxy;
    struct cw_proxy_settings proxy; /* views of the three strings above */
    int verbose;
    int closing;
    unsigned in_flight;
    unsigned long conns;
    struct xfer *xfers;
    struct sock *socks;
};

#define LIST_LINK(head, e)                                                                         \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head)                                                                                  \
            (head)->prev = (e);                                                                    \
        (head) = (e);                                                                              \
    } while (0)

#define LIST_UNLINK(head, e)                                                                       \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
    } while (0)

/* ---- responses ---- */

static void headers_clear(struct xfer *x)
{
    for (size_t i = 0; i < x->nhdrs; i++) {
        if (x->secret)
            explicit_bzero(x->hdrs[i], strlen(x->hdrs[i]));
        free(x->hdrs[i]);
    }
    x->nhdrs = 0;
    x->hdr_bytes = 0;
    x->hdrs[0] = NULL;
}

/* Keeps "Name: value" lines of the last response (a 100-continue or any earlier response
 * starts over at its status line); CR/LF stripped, caps enforced by dropping extras. */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n, keep = len;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        headers_clear(x);
        return len;
    }
    while (keep && (data[keep - 1] == '\r' || data[keep - 1] == '\n'))
        keep--;
    if (keep == 0 || data[0] == ' ' || data[0] == '\t' || !memchr(data, ':', keep))
        return len;
    if (x->nhdrs >= CW_HTTP_CURL_MAX_HEADERS || x->hdr_bytes + keep > CW_HTTP_CURL_MAX_HEADER_BYTES)
        return len;
    char *line = strndup(data, keep);
    if (!line)
        return 0; /* aborts the transfer: out of memory */
    x->hdrs[x->nhdrs++] = line;
    x->hdrs[x->nhdrs] = NULL;
    x->hdr_bytes += keep;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    if (cw_buf_append(&x->body, data, size * n) != 0) {
        x->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return size * n;
}

static enum cw_http_error map_error(CURLcode rc, int too_big)
{
    switch (rc) {
    case CURLE_OK:
        return CW_HTTP_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return CW_HTTP_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
        return CW_HTTP_ECONNECT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return CW_HTTP_ECONNRESET;
    case CURLE_FILESIZE_EXCEEDED:
        return CW_HTTP_ETOOBIG;
    case CURLE_WRITE_ERROR:
        return too_big ? CW_HTTP_ETOOBIG : CW_HTTP_EOTHER;
    default:
        return CW_HTTP_EOTHER;
    }
}

static void xfer_free(struct xfer *x)
{
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->req_headers);
    headers_clear(x);
    cw_buf_free(&x->body);
    free(x);
}

/* Hands the outcome to the caller, then frees the transfer. The transfer is already detached
 * from the multi handle and the list, so `done` may submit new requests. */
static void xfer_complete(struct xfer *x, enum cw_http_error err, const char *msg)
{
    struct cw_http_response r = {0};
    r.error = err;
    if (err == CW_HTTP_OK || err == CW_HTTP_ETOOBIG) /* a status line may have come */
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.error_msg = err == CW_HTTP_OK ? "" : msg;
    r.body = x->body.data ? x->body.data : "";
    r.body_len = x->body.len;
    r.headers = (const char *const *)x->hdrs;
    r.nheaders = x->nhdrs;
    x->done(x->ud, &r);
    xfer_free(x);
}

static void xfer_detach(struct cw_http_curl *h, struct xfer *x)
{
    curl_multi_remove_handle(h->multi, x->easy);
    LIST_UNLINK(h->xfers, x);
    h->in_flight--;
}

static int is_tls_trust_error(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
           rc == CURLE_SSL_ISSUER_ERROR;
}

/* The error text of a failed transfer: curl's words, which proxy was used (credentials
 * redacted), and for a certificate not trusted, where a private CA is configured. */
static void describe_error(const struct xfer *x, CURLcode rc, enum cw_http_error err, char *out,
                           size_t outlen)
{
    const char *msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    char via[300] = "";
    if (err == CW_HTTP_ETOOBIG) {
        snprintf(out, outlen, "response body exceeds max_response");
        return;
    }
    if (x->proxy) {
        char red[256];
        cw_proxy_redact(x->proxy, red, sizeof red);
        snprintf(via, sizeof via, " (through proxy %s)", red);
    }
    if (is_tls_trust_error(rc))
        snprintf(out, outlen,
                 "TLS: %s%s; the server's certificate is not trusted (a private CA goes in "
                 "common-config.toml [ssl] ca_bundle_path or AWS_CA_BUNDLE)",
                 msg, via);
    else if (rc == CURLE_SSL_CONNECT_ERROR)
        snprintf(out, outlen, "TLS: %s%s", msg, via);
    else
        snprintf(out, outlen, "%s%s", msg, via);
}

static void xfer_finished(struct cw_http_curl *h, struct xfer *x, CURLcode rc)
{
    long nconn = 0;
    if (curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
        h->conns += (unsigned long)nconn;
    xfer_detach(h, x);
    enum cw_http_error err = map_error(rc, x->too_big);
    char msg[CURL_ERROR_SIZE + 512];
    describe_error(x, rc, err, msg, sizeof msg);
    xfer_complete(x, err, msg);
}

static void check_done(struct cw_http_curl *h)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = m->data.result;
        if (x)
            xfer_finished(h, x, rc);
    }
}

/* ---- curl ↔ loop glue ---- */

static void on_sock_event(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    struct cw_http_curl *h = ((struct sock *)ud)->h; /* ud may be freed by socket_action */
    int flags = 0, running = 0;
    if (events & CW_LOOP_READ)
        flags |= CURL_CSELECT_IN;
    if (events & CW_LOOP_WRITE)
        flags |= CURL_CSELECT_OUT;
    if (events & CW_LOOP_ERROR)
        flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(h->multi, fd, flags, &running);
    check_done(h);
}

static void sock_free(struct cw_http_curl *h, struct sock *sk)
{
    cw_loop_watch_remove(h->loop, sk->watch);
    LIST_UNLINK(h->socks, sk);
    free(sk);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    struct cw_http_curl *h = userp;
    struct sock *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk)
            sock_free(h, sk);
        curl_multi_assign(h->multi, s, NULL);
        return 0;
    }
    unsigned ev =
        (what & CURL_POLL_IN ? CW_LOOP_READ : 0) | (what & CURL_POLL_OUT ? CW_LOOP_WRITE : 0);
    if (sk)
        return cw_loop_watch_modify(h->loop, sk->watch, ev);
    sk = calloc(1, sizeof *sk);
    if (!sk)
        return -1;
    sk->h = h;
    sk->fd = s;
    sk->watch = cw_loop_watch_fd(h->loop, s, ev, on_sock_event, sk);
    if (!sk->watch) {
        free(sk);
        return -1;
    }
    LIST_LINK(h->socks, sk);
    curl_multi_assign(h->multi, s, sk);
    return 0;
}

static void on_loop_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct cw_http_curl *h = ud;
    int running = 0;
    h->timer = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

/* curl asks for one timer: -1 removes it, 0 means "as soon as possible" (next loop turn; curl
 * must not be re-entered from here). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct cw_http_curl *h = userp;
    cw_loop_timer_cancel(h->loop, h->timer);
    h->timer = 0;
    if (timeout_ms < 0)
        return 0;
    h->timer = cw_loop_timer_add(h->loop, timeout_ms, on_loop_timer, h);
    return h->timer ? 0 : -1;
}

/* ---- submit ---- */

static int has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return 1;
    return 0;
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -1;
    *list = l;
    return 0;
}

/* Copies the caller's headers; suppresses curl's Expect: 100-continue (a wasted round trip) and,
 * for methods other than POST, its default form Content-Type. */
static int build_headers(struct xfer *x, const struct cw_http_request *req)
{
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        if (add_header(&x->req_headers, req->headers[i]) != 0)
            return -1;
    if (!has_header(req->headers, "Expect") && add_header(&x->req_headers, "Expect:") != 0)
        return -1;
    if (strcmp(req->method, "POST") != 0 && !has_header(req->headers, "Content-Type") &&
        add_header(&x->req_headers, "Content-Type:") != 0)
        return -1;
    return 0;
}

static int set_method(CURL *e, const struct cw_http_request *req)
{
    int rc = 0;
    if (strcmp(req->method, "GET") == 0)
        return curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -1;
    if (strcmp(req->method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -1;
    rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    rc |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
    if (strcmp(req->method, "POST") != 0)
        rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    return rc == CURLE_OK ? 0 : -1;
}

static int set_options(struct cw_http_curl *h, struct xfer *x, const struct cw_http_request *req)
{
    CURL *e = x->easy;
    int rc = 0;
    size_t max = req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE;
    x->secret = req->secret;
    if (req->secret)
        cw_buf_init_secret(&x->body, max);
    else
        cw_buf_init(&x->body, max);
    rc |= curl_easy_setopt(e, CURLOPT_URL, req->url);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                           req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           req->connect_timeout_ms ? req->connect_timeout_ms : DEFAULT_CONNECT_MS);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    rc |= curl_easy_setopt(e, CURLOPT_VERBOSE, (long)h->verbose);
    if (h->ca_bundle)
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_bundle);
    /* The proxy is decided here for every request (proxy.h), never by curl from the
     * environment: "" disables curl's own http_proxy / ALL_PROXY / no_proxy handling. */
    x->proxy = cw_proxy_for_url(&h->proxy, req->url);
    rc |= curl_easy_setopt(e, CURLOPT_PROXY, x->proxy ? x->proxy : "");
    rc |= curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    if (rc != CURLE_OK || build_headers(x, req) != 0 || set_method(e, req) != 0)
        return -1;
    return curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->req_headers) == CURLE_OK ? 0 : -1;
}

static int curl_submit(void *impl, const struct cw_http_request *req, cw_http_done_fn done,
                       void *ud)
{
    struct cw_http_curl *h = impl;
    if (h->closing || !req || !req->url || !req->method || !done)
        return -1;
    struct xfer *x = calloc(1, sizeof *x);
    if (!x || !(x->easy = curl_easy_init()))
        goto fail;
    x->h = h;
    x->done = done;
    x->ud = ud;
    if (set_options(h, x, req) != 0)
        goto fail;
    if (curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
        goto fail;
    LIST_LINK(h->xfers, x);
    h->in_flight++;
    return 0;
fail:
    cw_error("http", "cannot start %s request", req && req->method ? req->method : "?");
    if (x)
        xfer_free(x);
    return -1;
}

/* ---- lifecycle ---- */

static int multi_setup(struct cw_http_curl *h, unsigned max)
{
    int rc = 0;
    rc |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    rc |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    rc |= curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    rc |= curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    rc |= curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max);
    rc |= curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)max);
    return rc == CURLM_OK ? 0 : -1;
}

static int dup_opt(char **slot, const char *v)
{
    *slot = v && *v ? strdup(v) : NULL;
    return v && *v && !*slot ? -1 : 0;
}

static int dup_proxy(struct cw_http_curl *h, const struct cw_proxy_settings *p)
{
    if (dup_opt(&h->http_proxy, p->http_proxy) != 0 ||
        dup_opt(&h->https_proxy, p->https_proxy) != 0 || dup_opt(&h->no_proxy, p->no_proxy) != 0)
        return -1;
    h->proxy.http_proxy = h->http_proxy;
    h->proxy.https_proxy = h->https_proxy;
    h->proxy.no_proxy = h->no_proxy;
    return 0;
}

struct cw_http_curl *cw_http_curl_new(struct cw_loop *loop, const struct cw_http_curl_options *opts)
{
    struct cw_http_curl_options none = {0};
    if (!opts)
        opts = &none;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cw_error("http", "curl_global_init failed");
        return NULL;
    }
    struct cw_http_curl *h = calloc(1, sizeof *h);
    if (!h)
        goto fail;
    h->loop = loop;
    h->verbose = opts->verbose;
    h->user_agent = strdup(opts->user_agent ? opts->user_agent : "cwagent/" CWAGENT_VERSION);
    h->ca_bundle = opts->ca_bundle ? strdup(opts->ca_bundle) : NULL;
    h->multi = curl_multi_init();
    if (!h->user_agent || (opts->ca_bundle && !h->ca_bundle) || !h->multi ||
        dup_proxy(h, &opts->proxy) != 0 ||
        multi_setup(h, opts->max_concurrent ? opts->max_concurrent : DEFAULT_MAX_CONCURRENT) != 0)
        goto fail;
    return h;
fail:
    cw_error("http", "cannot create the HTTP transport");
    cw_http_curl_free(h);
    if (!h)
        curl_global_cleanup();
    return NULL;
}

void cw_http_curl_free(struct cw_http_curl *h)
{
    if (!h)
        return;
    h->closing = 1;
    while (h->xfers) {
        struct xfer *x = h->xfers;
        xfer_detach(h, x);
        xfer_complete(x, CW_HTTP_EOTHER, "cancelled");
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    while (h->socks)
        sock_free(h, h->socks);
    cw_loop_timer_cancel(h->loop, h->timer);
    free(h->user_agent);
    free(h->ca_bundle);
    free(h->http_proxy);
    free(h->https_proxy);
    free(h->no_proxy);
    free(h);
    curl_global_cleanup();
}

struct cw_http_transport cw_http_curl_transport(struct cw_http_curl *h)
{
    struct cw_http_transport t = {curl_submit, h};
    return t;
}

unsigned cw_http_curl_in_flight(const struct cw_http_curl *h)
{
    return h->in_flight;
}

unsigned long cw_http_curl_connections_opened(const struct cw_http_curl *h)
{
    return h->conns;
}

/* ---- blocking helper ---- */

struct sync_ctx {
    int finished;
    int abandoned; /* the waiter gave up: the callback frees the context */
    struct cw_http_sync_response *out;
};

static int copy_response(struct cw_http_sync_response *out, const struct cw_http_response *r)
{
    out->status = r->status;
    out->error = r->error;
    snprintf(out->error_msg, sizeof out->error_msg, "%s", r->error_msg ? r->error_msg : "");
    out->body = malloc(r->body_len + 1);
    out->headers = calloc(r->nheaders + 1, sizeof *out->headers);
    if (!out->body || !out->headers)
        return -1;
    memcpy(out->body, r->body, r->body_len);
    out->body[r->body_len] = '\0';
    out->body_len = r->body_len;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (!(out->headers[i] = strdup(r->headers[i])))
            return -1;
        out->nheaders = i + 1;
    }
    return 0;
}

static void sync_done(void *ud, const struct cw_http_response *r)
{
    struct sync_ctx *c = ud;
    if (c->abandoned) {
        free(c);
        return;
    }
    if (copy_response(c->out, r) != 0) {
        c->out->error = CW_HTTP_EOTHER;
        snprintf(c->out->error_msg, sizeof c->out->error_msg, "out of memory");
    }
    c->finished = 1;
}

int cw_http_fetch_sync(struct cw_loop *loop, const struct cw_http_transport *t,
                       const struct cw_http_request *req, struct cw_http_sync_response *out)
{
    memset(out, 0, sizeof *out);
    out->error = CW_HTTP_EOTHER;
    struct sync_ctx *c = calloc(1, sizeof *c);
    if (!c || (c->out = out, t->submit(t->impl, req, sync_done, c) != 0)) {
        snprintf(out->error_msg, sizeof out->error_msg, "cannot submit the request");
        free(c);
        return -1;
    }
    if (cw_loop_run_until(loop, &c->finished, -1) != 0) {
        c->abandoned = 1; /* freed by sync_done if it ever runs */
        snprintf(out->error_msg, sizeof out->error_msg, "event loop failure");
        return -1;
    }
    free(c);
    return out->error == CW_HTTP_OK ? 0 : -1;
}

void cw_http_sync_response_free(struct cw_http_sync_response *r)
{
    for (size_t i = 0; r->headers && i < r->nheaders; i++)
        free(r->headers[i]);
    free(r->headers);
    free(r->body);
    r->headers = NULL;
    r->body = NULL;
    r->nheaders = 0;
    r->body_len = 0;
}
