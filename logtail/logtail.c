/* logtail — lifecycle and sources: options, the inotify instance, checkpoints loaded at
 * start, and each collect_list item compiled (regexes, timestamp format, encoding).
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LT_DEFAULT_UNCOMMITTED (8u << 20)
#define LT_DEFAULT_MAX_OPEN    512
#define LT_MIN_EVENT           256
#define LT_DEFAULT_START       "^[\\S]"

static int64_t real_clock(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lt_now(struct logtail *lt)
{
    return lt->o.clock(lt->o.clock_ud);
}

static int dflt(int v, int d)
{
    return v > 0 ? v : d;
}

static void apply_defaults(struct lt_options *o)
{
    if (!o->max_event_size || o->max_event_size > LT_MAX_EVENT_DEFAULT)
        o->max_event_size = LT_MAX_EVENT_DEFAULT;
    if (o->max_event_size < LT_MIN_EVENT)
        o->max_event_size = LT_MIN_EVENT;
    if (!o->max_uncommitted)
        o->max_uncommitted = LT_DEFAULT_UNCOMMITTED;
    if (o->max_uncommitted < 2 * o->max_event_size)
        o->max_uncommitted = 2 * o->max_event_size; /* one event must always fit */
    if (!o->max_open_files)
        o->max_open_files = LT_DEFAULT_MAX_OPEN;
    o->partial_timeout_ms = dflt(o->partial_timeout_ms, 5000);
    o->multiline_idle_ms = dflt(o->multiline_idle_ms, 5000);
    o->rotate_quiet_ms = dflt(o->rotate_quiet_ms, LT_DEFAULT_ROTATE_QUIET_MS);
    o->poll_interval_ms = dflt(o->poll_interval_ms, 2000);
    o->rescan_interval_ms = dflt(o->rescan_interval_ms, 10000);
    o->checkpoint_interval_ms = dflt(o->checkpoint_interval_ms, 100);
    if (!o->clock)
        o->clock = real_clock;
}

struct logtail *logtail_new(const struct lt_options *opt)
{
    struct logtail *lt = calloc(1, sizeof *lt);
    if (!lt)
        return NULL;
    lt->o = *opt;
    lt->ifd = -1;
    lt->o.state_dir = opt->state_dir ? strdup(opt->state_dir) : NULL;
    apply_defaults(&lt->o);
    lt->now = lt_now(lt);
    lt->last_poll = lt->last_rescan = lt->last_ckpt = lt->now;
    lt->rbuf = malloc(lt_read_chunk_size());
    lt->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (!lt->rbuf || lt->ifd < 0 || (opt->state_dir && !lt->o.state_dir)) {
        cw_error(LT_COMP, "cannot start the log tailer (memory or inotify)");
        logtail_free(lt);
        return NULL;
    }
    if (lt_ckpts_load(&lt->ckpts, lt->o.state_dir, lt->now / 1000) != 0) {
        logtail_free(lt);
        return NULL;
    }
    return lt;
}

static void free_source(struct lt_source *s)
{
    free((char *)s->cfg.file_path);
    free((char *)s->cfg.blacklist);
    free((char *)s->cfg.encoding);
    free((char *)s->cfg.timestamp_format);
    free((char *)s->cfg.multi_line_start_pattern);
    for (size_t i = 0; i < s->cfg.n_filters; i++)
        free((char *)s->filters[i].expression);
    free(s->filters);
    lt_filters_free(&s->flt);
    lt_re_free(&s->blacklist);
    lt_re_free(&s->start);
    if (s->has_ts)
        lt_ts_free(&s->ts);
    free(s);
}

void logtail_free(struct logtail *lt)
{
    if (!lt)
        return;
    if (lt->o.state_dir)
        (void)logtail_flush(lt);
    while (lt->files) {
        struct lt_file *f = lt->files;
        lt->files = f->next;
        lt_file_free(lt, f);
    }
    while (lt->sources) {
        struct lt_source *s = lt->sources;
        lt->sources = s->next;
        free_source(s);
    }
    while (lt->qhead) {
        struct lt_qev *q = lt->qhead;
        lt->qhead = q->next;
        free(q->msg);
        free(q);
    }
    if (lt->cur) {
        free(lt->cur->msg);
        free(lt->cur);
    }
    lt_ckpts_free(&lt->ckpts);
    free(lt->refused);
    if (lt->ifd >= 0)
        close(lt->ifd);
    lt_watch_free(lt);
    free(lt->rbuf);
    free((char *)lt->o.state_dir);
    free(lt);
}

/* Compiles what a source needs; s->cfg strings must already be set. */
static int compile_source(struct lt_source *s, char *err, size_t errlen)
{
    const struct lt_source_config *c = &s->cfg;
    if (!c->file_path || !*c->file_path) {
        if (err)
            snprintf(err, errlen, "file_path is required");
        return -1;
    }
    if (c->blacklist && *c->blacklist) {
        if (lt_re_compile(&s->blacklist, c->blacklist, err, errlen) != 0)
            return -1;
        s->has_blacklist = true;
    }
    if (c->timestamp_format && *c->timestamp_format) {
        if (lt_ts_init(&s->ts, c->timestamp_format, c->timezone == LT_TZ_UTC, err, errlen))
            return -1;
        s->has_ts = true;
    }
    const char *start = c->multi_line_start_pattern;
    if (start && strcmp(start, "{timestamp_format}") == 0) {
        if (!s->has_ts) {
            if (err)
                snprintf(err, errlen,
                         "multi_line_start_pattern {timestamp_format} needs "
                         "timestamp_format");
            return -1;
        }
        start = s->ts.regex;
    }
    if (lt_re_compile(&s->start, start && *start ? start : LT_DEFAULT_START, err, errlen))
        return -1;
    if (lt_filters_init(&s->flt, c->filters, c->n_filters, err, errlen) != 0)
        return -1;
    struct lt_dec d;
    if (lt_dec_init(&d, c->encoding, err, errlen) != 0)
        return -1;
    lt_dec_free(&d);
    return 0;
}

static char *dup_opt(const char *s, bool *fail)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        *fail = true;
    return p;
}

/* Makes a source owning copies of cfg's strings. NULL on failure (err set). */
static struct lt_source *make_source(const struct lt_source_config *cfg, char *err, size_t errlen)
{
    struct lt_source *s = calloc(1, sizeof *s);
    bool fail = !s;
    if (s) {
        s->cfg = *cfg;
        s->cfg.file_path = dup_opt(cfg->file_path, &fail);
        s->cfg.blacklist = dup_opt(cfg->blacklist, &fail);
        s->cfg.encoding = dup_opt(cfg->encoding, &fail);
        s->cfg.timestamp_format = dup_opt(cfg->timestamp_format, &fail);
        s->cfg.multi_line_start_pattern = dup_opt(cfg->multi_line_start_pattern, &fail);
        s->cfg.n_filters = 0;
        s->filters = cfg->n_filters ? calloc(cfg->n_filters, sizeof *s->filters) : NULL;
        fail |= cfg->n_filters && !s->filters;
        for (size_t i = 0; !fail && i < cfg->n_filters; i++) {
            s->filters[i].type = cfg->filters[i].type;
            s->filters[i].expression = dup_opt(cfg->filters[i].expression, &fail);
            s->cfg.n_filters = i + 1;
        }
        s->cfg.filters = s->filters;
    }
    if (fail) {
        if (err)
            snprintf(err, errlen, "out of memory");
        if (s)
            free_source(s);
        return NULL;
    }
    if (compile_source(s, err, errlen) != 0) {
        free_source(s);
        return NULL;
    }
    return s;
}

int logtail_validate_source(const struct lt_source_config *cfg, char *err, size_t errlen)
{
    struct lt_source *s = make_source(cfg, err, errlen);
    if (!s)
        return -1;
    free_source(s);
    return 0;
}

int logtail_add_source(struct logtail *lt, const struct lt_source_config *cfg, char *err,
                       size_t errlen)
{
    struct lt_source *s = make_source(cfg, err, errlen);
    if (!s)
        return -1;
    s->lt = lt;
    s->key = lt_fnv1a(s->cfg.file_path, strlen(s->cfg.file_path));
    struct lt_source **tail = &lt->sources;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    lt->now = lt_now(lt);
    lt_rescan(lt, s);
    return 0;
}

int logtail_fd(const struct logtail *lt)
{
    return lt->ifd;
}

void logtail_stats(const struct logtail *lt, struct lt_stats *out)
{
    *out = lt->st;
    out->files_open = lt->nopen;
    out->files_followed = 0;
    out->files_waiting_fd = 0;
    for (const struct lt_file *f = lt->files; f; f = f->next) {
        out->files_followed++;
        if (f->fd < 0 && f->state == LT_ACTIVE)
            out->files_waiting_fd++;
    }
    for (const struct lt_source *s = lt->sources; s; s = s->next)
        out->regex_limit_hits += lt_filters_limit_hits(&s->flt) + s->blacklist.limit_hits +
                                 s->start.limit_hits + (s->has_ts ? s->ts.re.limit_hits : 0);
    out->ckpt_failures = lt->ckpts.failures;
    out->uncommitted = lt->uncommitted;
    out->paused = lt->uncommitted >= lt->o.max_uncommitted;
}

void logtail_files(const struct logtail *lt, void (*fn)(void *ud, const struct lt_file_status *f),
                   void *ud)
{
    for (const struct lt_file *f = lt->files; f; f = f->next) {
        struct lt_file_status st = {0};
        struct stat sb;
        st.path = f->cur_path ? f->cur_path : f->stream_path;
        st.committed = f->committed;
        st.read = f->read_off;
        st.size = f->read_off;
        st.open = f->fd >= 0;
        if (f->fd >= 0 && fstat(f->fd, &sb) == 0)
            st.size = (uint64_t)sb.st_size;
        fn(ud, &st);
    }
}

void logtail_flush_events(struct logtail *lt)
{
    for (struct lt_file *f = lt->files; f; f = f->next)
        lt_file_flush_multiline(lt, f);
}
