#include "agent/listeners.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/aggregate.h"
#include "collectors/collectd.h"
#include "collectors/statsd.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/udp.h"

#define LISTEN_BUDGET        512    /* datagrams read per readiness before yielding */
#define LISTEN_MAX_SERIES    100000 /* per listener: StatsD window and aggregation each */
#define LISTEN_LOG_EVERY_MS  60000  /* refusals are logged at most once a minute after the first */
#define LISTEN_DATAGRAM_COST 1024   /* socket buffer bytes per pending small datagram (skb) */
#define LISTEN_MAX_DIMS      (STATSD_MAX_TAGS + 1)
#define LISTEN_RETRY_MS      10000 /* a socket that could not be bound is tried again */

struct lsn {
    struct listeners *ls;
    const char *label; /* "statsd", "collectd" */
    int fd;
    uint64_t watch;
    struct rollup *rollup;
    struct agg *agg; /* NULL: no aggregation (metrics_aggregation_interval 0) */
    long agg_ms;
    uint64_t agg_timer;
    uint64_t gather_timer;
    uint32_t kernel_drops;
    int64_t last_log_ms;
    uint64_t unlogged; /* refusals since the last log line */
    int64_t last_drop_log_ms;
    uint64_t unlogged_drops;
    struct listener_stats st;
    char *address; /* service_address */
    int rcvbuf_req;
    int bind_failed;
    uint64_t retry_timer;
    struct statsd *sd;   /* statsd only */
    struct collectd *cd; /* collectd only */
};

struct listeners {
    struct cw_loop *loop;
    struct listeners_sink sink;
    int64_t (*wall_ms)(void *);
    void *wall_ud;
    char *buf; /* one datagram */
    struct lsn statsd;
    struct lsn collectd;
};

static int64_t wall(const struct listeners *ls)
{
    return ls->wall_ms ? ls->wall_ms(ls->wall_ud) : cw_wall_ms(NULL);
}

/* ---- emitting ---- */

/* agg_put_fn for a listener: the sink with the listener's rollup. */
static int put_values(void *ud, const struct rollup_sample *s, const struct rollup_values *v)
{
    struct lsn *l = ud;
    if (l->ls->sink.put(l->ls->sink.ud, l->rollup, s, v) == 0)
        return 0;
    l->st.datums_failed++;
    return -1;
}

/* One value (d == NULL) or distribution of a series, into the aggregation or straight out. */
static void emit(struct lsn *l, const char *name, const struct datum_dim *dims, size_t ndims,
                 double value, const struct dist *d, int64_t ts_ms)
{
    if (l->agg) {
        if (agg_add(l->agg, name, dims, ndims, value, d, ts_ms) != 0)
            l->st.series_dropped++;
        return;
    }
    struct rollup_sample rs = {name, NULL, dims, ndims, value, ts_ms};
    if (d)
        (void)agg_emit_dist(&rs, d, put_values, l);
    else
        (void)put_values(l, &rs, NULL);
}

static void flush_agg(struct lsn *l)
{
    if (l->agg)
        (void)agg_flush(l->agg, put_values, l, NULL);
}

static void on_agg_timer(struct cw_loop *loop, void *ud);

/* Arms the next flush on a wall-clock multiple of the interval (as the reference's ticker). */
static void arm_agg(struct lsn *l)
{
    int64_t now = wall(l->ls);
    long delay = (long)(l->agg_ms - now % l->agg_ms);
    l->agg_timer = cw_loop_timer_add(l->ls->loop, delay, on_agg_timer, l);
}

static void on_agg_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct lsn *l = ud;
    flush_agg(l);
    arm_agg(l);
}

/* ---- statsd ---- */

struct gather_ctx {
    struct lsn *l;
    int64_t ts;
};

static void on_statsd_sample(void *ud, const struct statsd_sample *s)
{
    struct gather_ctx *g = ud;
    struct datum_dim dims[LISTEN_MAX_DIMS];
    size_t n = 0;
    for (size_t i = 0; i < s->ntags && n < LISTEN_MAX_DIMS; i++)
        dims[n++] = (struct datum_dim){s->tags[i].name, s->tags[i].value};
    emit(g->l, s->name, dims, n, s->value, s->dist, g->ts);
}

static void statsd_gather_now(struct lsn *l)
{
    struct gather_ctx g = {l, wall(l->ls)};
    statsd_gather(l->sd, on_statsd_sample, &g);
}

static void on_statsd_gather(struct cw_loop *loop, void *ud)
{
    (void)loop;
    statsd_gather_now(ud);
}

/* ---- reading ---- */

static void note_refused(struct lsn *l, uint64_t n, const char *what)
{
    if (n == 0)
        return;
    l->st.refused += n;
    l->unlogged += n;
    int64_t now = cw_loop_now_ms(l->ls->loop);
    if (l->last_log_ms && now - l->last_log_ms < LISTEN_LOG_EVERY_MS)
        return;
    cw_warn(l->label, "refused %llu %s (%llu in all); latest: %s", (unsigned long long)l->unlogged,
            l->st.refused == n ? "input" : "inputs since the last report",
            (unsigned long long)l->st.refused, what);
    l->unlogged = 0;
    l->last_log_ms = now ? now : 1;
}

static void on_collectd_sample(void *ud, const struct collectd_sample *s)
{
    struct datum_dim dims[4];
    size_t n = 0;
    for (size_t i = 0; i < s->ndims && n < 4; i++)
        dims[n++] = (struct datum_dim){s->dims[i].name, s->dims[i].value};
    emit(ud, s->name, dims, n, s->value, NULL, s->ts_ms);
}

static void feed(struct lsn *l, const char *buf, size_t len)
{
    char err[256];
    if (l->cd) {
        size_t bad =
            collectd_feed(l->cd, buf, len, wall(l->ls), on_collectd_sample, l, err, sizeof err);
        struct collectd_stats cs;
        collectd_get_stats(l->cd, &cs);
        l->st.items = cs.value_lists;
        l->st.insecure = cs.insecure;
        note_refused(l, bad, err);
    }
    if (l->sd) {
        size_t bad = statsd_feed(l->sd, buf, len, err, sizeof err);
        struct statsd_stats ss;
        statsd_get_stats(l->sd, &ss);
        l->st.items = ss.lines;
        note_refused(l, bad, err);
    }
}

/* Counts what the kernel dropped (SO_RXQ_OVFL is a running total); logs at most once a minute. */
static void note_kernel_drops(struct lsn *l, uint32_t total)
{
    uint32_t lost = total - l->kernel_drops;
    l->st.kernel_drops += lost;
    l->kernel_drops = total;
    l->unlogged_drops += lost;
    int64_t now = cw_loop_now_ms(l->ls->loop);
    if (l->last_drop_log_ms && now - l->last_drop_log_ms < LISTEN_LOG_EVERY_MS)
        return;
    cw_warn(l->label,
            "the kernel dropped %llu datagrams (socket buffer of %d bytes full; %llu in all); "
            "raise allowed_pending_messages or net.core.rmem_max",
            (unsigned long long)l->unlogged_drops, l->st.rcvbuf,
            (unsigned long long)l->st.kernel_drops);
    l->unlogged_drops = 0;
    l->last_drop_log_ms = now ? now : 1;
}

static void read_datagrams(struct lsn *l)
{
    for (int i = 0; i < LISTEN_BUDGET; i++) {
        int trunc = 0;
        uint32_t drops = l->kernel_drops;
        ssize_t n = udp_recv(l->fd, l->ls->buf, UDP_MAX_DATAGRAM, &trunc, &drops);
        if (drops != l->kernel_drops)
            note_kernel_drops(l, drops);
        if (n <= 0)
            return;
        l->st.datagrams++;
        if (trunc) {
            l->st.truncated++;
            note_refused(l, 1, "a datagram longer than 64 KiB (truncated)");
            continue;
        }
        feed(l, l->ls->buf, (size_t)n);
    }
}

static void on_readable(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)fd;
    (void)events;
    read_datagrams(ud);
}

/* ---- construction ---- */

static struct rollup *make_rollup(const struct listeners_options *o, const struct cw_strlist *drop,
                                  const struct cw_kv *app, size_t napp, int agg_interval)
{
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    struct datum_dim dims[DATUM_MAX_DIMS];
    size_t nd = 0;
    for (size_t i = 0; i < napp && nd < DATUM_MAX_DIMS; i++)
        dims[nd++] = (struct datum_dim){app[i].key, app[i].value};
    struct rollup_dimset sets[ROLLUP_MAX_SETS];
    size_t nsets = 0;
    for (size_t i = 0; i < mc->n_aggregation_dimensions && nsets < ROLLUP_MAX_SETS; i++)
        sets[nsets++] = (struct rollup_dimset){(const char *const *)mc->aggregation_dimensions[i].v,
                                               mc->aggregation_dimensions[i].n};
    struct rollup_opts ro = {0};
    ro.host = o->host;
    ro.global_append = mc->global_dims != 0;
    ro.append = dims;
    ro.nappend = nd;
    ro.ec2 = o->ec2;
    ro.nec2 = o->nec2;
    ro.agg = sets;
    ro.nagg = nsets;
    ro.drop_original = (const char *const *)drop->v;
    ro.ndrop = drop->n;
    ro.interval_s = agg_interval > 0 ? agg_interval : 1; /* 0: high resolution */
    return rollup_new(&ro);
}

static void on_retry_bind(struct cw_loop *loop, void *ud);

/* Binds the listener's socket. A bind failure (port in use, address not yet configured) is not
 * fatal: it is logged, shown in the status, and retried every LISTEN_RETRY_MS, so a busy port
 * never stops the host metrics and logs. Returns -1 only when the loop cannot watch the fd. */
static int open_socket(struct lsn *l)
{
    char e[300];
    l->fd = udp_listen(l->address, l->rcvbuf_req, &l->st.rcvbuf, e, sizeof e);
    if (l->fd < 0) {
        if (!l->bind_failed)
            cw_error(l->label, "%s; retrying every %d s", e, LISTEN_RETRY_MS / 1000);
        l->bind_failed = 1;
        l->retry_timer = cw_loop_timer_add(l->ls->loop, LISTEN_RETRY_MS, on_retry_bind, l);
        return 0;
    }
    l->bind_failed = 0;
    l->st.port = udp_port(l->fd);
    l->watch = cw_loop_watch_fd(l->ls->loop, l->fd, CW_LOOP_READ, on_readable, l);
    if (!l->watch)
        return -1;
    l->st.listening = 1;
    cw_info(l->label, "listening on %s (UDP port %d, receive buffer %d bytes)", l->address,
            l->st.port, l->st.rcvbuf);
    return 0;
}

static void on_retry_bind(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct lsn *l = ud;
    l->retry_timer = 0;
    if (open_socket(l) != 0)
        cw_error(l->label, "cannot watch the socket");
}

/* Keeps the address (a malformed one is a configuration error) and binds. */
static int start_socket(struct lsn *l, const char *address, int rcvbuf, char *err, size_t errlen)
{
    char e[300];
    if (udp_check_address(address, e, sizeof e) != 0) {
        snprintf(err, errlen, "metrics_collected.%s: %s", l->label, e);
        return -1;
    }
    l->address = strdup(address);
    l->rcvbuf_req = rcvbuf;
    if (!l->address || open_socket(l) != 0) {
        snprintf(err, errlen, "metrics_collected.%s: cannot set up the socket", l->label);
        return -1;
    }
    return 0;
}

static int start_agg(struct lsn *l, int interval_s)
{
    if (interval_s <= 0)
        return 0;
    l->agg = agg_new(LISTEN_MAX_SERIES);
    if (!l->agg)
        return -1;
    l->agg_ms = (long)interval_s * 1000;
    arm_agg(l);
    return l->agg_timer ? 0 : -1;
}

static int start_statsd(struct listeners *ls, const struct listeners_options *o, char *err,
                        size_t errlen)
{
    const struct cw_statsd *c = &o->cfg->metrics.statsd;
    struct lsn *l = &ls->statsd;
    struct statsd_opts so = {c->separator, LISTEN_MAX_SERIES};
    l->st.enabled = 1;
    l->sd = statsd_new(&so);
    l->rollup = make_rollup(o, &c->drop_original, NULL, 0, c->aggregation_interval);
    if (!l->sd || !l->rollup || start_agg(l, c->aggregation_interval) != 0) {
        snprintf(err, errlen, "metrics_collected.statsd: out of memory");
        return -1;
    }
    long pending = c->allowed_pending > 0 ? c->allowed_pending : 10000;
    long rcv = pending * LISTEN_DATAGRAM_COST;
    if (start_socket(l, c->service_address, rcv > (1L << 30) ? (1 << 30) : (int)rcv, err, errlen) !=
        0)
        return -1;
    l->gather_timer = cw_loop_timer_every(ls->loop, (long)c->interval * 1000, on_statsd_gather, l);
    return l->gather_timer ? 0 : -1;
}

static int start_collectd(struct listeners *ls, const struct listeners_options *o, char *err,
                          size_t errlen)
{
    const struct cw_collectd *c = &o->cfg->metrics.collectd;
    struct lsn *l = &ls->collectd;
    static const enum collectd_level levels[] = {COLLECTD_NONE, COLLECTD_SIGN, COLLECTD_ENCRYPT};
    struct collectd_opts co = {c->name_prefix, levels[c->level], c->auth_file,
                               (const char *const *)c->typesdb.v, c->typesdb.n};
    char e[300];
    l->st.enabled = 1;
    l->cd = collectd_new(&co, e, sizeof e);
    if (!l->cd) {
        snprintf(err, errlen, "metrics_collected.collectd: %s", e);
        return -1;
    }
    l->rollup = make_rollup(o, &c->drop_original, c->append_dimensions, c->n_append_dimensions,
                            c->aggregation_interval);
    if (!l->rollup || start_agg(l, c->aggregation_interval) != 0) {
        snprintf(err, errlen, "metrics_collected.collectd: out of memory");
        return -1;
    }
    return start_socket(l, c->service_address, 0, err, errlen);
}

struct listeners *listeners_new(const struct listeners_options *o, char *err, size_t errlen)
{
    struct listeners *ls = calloc(1, sizeof *ls);
    if (!ls) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ls->loop = o->loop;
    ls->sink = o->sink;
    ls->wall_ms = o->wall_ms;
    ls->wall_ud = o->wall_ud;
    ls->statsd = (struct lsn){.ls = ls, .label = "statsd", .fd = -1};
    ls->collectd = (struct lsn){.ls = ls, .label = "collectd", .fd = -1};
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    if (!mc->statsd.enabled && !mc->collectd.enabled)
        return ls;
    ls->buf = malloc(UDP_MAX_DATAGRAM + 1);
    if (!ls->buf || (mc->statsd.enabled && start_statsd(ls, o, err, errlen) != 0) ||
        (mc->collectd.enabled && start_collectd(ls, o, err, errlen) != 0)) {
        if (!ls->buf)
            snprintf(err, errlen, "out of memory");
        listeners_free(ls);
        return NULL;
    }
    return ls;
}

static void stop_one(struct listeners *ls, struct lsn *l)
{
    if (l->fd >= 0)
        read_datagrams(l);
    cw_loop_watch_remove(ls->loop, l->watch);
    cw_loop_timer_cancel(ls->loop, l->gather_timer);
    cw_loop_timer_cancel(ls->loop, l->agg_timer);
    cw_loop_timer_cancel(ls->loop, l->retry_timer);
    l->watch = l->gather_timer = l->agg_timer = l->retry_timer = 0;
    l->st.listening = 0;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->sd)
        statsd_gather_now(l);
    flush_agg(l);
}

void listeners_stop(struct listeners *ls)
{
    if (!ls)
        return;
    stop_one(ls, &ls->statsd);
    stop_one(ls, &ls->collectd);
}

static void stats_of(const struct lsn *l, struct listener_stats *out)
{
    *out = l->st;
    if (l->sd) {
        struct statsd_stats ss;
        statsd_get_stats(l->sd, &ss);
        out->items = ss.lines;
        out->series_dropped += ss.series_dropped;
    }
}

void listeners_get_stats(const struct listeners *ls, struct listeners_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!ls)
        return;
    stats_of(&ls->statsd, &out->statsd);
    stats_of(&ls->collectd, &out->collectd);
}

static void free_one(struct listeners *ls, struct lsn *l)
{
    cw_loop_watch_remove(ls->loop, l->watch);
    cw_loop_timer_cancel(ls->loop, l->gather_timer);
    cw_loop_timer_cancel(ls->loop, l->agg_timer);
    cw_loop_timer_cancel(ls->loop, l->retry_timer);
    free(l->address);
    if (l->fd >= 0)
        close(l->fd);
    statsd_free(l->sd);
    collectd_free(l->cd);
    agg_free(l->agg);
    rollup_free(l->rollup);
}

void listeners_free(struct listeners *ls)
{
    if (!ls)
        return;
    free_one(ls, &ls->statsd);
    free_one(ls, &ls->collectd);
    free(ls->buf);
    free(ls);
}
