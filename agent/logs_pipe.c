#include "agent/logs_pipe.h"

#include <stdio.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "agent/logs_sources.h"
#include "agent/ple.h"
#include "agent/zpolicy.h"
#include "common/buf.h"
#include "common/gzip.h"
#include "common/clock.h"
#include "common/log.h"
#include "logtail/logtail.h"

#define TICK_MS        1000
#define RETRY_PAUSE_MS 5000
#define CKPT_DELAY_MS  100 /* checkpoints saved this long after a commit (reference: 100 ms) */
#define BODY_MAX       (8u << 20) /* JSON of one batch: 1 MiB of messages, escaped */
#define TARGET_PREFIX  "Logs_20140328."
#define FD_RESERVE     128 /* descriptors left for sockets, the state file, the agent's own log */
#define FD_MIN_CAP     512 /* logtail's default */
#define MAX_IN_FLIGHT  CW_LOGS_MAX_CONCURRENCY /* batches per stream on the wire at once */
/* File changes are taken in at most every this many ms: a change after a quiet spell is read at
 * once, changes that follow it within the window are gathered and read together (100 files
 * each written line by line cost 100 wake-ups a second, not one per line). Events wait for
 * force_flush_interval (seconds) anyway. */
#define WATCH_GATHER_MS  200
#define KEEP_SPARE_BYTES (256u << 10)

struct commit {
    uint64_t file_id, end;
};

struct batch {
    struct ple_batch *pb;
    struct commit *c;
    size_t nc, cap;
    int64_t first_ms; /* wall time of the first event */
};

/* The destination's own call (one at a time); PutLogEvents calls are the flights'. */
enum dest_op {
    OP_NONE,
    OP_PAUSED, /* a creation call failed: waiting RETRY_PAUSE_MS */
    OP_CREATE_STREAM,
    OP_CREATE_GROUP,
    OP_RETENTION_NEW,
    OP_RETENTION
};

enum flight_state { FL_FREE, FL_SENDING, FL_WAITING, FL_DONE /* answered, commit in turn */ };

struct dest;

/* One PutLogEvents batch on its way. */
struct flight {
    struct dest *d;
    struct batch b;
    enum flight_state state;
    int need_stream; /* answered ResourceNotFound (or retried meanwhile): resend when it exists */
    uint64_t retry_timer;
    int64_t sent_ns, sent_busy_ns; /* start of the call: monotonic, busy_ns() */
    size_t sent_bytes;             /* its body on the wire */
};

struct group_state {
    struct group_state *next;
    char *name;
    int retention_done;
};

struct dest {
    struct dest *next;  /* all destinations */
    struct dest *hnext; /* hash chain */
    struct logs_pipe *lp;
    char *group, *stream, *klass;
    int retention;
    struct group_state *gs;
    struct batch fill;
    struct flight *fl; /* ring of lp->max_flight slots, the oldest at fl_head */
    unsigned fl_head, fl_n;
    enum dest_op op;
    uint64_t retry_timer; /* OP_PAUSED */
    int held;
    int burst; /* a full batch went since the reader last caught up: the rest goes then too */
    int emf;   /* EMF documents seen: PutLogEvents carries x-amzn-logs-format: json/emf */
    int64_t held_ts;
    char *held_msg;
    size_t held_len;
    struct commit held_c;
};

struct route {
    struct logs_pipe *lp;
    char *group, *stream, *klass; /* group NULL with publish_multi_logs and no group */
    int retention;
    int multi;
    struct dest *last; /* the destination of the previous event (runs per file) */
    char *last_path;
};

#define NBUCKETS 1024

struct logs_pipe {
    struct cw_loop *loop;
    struct aws_client *client;
    struct logtail *lt;
    struct logs_sources *xs; /* the journal and the EMF listener */
    uint64_t watch, tick_timer, work_timer, ckpt_timer, gather_timer;
    int64_t last_take_ms; /* loop time file changes were last taken in */
    int64_t (*wall_ms)(void *);
    void *wall_ud;
    long flush_ms;
    struct route *routes;
    size_t nroutes;
    struct dest *dests;
    struct dest *buckets[NBUCKETS];
    struct group_state *groups;
    int blocked;         /* destinations holding an event: stop pulling */
    unsigned max_flight; /* PutLogEvents in flight per destination (logs.concurrency) */
    int flushing;        /* logs_pipe_flush was called: every batch is due */
    unsigned bursts;     /* destinations with burst set */
    int64_t now;         /* wall clock read once per 256 events (the age rules are in hours) */
    unsigned now_uses;
    struct cw_buf body, gz;
    struct zpolicy zp; /* gzip only while it pays */
    struct logs_pipe_stats st;
    uint64_t warn_age;
};

static int64_t now_ms(const struct logs_pipe *lp)
{
    return lp->wall_ms(lp->wall_ud);
}

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Nanoseconds this thread spent running or waiting for a CPU (not sleeping in epoll), from
 * /proc/thread-self/schedstat; its CPU time alone where that file is missing. */
static int64_t busy_ns(void)
{
    char buf[96], *end = NULL;
    unsigned long long run = 0, wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "re");
    int ok = f && fgets(buf, sizeof buf, f);
    if (f)
        fclose(f);
    if (ok) {
        run = strtoull(buf, &end, 10);
        ok = end != buf && *end == ' ';
        wait = ok ? strtoull(end, NULL, 10) : 0;
    }
    return ok ? (int64_t)(run + wait) : clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* The wire's time for a call: from its start to its answer, less what this thread spent
 * working meanwhile (an answer that came while we were busy cost the wire nothing). */
static int64_t wire_wait_ns(const struct flight *f)
{
    int64_t wall = clock_ns(CLOCK_MONOTONIC) - f->sent_ns;
    int64_t busy = busy_ns() - f->sent_busy_ns;
    return wall > busy ? wall - busy : 0;
}

/* ---- batches ------------------------------------------------------------------------------- */

static int batch_init(struct batch *b)
{
    memset(b, 0, sizeof *b);
    b->pb = ple_batch_new();
    return b->pb ? 0 : -1;
}

static void batch_reset(struct batch *b)
{
    ple_batch_reset(b->pb);
    b->nc = 0;
    b->first_ms = 0;
}

static void batch_free(struct batch *b)
{
    ple_batch_free(b->pb);
    free(b->c);
}

static int batch_note(struct batch *b, uint64_t file_id, uint64_t end)
{
    if (b->nc && b->c[b->nc - 1].file_id == file_id) {
        b->c[b->nc - 1].end = end; /* offsets of one file only grow: keep the last */
        return 0;
    }
    if (b->nc == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        struct commit *p = realloc(b->c, ncap * sizeof *p);
        if (!p)
            return -1;
        b->c = p;
        b->cap = ncap;
    }
    b->c[b->nc++] = (struct commit){file_id, end};
    return 0;
}

static void on_ckpt_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct logs_pipe *lp = ud;
    lp->ckpt_timer = 0;
    logtail_flush(lp->lt);
    logs_sources_save(lp->xs);
}

/* Hands a delivered (or dropped on purpose) token back to the source that made it. */
static void commit_one(struct logs_pipe *lp, uint64_t file_id, uint64_t end)
{
    if (logs_sources_owns(file_id))
        logs_sources_commit(lp->xs, file_id, end);
    else
        logtail_commit(lp->lt, file_id, end);
}

/* Commits a delivered batch. Its checkpoint is saved within CKPT_DELAY_MS: left to the 1 s tick,
 * a crash re-sent every batch accepted in the last second (20,000 duplicates after a SIGKILL
 * while catching up), not just the one in flight. */
static void batch_commit(struct logs_pipe *lp, struct batch *b)
{
    for (size_t i = 0; i < b->nc; i++)
        commit_one(lp, b->c[i].file_id, b->c[i].end);
    if (b->nc && !lp->ckpt_timer)
        lp->ckpt_timer = cw_loop_timer_add(lp->loop, CKPT_DELAY_MS, on_ckpt_timer, lp);
}

/* ---- destinations ---------------------------------------------------------------------------- */

static uint64_t hash2(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    return h;
}

static struct group_state *group_for(struct logs_pipe *lp, const char *name)
{
    for (struct group_state *g = lp->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0)
            return g;
    struct group_state *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name))) {
        free(g);
        return NULL;
    }
    g->next = lp->groups;
    lp->groups = g;
    return g;
}

static void dest_free(struct dest *d)
{
    batch_free(&d->fill);
    for (unsigned i = 0; d->fl && i < d->lp->max_flight; i++) {
        cw_loop_timer_cancel(d->lp->loop, d->fl[i].retry_timer);
        batch_free(&d->fl[i].b);
    }
    free(d->fl);
    free(d->group);
    free(d->stream);
    free(d->klass);
    free(d->held_msg);
    free(d);
}

static struct dest *dest_get(struct logs_pipe *lp, const char *group, const char *stream,
                             const struct route *r)
{
    uint64_t h = hash2(group, stream) % NBUCKETS;
    for (struct dest *d = lp->buckets[h]; d; d = d->hnext)
        if (strcmp(d->group, group) == 0 && strcmp(d->stream, stream) == 0)
            return d;
    struct dest *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->lp = lp;
    d->group = strdup(group);
    d->stream = strdup(stream);
    d->klass = r->klass ? strdup(r->klass) : NULL;
    d->retention = r->retention;
    d->gs = d->group ? group_for(lp, group) : NULL;
    d->fl = calloc(lp->max_flight, sizeof *d->fl);
    int ok = d->group && d->stream && (!r->klass || d->klass) && d->gs && d->fl &&
             batch_init(&d->fill) == 0;
    for (unsigned i = 0; ok && i < lp->max_flight; i++) {
        d->fl[i].d = d;
        ok = batch_init(&d->fl[i].b) == 0;
    }
    if (!ok) {
        dest_free(d);
        return NULL;
    }
    d->hnext = lp->buckets[h];
    lp->buckets[h] = d;
    d->next = lp->dests;
    lp->dests = d;
    lp->st.destinations++;
    cw_info("logs", "shipping to log group %s, stream %s", group, stream);
    return d;
}

/* publish_multi_logs names (reference fileconfig.go): characters outside [.-_/#A-Za-z0-9]
 * become '_'; for a stream name '/' becomes '_' too. */
static void sanitize(const char *path, int slash_too, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *path && o + 1 < outlen; path++) {
        char c = *path;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_' || c == '#' || (c == '/' && !slash_too);
        out[o++] = ok ? c : '_';
    }
    out[o] = '\0';
}

static struct dest *route_dest(struct route *r, const char *stream_path)
{
    if (r->last && (!r->multi || (r->last_path && strcmp(r->last_path, stream_path) == 0)))
        return r->last;
    char group[1024], stream[2100], clean[1024];
    const char *g = r->group, *s = r->stream;
    if (r->multi) {
        if (!g) {
            sanitize(stream_path, 0, group, sizeof group);
            g = group;
        } else {
            sanitize(stream_path, 1, clean, sizeof clean);
            snprintf(stream, sizeof stream, "%s_%s", r->stream, clean);
            s = stream;
        }
    }
    struct dest *d = dest_get(r->lp, g, s, r);
    free(r->last_path);
    r->last_path = strdup(stream_path);
    r->last = r->last_path ? d : NULL;
    return d;
}

/* ---- calls ----------------------------------------------------------------------------------- */

/* Up to lp->max_flight batches of a destination are on the wire at once (logs.concurrency), in
 * a ring, oldest first. Each is committed only when it and every older one were answered, so a
 * checkpoint never passes a batch CloudWatch has not accepted: a crash re-sends at most the
 * batches in flight. The creation chain (stream, group, retention) is one call at a time per
 * destination (d->op); no new batch starts meanwhile. */

static void on_put_done(void *ud, const struct aws_result *res);
static void on_op_done(void *ud, const struct aws_result *res);
static void place(struct dest *d, int64_t ts, const char *msg, size_t len, struct commit c);
static void pump(struct logs_pipe *lp);
static void after_answer(struct dest *d);

static struct flight *flight_at(const struct dest *d, unsigned i)
{
    return &d->fl[(d->fl_head + i) % d->lp->max_flight];
}

/* A new batch may start: no creation call running and a free slot. */
static int can_send(const struct dest *d)
{
    return d->op == OP_NONE && d->fl_n < d->lp->max_flight;
}

/* Hands body (and its gzip, when that pays) to the client, which takes the buffer. */
static int call(struct logs_pipe *lp, const char *target, struct cw_buf *body, int allow_gzip,
                int emf, aws_done_fn done, void *ud, size_t *wire_bytes)
{
    struct aws_call c = {0};
    struct cw_buf *give = body;
    c.target = target;
    c.emf = emf;
    if (allow_gzip && zpolicy_compress(&lp->zp)) {
        int64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        int rc = gzip_if_smaller(body->data, body->len, &lp->gz, GZIP_LEVEL_FAST);
        zpolicy_note_compress(&lp->zp, body->len, rc == 0 ? lp->gz.len : body->len,
                              clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0);
        if (rc == 0) {
            give = &lp->gz;
            c.gzip = 1;
        }
    }
    c.body_len = give->len;
    c.body = cw_buf_detach(give, NULL); /* the client takes it: no copy of 1 MiB */
    c.take_body = 1;
    if (wire_bytes)
        *wire_bytes = c.body_len;
    if (aws_client_call(lp->client, &c, done, ud) == 0)
        return 0;
    free((void *)(uintptr_t)c.body);
    return -1;
}

/* {"logGroupName":..[,"logStreamName":..][,extra]} into lp->body. */
static int names_body(struct dest *d, int with_stream, const char *extra)
{
    struct cw_buf *b = &d->lp->body;
    cw_buf_reset(b);
    if (cw_buf_append_str(b, "{\"logGroupName\":") != 0 ||
        ple_json_string(b, d->group, strlen(d->group)) != 0)
        return -1;
    if (with_stream && (cw_buf_append_str(b, ",\"logStreamName\":") != 0 ||
                        ple_json_string(b, d->stream, strlen(d->stream)) != 0))
        return -1;
    if (extra && cw_buf_append_str(b, extra) != 0)
        return -1;
    return cw_buf_append_char(b, '}');
}

static void flight_retry_later(struct flight *f);

static void send_put(struct flight *f)
{
    struct dest *d = f->d;
    struct cw_buf *b = &d->lp->body;
    cw_buf_reset(b);
    f->state = FL_SENDING;
    f->sent_ns = clock_ns(CLOCK_MONOTONIC);
    f->sent_busy_ns = busy_ns();
    if (ple_batch_encode(f->b.pb, d->group, d->stream, b) != 0 ||
        call(d->lp, TARGET_PREFIX "PutLogEvents", b, 1, d->emf, on_put_done, f, &f->sent_bytes) !=
            0) {
        cw_error("logs", "%s/%s: cannot start PutLogEvents; retrying", d->group, d->stream);
        flight_retry_later(f);
    }
}

static void on_flight_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct flight *f = ud;
    f->retry_timer = 0;
    if (f->d->op != OP_NONE) /* the stream is being created: resent when it exists */
        f->need_stream = 1;
    else
        send_put(f);
}

static void flight_retry_later(struct flight *f)
{
    f->state = FL_WAITING;
    f->retry_timer = cw_loop_timer_add(f->d->lp->loop, RETRY_PAUSE_MS, on_flight_timer, f);
}

/* Resends, oldest first, the batches that waited for the stream to exist. */
static void resend_waiting(struct dest *d)
{
    for (unsigned i = 0; i < d->fl_n && d->op == OP_NONE; i++) {
        struct flight *f = flight_at(d, i);
        if (f->need_stream) {
            f->need_stream = 0;
            send_put(f);
        }
    }
}

static void on_dest_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct dest *d = ud;
    d->retry_timer = 0;
    d->op = OP_NONE;
    resend_waiting(d); /* a batch answered "not found" again restarts the chain */
    after_answer(d);
}

/* A creation call failed: pause the destination, then try its waiting batches again. */
static void dest_retry_later(struct dest *d)
{
    d->op = OP_PAUSED;
    d->retry_timer = cw_loop_timer_add(d->lp->loop, RETRY_PAUSE_MS, on_dest_timer, d);
}

static void send_create(struct dest *d, enum dest_op op)
{
    char extra[96] = "";
    const char *target = TARGET_PREFIX "CreateLogStream";
    int with_stream = 1;
    if (op == OP_CREATE_GROUP) {
        target = TARGET_PREFIX "CreateLogGroup";
        with_stream = 0;
        if (d->klass)
            snprintf(extra, sizeof extra, ",\"logGroupClass\":\"%s\"", d->klass);
    } else if (op == OP_RETENTION_NEW || op == OP_RETENTION) {
        target = TARGET_PREFIX "PutRetentionPolicy";
        with_stream = 0;
        snprintf(extra, sizeof extra, ",\"retentionInDays\":%d", d->retention);
    }
    d->op = op;
    if (names_body(d, with_stream, extra) != 0 ||
        call(d->lp, target, &d->lp->body, 0, 0, on_op_done, d, NULL) != 0)
        dest_retry_later(d);
}

/* Commits answered batches from the oldest, stopping at the first still unanswered. */
static void commit_in_order(struct dest *d)
{
    while (d->fl_n > 0 && flight_at(d, 0)->state == FL_DONE) {
        struct flight *f = flight_at(d, 0);
        batch_commit(d->lp, &f->b);
        batch_reset(&f->b);
        /* A quiet stream (its next batch is filling slowly) does not keep a spare batch's
         * storage between flushes: 100 such streams held 3 MB for nothing. A busy one does. */
        if (ple_batch_bytes(d->fill.pb) < KEEP_SPARE_BYTES)
            ple_batch_release(f->b.pb);
        f->state = FL_FREE;
        d->fl_head = (d->fl_head + 1) % d->lp->max_flight;
        d->fl_n--;
    }
}

/* Moves the filling batch to the next free slot and sends it. Requires can_send(d). */
static void start_send(struct dest *d)
{
    struct flight *f = flight_at(d, d->fl_n++);
    if (d->burst) {
        d->burst = 0;
        d->lp->bursts--;
    }
    struct batch t = f->b;
    f->b = d->fill;
    d->fill = t;
    batch_reset(&d->fill);
    f->need_stream = 0;
    if (ple_batch_count(f->b.pb) == 0) { /* only commits of events dropped on purpose */
        f->state = FL_DONE;
        commit_in_order(d);
        return;
    }
    send_put(f);
}

static void release_held(struct dest *d)
{
    if (!d->held)
        return;
    d->held = 0;
    d->lp->blocked--;
    d->lp->now_uses = 0;
    place(d, d->held_ts, d->held_msg, d->held_len, d->held_c);
    free(d->held_msg);
    d->held_msg = NULL;
}

static void put_accepted(struct flight *f, const struct aws_result *res)
{
    struct dest *d = f->d;
    struct logs_pipe *lp = d->lp;
    size_t n = ple_batch_count(f->b.pb);
    struct ple_rejected rj;
    size_t rejected = 0;
    if (ple_parse_response(res->body, res->body_len, &rj) == 0)
        rejected = ple_rejected_count(&rj, n);
    if (rejected) {
        lp->st.rejected_by_service += rejected;
        cw_warn("logs",
                "%s/%s: CloudWatch rejected %zu of %zu events (too old %ld, expired %ld, "
                "too new from %ld)",
                d->group, d->stream, rejected, n, rj.too_old_end, rj.expired_end, rj.too_new_start);
    }
    lp->st.events_sent += n - rejected;
    lp->st.bytes_sent += ple_batch_bytes(f->b.pb) - n * PLE_EVENT_OVERHEAD;
    lp->st.calls_ok++;
    f->state = FL_DONE;
    if (d->retention > 0 && !d->gs->retention_done && d->op == OP_NONE) {
        d->gs->retention_done = 1;
        send_create(d, OP_RETENTION);
    }
}

static void put_refused(struct flight *f, const struct aws_result *res)
{
    struct dest *d = f->d;
    size_t n = ple_batch_count(f->b.pb);
    cw_error("logs", "%s/%s: CloudWatch refused a batch of %zu events: %s: %s", d->group, d->stream,
             n, res->code[0] ? res->code : "error", res->message);
    d->lp->st.dropped_invalid += n;
    f->state = FL_DONE; /* as the reference: a refused batch is not re-read */
}

static int is(const struct aws_result *res, const char *code)
{
    return strcmp(res->code, code) == 0;
}

/* Group and stream creation chain: stream → (group missing) group → retention → stream; then
 * the batches that waited are resent. */
static void create_done(struct dest *d, const struct aws_result *res)
{
    int ok = res->ok || is(res, "ResourceAlreadyExistsException");
    enum dest_op op = d->op;
    if (op == OP_CREATE_STREAM && is(res, "ResourceNotFoundException")) {
        send_create(d, OP_CREATE_GROUP);
        return;
    }
    if (!ok && op != OP_RETENTION_NEW) {
        cw_error("logs", "%s/%s: %s failed: %s: %s; retrying in %d s", d->group, d->stream,
                 op == OP_CREATE_GROUP ? "CreateLogGroup" : "CreateLogStream",
                 res->code[0] ? res->code : "error", res->message, RETRY_PAUSE_MS / 1000);
        dest_retry_later(d);
        return;
    }
    if (op == OP_CREATE_GROUP) {
        d->lp->st.groups_created += res->ok;
        if (d->retention > 0 && !d->gs->retention_done) {
            d->gs->retention_done = 1;
            send_create(d, OP_RETENTION_NEW);
            return;
        }
    }
    if (op == OP_RETENTION_NEW && !res->ok)
        cw_error("logs", "%s: PutRetentionPolicy failed: %s: %s", d->group, res->code,
                 res->message);
    if (op == OP_CREATE_STREAM) {
        d->lp->st.streams_created += res->ok;
        d->op = OP_NONE;
        resend_waiting(d);
        return;
    }
    send_create(d, OP_CREATE_STREAM);
}

/* After any answer: commit what can be, let a held event in, start a due batch, read on. */
static void after_answer(struct dest *d)
{
    commit_in_order(d);
    if (!can_send(d))
        return;
    release_held(d);
    if (can_send(d) && ple_batch_count(d->fill.pb) > 0 &&
        (d->lp->flushing || now_ms(d->lp) - d->fill.first_ms >= d->lp->flush_ms))
        start_send(d);
    pump(d->lp);
}

/* Batches of d on the wire now (at least 1): their waits overlap, so each one's share of the
 * wire's time is its wait divided by this. */
static unsigned on_wire(const struct dest *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->fl_n; i++)
        n += flight_at(d, i)->state == FL_SENDING;
    return n ? n : 1;
}

static void on_put_done(void *ud, const struct aws_result *res)
{
    struct flight *f = ud;
    struct dest *d = f->d;
    if (res->ok && res->attempts == 1)
        zpolicy_note_wire(&d->lp->zp, f->sent_bytes, wire_wait_ns(f) / on_wire(d));
    if (res->ok) {
        put_accepted(f, res);
    } else if (is(res, "ResourceNotFoundException")) {
        f->state = FL_WAITING;
        f->need_stream = 1;
        if (d->op == OP_NONE)
            send_create(d, OP_CREATE_STREAM);
    } else if (res->cls == CW_RETRY_PERMANENT) {
        put_refused(f, res);
    } else {
        flight_retry_later(f);
    }
    after_answer(d);
}

static void on_op_done(void *ud, const struct aws_result *res)
{
    struct dest *d = ud;
    if (d->op == OP_RETENTION) {
        if (!res->ok)
            cw_error("logs", "%s: PutRetentionPolicy failed: %s: %s", d->group, res->code,
                     res->message);
        d->op = OP_NONE;
        resend_waiting(d);
    } else {
        create_done(d, res);
    }
    after_answer(d);
}

/* ---- events ---------------------------------------------------------------------------------- */

static void note_age(struct logs_pipe *lp, enum ple_add_result r, struct dest *d)
{
    if (r == PLE_TOO_OLD)
        lp->st.rejected_too_old++;
    else
        lp->st.rejected_too_new++;
    if (lp->warn_age++ % 1000 == 0)
        cw_warn("logs",
                "%s/%s: event %s; not sent (CloudWatch rejects events older than 14 "
                "days or more than 2 hours ahead; %llu so far)",
                d->group, d->stream, r == PLE_TOO_OLD ? "too old" : "too new",
                (unsigned long long)lp->warn_age);
}

static void hold(struct dest *d, int64_t ts, const char *msg, size_t len, struct commit c)
{
    d->held_msg = malloc(len ? len : 1);
    if (!d->held_msg) {
        cw_error("logs", "out of memory holding an event");
        return;
    }
    memcpy(d->held_msg, msg, len);
    d->held_len = len;
    d->held_ts = ts;
    d->held_c = c;
    d->held = 1;
    d->lp->blocked++;
}

static int64_t event_now(struct logs_pipe *lp)
{
    if (lp->now_uses++ % 256 == 0)
        lp->now = now_ms(lp);
    return lp->now;
}

/* A full batch: a backlog is being read, its last batch need not wait for the flush. */
static void mark_burst(struct dest *d)
{
    if (!d->burst) {
        d->burst = 1;
        d->lp->bursts++;
    }
}

static void place(struct dest *d, int64_t ts, const char *msg, size_t len, struct commit c)
{
    struct logs_pipe *lp = d->lp;
    int64_t now = event_now(lp);
    enum ple_add_result r = ple_batch_add(d->fill.pb, ts, msg, len, c.end, now);
    if (r == PLE_FULL && can_send(d)) {
        start_send(d);
        r = ple_batch_add(d->fill.pb, ts, msg, len, c.end, now);
        mark_burst(d);
    } else if (r == PLE_FULL) {
        mark_burst(d);
    }
    switch (r) {
    case PLE_ADDED:
        if (ple_batch_count(d->fill.pb) == 1)
            d->fill.first_ms = now;
        if (batch_note(&d->fill, c.file_id, c.end) != 0)
            cw_error("logs", "out of memory noting a commit");
        break;
    case PLE_TOO_OLD:
    case PLE_TOO_NEW:
        note_age(lp, r, d);
        if (ple_batch_count(d->fill.pb) == 0 && d->fl_n == 0 && d->fill.nc == 0)
            commit_one(lp, c.file_id, c.end);
        else
            batch_note(&d->fill, c.file_id, c.end);
        break;
    default: /* FULL with a call in flight, or no memory: wait for the call */
        hold(d, ts, msg, len, c);
        break;
    }
}

static void on_work(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct logs_pipe *lp = ud;
    lp->work_timer = 0;
    pump(lp);
}

/* The reference's test for an EMF line in a file (cloudwatchlogs.go): {...} naming
 * CloudWatchMetrics. Only the first byte is looked at for other lines. */
static int is_emf_line(const char *m, size_t n)
{
    return n > 2 && m[0] == '{' && m[n - 1] == '}' && memmem(m, n, "\"CloudWatchMetrics\"", 19);
}

/* Events of the journal and the EMF listener, which name their destination. */
static void pump_sources(struct logs_pipe *lp)
{
    struct logs_src_event ev;
    while (!lp->blocked && logs_sources_next(lp->xs, &ev) == 1) {
        struct route r = {0};
        r.klass = (char *)ev.klass;
        r.retention = ev.retention;
        struct dest *d = dest_get(lp, ev.group, ev.stream, &r);
        lp->st.events_read++;
        if (!d) {
            cw_error("logs", "no destination for %s/%s (out of memory)", ev.group, ev.stream);
            commit_one(lp, ev.file_id, ev.end);
            continue;
        }
        d->emf |= ev.emf;
        place(d, ev.timestamp_ms, ev.message, ev.len, (struct commit){ev.file_id, ev.end});
    }
}

/* The reader caught up: the last batch of each destination that just had full batches goes
 * now, not force_flush_interval later (the end of a 1 GB burst waited 1-5 s). A destination
 * with a call on the wire sends it when the answer comes (after_answer). Quiet streams still
 * batch for force_flush_interval. */
static void send_burst_ends(struct logs_pipe *lp)
{
    for (struct dest *d = lp->dests; d && lp->bursts; d = d->next) {
        if (!d->burst || d->held)
            continue;
        if (ple_batch_count(d->fill.pb) == 0) { /* it ended with a full batch */
            d->burst = 0;
            lp->bursts--;
        } else if (can_send(d)) {
            start_send(d);
        }
    }
}

static void pump(struct logs_pipe *lp)
{
    struct lt_event ev;
    lp->now_uses = 0; /* the first event of a pump reads the clock */
    while (!lp->blocked && logtail_next_event(lp->lt, &ev) == 1) {
        struct route *r = ev.source_ud;
        struct dest *d = route_dest(r, ev.stream_path);
        lp->st.events_read++;
        if (!d) {
            cw_error("logs", "no destination for %s (out of memory)", ev.stream_path);
            continue;
        }
        if (!d->emf && ev.message[0] == '{')
            d->emf = is_emf_line(ev.message, ev.len);
        place(d, ev.timestamp_ms, ev.message, ev.len, (struct commit){ev.file_id, ev.end_offset});
    }
    pump_sources(lp);
    if (lp->blocked)
        return;
    if (logtail_has_work(lp->lt) || logs_sources_has_work(lp->xs)) {
        if (!lp->work_timer)
            lp->work_timer = cw_loop_timer_add(lp->loop, 0, on_work, lp);
        return;
    }
    /* caught up after a backlog (a burst of writes, a restart, an outage); not when only the
     * read-ahead cap stops the reader: more full batches are to come */
    if (lp->bursts && logtail_caught_up(lp->lt))
        send_burst_ends(lp);
}

/* Takes in the file changes inotify reported, and reads. */
static void take_changes(struct logs_pipe *lp)
{
    lp->last_take_ms = cw_loop_now_ms(lp->loop);
    logtail_on_readable(lp->lt);
    pump(lp);
}

static void on_readable(struct cw_loop *loop, int fd, unsigned events, void *ud);

/* Puts the tailer's inotify descriptor on the loop; the watch id, or 0. */
static uint64_t watch_tailer(struct logs_pipe *lp)
{
    return cw_loop_watch_fd(lp->loop, logtail_fd(lp->lt), CW_LOOP_READ, on_readable, lp);
}

static void on_gather_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct logs_pipe *lp = ud;
    lp->gather_timer = 0;
    lp->watch = watch_tailer(lp);
    if (!lp->watch) /* the 1 s tick's stat poll still sees every change */
        cw_error("logs", "cannot watch the log tailer again: changes are seen every second");
    take_changes(lp);
}

static void on_readable(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)fd;
    (void)events;
    struct logs_pipe *lp = ud;
    long wait = (long)(lp->last_take_ms + WATCH_GATHER_MS - cw_loop_now_ms(loop));
    if (wait > 0 && !lp->gather_timer) {
        /* Off the loop until then, not just masked: a masked epoll entry still wakes the
         * loop for every inotify event (the kernel adds EPOLLERR|EPOLLHUP to any mask). */
        lp->gather_timer = cw_loop_timer_add(loop, wait, on_gather_timer, lp);
        if (lp->gather_timer) {
            cw_loop_watch_remove(loop, lp->watch);
            lp->watch = 0;
            return;
        }
    }
    take_changes(lp);
}

static void wake(void *ud)
{
    pump(ud);
}

static void on_tick(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct logs_pipe *lp = ud;
    int64_t now = now_ms(lp);
    if (!lp->watch && !lp->gather_timer) /* re-adding it failed: try again (the tick drains) */
        lp->watch = watch_tailer(lp);
    logtail_tick(lp->lt, now);
    logs_sources_tick(lp->xs, now);
    pump(lp);
    for (struct dest *d = lp->dests; d; d = d->next) {
        int due = ple_batch_count(d->fill.pb) > 0 && now - d->fill.first_ms >= lp->flush_ms;
        if (can_send(d) && (due || (ple_batch_count(d->fill.pb) == 0 && d->fill.nc)))
            start_send(d);
    }
}

/* ---- construction ---------------------------------------------------------------------------- */

/* The reference agent's own log, where configs written for it collect it. */
#define REFERENCE_AGENT_LOG "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"

/* Is file_path (a glob) the agent's own log file (agent.logfile, or the reference's default)?
 * The reference does not parse timestamps there: its events get the time they were read. */
static int is_agent_log(const char *file_path, const char *agent_log)
{
    const char *logs[] = {agent_log, REFERENCE_AGENT_LOG};
    for (size_t i = 0; i < 2; i++)
        if (logs[i] && *logs[i] &&
            (strcmp(file_path, logs[i]) == 0 || fnmatch(file_path, logs[i], FNM_PATHNAME) == 0))
            return 1;
    return 0;
}

static int add_route(struct logs_pipe *lp, const struct cw_log_file *f, const char *def_stream,
                     const char *agent_log, char *err, size_t errlen)
{
    struct route *r = &lp->routes[lp->nroutes++];
    r->lp = lp;
    r->multi = f->publish_multi_logs;
    r->retention = f->retention_in_days;
    r->group = f->log_group_name ? strdup(f->log_group_name) : NULL;
    r->stream = strdup(f->log_stream_name ? f->log_stream_name : def_stream);
    r->klass = f->log_group_class ? strdup(f->log_group_class) : NULL;
    if ((f->log_group_name && !r->group) || !r->stream || (f->log_group_class && !r->klass)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct lt_filter filters[64];
    size_t nf = 0;
    for (size_t i = 0; i < f->n_filters && nf < 64; i++)
        filters[nf++] =
            (struct lt_filter){f->filters[i].exclude ? LT_FILTER_EXCLUDE : LT_FILTER_INCLUDE,
                               f->filters[i].expression};
    struct lt_source_config sc = {0};
    sc.file_path = f->file_path;
    sc.blacklist = f->blacklist;
    sc.publish_multi_logs = f->publish_multi_logs;
    sc.auto_removal = f->auto_removal;
    sc.encoding = f->encoding;
    sc.timestamp_format = f->timestamp_format;
    sc.timezone = f->utc ? LT_TZ_UTC : LT_TZ_LOCAL;
    sc.trim_timestamp = f->trim_timestamp;
    sc.multi_line_start_pattern =
        f->multiline_uses_timestamp ? "{timestamp_format}" : f->multi_line_start_pattern;
    if (is_agent_log(f->file_path, agent_log)) {
        sc.timestamp_format = NULL;
        if (f->multiline_uses_timestamp)
            sc.multi_line_start_pattern = NULL;
    }
    sc.filters = filters;
    sc.n_filters = nf;
    sc.source_ud = r;
    char why[512];
    if (logtail_add_source(lp->lt, &sc, why, sizeof why) != 0) {
        snprintf(err, errlen, "logs.logs_collected.files.collect_list (%s): %s", f->file_path, why);
        return -1;
    }
    return 0;
}

/* The open-file cap for logtail: a followed file keeps its descriptor, so with the 512 default
 * a glob of 1,000 files left 488 of them waiting forever. Raises the soft RLIMIT_NOFILE to the
 * hard limit (as the Go runtime does for the reference agent) and leaves FD_RESERVE spare. */
static unsigned open_file_cap(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    rlim_t cap = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000 ? 1000000 : rl.rlim_cur;
    return cap > FD_MIN_CAP + FD_RESERVE ? (unsigned)(cap - FD_RESERVE) : 0;
}

struct logs_pipe *logs_pipe_new(const struct logs_pipe_options *o, char *err, size_t errlen)
{
    const struct cw_logs_config *lc = &o->cfg->logs;
    struct logs_pipe *lp = calloc(1, sizeof *lp);
    char dir[4096];
    if (!lp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    lp->loop = o->loop;
    lp->client = o->client;
    lp->wall_ms = o->wall_ms ? o->wall_ms : cw_wall_ms;
    lp->wall_ud = o->wall_ud;
    lp->max_flight = lc->concurrency < 1               ? 1
                     : lc->concurrency > MAX_IN_FLIGHT ? MAX_IN_FLIGHT
                                                       : (unsigned)lc->concurrency;
    lp->flush_ms =
        (long)(lc->force_flush_interval > 0 ? lc->force_flush_interval : CW_DEFAULT_LOGS_FLUSH) *
        1000;
    cw_buf_init(&lp->body, BODY_MAX);
    cw_buf_init(&lp->gz, BODY_MAX);
    zpolicy_init(&lp->zp, o->cfg->agent.logs_compression == CW_LOGS_COMPRESSION_GZIP ? ZPOLICY_GZIP
                          : o->cfg->agent.logs_compression == CW_LOGS_COMPRESSION_NONE
                              ? ZPOLICY_NONE
                              : ZPOLICY_AUTO);
    snprintf(dir, sizeof dir, "%s/logs", o->state_dir);
    struct lt_options lo = {0};
    lo.state_dir = dir;
    lo.max_uncommitted =
        o->max_uncommitted ? o->max_uncommitted : (size_t)o->cfg->agent.log_read_ahead_kb * 1024;
    lo.rotate_quiet_ms = o->cfg->agent.rotated_file_quiet_seconds * 1000;
    lo.max_open_files = open_file_cap();
    lo.clock = o->wall_ms;
    lo.clock_ud = o->wall_ud;
    lp->lt = logtail_new(&lo);
    lp->routes = calloc(lc->n_files ? lc->n_files : 1, sizeof *lp->routes);
    if (!lp->lt || !lp->routes) {
        snprintf(err, errlen, "cannot start the log tailer (state directory %s)", dir);
        logs_pipe_free(lp);
        return NULL;
    }
    for (size_t i = 0; i < lc->n_files; i++) {
        if (add_route(lp, &lc->files[i], lc->log_stream_name, o->cfg->agent.logfile, err, errlen) !=
            0) {
            logs_pipe_free(lp);
            return NULL;
        }
    }
    struct logs_sources_options so = {0};
    so.loop = o->loop;
    so.cfg = o->cfg;
    so.state_dir = o->state_dir;
    so.wake = wake;
    so.wake_ud = lp;
    so.wall_ms = o->wall_ms;
    so.wall_ud = o->wall_ud;
    if (!(lp->xs = logs_sources_new(&so, err, errlen))) {
        logs_pipe_free(lp);
        return NULL;
    }
    lp->watch = watch_tailer(lp);
    lp->tick_timer = cw_loop_timer_every(lp->loop, TICK_MS, on_tick, lp);
    if (!lp->watch || !lp->tick_timer) {
        snprintf(err, errlen, "cannot watch the log tailer");
        logs_pipe_free(lp);
        return NULL;
    }
    pump(lp);
    return lp;
}

void logs_pipe_flush(struct logs_pipe *lp)
{
    lp->flushing = 1;
    logtail_on_readable(lp->lt);  /* changes still being gathered */
    logtail_flush_events(lp->lt); /* the last multi-line event of each file goes too */
    pump(lp);
    for (struct dest *d = lp->dests; d; d = d->next)
        if (can_send(d) && (ple_batch_count(d->fill.pb) > 0 || d->fill.nc))
            start_send(d);
    logtail_flush(lp->lt);
    logs_sources_save(lp->xs);
}

int logs_pipe_busy(const struct logs_pipe *lp)
{
    for (const struct dest *d = lp->dests; d; d = d->next)
        if (d->op != OP_NONE || d->fl_n || ple_batch_count(d->fill.pb) > 0)
            return 1;
    return 0;
}

void logs_pipe_stats(const struct logs_pipe *lp, struct logs_pipe_stats *out)
{
    *out = lp->st;
    struct lt_stats ls;
    logtail_stats(lp->lt, &ls);
    out->truncated_unread_bytes = ls.truncated_unread_bytes;
}

void logs_pipe_sources_status(const struct logs_pipe *lp, json_t *obj)
{
    logs_sources_status(lp->xs, obj);
}

void logs_pipe_files(const struct logs_pipe *lp,
                     void (*fn)(void *ud, const struct lt_file_status *f), void *ud)
{
    logtail_files(lp->lt, fn, ud);
}

void logs_pipe_tail_stats(const struct logs_pipe *lp, struct lt_stats *out)
{
    logtail_stats(lp->lt, out);
}

void logs_pipe_free(struct logs_pipe *lp)
{
    if (!lp)
        return;
    cw_loop_watch_remove(lp->loop, lp->watch);
    cw_loop_timer_cancel(lp->loop, lp->tick_timer);
    cw_loop_timer_cancel(lp->loop, lp->work_timer);
    cw_loop_timer_cancel(lp->loop, lp->ckpt_timer);
    cw_loop_timer_cancel(lp->loop, lp->gather_timer);
    while (lp->dests) {
        struct dest *d = lp->dests;
        lp->dests = d->next;
        cw_loop_timer_cancel(lp->loop, d->retry_timer);
        dest_free(d);
    }
    while (lp->groups) {
        struct group_state *g = lp->groups;
        lp->groups = g->next;
        free(g->name);
        free(g);
    }
    for (size_t i = 0; i < lp->nroutes; i++) {
        free(lp->routes[i].group);
        free(lp->routes[i].stream);
        free(lp->routes[i].klass);
        free(lp->routes[i].last_path);
    }
    free(lp->routes);
    logs_sources_free(lp->xs); /* after the destinations: nothing commits any more */
    logtail_free(lp->lt);
    cw_buf_free(&lp->body);
    cw_buf_free(&lp->gz);
    free(lp);
}
