#include "logtail/emf.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define E_COMP        "emf"
#define QUEUE_DEFAULT (8u << 20)
#define READ_CHUNK    65536
#define READ_BUDGET   (1u << 20) /* bytes read from one client per readiness */
#define UDP_BUDGET    256        /* datagrams per readiness */
#define LOG_FIRST     10         /* reasons logged in full, then one in LOG_EVERY */
#define LOG_EVERY     1000
#define NAMESPACE_MAX 1024
#define DIM_KEY_MAX   250
#define UDP_RCVBUF    (4 << 20)
#define TCP_BACKLOG   128

enum kind { K_TCP_LISTEN, K_UDP, K_CLIENT };

struct sock {
    enum kind kind;
    int fd;
};

struct client {
    struct sock s; /* first: epoll data points here */
    struct client *next, *prev;
    char *buf;
    size_t len, cap;
    int skipping; /* a line over LT_EMF_MAX_LINE: drop up to the next newline */
};

struct qdoc {
    struct qdoc *next;
    struct lt_emf_doc doc;
    size_t next_part;
    size_t bytes;
};

struct lt_emf {
    int epfd;
    struct sock tcp, udp;
    struct client *clients;
    unsigned nclients;
    char *default_stream;
    size_t max_queue;
    int64_t (*clock)(void *ud);
    void *clock_ud;
    struct qdoc *head, *tail, *cur; /* cur: handed out, freed on the next call */
    int paused;
    char *dgram;
    uint64_t logged;
    struct lt_emf_stats st;
};

static int64_t now_ms(struct lt_emf *e)
{
    if (e->clock)
        return e->clock(e->clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- parsing ------------------------------------------------------------------------------ */

/* obj[key] compared without case (Go's JSON decoding into the reference's struct). */
static const char *str_member(const json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    const char *exact = json_string_value(json_object_get(obj, key));
    if (exact)
        return exact;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (strcasecmp(k, key) == 0 && json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

static int check_directive(const json_t *d, size_t i, char *why, size_t whylen)
{
    const char *ns = json_string_value(json_object_get(d, "Namespace"));
    const json_t *dims = json_object_get(d, "Dimensions"), *mets = json_object_get(d, "Metrics");
    size_t k;
    const json_t *v;
    if (!json_is_object(d))
        return snprintf(why, whylen, "CloudWatchMetrics[%zu] is not an object", i), -1;
    if (!ns || !*ns || strlen(ns) > NAMESPACE_MAX)
        return snprintf(why, whylen,
                        "CloudWatchMetrics[%zu].Namespace is missing or not 1-1024 "
                        "characters",
                        i),
               -1;
    if (!json_is_array(dims))
        return snprintf(why, whylen, "CloudWatchMetrics[%zu].Dimensions is not an array", i), -1;
    json_array_foreach(dims, k, v)
    {
        size_t n = json_array_size(v), x;
        const json_t *name;
        if (!json_is_array(v) || n > LT_EMF_MAX_DIMENSIONS)
            return snprintf(why, whylen,
                            "CloudWatchMetrics[%zu].Dimensions[%zu] is not an array of at most "
                            "30 names",
                            i, k),
                   -1;
        json_array_foreach(v, x, name)
        {
            const char *s = json_string_value(name);
            if (!s || !*s || strlen(s) > DIM_KEY_MAX)
                return snprintf(why, whylen,
                                "CloudWatchMetrics[%zu].Dimensions[%zu][%zu] is not a name of "
                                "1-250 characters",
                                i, k, x),
                       -1;
        }
    }
    if (!json_is_array(mets))
        return snprintf(why, whylen, "CloudWatchMetrics[%zu].Metrics is not an array", i), -1;
    json_array_foreach(mets, k, v)
    {
        if (!json_string_value(json_object_get(v, "Name")))
            return snprintf(why, whylen, "CloudWatchMetrics[%zu].Metrics[%zu] has no Name", i, k),
                   -1;
    }
    return 0;
}

/* Validates the metadata; "" in why when valid. */
static void check_emf(const json_t *root, char *why, size_t whylen)
{
    const json_t *aws = json_object_get(root, "_aws");
    why[0] = '\0';
    if (!aws) /* a structured log routed by the older keys: nothing to extract */
        return;
    if (!json_is_object(aws)) {
        snprintf(why, whylen, "_aws is not an object");
        return;
    }
    const json_t *ts = json_object_get(aws, "Timestamp"), *dirs;
    if (!json_is_integer(ts)) {
        snprintf(why, whylen, "_aws.Timestamp is not an integer (milliseconds)");
        return;
    }
    dirs = json_object_get(aws, "CloudWatchMetrics");
    if (!json_is_array(dirs)) {
        snprintf(why, whylen, "_aws.CloudWatchMetrics is not an array");
        return;
    }
    size_t i;
    const json_t *d;
    json_array_foreach(dirs, i, d)
    {
        if (check_directive(d, i, why, whylen) != 0)
            return;
    }
}

static size_t max_chunks(const json_t *dirs)
{
    size_t i, most = 1;
    const json_t *d;
    json_array_foreach(dirs, i, d)
    {
        size_t n = json_array_size(json_object_get(d, "Metrics"));
        size_t c = (n + LT_EMF_MAX_METRICS - 1) / LT_EMF_MAX_METRICS;
        most = c > most ? c : most;
    }
    return most;
}

/* Document k of a split: metrics [100k, 100k+100) of each directive; values of metrics that
 * only other parts declare are removed. The caller frees the string. */
static char *split_part(const json_t *root, const json_t *dirs, size_t k)
{
    json_t *copy = json_deep_copy(root), *nd = json_array();
    char *out = NULL;
    size_t i, m;
    const json_t *d, *met;
    if (!copy || !nd)
        goto out;
    json_array_foreach(dirs, i, d)
    {
        const json_t *mets = json_object_get(d, "Metrics");
        json_t *slice = json_array();
        json_array_foreach(mets, m, met)
        {
            if (m / LT_EMF_MAX_METRICS == k)
                json_array_append(slice, (json_t *)met);
        }
        if (json_array_size(slice)) {
            json_t *dc = json_deep_copy(d);
            json_object_set_new(dc, "Metrics", slice);
            json_array_append_new(nd, dc);
        } else
            json_decref(slice);
    }
    json_array_foreach(dirs, i, d)
    {
        json_array_foreach(json_object_get(d, "Metrics"), m, met)
        {
            if (m / LT_EMF_MAX_METRICS != k)
                json_object_del(copy, json_string_value(json_object_get(met, "Name")));
        }
    }
    /* a name declared in this part but also elsewhere keeps its value */
    json_array_foreach(dirs, i, d)
    {
        json_array_foreach(json_object_get(d, "Metrics"), m, met)
        {
            const char *name = json_string_value(json_object_get(met, "Name"));
            if (m / LT_EMF_MAX_METRICS == k && !json_object_get(copy, name) &&
                json_object_get(root, name))
                json_object_set(copy, name, json_object_get(root, name));
        }
    }
    json_object_set_new(json_object_get(copy, "_aws"), "CloudWatchMetrics", nd);
    nd = NULL;
    out = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(nd);
    json_decref(copy);
    return out;
}

void lt_emf_doc_free(struct lt_emf_doc *d)
{
    for (size_t i = 0; i < d->n_parts; i++)
        free(d->parts[i]);
    free(d->parts);
    free(d->group);
    free(d->stream);
    memset(d, 0, sizeof *d);
}

static int fill_parts(const json_t *root, const char *s, size_t n, int valid,
                      struct lt_emf_doc *out)
{
    const json_t *dirs = json_object_get(json_object_get(root, "_aws"), "CloudWatchMetrics");
    size_t chunks = valid ? max_chunks(dirs) : 1;
    out->parts = calloc(chunks, sizeof *out->parts);
    if (!out->parts)
        return -1;
    if (chunks == 1) {
        out->parts[0] = strndup(s, n); /* verbatim, as the reference (raw_log) */
        out->n_parts = out->parts[0] ? 1 : 0;
        return out->n_parts ? 0 : -1;
    }
    for (size_t k = 0; k < chunks; k++) {
        if (!(out->parts[k] = split_part(root, dirs, k)))
            return -1;
        out->n_parts++;
    }
    return 0;
}

/* CloudWatch Logs names (API reference, CreateLogGroup / CreateLogStream): a group is 1-512 of
 * [.-_/#A-Za-z0-9], a stream 1-512 characters without ':' or '*'. A refused name would hold its
 * destination retrying forever, so such documents are not sent. */
static int group_name_ok(const char *g)
{
    size_t n = strlen(g);
    if (n < 1 || n > LT_EMF_NAME_MAX)
        return 0;
    for (; *g; g++)
        if (!((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z') || (*g >= '0' && *g <= '9') ||
              strchr("._-/#", *g)))
            return 0;
    return 1;
}

static int stream_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= LT_EMF_NAME_MAX && !strpbrk(s, ":*");
}

int lt_emf_parse(const char *s, size_t n, const char *default_stream, int64_t now,
                 struct lt_emf_doc *out, char *why, size_t whylen, char *invalid_why,
                 size_t invalid_len)
{
    json_error_t jerr;
    memset(out, 0, sizeof *out);
    invalid_why[0] = '\0';
    json_t *root = json_loadb(s, n, 0, &jerr);
    if (!json_is_object(root)) {
        snprintf(why, whylen, "not a JSON object (line %d, column %d)", jerr.line, jerr.column);
        json_decref(root);
        return -1;
    }
    const json_t *aws = json_object_get(root, "_aws");
    const char *group = json_is_object(aws) ? str_member(aws, "LogGroupName") : NULL;
    const char *stream = NULL;
    if (group && *group)
        stream = str_member(aws, "LogStreamName");
    else {
        group = str_member(root, "log_group_name");
        stream = str_member(root, "log_stream_name");
    }
    if (!group || !*group) {
        snprintf(why, whylen, "no log group (_aws.LogGroupName or log_group_name)");
        json_decref(root);
        return -1;
    }
    if (!stream || !*stream)
        stream = default_stream;
    if (!group_name_ok(group) || !stream_name_ok(stream)) {
        snprintf(why, whylen, "invalid log %s name \"%.100s\" (CloudWatch Logs would refuse it)",
                 group_name_ok(group) ? "stream" : "group", group_name_ok(group) ? stream : group);
        json_decref(root);
        return -1;
    }
    check_emf(root, invalid_why, invalid_len);
    const json_t *ts = json_object_get(aws, "Timestamp");
    out->timestamp_ms =
        json_is_integer(ts) && json_integer_value(ts) > 0 ? (int64_t)json_integer_value(ts) : now;
    out->group = strdup(group);
    out->stream = strdup(stream);
    int rc = 0;
    if (!out->group || !out->stream || fill_parts(root, s, n, !invalid_why[0], out) != 0) {
        snprintf(why, whylen, "out of memory");
        lt_emf_doc_free(out);
        rc = -1;
    }
    json_decref(root);
    return rc;
}

/* ---- queue -------------------------------------------------------------------------------- */

static void note(struct lt_emf *e, const char *what, const char *why)
{
    if (e->logged++ < LOG_FIRST || e->logged % LOG_EVERY == 0)
        cw_warn(E_COMP, "%s: %s (%llu such reports so far)", what, why,
                (unsigned long long)e->logged);
}

static void set_events(struct lt_emf *e, struct sock *s, uint32_t events)
{
    struct epoll_event ev = {.events = events};
    ev.data.ptr = s;
    epoll_ctl(e->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void pause_all(struct lt_emf *e, int on)
{
    if (e->paused == on)
        return;
    e->paused = on;
    uint32_t evs = on ? 0 : EPOLLIN;
    if (e->tcp.fd >= 0)
        set_events(e, &e->tcp, evs);
    if (e->udp.fd >= 0)
        set_events(e, &e->udp, evs);
    for (struct client *c = e->clients; c; c = c->next)
        set_events(e, &c->s, evs);
}

static void take(struct lt_emf *e, const char *s, size_t n)
{
    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (!n)
        return;
    e->st.received++;
    char why[256], inv[256];
    struct qdoc *q = calloc(1, sizeof *q);
    if (!q) {
        note(e, "EMF document dropped", "out of memory");
        return;
    }
    if (lt_emf_parse(s, n, e->default_stream, now_ms(e), &q->doc, why, sizeof why, inv,
                     sizeof inv) != 0) {
        if (strncmp(why, "no log group", 12) == 0)
            e->st.no_group++;
        else if (strncmp(why, "invalid log", 11) == 0)
            e->st.bad_name++;
        else
            e->st.not_json++;
        note(e, "EMF document not sent", why);
        free(q);
        return;
    }
    if (inv[0]) {
        e->st.invalid++;
        note(e, "invalid EMF document (sent as a log event; CloudWatch extracts no metric)", inv);
    }
    if (q->doc.n_parts > 1)
        e->st.split++;
    for (size_t i = 0; i < q->doc.n_parts; i++)
        q->bytes += strlen(q->doc.parts[i]);
    e->st.queued_bytes += q->bytes;
    if (e->tail)
        e->tail->next = q;
    else
        e->head = q;
    e->tail = q;
    if (e->st.queued_bytes >= e->max_queue)
        pause_all(e, 1);
}

static void free_qdoc(struct lt_emf *e, struct qdoc *q)
{
    if (!q)
        return;
    e->st.queued_bytes -= q->bytes;
    lt_emf_doc_free(&q->doc);
    free(q);
}

int lt_emf_next(struct lt_emf *e, struct lt_emf_event *ev)
{
    if (e->cur && e->cur->next_part >= e->cur->doc.n_parts) {
        free_qdoc(e, e->cur);
        e->cur = NULL;
        if (e->paused && e->st.queued_bytes < e->max_queue / 2)
            pause_all(e, 0);
    }
    if (!e->cur) {
        if (!e->head)
            return 0;
        e->cur = e->head;
        e->head = e->head->next;
        if (!e->head)
            e->tail = NULL;
    }
    struct qdoc *q = e->cur;
    const char *m = q->doc.parts[q->next_part++];
    ev->group = q->doc.group;
    ev->stream = q->doc.stream;
    ev->timestamp_ms = q->doc.timestamp_ms;
    ev->message = m;
    ev->len = strlen(m);
    e->st.events++;
    return 1;
}

bool lt_emf_has_work(const struct lt_emf *e)
{
    return e->head != NULL || (e->cur && e->cur->next_part < e->cur->doc.n_parts);
}

/* ---- sockets ------------------------------------------------------------------------------ */

static void drop_client(struct lt_emf *e, struct client *c)
{
    if (c->len && !c->skipping)
        take(e, c->buf, c->len); /* a last line without its newline */
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->s.fd, NULL);
    close(c->s.fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    e->nclients--;
    e->st.clients = e->nclients;
    free(c->buf);
    free(c);
}

static void on_accept(struct lt_emf *e)
{
    for (;;) {
        int fd = accept4(e->tcp.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct client *c = e->nclients < LT_EMF_MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            note(e, "EMF client refused", "too many clients (1024)");
            close(fd);
            continue;
        }
        c->s = (struct sock){K_CLIENT, fd};
        struct epoll_event ev = {.events = e->paused ? 0 : EPOLLIN};
        ev.data.ptr = &c->s;
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = e->clients;
        if (e->clients)
            e->clients->prev = c;
        e->clients = c;
        e->nclients++;
        e->st.clients = e->nclients;
    }
}

/* Takes the complete lines of c->buf; keeps the rest. */
static void client_lines(struct lt_emf *e, struct client *c)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(c->buf + start, '\n', c->len - start);
        if (!nl)
            break;
        size_t end = (size_t)(nl - c->buf);
        if (c->skipping)
            c->skipping = 0;
        else
            take(e, c->buf + start, end - start);
        start = end + 1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len > LT_EMF_MAX_LINE) {
        if (!c->skipping) {
            e->st.too_long++;
            note(e, "EMF line dropped", "longer than 1 MiB (no newline)");
        }
        c->skipping = 1;
        c->len = 0;
    }
}

static void on_client(struct lt_emf *e, struct client *c)
{
    size_t got = 0;
    while (got < READ_BUDGET && !e->paused) {
        if (c->cap - c->len < READ_CHUNK) {
            size_t ncap = c->cap ? c->cap * 2 : READ_CHUNK * 2;
            char *p = realloc(c->buf, ncap);
            if (!p)
                return;
            c->buf = p;
            c->cap = ncap;
        }
        ssize_t n = read(c->s.fd, c->buf + c->len, c->cap - c->len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            drop_client(e, c);
            return;
        }
        if (n < 0)
            break;
        c->len += (size_t)n;
        got += (size_t)n;
        client_lines(e, c);
    }
    if (c->cap > 4 * READ_CHUNK && c->len < READ_CHUNK) { /* a long line must not pin memory */
        char *p = realloc(c->buf, READ_CHUNK * 2);
        if (p) {
            c->buf = p;
            c->cap = READ_CHUNK * 2;
        }
    }
}

static void on_udp(struct lt_emf *e)
{
    for (int i = 0; i < UDP_BUDGET && !e->paused; i++) {
        ssize_t n = recv(e->udp.fd, e->dgram, LT_EMF_MAX_DATAGRAM, 0);
        if (n < 0)
            return;
        size_t len = (size_t)n;
        while (len && e->dgram[len - 1] == '\n')
            len--;
        take(e, e->dgram, len);
    }
}

void lt_emf_on_readable(struct lt_emf *e)
{
    struct epoll_event evs[64];
    int n = epoll_wait(e->epfd, evs, 64, 0);
    for (int i = 0; i < n; i++) {
        struct sock *s = evs[i].data.ptr;
        if (s->kind == K_TCP_LISTEN)
            on_accept(e);
        else if (s->kind == K_UDP)
            on_udp(e);
        else
            on_client(e, (struct client *)s);
    }
}

static int open_socket(struct lt_emf *e, const char *addr, int udp, struct sock *out, char *err,
                       size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    if (!colon || hl >= sizeof host) {
        snprintf(err, errlen, "bad address \"%s\", expected host:port", addr);
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(*host ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s://%s: %s", udp ? "udp" : "tcp", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (udp) {
            int rb = UDP_RCVBUF;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
        }
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        (!udp && listen(fd, TCP_BACKLOG) != 0)) {
        snprintf(err, errlen, "cannot listen on %s://%s: %s", udp ? "udp" : "tcp", addr,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    *out = (struct sock){udp ? K_UDP : K_TCP_LISTEN, fd};
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.ptr = out;
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        snprintf(err, errlen, "cannot watch %s: %s", addr, strerror(errno));
        return -1;
    }
    return 0;
}

struct lt_emf *lt_emf_new(const struct lt_emf_options *o, char *err, size_t errlen)
{
    struct lt_emf *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->tcp.fd = e->udp.fd = -1;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->max_queue = o->max_queue ? o->max_queue : QUEUE_DEFAULT;
    e->clock = o->clock;
    e->clock_ud = o->clock_ud;
    e->default_stream = strdup(o->default_stream ? o->default_stream : "default");
    e->dgram = malloc(LT_EMF_MAX_DATAGRAM + 1);
    if (e->epfd < 0 || !e->default_stream || !e->dgram) {
        snprintf(err, errlen, "cannot start the EMF listener: %s", strerror(errno));
        lt_emf_free(e);
        return NULL;
    }
    if ((o->tcp && open_socket(e, o->tcp, 0, &e->tcp, err, errlen) != 0) ||
        (o->udp && open_socket(e, o->udp, 1, &e->udp, err, errlen) != 0)) {
        lt_emf_free(e);
        return NULL;
    }
    return e;
}

int lt_emf_fd(const struct lt_emf *e)
{
    return e->epfd;
}

int lt_emf_port(const struct lt_emf *e, bool udp)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = udp ? e->udp.fd : e->tcp.fd;
    char serv[16];
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof serv, NI_NUMERICSERV) != 0)
        return 0;
    return (int)strtol(serv, NULL, 10);
}

void lt_emf_stats(const struct lt_emf *e, struct lt_emf_stats *out)
{
    *out = e->st;
}

void lt_emf_free(struct lt_emf *e)
{
    if (!e)
        return;
    while (e->clients) {
        struct client *c = e->clients;
        c->len = 0; /* nothing more is queued while shutting down */
        drop_client(e, c);
    }
    size_t left = 0;
    for (struct qdoc *q = e->head; q; q = q->next)
        left += q->doc.n_parts;
    if (e->cur)
        left += e->cur->doc.n_parts - e->cur->next_part;
    if (left) /* only while CloudWatch could not take them: the pipe pulls all it can */
        cw_warn(E_COMP,
                "stopping with %zu EMF events still queued (CloudWatch unreachable); "
                "they are not sent",
                left);
    free_qdoc(e, e->cur);
    while (e->head) {
        struct qdoc *q = e->head;
        e->head = q->next;
        free_qdoc(e, q);
    }
    if (e->tcp.fd >= 0)
        close(e->tcp.fd);
    if (e->udp.fd >= 0)
        close(e->udp.fd);
    if (e->epfd >= 0)
        close(e->epfd);
    free(e->default_stream);
    free(e->dgram);
    free(e);
}
