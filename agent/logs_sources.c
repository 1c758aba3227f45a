#include "agent/logs_sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "logtail/emf.h"
#include "logtail/journal.h"

#define KIND_JOURNAL 1ULL
#define KIND_EMF     2ULL
#define KEY_MAX      64
/* EMF names its own destinations: at most this many (group, stream) pairs, so that a client
 * cannot make the agent hold (and create in CloudWatch) an unbounded number of streams. */
#define EMF_MAX_DESTS 1000
#define EMF_SET_SIZE  2048 /* open addressing, power of two > 2 * EMF_MAX_DESTS */

struct jroute {
    const struct cw_journald *cfg; /* borrowed: the configuration outlives the pipe */
};

struct logs_sources {
    struct cw_loop *loop;
    struct lt_journal *jr;
    struct lt_emf *emf;
    uint64_t jwatch, ewatch;
    struct jroute *routes;
    size_t nroutes;
    const struct cw_logs_config *lc;
    void (*wake)(void *ud);
    void *wake_ud;
    int64_t (*wall_ms)(void *ud);
    void *wall_ud;
    char *journal_dir;
    uint64_t *emf_set; /* hashes of the EMF destinations seen; 0 = free slot */
    unsigned emf_dests;
    uint64_t dropped_dests;
};

static void on_journal(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct logs_sources *s = ud;
    lt_journal_on_readable(s->jr);
    s->wake(s->wake_ud);
}

static void on_emf(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct logs_sources *s = ud;
    lt_emf_on_readable(s->emf);
    s->wake(s->wake_ud);
}

static uint64_t mix(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

/* The identity of a reader's cursor: FNV-1a of what selects its entries and where they go,
 * so an edited entry starts afresh and reordering entries keeps their cursors. */
static void reader_key(const struct cw_journald *j, char *out, size_t outlen)
{
    uint64_t h = 1469598103934665603ULL;
#define MIX(str) h = mix(h, str)
    MIX(j->log_group_name);
    MIX(j->log_stream_name);
    char pr[8];
    snprintf(pr, sizeof pr, "%d", j->priority);
    MIX(pr);
    for (size_t i = 0; i < j->units.n; i++)
        MIX(j->units.v[i]);
    for (size_t i = 0; i < j->n_matches; i++) {
        MIX("+");
        for (size_t k = 0; k < j->matches[i].n; k++)
            MIX(j->matches[i].v[k]);
    }
#undef MIX
    snprintf(out, outlen, "%016llx", (unsigned long long)h);
}

static int add_reader(struct logs_sources *s, size_t i, char *err, size_t errlen)
{
    const struct cw_journald *j = &s->lc->journald[i];
    struct lt_filter flt[64];
    const char *const *pairs[256];
    size_t npairs[256];
    size_t nf = j->n_filters < 64 ? j->n_filters : 64;
    size_t nm = j->n_matches < 256 ? j->n_matches : 256;
    for (size_t k = 0; k < nf; k++)
        flt[k] = (struct lt_filter){j->filters[k].exclude ? LT_FILTER_EXCLUDE : LT_FILTER_INCLUDE,
                                    j->filters[k].expression};
    for (size_t k = 0; k < nm; k++) {
        pairs[k] = (const char *const *)j->matches[k].v;
        npairs[k] = j->matches[k].n;
    }
    char key[KEY_MAX];
    reader_key(j, key, sizeof key);
    struct lt_journal_config c = {0};
    c.priority = j->priority;
    c.units = (const char *const *)j->units.v;
    c.n_units = j->units.n;
    c.matches = pairs;
    c.n_pairs = npairs;
    c.n_matches = nm;
    c.filters = flt;
    c.n_filters = nf;
    c.format = LT_JOURNAL_JSON;
    c.key = key;
    s->routes[i].cfg = j;
    c.source_ud = &s->routes[i];
    char why[300];
    if (lt_journal_add(s->jr, &c, why, sizeof why) != 0) {
        snprintf(err, errlen, "logs.logs_collected.journald.collect_list[%zu]: %s", i, why);
        return -1;
    }
    return 0;
}

static int start_journal(struct logs_sources *s, const struct logs_sources_options *o, char *err,
                         size_t errlen)
{
    char dir[4096];
    const char *jd = o->journal_dir ? o->journal_dir : getenv("CWAGENT_JOURNAL_DIR");
    if (jd && *jd && !(s->journal_dir = strdup(jd))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/logs", o->state_dir);
    struct lt_journal_options jo = {0};
    jo.state_dir = dir;
    jo.directory = s->journal_dir;
    s->jr = lt_journal_new(&jo);
    s->routes = calloc(s->lc->n_journald, sizeof *s->routes);
    if (!s->jr || !s->routes) {
        snprintf(err, errlen, "cannot start the journal reader (state directory %s)", dir);
        return -1;
    }
    for (size_t i = 0; i < s->lc->n_journald; i++)
        if (add_reader(s, i, err, errlen) != 0)
            return -1;
    s->nroutes = s->lc->n_journald;
    s->jwatch = cw_loop_watch_fd(s->loop, lt_journal_fd(s->jr), CW_LOOP_READ, on_journal, s);
    if (!s->jwatch) {
        snprintf(err, errlen, "cannot watch the journal");
        return -1;
    }
    cw_info("logs", "reading the systemd journal%s%s (%zu collect_list entries)",
            s->journal_dir ? " in " : "", s->journal_dir ? s->journal_dir : "", s->lc->n_journald);
    return 0;
}

static int start_emf(struct logs_sources *s, char *err, size_t errlen)
{
    s->emf_set = calloc(EMF_SET_SIZE, sizeof *s->emf_set);
    if (!s->emf_set) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct lt_emf_options eo = {0};
    eo.tcp = s->lc->emf.tcp;
    eo.udp = s->lc->emf.udp;
    eo.default_stream = s->lc->log_stream_name ? s->lc->log_stream_name : "default";
    eo.clock = s->wall_ms;
    eo.clock_ud = s->wall_ud;
    char why[300];
    s->emf = lt_emf_new(&eo, why, sizeof why);
    if (!s->emf) {
        snprintf(err, errlen, "logs.metrics_collected.emf: %s", why);
        return -1;
    }
    s->ewatch = cw_loop_watch_fd(s->loop, lt_emf_fd(s->emf), CW_LOOP_READ, on_emf, s);
    if (!s->ewatch) {
        snprintf(err, errlen, "cannot watch the EMF listener");
        return -1;
    }
    cw_info("logs", "EMF listener on%s%s%s%s", s->lc->emf.tcp ? " tcp://" : "",
            s->lc->emf.tcp ? s->lc->emf.tcp : "", s->lc->emf.udp ? " udp://" : "",
            s->lc->emf.udp ? s->lc->emf.udp : "");
    return 0;
}

struct logs_sources *logs_sources_new(const struct logs_sources_options *o, char *err,
                                      size_t errlen)
{
    struct logs_sources *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = o->loop;
    s->lc = &o->cfg->logs;
    s->wake = o->wake;
    s->wake_ud = o->wake_ud;
    s->wall_ms = o->wall_ms ? o->wall_ms : cw_wall_ms;
    s->wall_ud = o->wall_ud;
    if ((s->lc->n_journald && start_journal(s, o, err, errlen) != 0) ||
        (s->lc->emf.present && start_emf(s, err, errlen) != 0)) {
        logs_sources_free(s);
        return NULL;
    }
    return s;
}

static int next_journal(struct logs_sources *s, struct logs_src_event *ev)
{
    struct lt_journal_event je;
    if (!s->jr || lt_journal_next(s->jr, &je) != 1)
        return 0;
    const struct cw_journald *c = ((struct jroute *)je.source_ud)->cfg;
    ev->group = c->log_group_name;
    ev->stream = c->log_stream_name;
    ev->klass = c->log_group_class;
    ev->retention = c->retention_in_days;
    ev->emf = 0;
    ev->timestamp_ms = je.timestamp_ms;
    ev->message = je.message;
    ev->len = je.len;
    ev->file_id = (KIND_JOURNAL << LOGS_SRC_KIND_SHIFT) | je.reader;
    ev->end = je.seq;
    return 1;
}

/* 1 when (group, stream) is a known EMF destination or there is room for it. */
static int emf_dest_ok(struct logs_sources *s, const char *group, const char *stream)
{
    uint64_t h = mix(mix(1469598103934665603ULL, group), stream) | 1;
    size_t i = (size_t)h & (EMF_SET_SIZE - 1);
    while (s->emf_set[i] && s->emf_set[i] != h)
        i = (i + 1) & (EMF_SET_SIZE - 1);
    if (s->emf_set[i])
        return 1;
    if (s->emf_dests >= EMF_MAX_DESTS) {
        if (s->dropped_dests++ % 1000 == 0)
            cw_warn("emf",
                    "EMF document for %s/%s not sent: already %d log streams from EMF "
                    "(%llu such documents so far)",
                    group, stream, EMF_MAX_DESTS, (unsigned long long)s->dropped_dests);
        return 0;
    }
    s->emf_set[i] = h;
    s->emf_dests++;
    return 1;
}

static int next_emf(struct logs_sources *s, struct logs_src_event *ev)
{
    struct lt_emf_event ee;
    do {
        if (!s->emf || lt_emf_next(s->emf, &ee) != 1)
            return 0;
    } while (!emf_dest_ok(s, ee.group, ee.stream));
    ev->group = ee.group;
    ev->stream = ee.stream;
    ev->klass = NULL;
    ev->retention = -1;
    ev->emf = 1;
    ev->timestamp_ms = ee.timestamp_ms;
    ev->message = ee.message;
    ev->len = ee.len;
    ev->file_id = KIND_EMF << LOGS_SRC_KIND_SHIFT;
    ev->end = 0;
    return 1;
}

int logs_sources_next(struct logs_sources *s, struct logs_src_event *ev)
{
    /* EMF first: its queue is what stops TCP clients; the journal can wait */
    return next_emf(s, ev) || next_journal(s, ev);
}

bool logs_sources_has_work(const struct logs_sources *s)
{
    return (s->jr && lt_journal_has_work(s->jr)) || (s->emf && lt_emf_has_work(s->emf));
}

void logs_sources_commit(struct logs_sources *s, uint64_t file_id, uint64_t end)
{
    if ((file_id >> LOGS_SRC_KIND_SHIFT) == KIND_JOURNAL && s->jr)
        lt_journal_commit(s->jr, (unsigned)(file_id & 0xffffffu), end);
}

void logs_sources_tick(struct logs_sources *s, int64_t now_ms)
{
    if (s->jr)
        lt_journal_tick(s->jr, now_ms);
}

void logs_sources_save(struct logs_sources *s)
{
    if (s && s->jr)
        lt_journal_save(s->jr);
}

void logs_sources_status(const struct logs_sources *s, json_t *obj)
{
    if (!s)
        return;
    if (s->jr) {
        struct lt_journal_stats st;
        lt_journal_stats(s->jr, &st);
        json_object_set_new(obj, "journald",
                            json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "readers", (int)st.readers,
                                      "readers_open", (int)st.readers_open, "entries_read",
                                      (json_int_t)st.entries, "filtered", (json_int_t)st.filtered,
                                      "truncated", (json_int_t)st.truncated, "skipped_vacuumed",
                                      (json_int_t)st.skipped_vacuumed, "uncommitted",
                                      (json_int_t)st.pending));
    }
    if (s->emf) {
        struct lt_emf_stats st;
        lt_emf_stats(s->emf, &st);
        json_object_set_new(
            obj, "emf",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I}", "received",
                      (json_int_t)st.received, "events", (json_int_t)st.events, "split",
                      (json_int_t)st.split, "dropped_no_group", (json_int_t)st.no_group,
                      "dropped_bad_name", (json_int_t)st.bad_name, "dropped_not_json",
                      (json_int_t)st.not_json, "dropped_too_long", (json_int_t)st.too_long,
                      "dropped_too_many_destinations", (json_int_t)s->dropped_dests, "invalid_emf",
                      (json_int_t)st.invalid, "clients", (int)st.clients, "queued_bytes",
                      (json_int_t)st.queued_bytes));
    }
}

void logs_sources_free(struct logs_sources *s)
{
    if (!s)
        return;
    cw_loop_watch_remove(s->loop, s->jwatch);
    cw_loop_watch_remove(s->loop, s->ewatch);
    lt_journal_free(s->jr);
    lt_emf_free(s->emf);
    free(s->routes);
    free(s->emf_set);
    free(s->journal_dir);
    free(s);
}
