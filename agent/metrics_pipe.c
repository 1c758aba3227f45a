#include "agent/metrics_pipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/listeners.h"
#include "agent/memq.h"
#include "agent/mshape.h"
#include "agent/pmd.h"
#include "agent/rollup.h"
#include "common/gzip.h"
#include "common/clock.h"
#include "common/log.h"

#define PENDING_MAX_DATUMS 200000      /* per flush; a full list flushes early */
#define PENDING_MAX_BYTES  (32u << 20) /* arena cap for one flush's datums */
#define REPLAY_PAUSE_MS    5000        /* after a failed replay attempt gave up */
/* A batch goes to the spool without fsync (spool_push_unsynced) and is normally delivered and
 * removed within milliseconds; one still there after SYNC_DELAY_MS is made durable. A SIGKILL
 * loses nothing either way (the page cache keeps the file); only a power loss inside that window
 * can lose the batch, as it loses the datums not yet flushed. Saves two fsyncs per flush. */
#define SYNC_DELAY_MS 2000
/* Batches the spool could not take (full disk) wait in memory, up to this many bytes: about
 * eight full PutMetricData bodies (API: 1 MB each), a few minutes of a busy host. */
#define MEMQ_MAX_BYTES (8u << 20)

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
    uint64_t flush_timer, replay_timer, sync_timer;
    long flush_ms;
    int in_flight;
    int hold; /* metrics_pipe_hold: no new call */
    uint64_t in_flight_seq;
    uint32_t in_flight_datums;
    int in_flight_mem; /* the batch in flight is memq's head, not the spool's */
    struct memq memq;  /* batches the spool could not take */
    uint64_t lost;     /* datums lost outside the encoder and the queues */
    int memq_warned;
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

/* Removes the entry that was in flight, unless its queue already dropped it (full). */
static void pop_sent(struct metrics_pipe *mp)
{
    uint64_t seq;
    if (mp->in_flight_mem) {
        const struct memq_item *h = memq_head(&mp->memq);
        if (h && h->seq == mp->in_flight_seq)
            memq_pop(&mp->memq);
        return;
    }
    if (spool_oldest_seq(mp->spool, &seq) == 0 && seq == mp->in_flight_seq)
        spool_pop(mp->spool);
}

/* Sums every datum lost after encoding: memory queue, spool drops, and the pipe's own. */
static void update_dropped(struct metrics_pipe *mp, const struct pmd_stats *ps)
{
    struct spool_stats ss;
    spool_get_stats(mp->spool, &ss);
    mp->st.datums_dropped = ps->dropped_bad_value + ps->dropped_invalid + mp->memq.dropped_datums +
                            ss.dropped_datums + mp->lost;
}

static void sync_spool(struct metrics_pipe *mp)
{
    cw_loop_timer_cancel(mp->loop, mp->sync_timer);
    mp->sync_timer = 0;
    if (mp->spool)
        (void)spool_sync(mp->spool); /* a failure is logged; the entries stay and are sent */
}

static void on_sync_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct metrics_pipe *mp = ud;
    mp->sync_timer = 0;
    sync_spool(mp);
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
        sync_spool(mp); /* it stays in the spool for a while: make it durable now */
        mp->replay_timer = cw_loop_timer_add(mp->loop, REPLAY_PAUSE_MS, on_replay_timer, mp);
        return;
    }
    if (mp->sync_timer && spool_unsynced(mp->spool) == 0) { /* all delivered in time */
        cw_loop_timer_cancel(mp->loop, mp->sync_timer);
        mp->sync_timer = 0;
    }
    send_next(mp);
}

static void send_next(struct metrics_pipe *mp)
{
    if (mp->in_flight || mp->replay_timer || mp->hold)
        return;
    struct spool_entry e = {0};
    struct aws_call call = {0};
    const struct memq_item *m = NULL;
    if (spool_peek_oldest(mp->spool, &e) == 0) {
        call.body = e.body;
        call.body_len = e.len;
        call.gzip = (e.flags & SPOOL_F_GZIP) != 0;
        mp->in_flight_seq = e.seq;
        mp->in_flight_datums = e.ndatums;
    } else if ((m = memq_head(&mp->memq)) != NULL) {
        call.body = m->body;
        call.body_len = m->len;
        call.gzip = (m->flags & SPOOL_F_GZIP) != 0;
        mp->in_flight_seq = m->seq;
        mp->in_flight_datums = m->ndatums;
    } else {
        return;
    }
    mp->in_flight_mem = m != NULL;
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
    /* Level 1: a 60 KB round of 135 datums gzips to 3.3 KB in ~80 us of (cold) CPU, where level
     * 6 takes ~200 us for 2.2 KB; the bytes do not matter at this size, the CPU does. */
    if (gzip_if_smaller(b->body, b->len, &mp->gz, GZIP_LEVEL_FAST) == 0) {
        body = mp->gz.data;
        len = mp->gz.len;
        meta.flags = SPOOL_F_GZIP;
    }
    if (spool_push_unsynced(mp->spool, body, len, &meta) == 0) {
        if (!mp->sync_timer)
            mp->sync_timer = cw_loop_timer_add(mp->loop, SYNC_DELAY_MS, on_sync_timer, mp);
        if (!mp->sync_timer) /* no timer: durable now rather than never */
            (void)spool_sync(mp->spool);
        mp->memq_warned = 0;
        mp->st.datums_queued += b->ndatums;
        return 0;
    }
    /* the spool is for durability, not a gate: keep the batch for the network in memory */
    if (!mp->memq_warned)
        cw_warn("metrics",
                "could not spool a batch of %zu datums; keeping it (and the next ones) in memory "
                "until sent (at most %u MiB; a restart loses them)",
                b->ndatums, MEMQ_MAX_BYTES >> 20);
    mp->memq_warned = 1;
    uint64_t before = mp->memq.dropped_datums;
    if (memq_push(&mp->memq, body, len, &meta) != 0)
        cw_error("metrics", "a batch of %zu datums fits neither the spool nor memory; lost",
                 b->ndatums);
    else
        mp->st.datums_queued += b->ndatums;
    if (mp->memq.dropped_datums > before)
        cw_warn("metrics", "memory queue full: dropped %llu older datums",
                (unsigned long long)(mp->memq.dropped_datums - before));
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
    update_dropped(mp, &ps);
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
    mp->lost++;
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
    uint64_t dropped = 0;
    mp->st.samples +=
        mshape_gather(pi->shape, mp->wall_ms(mp->wall_ud), mp->pending, on_full, mp, &dropped);
    mp->lost += dropped; /* datums too big for an empty batch (logged by mshape) */
}

static void on_flush(struct cw_loop *loop, void *ud)
{
    (void)loop;
    metrics_pipe_flush(ud);
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
    return 0;
}

/* Every collection and the flush run on one grid that starts `jitter` (< 1 s, per host) after
 * start-up, so that a fleet restarted at once (a config push) does not call PutMetricData in the
 * same second. The first round (at t0) primes deltas and cpu percentages. The rounds due at the
 * same moment and the flush that follows them share one wake-up (each wake-up of an idle process
 * costs ~50-100 us of CPU on a VM, more than a small round itself), and a flush carries the round
 * that has just run: collections fire before the flush (added first). */
static int arm_timers(struct metrics_pipe *mp, uint64_t jitter)
{
    int64_t t0 = cw_loop_clock_ms(mp->loop) + (int64_t)(jitter % 1000);
    for (size_t i = 0; i < mp->nplugins; i++) {
        struct plugin_inst *pi = &mp->plugins[i];
        long every = (long)mshape_interval(pi->shape) * 1000;
        pi->timer = cw_loop_timer_every_at(mp->loop, t0, every, on_collect, pi);
        if (!pi->timer)
            return -1;
    }
    mp->flush_timer =
        cw_loop_timer_every_at(mp->loop, t0 + mp->flush_ms, mp->flush_ms, on_flush, mp);
    return mp->flush_timer ? 0 : -1;
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
    memq_init(&mp->memq, MEMQ_MAX_BYTES);
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
    if (arm_timers(mp, o->jitter) != 0) {
        snprintf(err, errlen, "out of memory arming the metrics timers");
        metrics_pipe_free(mp);
        return NULL;
    }
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
    mp->flush_timer = 0;
    listeners_stop(mp->listeners); /* their windows and aggregations go out now */
    metrics_pipe_flush(mp);
}

int metrics_pipe_busy(const struct metrics_pipe *mp)
{
    struct spool_stats ss;
    spool_get_stats(mp->spool, &ss);
    return mp->in_flight || ss.entries > 0 || memq_head(&mp->memq) != NULL;
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
    struct pmd_stats ps = {0};
    if (mp->enc)
        pmd_encoder_stats(mp->enc, &ps);
    update_dropped((struct metrics_pipe *)mp, &ps);
    out->datums_dropped = mp->st.datums_dropped;
    out->datums_in_memory = 0;
    for (const struct memq_item *m = memq_head(&mp->memq); m; m = m->next)
        out->datums_in_memory += m->ndatums;
}

/* Batches still in memory at the end: into the spool if the disk took them back, else lost. */
static void save_memq(struct metrics_pipe *mp)
{
    uint64_t lost = 0;
    for (const struct memq_item *m = memq_head(&mp->memq); m; m = memq_head(&mp->memq)) {
        struct spool_meta meta = {mp->ns, m->oldest_ms, m->newest_ms, m->ndatums, m->flags};
        if (!mp->ns || spool_push(mp->spool, m->body, m->len, &meta) != 0)
            lost += m->ndatums;
        memq_pop(&mp->memq);
    }
    if (lost)
        cw_error("metrics",
                 "stopping with %llu unsent datums in memory (the spool could not "
                 "take them); they are lost",
                 (unsigned long long)lost);
}

void metrics_pipe_free(struct metrics_pipe *mp)
{
    if (!mp)
        return;
    cw_loop_timer_cancel(mp->loop, mp->flush_timer);
    cw_loop_timer_cancel(mp->loop, mp->replay_timer);
    sync_spool(mp); /* the spool outlives the pipe (SIGHUP builds a new one) */
    save_memq(mp);
    memq_free(&mp->memq);
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
