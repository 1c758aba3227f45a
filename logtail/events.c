/* events — the verbs the agent's loop calls: pull events (reading on demand, fairly, within
 * the uncommitted-bytes cap), commit them, and the timers of tick().
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bound the reading work of one logtail_next_event call: bytes, and reads (EOF reads too). */
#define LT_PUMP_MAX_BYTES      (1u << 20)
#define LT_PUMP_MAX_READS      4096
#define LT_CKPT_BACKOFF_MAX_MS 60000 /* longest pause between failed checkpoint saves */
/* A deleted rotated file, read to its end, is let go after this long without new data. */
#define LT_DELETED_GRACE_MS 2000
/* Bound on the length of a stream's chain of rotated files walked by later_has_data. */
#define LT_MAX_CHAIN 256

static void periodic_flush(struct logtail *lt);

/* Finds the timestamp, trims it when asked; falls back to the previous one, then to now. */
static int64_t stamp(struct logtail *lt, struct lt_source *s, struct cw_buf *msg)
{
    int64_t ms;
    size_t so, eo;
    if (s->has_ts && lt_ts_parse(&s->ts, msg->data, msg->len, lt->now, &ms, &so, &eo) == 0) {
        if (s->cfg.trim_timestamp) {
            while (eo < msg->len && isspace((unsigned char)msg->data[eo]))
                eo++;
            memmove(msg->data + so, msg->data + eo, msg->len - eo + 1);
            msg->len -= eo - so;
        }
        s->last_ts_ms = ms;
        s->has_last_ts = true;
        return ms;
    }
    return s->has_last_ts ? s->last_ts_ms : lt->now;
}

/* Commits bytes that carry no outstanding event (filtered or empty lines). */
void lt_settle(struct logtail *lt, struct lt_file *f)
{
    if (f->committed < f->emitted_end || f->settled_off <= f->committed)
        return;
    lt->uncommitted -= f->settled_off - f->committed;
    f->committed = f->settled_off;
    f->ckpt_dirty = true;
}

static void enqueue(struct logtail *lt, struct lt_file *f, struct cw_buf *msg, int64_t ts,
                    uint64_t end_off)
{
    size_t len = msg->len;
    struct lt_qev *q = malloc(sizeof *q + len + 1); /* the message follows the record: one
                                                       allocation per event, and the multi-line
                                                       buffer keeps its storage */
    if (!q) {
        cw_error(LT_COMP, "out of memory queueing an event of %s", f->cur_path);
        return;
    }
    char *m = (char *)(q + 1);
    memcpy(m, msg->data ? msg->data : "", len);
    m[len] = '\0';
    q->msg = NULL; /* inline: nothing else to free */
    q->next = NULL;
    q->ev = (struct lt_event){f->src->cfg.source_ud, f->stream_path, f->id, end_off, ts, m, len};
    if (lt->qtail)
        lt->qtail->next = q;
    else
        lt->qhead = q;
    lt->qtail = q;
    lt->st.events++;
    f->emitted_end = f->settled_off = end_off;
}

void lt_emit(struct logtail *lt, struct lt_file *f, struct cw_buf *msg, uint64_t end_off)
{
    struct lt_source *s = f->src;
    int64_t ts = msg->len ? stamp(lt, s, msg) : 0;
    if (msg->len == 0 || !lt_filters_pass(&s->flt, msg->data, msg->len)) {
        if (msg->len)
            lt->st.filtered++;
        f->settled_off = end_off;
        lt_settle(lt, f);
        return;
    }
    enqueue(lt, f, msg, ts, end_off);
}

/* True while an earlier file of the same stream has not handed over yet. */
static bool blocked(struct logtail *lt, struct lt_file *f)
{
    if (!f->pred_id)
        return false;
    struct lt_file *p = lt_file_by_id(lt, f->pred_id);
    if (!p || p->state == LT_RETIRED || p->handed_over) {
        f->pred_id = 0;
        return false;
    }
    return true;
}

/* A rotated file done with: flush and close; its successor may start if it had not yet. */
static void finish_drain(struct logtail *lt, struct lt_file *f)
{
    if (f->fd < 0 && f->read_off == 0 && f->fp_len == 0)
        cw_warn(LT_COMP,
                "%s went away before it could be opened (open-file cap %u): its "
                "content was not read",
                f->cur_path, lt->o.max_open_files);
    lt_file_flush_pending(lt, f);
    lt_file_close(lt, f);
    cw_buf_free(&f->lines.carry);
    cw_buf_free(&f->dec.out);
    f->state = LT_RETIRED;
    f->dirty = false;
    cw_info(LT_COMP, "%s: drained to offset %llu", f->cur_path, (unsigned long long)f->read_off);
}

/* A file seen by a scan but renamed before it could be opened (logrotate between the scan and
 * the open, or the open-file cap holding it back: the path then names its successor) is still
 * on disk as one of its stream's rotated generations: find it there by inode and open it,
 * rather than give up its content. True while it is worth waiting for: open now, or found
 * and only waiting for a descriptor under the open-file cap. */
static bool open_moved(struct logtail *lt, struct lt_file *f) /* f->fd < 0 */
{
    if (f->read_off != 0 || f->fp_len != 0) /* it was open once: not this case */
        return false;
    for (const struct lt_file *o = lt->files; o; o = o->next)
        if (o != f && o->dev == f->dev && o->ino == f->ino && o->state != LT_RETIRED)
            return false; /* another follower has it */
    struct lt_matches sib;
    if (lt_siblings(f->stream_path, &sib) != 0) {
        lt_matches_free(&sib);
        return false;
    }
    bool wait = false;
    for (size_t i = 0; i < sib.n; i++) {
        if (sib.v[i].dev != f->dev || sib.v[i].ino != f->ino)
            continue;
        char *p = strdup(sib.v[i].path);
        if (!p)
            break;
        free(f->cur_path);
        f->cur_path = p;
        if (lt_file_open(lt, f) == 0)
            cw_info(LT_COMP, "%s: found at %s, rotated before it could be opened", f->stream_path,
                    f->cur_path);
        wait = f->fd >= 0 || lt->nopen >= lt->o.max_open_files;
        break;
    }
    lt_matches_free(&sib);
    return wait;
}

/* A rotated file is let go when it was read to its end and then stayed quiet for
 * rotate_quiet_ms since the later of its last data and its rotation (a writer that reopens
 * its log late still writes to it), or when it is deleted, read to its end and quiet for
 * LT_DELETED_GRACE_MS (nobody can open it any more). */
static bool drain_done(struct logtail *lt, struct lt_file *f)
{
    if (f->state != LT_DRAINING)
        return false;
    if (f->fd < 0)
        return !open_moved(lt, f); /* found: read it (or wait for a descriptor) first */
    if (!f->at_eof || f->dirty)
        return false;
    int64_t since = f->last_data_ms > f->gone_ms ? f->last_data_ms : f->gone_ms;
    int64_t quiet = lt->now - since;
    if (quiet >= lt->o.rotate_quiet_ms)
        return true;
    struct stat st;
    return quiet >= LT_DELETED_GRACE_MS && fstat(f->fd, &st) == 0 && st.st_nlink == 0;
}

/* True when a later file of f's stream (its successors, transitively) holds data. */
static bool later_has_data(struct logtail *lt, const struct lt_file *f, int depth)
{
    if (depth > LT_MAX_CHAIN)
        return false;
    for (struct lt_file *g = lt->files; g; g = g->next) {
        if (g->pred_id != f->id || g == f)
            continue;
        struct stat st;
        if (g->read_off > 0 || (g->fd >= 0 && fstat(g->fd, &st) == 0 && st.st_size > 0))
            return true;
        if (later_has_data(lt, g, depth + 1))
            return true;
    }
    return false;
}

/* A rotated file at its end hands its stream over to the next file once the writer has moved
 * on: a later file was seen holding data *before* this file was read to its end, so every line
 * written here before the writer switched has been read (and its pending event is flushed
 * first). Lines written here later still are read, until drain_done. */
static void try_handover(struct logtail *lt, struct lt_file *f)
{
    if (f->state != LT_DRAINING || f->handed_over || !f->at_eof || f->fd < 0)
        return;
    if (!f->succ_seen) {
        if (later_has_data(lt, f, 0)) {
            f->succ_seen = true;
            f->dirty = true; /* read to the end once more, now that the writer moved on */
        }
        return;
    }
    lt_file_flush_pending(lt, f);
    f->handed_over = true;
    cw_debug(LT_COMP, "%s: read to offset %llu, the next file of its stream may start", f->cur_path,
             (unsigned long long)f->read_off);
}

/* Before the first bytes of a file of a stream are read: the pending multi-line event of every
 * other file of the stream that was read to its end is emitted first (its last line would
 * otherwise wait for its next line or an idle flush, and come after the new file's first). */
static void flush_stream_peers(struct logtail *lt, struct lt_file *f)
{
    for (struct lt_file *o = lt->files; o; o = o->next) {
        if (o == f || o->src != f->src || o->state == LT_RETIRED || !o->ml.has || !o->at_eof ||
            o->dirty)
            continue;
        if (f->src->cfg.publish_multi_logs && strcmp(o->stream_path, f->stream_path) != 0)
            continue;
        lt_file_flush_multiline(lt, o);
    }
}

/* The readable file read longest ago (round robin). */
static struct lt_file *pick(struct logtail *lt)
{
    struct lt_file *best = NULL;
    for (struct lt_file *f = lt->files; f; f = f->next) {
        if (!f->dirty || f->fd < 0 || blocked(lt, f))
            continue;
        if (!best || f->rr < best->rr)
            best = f;
    }
    return best;
}

/* Reads until an event is queued, nothing is readable, or the cap/budget is reached. */
static void pump(struct logtail *lt)
{
    size_t bytes = 0;
    lt->now = lt_now(lt);
    if (lt->ckpt_new) {
        lt->ckpt_new = false;
        (void)logtail_flush(lt);
    }
    for (int i = 0; i < LT_PUMP_MAX_READS && bytes < LT_PUMP_MAX_BYTES && !lt->qhead; i++) {
        if (lt->uncommitted >= lt->o.max_uncommitted)
            return;
        struct lt_file *f = pick(lt);
        if (!f)
            return;
        f->rr = ++lt->rr;
        struct stat st;
        if (f->read_off == 0 && fstat(f->fd, &st) == 0 && st.st_size > 0)
            flush_stream_peers(lt, f); /* its first bytes */
        long n = lt_file_read(lt, f);
        if (n > 0)
            bytes += (size_t)n;
        if (n <= 0) {
            f->dirty = false;
            try_handover(lt, f);
            if (drain_done(lt, f))
                finish_drain(lt, f);
        }
    }
}

bool logtail_has_work(struct logtail *lt)
{
    return lt->qhead || (lt->uncommitted < lt->o.max_uncommitted && pick(lt) != NULL);
}

bool logtail_caught_up(struct logtail *lt)
{
    return !lt->qhead && pick(lt) == NULL;
}

int logtail_next_event(struct logtail *lt, struct lt_event *ev)
{
    if (lt->cur) {
        free(lt->cur->msg);
        free(lt->cur);
        lt->cur = NULL;
    }
    if (!lt->qhead)
        pump(lt);
    struct lt_qev *q = lt->qhead;
    if (!q)
        return 0;
    lt->qhead = q->next;
    if (!lt->qhead)
        lt->qtail = NULL;
    lt->cur = q;
    *ev = q->ev;
    return 1;
}

void logtail_commit(struct logtail *lt, uint64_t file_id, uint64_t end_offset)
{
    struct lt_file *f = lt_file_by_id(lt, file_id);
    if (!f)
        return;
    if (end_offset > f->read_off)
        end_offset = f->read_off;
    if (end_offset <= f->committed)
        return;
    lt->uncommitted -= end_offset - f->committed;
    f->committed = end_offset;
    f->ckpt_dirty = true;
    lt_settle(lt, f);
    lt->now = lt_now(lt);
    periodic_flush(lt);
}

/* Saves the checkpoints every checkpoint_interval_ms; after failures, waits 1, 2, 4... up to
 * LT_CKPT_BACKOFF_MAX_MS between attempts (the offsets stay in memory meanwhile). */
static void periodic_flush(struct logtail *lt)
{
    if (lt->now - lt->last_ckpt < lt->o.checkpoint_interval_ms)
        return;
    if (lt->ckpts.streak && lt->now < lt->ckpt_retry_at)
        return;
    (void)logtail_flush(lt);
    uint64_t k = lt->ckpts.streak;
    if (k) {
        int64_t wait = 1000LL << (k < 6 ? k - 1 : 6);
        lt->ckpt_retry_at =
            lt->now + (wait < LT_CKPT_BACKOFF_MAX_MS ? wait : LT_CKPT_BACKOFF_MAX_MS);
    }
}

int logtail_flush(struct logtail *lt)
{
    int rc = 0;
    for (struct lt_file *f = lt->files; f; f = f->next)
        if (lt_file_write_ckpt(lt, f) < 0)
            rc = -1;
    if (lt_ckpts_save(&lt->ckpts) != 0)
        rc = -1;
    lt->last_ckpt = lt->now;
    return rc;
}

/* Partial-line and multi-line idle flushes; only at EOF, so nothing unread is cut. */
static void idle_flush(struct logtail *lt, struct lt_file *f)
{
    if (f->fd < 0 || f->dirty || !f->at_eof || blocked(lt, f))
        return;
    int64_t idle = lt->now - f->last_data_ms;
    if (f->lines.carry.len && idle >= lt->o.partial_timeout_ms)
        lt_file_flush_partial(lt, f);
    if (f->ml.has && idle >= lt->o.multiline_idle_ms)
        lt_file_flush_pending(lt, f);
}

/* Releases a retired file once all its events are committed and it left the glob (or is
 * to be removed); its checkpoint goes with it. */
static bool release(struct logtail *lt, struct lt_file *f)
{
    if (f->state != LT_RETIRED || f->committed < f->settled_off || f->committed < f->read_off)
        return false;
    bool remove = f->src->cfg.auto_removal && !f->src->cfg.publish_multi_logs && f->superseded;
    if (f->matched && !remove)
        return false;
    struct stat st;
    if (remove && stat(f->cur_path, &st) == 0 && (uint64_t)st.st_ino == f->ino &&
        (uint64_t)st.st_dev == f->dev) {
        cw_info(LT_COMP, "auto_removal: deleting %s (fully sent)", f->cur_path);
        unlink(f->cur_path);
    }
    bool shared = false;
    for (struct lt_file *o = lt->files; o; o = o->next)
        if (o != f && o->src == f->src && o->dev == f->dev && o->ino == f->ino)
            shared = true;
    if (!shared)
        lt_ckpt_remove(&lt->ckpts, f->src->key, f->dev, f->ino);
    return true;
}

static void tick_files(struct logtail *lt)
{
    for (struct lt_file **pp = &lt->files; *pp;) {
        struct lt_file *f = *pp;
        idle_flush(lt, f);
        try_handover(lt, f);
        if (drain_done(lt, f))
            finish_drain(lt, f);
        if (f->state == LT_ACTIVE && f->fd < 0 && lt_file_open(lt, f) != 0 && !f->fp_len)
            f->src->need_rescan = true;
        if (release(lt, f)) {
            *pp = f->next;
            lt_file_free(lt, f);
            continue;
        }
        pp = &f->next;
    }
}

void logtail_tick(struct logtail *lt, int64_t now_ms)
{
    lt->now = now_ms;
    lt_watch_drain(lt); /* renames queued before a re-glob: rotated files keep their order */
    if (now_ms - lt->last_poll >= lt->o.poll_interval_ms) {
        lt->last_poll = now_ms;
        lt_poll(lt);
    }
    for (struct lt_source *s = lt->sources; s; s = s->next)
        if (s->need_rescan || now_ms - s->last_rescan_ms >= lt->o.rescan_interval_ms)
            lt_rescan(lt, s);
    tick_files(lt);
    periodic_flush(lt);
}
