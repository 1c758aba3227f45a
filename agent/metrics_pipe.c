#include "agent/metrics_pipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/listeners.h"
#include "agent/mshape.h"
#include "agent/pmd.h"
#include "agent/rollup.h"
#include "common/gzip.h"
#include "common/clock.h"
#include "common/log.h"

#define PENDING_MAX_DATUMS 200000      /* per flush; a full list flushes early */
#define PENDING_MAX_BYTES  (32u << 20) /* arena cap for one flush's datums */
#define REPLAY_PAUSE_MS    5000        /* after a failed replay attempt gave up */

struct plugin_inst {
    struct metrics_pipe *mp;
    struct mshape *shape; /* collectors, names and roll-ups of one plugin instance */
    uint64_t timer;
};

struct metrics_pipe {
    struct cw_loop *loop;
    struct aws_client *client;
    struct spool *spool;
    int pack;
    int64_t (*wall_ms)(void *);
    void *wall_ud;
    char *ns;
    struct plugin_inst *plugins;
    size_t nplugins;
    struct listeners *listeners; /* statsd, collectd */
    struct datum_list *pending;
    struct datum_list *packed;
    struct pmd_encoder *enc;
    struct cw_buf gz;
    uint64_t flush_timer, start_timer, replay_timer;
    long flush_ms;
    int in_flight;
    int hold; /* metrics_pipe_hold: no new call */
    uint64_t in_flight_seq;
    uint32_t in_flight_datums;
    struct metrics_pipe_stats st;
};

/* ---- delivery ------------------------------------------------------------------------------ */

static void send_next(struct metrics_pipe *mp);

static void on_replay_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct metrics_pipe *mp = ud;
    mp->replay_timer = 0;
    send_next(mp);
}

/* Removes the entry that was in flight, unless the spool already dropped it (full). */
static void pop_sent(struct metrics_pipe *mp)
{
    uint64_t seq;
    if (spool_oldest_seq(mp->spool, &seq) == 0 && seq == mp->in_flight_seq)
        spool_pop(mp->spool);
}

static void on_sent(void *ud, const struct aws_result *r)
{
    struct metrics_pipe *mp = ud;
    mp->in_flight = 0;
    if (r->ok) {
        mp->st.datums_sent += mp->in_flight_datums;
        mp->st.calls_ok++;
        pop_sent(mp);
    } else if (r->cls == CW_RETRY_PERMANENT) {
        cw_error("metrics", "CloudWatch refused a batch of %u datums: %s: %s (HTTP %ld)",
                 mp->in_flight_datums, r->code[0] ? r->code : "error", r->message, r->status);
        mp->st.datums_rejected += mp->in_flight_datums;
        pop_sent(mp);
    } else {
        cw_warn("metrics",
                "PutMetricData failed after %u attempts (%s); the batch stays "
                "in the spool",
                r->attempts, r->code[0] ? r->code : r->message);
        mp->replay_timer = cw_loop_timer_add(mp->loop, REPLAY_PAUSE_MS, on_replay_timer, mp);
        return;
    }
    send_next(mp);
}

static void send_next(struct metrics_pipe *mp)
{
    if (mp->in_flight || mp->replay_timer || mp->hold)
        return;
    struct spool_entry e;
    if (spool_peek_oldest(mp->spool, &e) != 0)
        return;
    struct aws_call call = {0};
    call.body = e.body;
    call.body_len = e.len;
    call.gzip = (e.flags & SPOOL_F_GZIP) != 0;
    mp->in_flight_seq = e.seq;
    mp->in_flight_datums = e.ndatums;
    if (aws_client_call(mp->client, &call, on_sent, mp) == 0)
        mp->in_flight = 1;
    else
        mp->replay_timer = cw_loop_timer_add(mp->loop, REPLAY_PAUSE_MS, on_replay_timer, mp);
    spool_entry_release(&e);
}

/* pmd emit callback: one sealed body goes to the spool (gzip'd when that is smaller). */
static int spool_batch(void *ud, const struct pmd_batch *b)
{
    struct metrics_pipe *mp = ud;
    struct spool_meta meta = {mp->ns, b->oldest_ms, b->newest_ms, (uint32_t)b->ndatums, 0};
    const void *body = b->body;
    size_t len = b->len;
    if (gzip_if_smaller(b->body, b->len, &mp->gz, GZIP_LEVEL_DEFAULT) == 0) {
        body = mp->gz.data;
        len = mp->gz.len;
        meta.flags = SPOOL_F_GZIP;
    }
    if (spool_push(mp->spool, body, len, &meta) != 0) {
        cw_error("metrics", "could not spool a batch of %zu datums; they are lost", b->ndatums);
        return -1;
    }
    mp->st.datums_queued += b->ndatums;
    return 0;
}

void metrics_pipe_flush(struct metrics_pipe *mp)
{
    const struct datum_list *src = mp->pending;
    if (datum_list_len(mp->pending) == 0)
        return;
    if (mp->pack) {
        datum_list_clear(mp->packed);
        if (rollup_pack(mp->pending, mp->packed) == 0)
            src = mp->packed;
    }
    const struct datum *d = datum_list_items(src);
    for (size_t i = 0, n = datum_list_len(src); i < n; i++)
        pmd_encoder_add(mp->enc, &d[i]);
    pmd_encoder_flush(mp->enc);
    struct pmd_stats ps;
    pmd_encoder_stats(mp->enc, &ps);
    mp->st.datums_dropped = ps.dropped_bad_value + ps.dropped_invalid;
    datum_list_clear(mp->pending);
    mp->st.flushes++;
    struct spool_stats ss;
    spool_get_stats(mp->spool, &ss);
    cw_info("metrics",
            "flush: %llu datums sent, %llu queued, %llu rejected, spool %zu entries "
            "(%llu bytes)",
            (unsigned long long)mp->st.datums_sent, (unsigned long long)mp->st.datums_queued,
            (unsigned long long)mp->st.datums_rejected, ss.entries, (unsigned long long)ss.bytes);
    send_next(mp);
}

/* ---- collection ---------------------------------------------------------------------------- */

static void on_full(void *ud)
{
    metrics_pipe_flush(ud); /* the pending list is full: spool it and start again */
}

/* listeners_sink: one listener sample (or distribution) into the pending datums. */
static int listener_put(void *ud, const struct rollup *r, const struct rollup_sample *s,
                        const struct rollup_values *v)
{
    struct metrics_pipe *mp = ud;
    mp->st.samples++;
    if (rollup_apply_values(r, s, v, mp->pending) == 0)
        return 0;
    metrics_pipe_flush(mp); /* the pending list is full: spool it and start again */
    if (rollup_apply_values(r, s, v, mp->pending) == 0)
        return 0;
    cw_error("metrics", "datum %s does not fit an empty batch; dropped", s->name);
    return -1;
}

static int setup_listeners(struct metrics_pipe *mp, const struct metrics_pipe_options *o, char *err,
                           size_t errlen)
{
    struct listeners_options lo = {0};
    lo.loop = o->loop;
    lo.cfg = o->cfg;
    lo.host = o->host;
    lo.ec2 = o->ec2;
    lo.nec2 = o->nec2;
    lo.sink = (struct listeners_sink){listener_put, mp};
    lo.wall_ms = mp->wall_ms;
    lo.wall_ud = mp->wall_ud;
    mp->listeners = listeners_new(&lo, err, errlen);
    return mp->listeners ? 0 : -1;
}

void metrics_pipe_listener_stats(const struct metrics_pipe *mp, struct listeners_stats *out)
{
    listeners_get_stats(mp->listeners, out);
}

static void on_collect(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct plugin_inst *pi = ud;
    struct metrics_pipe *mp = pi->mp;
    mp->st.samples += mshape_gather(pi->shape, mp->wall_ms(mp->wall_ud), mp->pending, on_full, mp);
}

static void on_flush(struct cw_loop *loop, void *ud)
{
    (void)loop;
    metrics_pipe_flush(ud);
}

static void on_start_flushing(struct cw_loop *loop, void *ud)
{
    struct metrics_pipe *mp = ud;
    mp->start_timer = 0;
    metrics_pipe_flush(mp);
    mp->flush_timer = cw_loop_timer_every(loop, mp->flush_ms, on_flush, mp);
}

/* ---- construction -------------------------------------------------------------------------- */

static void free_plugin(struct metrics_pipe *mp, struct plugin_inst *pi)
{
    cw_loop_timer_cancel(mp->loop, pi->timer);
    mshape_free(pi->shape);
}

static int add_plugin(struct metrics_pipe *mp, const struct metrics_pipe_options *o,
                      const char *name, const struct cw_metric_plugin *p,
                      const struct cw_procstat *pr, char *err, size_t errlen)
{
    struct mshape_options so = {o->cfg, o->host, o->ec2, o->nec2, o->root};
    struct plugin_inst *pi = &mp->plugins[mp->nplugins];
    pi->mp = mp;
    if (!(pi->shape = mshape_new(&so, name, p, pr, err, errlen)))
        return -1;
    mp->nplugins++;
    long every = (long)mshape_interval(pi->shape) * 1000;
    on_collect(mp->loop, pi); /* the first round primes deltas and cpu percentages */
    pi->timer = cw_loop_timer_every(mp->loop, every, on_collect, pi);
    return pi->timer ? 0 : -1;
}

static int setup_plugins(struct metrics_pipe *mp, const struct metrics_pipe_options *o, char *err,
                         size_t errlen)
{
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    mp->plugins = calloc(CW_PLUGIN_COUNT + mc->n_procstat + 1, sizeof *mp->plugins);
    if (!mp->plugins)
        return -1;
    for (int id = 0; id < CW_PLUGIN_COUNT; id++) {
        const struct cw_metric_plugin *p = &mc->plugins[id];
        if (p->enabled &&
            add_plugin(mp, o, cw_plugin_name((enum cw_plugin_id)id), p, NULL, err, errlen) != 0)
            return -1;
    }
    for (size_t i = 0; i < mc->n_procstat; i++) {
        const struct cw_procstat *pr = &mc->procstat[i];
        if (add_plugin(mp, o, "procstat", &pr->common, pr, err, errlen) != 0)
            return -1;
    }
    return 0;
}

struct metrics_pipe *metrics_pipe_new(const struct metrics_pipe_options *o, char *err,
                                      size_t errlen)
{
    struct metrics_pipe *mp = calloc(1, sizeof *mp);
    if (!mp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    mp->loop = o->loop;
    mp->client = o->client;
    mp->spool = o->spool;
    mp->pack = o->pack_values;
    mp->wall_ms = o->wall_ms ? o->wall_ms : cw_wall_ms;
    mp->wall_ud = o->wall_ud;
    mp->ns = strdup(mc->namespace ? mc->namespace : CW_DEFAULT_NAMESPACE);
    cw_buf_init(&mp->gz, PMD_API_MAX_BODY);
    mp->pending = datum_list_new(PENDING_MAX_DATUMS, PENDING_MAX_BYTES);
    mp->packed = datum_list_new(PENDING_MAX_DATUMS, PENDING_MAX_BYTES);
    mp->enc = mp->ns ? pmd_encoder_new(mp->ns, NULL, spool_batch, mp) : NULL;
    if (!mp->ns || !mp->pending || !mp->packed || !mp->enc) {
        snprintf(err, errlen, "cannot set up the metrics pipeline (namespace '%s')",
                 mp->ns ? mp->ns : "");
        metrics_pipe_free(mp);
        return NULL;
    }
    if (setup_plugins(mp, o, err, errlen) != 0 || setup_listeners(mp, o, err, errlen) != 0) {
        metrics_pipe_free(mp);
        return NULL;
    }
    mp->flush_ms =
        (long)(mc->force_flush_interval > 0 ? mc->force_flush_interval : CW_DEFAULT_METRICS_FLUSH) *
        1000;
    mp->start_timer =
        cw_loop_timer_add(mp->loop, mp->flush_ms + (long)(o->jitter % 1000), on_start_flushing, mp);
    send_next(mp); /* replay what a previous run left in the spool */
    return mp;
}

void metrics_pipe_stop(struct metrics_pipe *mp)
{
    for (size_t i = 0; i < mp->nplugins; i++) {
        cw_loop_timer_cancel(mp->loop, mp->plugins[i].timer);
        mp->plugins[i].timer = 0;
    }
    cw_loop_timer_cancel(mp->loop, mp->flush_timer);
    cw_loop_timer_cancel(mp->loop, mp->start_timer);
    mp->flush_timer = mp->start_timer = 0;
    listeners_stop(mp->listeners); /* their windows and aggregations go out now */
    metrics_pipe_flush(mp);
}

int metrics_pipe_busy(const struct metrics_pipe *mp)
{
    struct spool_stats ss;
    spool_get_stats(mp->spool, &ss);
    return mp->in_flight || ss.entries > 0;
}

void metrics_pipe_hold(struct metrics_pipe *mp, int hold)
{
    mp->hold = hold != 0;
    if (!mp->hold)
        send_next(mp);
}

int metrics_pipe_on_wire(const struct metrics_pipe *mp)
{
    return mp->in_flight && aws_client_on_wire(mp->client) > 0;
}

void metrics_pipe_stats(const struct metrics_pipe *mp, struct metrics_pipe_stats *out)
{
    *out = mp->st;
}

void metrics_pipe_free(struct metrics_pipe *mp)
{
    if (!mp)
        return;
    cw_loop_timer_cancel(mp->loop, mp->flush_timer);
    cw_loop_timer_cancel(mp->loop, mp->start_timer);
    cw_loop_timer_cancel(mp->loop, mp->replay_timer);
    for (size_t i = 0; i < mp->nplugins; i++)
        free_plugin(mp, &mp->plugins[i]);
    free(mp->plugins);
    listeners_free(mp->listeners);
    pmd_encoder_free(mp->enc);
    datum_list_free(mp->pending);
    datum_list_free(mp->packed);
    cw_buf_free(&mp->gz);
    free(mp->ns);
    free(mp);
}
