#include "agent/mshape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect_opts.h"
#include "agent/rollup.h"
#include "collectors/collectors.h"
#include "common/log.h"

#define MSHAPE_MAX_DROP 64 /* drop_original_metrics names per plugin */

struct name_map {
    char *sample; /* collector name: "cpu_usage_idle" */
    char *final;  /* CloudWatch name after rename */
    char *unit;   /* override, or NULL */
};

struct mshape {
    char label[32];
    int interval;
    struct collectors *set;
    struct rollup *rollup;
    struct name_map *map;
    size_t nmap;
};

struct gather_ctx {
    struct mshape *s;
    struct datum_list *out;
    mshape_full_fn full;
    void *ud;
    size_t shaped;
    uint64_t dropped;
};

/* The collector's name for a configured field ("cpu" + "usage_idle" -> "cpu_usage_idle"). */
static char *sample_name(const char *plugin, const char *field)
{
    char *s = NULL;
    if (strcmp(plugin, "procstat") == 0 && strcmp(field, "pid_count") == 0)
        return strdup("procstat_lookup_pid_count");
    if (strcmp(plugin, "nvidia_gpu") == 0) /* the reference's measurement is nvidia_smi */
        plugin = "nvidia_smi";
    return asprintf(&s, "%s_%s", plugin, field) < 0 ? NULL : s;
}

static int build_map(struct mshape *s, const char *plugin, const struct cw_metric_plugin *p)
{
    s->map = calloc(p->n_measurements ? p->n_measurements : 1, sizeof *s->map);
    if (!s->map)
        return -1;
    for (size_t i = 0; i < p->n_measurements; i++) {
        const struct cw_measurement *m = &p->measurements[i];
        struct name_map *nm = &s->map[s->nmap++];
        nm->sample = sample_name(plugin, m->field);
        nm->final = strdup(m->name);
        nm->unit = m->unit ? strdup(m->unit) : NULL;
        if (!nm->sample || !nm->final || (m->unit && !nm->unit))
            return -1;
    }
    return 0;
}

static int build_rollup(struct mshape *s, const struct mshape_options *o,
                        const struct cw_metric_plugin *p)
{
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    struct datum_dim app[DATUM_MAX_DIMS];
    size_t napp = 0;
    for (size_t i = 0; i < p->n_append_dimensions && napp < DATUM_MAX_DIMS; i++)
        app[napp++] =
            (struct datum_dim){p->append_dimensions[i].key, p->append_dimensions[i].value};
    struct rollup_dimset sets[ROLLUP_MAX_SETS];
    size_t nsets = 0;
    for (size_t i = 0; i < mc->n_aggregation_dimensions && nsets < ROLLUP_MAX_SETS; i++)
        sets[nsets++] = (struct rollup_dimset){(const char *const *)mc->aggregation_dimensions[i].v,
                                               mc->aggregation_dimensions[i].n};
    const char *drop[MSHAPE_MAX_DROP];
    size_t ndrop = 0;
    for (size_t i = 0; i < p->n_measurements && ndrop < MSHAPE_MAX_DROP; i++)
        if (p->measurements[i].drop_original)
            drop[ndrop++] = p->measurements[i].name;
    struct rollup_opts ro = {0};
    ro.host = o->host;
    ro.global_append = mc->global_dims != 0;
    ro.append = app;
    ro.nappend = napp;
    ro.ec2 = o->ec2;
    ro.nec2 = o->nec2;
    ro.agg = sets;
    ro.nagg = nsets;
    ro.drop_original = drop;
    ro.ndrop = ndrop;
    ro.interval_s = p->interval;
    s->rollup = rollup_new(&ro);
    return s->rollup ? 0 : -1;
}

void mshape_free(struct mshape *s)
{
    if (!s)
        return;
    collectors_free(s->set);
    rollup_free(s->rollup);
    for (size_t i = 0; i < s->nmap; i++) {
        free(s->map[i].sample);
        free(s->map[i].final);
        free(s->map[i].unit);
    }
    free(s->map);
    free(s);
}

struct mshape *mshape_new(const struct mshape_options *o, const char *name,
                          const struct cw_metric_plugin *p, const struct cw_procstat *pr, char *err,
                          size_t errlen)
{
    if (collectors_plugin_by_name(name) < 0) {
        snprintf(err, errlen, "metrics_collected.%s: no collector for this plugin", name);
        return NULL;
    }
    struct mshape *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(s->label, sizeof s->label, "%s", name);
    s->interval = p->interval > 0 ? p->interval : CW_DEFAULT_INTERVAL;
    struct collectors_opts co;
    collectors_opts_init(&co, false);
    co.root = o->root ? strdup(o->root) : NULL;
    int rc = (o->root && !co.root) ? -1 : collect_opts_add(&co, &o->cfg->metrics, name, p, pr);
    if (rc == 0)
        s->set = collectors_new(&co, err, errlen);
    collectors_opts_clear(&co);
    if (rc != 0 || !s->set || build_map(s, name, p) != 0 || build_rollup(s, o, p) != 0) {
        if (rc != 0 || s->set)
            snprintf(err, errlen, "metrics_collected.%s: cannot set up the collector", name);
        mshape_free(s);
        return NULL;
    }
    return s;
}

const char *mshape_plugin(const struct mshape *s)
{
    return s->label;
}

int mshape_interval(const struct mshape *s)
{
    return s->interval;
}

static const struct name_map *map_name(const struct mshape *s, const char *sample)
{
    for (size_t i = 0; i < s->nmap; i++)
        if (strcmp(s->map[i].sample, sample) == 0)
            return &s->map[i];
    return NULL;
}

static void on_sample(void *ud, const struct collectors_sample *cs)
{
    struct gather_ctx *g = ud;
    const struct name_map *m = map_name(g->s, cs->name);
    if (g->s->nmap && !m)
        return; /* a field the configuration did not ask for */
    struct datum_dim dims[COLLECTORS_MAX_DIMS];
    for (size_t i = 0; i < cs->ndims && i < COLLECTORS_MAX_DIMS; i++)
        dims[i] = (struct datum_dim){cs->dims[i].name, cs->dims[i].value};
    struct rollup_sample rs = {
        m ? m->final : cs->name, m && m->unit ? m->unit : cs->unit, dims, cs->ndims, cs->value,
        cs->timestamp_ms};
    g->shaped++;
    if (rollup_apply(g->s->rollup, &rs, g->out) == 0)
        return;
    if (g->full)
        g->full(g->ud); /* the list is full: the owner empties it */
    if (rollup_apply(g->s->rollup, &rs, g->out) != 0) {
        g->dropped++;
        cw_error("metrics", "datum %s does not fit an empty batch; dropped", rs.name);
    }
}

size_t mshape_gather(struct mshape *s, int64_t now_ms, struct datum_list *out, mshape_full_fn full,
                     void *ud, uint64_t *dropped)
{
    struct gather_ctx g = {s, out, full, ud, 0, 0};
    collectors_gather(s->set, now_ms, on_sample, &g);
    if (dropped)
        *dropped += g.dropped;
    return g.shaped;
}

void mshape_free_all(struct mshape **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        mshape_free(v[i]);
    free(v);
}

int mshape_new_all(const struct mshape_options *o, struct mshape ***out, size_t *n, char *err,
                   size_t errlen)
{
    const struct cw_metrics_config *mc = &o->cfg->metrics;
    struct mshape **v = calloc(CW_PLUGIN_COUNT + mc->n_procstat + 1, sizeof *v);
    size_t k = 0;
    *out = NULL;
    *n = 0;
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int id = 0; id < CW_PLUGIN_COUNT; id++) {
        const struct cw_metric_plugin *p = &mc->plugins[id];
        if (!p->enabled)
            continue;
        if (!(v[k] = mshape_new(o, cw_plugin_name((enum cw_plugin_id)id), p, NULL, err, errlen)))
            goto fail;
        k++;
    }
    for (size_t i = 0; i < mc->n_procstat; i++) {
        const struct cw_procstat *pr = &mc->procstat[i];
        if (!(v[k] = mshape_new(o, "procstat", &pr->common, pr, err, errlen)))
            goto fail;
        k++;
    }
    *out = v;
    *n = k;
    return 0;
fail:
    mshape_free_all(v, k);
    return -1;
}
