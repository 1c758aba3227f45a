/* multiline — groups decoded lines into events with a start pattern (reference: tailersrc.go
 * runTail). The pending event never grows past max_event: a continuation that would not fit
 * is emitted as the start of a new event instead of being dropped.
 */
#include "logtail/lt_int.h"

void lt_ml_init(struct lt_ml *m, size_t max_event)
{
    cw_buf_init(&m->pending, max_event);
    m->end_off = 0;
    m->has = false;
    m->cont_seen = false;
}

void lt_ml_free(struct lt_ml *m)
{
    cw_buf_free(&m->pending);
    m->has = false;
}

/* Hands the pending event to fn (which may take its storage) and empties it; storage grown
 * past LT_IDLE_BUF_MAX by a long event is released. */
void lt_ml_flush(struct lt_ml *m, lt_event_fn fn, void *ud)
{
    if (!m->has)
        return;
    m->has = false;
    fn(ud, &m->pending, m->end_off);
    if (m->pending.cap > LT_IDLE_BUF_MAX)
        cw_buf_free(&m->pending);
    else
        cw_buf_reset(&m->pending);
}

/* Starts a new pending event with s (s fits: callers cut lines to max_event). */
static void start(struct lt_ml *m, const char *s, size_t n, uint64_t end_off)
{
    cw_buf_reset(&m->pending);
    if (n > m->pending.max) /* callers cut lines to max_event; never trust it blindly */
        n = lt_utf8_cut(s, n, m->pending.max);
    if (cw_buf_append(&m->pending, s, n) != 0)
        return; /* out of memory: the line is lost, nothing else can be done */
    m->end_off = end_off;
    m->has = true;
}

void lt_ml_line(struct lt_ml *m, struct lt_re *startre, const char *s, size_t n, uint64_t end_off,
                lt_event_fn fn, void *ud)
{
    bool is_start = lt_re_match(startre, s, n, NULL, NULL);
    if (!is_start)
        m->cont_seen = true;
    if (!m->has || is_start) {
        lt_ml_flush(m, fn, ud);
        start(m, s, n, end_off);
        return;
    }
    if (m->pending.len + 1 + n > m->pending.max) {
        lt_ml_flush(m, fn, ud);
        start(m, s, n, end_off);
        return;
    }
    if (cw_buf_append_char(&m->pending, '\n') != 0 || cw_buf_append(&m->pending, s, n) != 0) {
        lt_ml_flush(m, fn, ud);
        start(m, s, n, end_off);
        return;
    }
    m->end_off = end_off;
}
