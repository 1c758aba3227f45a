#include "agent/prom_exporter.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "agent/prom_text.h"
#include "common/buf.h"
#include "common/log.h"

#define PROM_ACCEPT_BURST 64  /* accepts per loop turn, so a flood cannot starve the loop */
#define PROM_SWEEP_MS     500 /* how often deadlines are checked while connections are open */

/* One rendered page, shared by every connection sending it. */
struct page {
    unsigned refs;
    size_t len;
    char data[];
};

struct conn {
    struct prom_exporter *e;
    int fd;
    uint64_t watch;
    int64_t deadline;
    char req[PROM_MAX_REQUEST];
    size_t req_len;
    bool writing;
    char head[256];
    size_t head_len, sent;
    struct page *body; /* NULL for error responses and HEAD */
};

struct prom_exporter {
    struct cw_loop *loop;
    int lfd;
    uint64_t lwatch, round_timer, sweep_timer;
    struct node_reader *reader;
    struct page *page;
    struct cw_buf render;
    struct conn *conns[PROM_MAX_CONNS];
    size_t nconns;
    int port;
    int64_t (*wall_ms)(void *);
    void *wall_ud;
    struct prom_exporter_stats st;
};

static void page_unref(struct page *p)
{
    if (p && --p->refs == 0)
        free(p);
}

/* ---- rounds ---------------------------------------------------------------------------- */

static int64_t real_wall_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Reads and renders one round into a new page; the previous page lives on while being sent. */
static void run_round(struct prom_exporter *e)
{
    int64_t t0 = mono_us();
    struct prom_text w;
    cw_buf_reset(&e->render);
    prom_text_init(&w, &e->render);
    size_t n = node_reader_round(e->reader, e->wall_ms(e->wall_ud), prom_text_emit, &w);
    if (prom_text_failed(&w)) {
        if (e->st.render_failures++ == 0)
            cw_error("prometheus", "the /metrics page exceeds %u bytes; it is cut short",
                     PROM_MAX_PAGE);
    }
    struct page *p = malloc(sizeof *p + e->render.len);
    if (!p) {
        e->st.render_failures++;
        return; /* the previous page is served again */
    }
    p->refs = 1;
    p->len = e->render.len;
    memcpy(p->data, e->render.data, e->render.len);
    page_unref(e->page);
    e->page = p;
    e->st.rounds++;
    e->st.series = n;
    e->st.page_bytes = p->len;
    e->st.round_us = (uint64_t)(mono_us() - t0);
}

static void on_round(struct cw_loop *loop, void *ud)
{
    (void)loop;
    run_round(ud);
}

/* ---- connections ----------------------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    struct prom_exporter *e = c->e;
    cw_loop_watch_remove(e->loop, c->watch);
    close(c->fd);
    page_unref(c->body);
    for (size_t i = 0; i < e->nconns; i++) {
        if (e->conns[i] == c) {
            e->conns[i] = e->conns[--e->nconns];
            break;
        }
    }
    free(c);
    if (e->nconns == 0 && e->sweep_timer) {
        cw_loop_timer_cancel(e->loop, e->sweep_timer);
        e->sweep_timer = 0;
    }
}

/* Sends what is left of head + body; closes the connection when done or on error. */
static void conn_write(struct conn *c)
{
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        size_t total = c->head_len + (c->body ? c->body->len : 0);
        if (c->sent >= total) {
            shutdown(c->fd, SHUT_WR);
            conn_close(c);
            return;
        }
        if (c->sent < c->head_len)
            iov[n++] = (struct iovec){c->head + c->sent, c->head_len - c->sent};
        if (c->body) {
            size_t off = c->sent > c->head_len ? c->sent - c->head_len : 0;
            iov[n++] = (struct iovec){c->body->data + off, c->body->len - off};
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* wait for CW_LOOP_WRITE */
        if (w <= 0) {
            conn_close(c);
            return;
        }
        c->sent += (size_t)w;
    }
}

static void respond(struct conn *c, int status, const char *reason, const char *extra,
                    bool with_page, bool head_only)
{
    struct prom_exporter *e = c->e;
    static const char err_body_fmt[] = "%d %s\n";
    char errbody[64];
    int elen = with_page ? 0 : snprintf(errbody, sizeof errbody, err_body_fmt, status, reason);
    size_t blen = with_page ? (e->page ? e->page->len : 0) : (size_t)elen;
    int n = snprintf(c->head, sizeof c->head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n%s",
                     status, reason, with_page ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
                     blen, extra ? extra : "", with_page || head_only ? "" : errbody);
    c->head_len = n > 0 && (size_t)n < sizeof c->head ? (size_t)n : 0;
    if (with_page && !head_only && e->page) {
        c->body = e->page;
        c->body->refs++;
    }
    c->writing = true;
    c->sent = 0;
    cw_loop_watch_modify(e->loop, c->watch, CW_LOOP_WRITE);
    conn_write(c);
}

/* Looks at a complete request head and answers it. */
static void handle_request(struct conn *c)
{
    struct prom_exporter *e = c->e;
    char *sp1 = memchr(c->req, ' ', c->req_len);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', c->req_len - (size_t)(sp1 + 1 - c->req)) : NULL;
    char *eol = memchr(c->req, '\n', c->req_len);
    if (!sp1 || !sp2 || !eol || sp2 > eol || eol - sp2 < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        e->st.bad_requests++;
        respond(c, 400, "Bad Request", NULL, false, false);
        return;
    }
    size_t mlen = (size_t)(sp1 - c->req), plen = (size_t)(sp2 - sp1 - 1);
    const char *path = sp1 + 1;
    const char *q = memchr(path, '?', plen);
    if (q)
        plen = (size_t)(q - path);
    bool get = mlen == 3 && memcmp(c->req, "GET", 3) == 0;
    bool head = mlen == 4 && memcmp(c->req, "HEAD", 4) == 0;
    if (!(plen == 8 && memcmp(path, "/metrics", 8) == 0)) {
        e->st.not_found++;
        respond(c, 404, "Not Found", NULL, false, head);
    } else if (!get && !head) {
        e->st.bad_requests++;
        respond(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", false, false);
    } else {
        e->st.scrapes++;
        respond(c, 200, "OK", NULL, true, head);
    }
}

static bool head_complete(const struct conn *c)
{
    for (size_t i = 1; i < c->req_len; i++) {
        if (c->req[i] != '\n')
            continue;
        if (c->req[i - 1] == '\n' || (i >= 3 && memcmp(c->req + i - 3, "\r\n\r", 3) == 0))
            return true;
    }
    return false;
}

static void conn_read(struct conn *c)
{
    for (;;) {
        if (c->req_len == sizeof c->req) {
            c->e->st.bad_requests++;
            respond(c, 431, "Request Header Fields Too Large", NULL, false, false);
            return;
        }
        ssize_t r = recv(c->fd, c->req + c->req_len, sizeof c->req - c->req_len, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            conn_close(c);
            return;
        }
        c->req_len += (size_t)r;
        if (head_complete(c)) {
            handle_request(c);
            return;
        }
    }
}

static void on_conn(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)fd;
    struct conn *c = ud;
    if (c->writing) {
        if (events & CW_LOOP_ERROR)
            conn_close(c);
        else
            conn_write(c);
    } else {
        conn_read(c);
    }
}

static void on_sweep(struct cw_loop *loop, void *ud)
{
    struct prom_exporter *e = ud;
    int64_t now = cw_loop_now_ms(loop);
    for (size_t i = e->nconns; i-- > 0;) {
        if (i < e->nconns && e->conns[i]->deadline <= now) {
            e->st.timeouts++;
            conn_close(e->conns[i]);
        }
    }
}

/* All slots are taken: the connection that has been sending its request the longest (a
 * slowloris) makes room, so a flood of idle connections cannot lock scrapers out. Connections
 * already being answered are kept. */
static void evict_slowest(struct prom_exporter *e)
{
    struct conn *victim = NULL;
    for (size_t i = 0; i < e->nconns; i++)
        if (!e->conns[i]->writing && (!victim || e->conns[i]->deadline < victim->deadline))
            victim = e->conns[i];
    if (victim) {
        e->st.evicted++;
        conn_close(victim);
    }
}

static void on_accept(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)events;
    struct prom_exporter *e = ud;
    for (int i = 0; i < PROM_ACCEPT_BURST; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        if (e->nconns == PROM_MAX_CONNS)
            evict_slowest(e);
        struct conn *c = e->nconns < PROM_MAX_CONNS ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            e->st.conns_refused++;
            close(cfd);
            continue;
        }
        c->e = e;
        c->fd = cfd;
        c->deadline = cw_loop_now_ms(loop) + PROM_CONN_TIMEOUT_MS;
        c->watch = cw_loop_watch_fd(loop, cfd, CW_LOOP_READ, on_conn, c);
        if (!c->watch) {
            close(cfd);
            free(c);
            e->st.conns_refused++;
            continue;
        }
        e->conns[e->nconns++] = c;
        if (!e->sweep_timer)
            e->sweep_timer = cw_loop_timer_every(loop, PROM_SWEEP_MS, on_sweep, e);
    }
}

/* ---- listening ------------------------------------------------------------------------- */

/* Splits "host:port", "[v6]:port" or ":port" (host "" = every interface). */
static int parse_listen(const char *addr, char *host, size_t hl, char *port, size_t pl, char *err,
                        size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hn = colon ? (size_t)(colon - addr) : 0;
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "prometheus listen \"%s\": expected HOST:PORT", addr);
        return -1;
    }
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    }
    if (hn >= hl || strlen(colon + 1) >= pl) {
        snprintf(err, errlen, "prometheus listen \"%s\": too long", addr);
        return -1;
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    snprintf(port, pl, "%s", colon + 1);
    return 0;
}

static int open_listener(struct prom_exporter *e, const char *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    if (parse_listen(addr, host, sizeof host, port, sizeof port, err, errlen) != 0)
        return -1;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "prometheus listen \"%s\": %s", addr, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "prometheus listen \"%s\": %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        e->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    e->lfd = fd;
    return 0;
}

struct prom_exporter *prom_exporter_new(const struct prom_exporter_options *o, char *err,
                                        size_t errlen)
{
    struct prom_exporter *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->loop = o->loop;
    e->lfd = -1;
    e->wall_ms = o->wall_ms ? o->wall_ms : real_wall_ms;
    e->wall_ud = o->wall_ud;
    cw_buf_init(&e->render, PROM_MAX_PAGE);
    e->reader = node_reader_new(o->root, o->statfs_fn, o->statfs_ud);
    if (!e->reader) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (open_listener(e, o->listen, err, errlen) != 0)
        goto fail;
    run_round(e);
    e->lwatch = cw_loop_watch_fd(e->loop, e->lfd, CW_LOOP_READ, on_accept, e);
    e->round_timer =
        cw_loop_timer_every(e->loop, o->interval_ms > 0 ? o->interval_ms : 60000, on_round, e);
    if (!e->lwatch || !e->round_timer) {
        snprintf(err, errlen, "cannot register the /metrics listener on the event loop");
        goto fail;
    }
    cw_info("prometheus", "serving node_exporter metrics on http://%s/metrics", o->listen);
    return e;
fail:
    prom_exporter_free(e);
    return NULL;
}

void prom_exporter_free(struct prom_exporter *e)
{
    if (!e)
        return;
    while (e->nconns > 0)
        conn_close(e->conns[e->nconns - 1]);
    cw_loop_timer_cancel(e->loop, e->round_timer);
    cw_loop_timer_cancel(e->loop, e->sweep_timer);
    cw_loop_watch_remove(e->loop, e->lwatch);
    if (e->lfd >= 0)
        close(e->lfd);
    node_reader_free(e->reader);
    page_unref(e->page);
    cw_buf_free(&e->render);
    free(e);
}

void prom_exporter_stats(const struct prom_exporter *e, struct prom_exporter_stats *out)
{
    *out = e->st;
}

int prom_exporter_port(const struct prom_exporter *e)
{
    return e->port;
}
