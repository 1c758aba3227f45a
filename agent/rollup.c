#include "agent/rollup.h"

#include "common/log.h"

#include <stdlib.h>
#include <string.h>

#define ROLLUP_MAX_MERGE 128 /* tags + append + ec2 + host considered per sample */
#define HOST_DIM         "host"

struct dimset {
    char **names; /* sorted, unique */
    size_t n;
};

struct rollup {
    char *host;      /* NULL when no host dimension is added */
    int remove_host; /* metrics-level append_dimensions: ec2tagger removes any `host` */
    struct datum_dim *append;
    size_t nappend;
    struct datum_dim *ec2;
    size_t nec2;
    struct dimset *sets;
    size_t nsets;
    char **drop;
    size_t ndrop;
    uint8_t storage_res;
};

/* ---- construction ---- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void free_dims(struct datum_dim *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++) {
        free((char *)d[i].name);
        free((char *)d[i].value);
    }
    free(d);
}

void rollup_free(struct rollup *r)
{
    if (!r)
        return;
    free(r->host);
    free_dims(r->append, r->nappend);
    free_dims(r->ec2, r->nec2);
    for (size_t i = 0; i < r->nsets; i++)
        free_strv(r->sets[i].names, r->sets[i].n);
    free(r->sets);
    free_strv(r->drop, r->ndrop);
    free(r);
}

static int copy_dims(const struct datum_dim *src, size_t n, struct datum_dim **out)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return -1;
    for (size_t i = 0; i < n; i++) {
        (*out)[i].name = strdup(src[i].name ? src[i].name : "");
        (*out)[i].value = strdup(src[i].value ? src[i].value : "");
        if (!(*out)[i].name || !(*out)[i].value)
            return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies a set with its names sorted and de-duplicated. */
static int copy_set(const struct rollup_dimset *in, struct dimset *out)
{
    out->names = calloc(in->n ? in->n : 1, sizeof(char *));
    out->n = 0;
    if (!out->names)
        return -1;
    for (size_t i = 0; i < in->n; i++)
        if (!(out->names[out->n++] = strdup(in->names[i])))
            return -1;
    qsort(out->names, out->n, sizeof(char *), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (w > 0 && strcmp(out->names[w - 1], out->names[i]) == 0)
            free(out->names[i]);
        else
            out->names[w++] = out->names[i];
    }
    out->n = w;
    return 0;
}

static int same_set(const struct dimset *a, const struct dimset *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) != 0)
            return 0;
    return 1;
}

static int build_sets(struct rollup *r, const struct rollup_opts *o)
{
    size_t n = o->nagg;
    if (n > ROLLUP_MAX_SETS) {
        cw_warn("rollup", "%zu aggregation_dimensions sets; only the first %d are used", n,
                ROLLUP_MAX_SETS);
        n = ROLLUP_MAX_SETS;
    }
    r->sets = calloc(n ? n : 1, sizeof *r->sets);
    if (!r->sets)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct dimset *s = &r->sets[r->nsets++];
        if (copy_set(&o->agg[i], s) != 0)
            return -1;
        for (size_t j = 0; j + 1 < r->nsets; j++) {
            if (same_set(&r->sets[j], s)) {
                free_strv(s->names, s->n);
                r->nsets--;
                break;
            }
        }
    }
    return 0;
}

static int build_drop(struct rollup *r, const struct rollup_opts *o)
{
    r->drop = calloc(o->ndrop ? o->ndrop : 1, sizeof(char *));
    if (!r->drop)
        return -1;
    for (size_t i = 0; i < o->ndrop; i++)
        if (!(r->drop[r->ndrop++] = strdup(o->drop_original[i])))
            return -1;
    return 0;
}

struct rollup *rollup_new(const struct rollup_opts *o)
{
    struct rollup *r = calloc(1, sizeof *r);
    if (!r)
        goto fail;
    r->storage_res = o->interval_s > 0 && o->interval_s < 60 ? 1 : 60;
    r->remove_host = o->global_append != 0;
    if (o->host && o->host[0] && !o->global_append && !(r->host = strdup(o->host)))
        goto fail;
    r->nappend = o->nappend;
    r->nec2 = o->nec2;
    if (copy_dims(o->append, o->nappend, &r->append) != 0 ||
        copy_dims(o->ec2, o->nec2, &r->ec2) != 0 || build_sets(r, o) != 0 || build_drop(r, o) != 0)
        goto fail;
    return r;
fail:
    cw_error("rollup", "out of memory");
    rollup_free(r);
    return NULL;
}

/* ---- per sample ---- */

struct merge {
    struct datum_dim d[ROLLUP_MAX_MERGE];
    size_t n;
};

static void merge_put(struct merge *m, const char *name, const char *value, int override)
{
    if (!name || !name[0] || !value)
        return;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->d[i].name, name) == 0) {
            if (override)
                m->d[i].value = value;
            return;
        }
    }
    if (m->n < ROLLUP_MAX_MERGE)
        m->d[m->n++] = (struct datum_dim){name, value};
}

/* host first, then byte order of names. */
static int dim_before(const struct datum_dim *a, const struct datum_dim *b)
{
    int ah = strcmp(a->name, HOST_DIM) == 0, bh = strcmp(b->name, HOST_DIM) == 0;
    if (ah != bh)
        return ah;
    return strcmp(a->name, b->name) < 0;
}

/* Removes empty values, sorts (insertion sort: n is small) and caps at DATUM_MAX_DIMS. */
static void merge_finish(struct merge *m)
{
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->d[i].value[0])
            m->d[w++] = m->d[i];
    m->n = w;
    for (size_t i = 1; i < m->n; i++) {
        struct datum_dim x = m->d[i];
        size_t j = i;
        while (j > 0 && dim_before(&x, &m->d[j - 1])) {
            m->d[j] = m->d[j - 1];
            j--;
        }
        m->d[j] = x;
    }
    if (m->n > DATUM_MAX_DIMS)
        m->n = DATUM_MAX_DIMS;
}

static void build_dims(const struct rollup *r, const struct rollup_sample *s, struct merge *m)
{
    m->n = 0;
    for (size_t i = 0; i < s->ndims; i++)
        merge_put(m, s->dims[i].name, s->dims[i].value, 0);
    if (r->host)
        merge_put(m, HOST_DIM, r->host, 0);
    for (size_t i = 0; i < r->nappend; i++)
        merge_put(m, r->append[i].name, r->append[i].value, 0);
    for (size_t i = 0; i < r->nec2; i++)
        merge_put(m, r->ec2[i].name, r->ec2[i].value, 1);
    if (r->remove_host) {
        size_t w = 0;
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->d[i].name, HOST_DIM) != 0)
                m->d[w++] = m->d[i];
        m->n = w;
    }
}

/* Copies the final dimensions into the arena. */
static struct datum_dim *intern_dims(struct datum_list *out, const struct merge *m)
{
    struct datum_dim *d = datum_list_alloc(out, (m->n ? m->n : 1) * sizeof *d);
    if (!d)
        return NULL;
    for (size_t i = 0; i < m->n; i++) {
        d[i].name = datum_list_strdup(out, m->d[i].name);
        d[i].value = datum_list_strdup(out, m->d[i].value);
        if (!d[i].name || !d[i].value)
            return NULL;
    }
    return d;
}

static int is_dropped(const struct rollup *r, const char *name)
{
    for (size_t i = 0; i < r->ndrop; i++)
        if (strcmp(r->drop[i], name) == 0)
            return 1;
    return 0;
}

static const struct datum_dim *find_dim(const struct datum_dim *d, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0)
            return &d[i];
    return NULL;
}

/* A set applies when it is strictly smaller than the datum's dimensions and contained in them. */
static int set_applies(const struct dimset *s, const struct datum_dim *d, size_t n)
{
    if (s->n >= n)
        return 0;
    for (size_t i = 0; i < s->n; i++)
        if (!find_dim(d, n, s->names[i]))
            return 0;
    return 1;
}

/* Roll-up dimensions in the set's (sorted) order, sharing the arena strings of `d`. */
static struct datum_dim *rollup_dims(struct datum_list *out, const struct dimset *s,
                                     const struct datum_dim *d, size_t n)
{
    struct datum_dim *rd = datum_list_alloc(out, (s->n ? s->n : 1) * sizeof *rd);
    for (size_t i = 0; rd && i < s->n; i++)
        rd[i] = *find_dim(d, n, s->names[i]);
    return rd;
}

static struct datum *add_datum(struct datum_list *out, const struct datum *tmpl,
                               const struct datum_dim *dims, size_t ndims)
{
    struct datum *d = datum_list_add(out);
    if (!d)
        return NULL;
    *d = *tmpl;
    d->dims = dims;
    d->ndims = (uint8_t)ndims;
    return d;
}

/* Copies a distribution's Values/Counts into the arena. */
static int copy_values(struct datum_list *out, const struct rollup_values *rv, struct datum *t)
{
    if (!rv)
        return 0;
    if (rv->nvalues == 0 || rv->nvalues > DATUM_MAX_VALUES)
        return -1;
    double *v = datum_list_alloc(out, rv->nvalues * sizeof *v);
    double *c = rv->counts ? datum_list_alloc(out, rv->nvalues * sizeof *c) : NULL;
    if (!v || (rv->counts && !c))
        return -1;
    memcpy(v, rv->values, rv->nvalues * sizeof *v);
    if (c)
        memcpy(c, rv->counts, rv->nvalues * sizeof *c);
    t->values = v;
    t->counts = c;
    t->nvalues = (uint16_t)rv->nvalues;
    if (rv->stats) {
        t->stats = *rv->stats;
        t->has_stats = 1;
    }
    return 0;
}

int rollup_apply(const struct rollup *r, const struct rollup_sample *s, struct datum_list *out)
{
    return rollup_apply_values(r, s, NULL, out);
}

int rollup_apply_values(const struct rollup *r, const struct rollup_sample *s,
                        const struct rollup_values *v, struct datum_list *out)
{
    size_t start = datum_list_len(out);
    struct merge m;
    build_dims(r, s, &m);
    merge_finish(&m);
    struct datum t = {0};
    t.name = datum_list_strdup(out, s->name);
    t.unit = s->unit ? datum_list_strdup(out, s->unit) : NULL;
    t.ts_ms = s->ts_ms;
    t.value = s->value;
    t.storage_res = r->storage_res;
    struct datum_dim *dims = intern_dims(out, &m);
    if (!t.name || (s->unit && !t.unit) || !dims || copy_values(out, v, &t) != 0)
        goto full;
    if (!is_dropped(r, s->name) && !add_datum(out, &t, dims, m.n))
        goto full;
    for (size_t i = 0; i < r->nsets; i++) {
        const struct dimset *set = &r->sets[i];
        if (!set_applies(set, dims, m.n))
            continue;
        struct datum_dim *rd = rollup_dims(out, set, dims, m.n);
        if (!rd || !add_datum(out, &t, rd, set->n))
            goto full;
    }
    return 0;
full:
    while (datum_list_len(out) > start)
        datum_list_pop(out);
    return -1;
}

/* ---- packing into Values/Counts ---- */

struct series {
    size_t first; /* index of the first datum */
    size_t last;  /* index of the latest datum, for the chain */
    size_t count;
    uint64_t hash;
};

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t series_hash(const struct datum *d)
{
    uint64_t h = fnv(14695981039346656037ULL, d->name);
    h = fnv(h, d->unit) ^ d->storage_res;
    for (size_t i = 0; i < d->ndims; i++)
        h = fnv(fnv(h, d->dims[i].name), d->dims[i].value);
    return h;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int same_series(const struct datum *a, const struct datum *b)
{
    if (a->ndims != b->ndims || a->storage_res != b->storage_res || !str_eq(a->name, b->name) ||
        !str_eq(a->unit, b->unit))
        return 0;
    for (size_t i = 0; i < a->ndims; i++)
        if (!str_eq(a->dims[i].name, b->dims[i].name) ||
            !str_eq(a->dims[i].value, b->dims[i].value))
            return 0;
    return 1;
}

struct packer {
    const struct datum *in;
    size_t n;
    size_t *next;       /* chain of datum indices per series; SIZE_MAX ends it */
    struct series *ser; /* in order of first appearance */
    size_t nser;
    size_t *table; /* open addressing over ser indices; SIZE_MAX = empty */
    size_t tmask;
};

static void packer_add(struct packer *p, size_t i)
{
    uint64_t h = series_hash(&p->in[i]);
    size_t slot = (size_t)h & p->tmask;
    p->next[i] = SIZE_MAX;
    if (p->in[i].nvalues > 0) { /* already a distribution: passes through on its own */
        p->ser[p->nser++] = (struct series){i, i, 1, h};
        return;
    }
    for (;; slot = (slot + 1) & p->tmask) {
        size_t s = p->table[slot];
        if (s == SIZE_MAX) {
            p->table[slot] = p->nser;
            p->ser[p->nser++] = (struct series){i, i, 1, h};
            return;
        }
        struct series *se = &p->ser[s];
        if (se->hash == h && same_series(&p->in[se->first], &p->in[i])) {
            p->next[se->last] = i;
            se->last = i;
            se->count++;
            return;
        }
    }
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Emits one Values/Counts datum for vals[0..n) (sorted) with at most DATUM_MAX_VALUES distinct
 * values; returns how many inputs it consumed, or 0 when `out` is full. */
static size_t emit_chunk(struct datum_list *out, const struct datum *tmpl, int64_t ts,
                         const double *vals, size_t n)
{
    double *v = datum_list_alloc(out, DATUM_MAX_VALUES * sizeof *v);
    double *c = datum_list_alloc(out, DATUM_MAX_VALUES * sizeof *c);
    struct datum *d = v && c ? datum_list_add(out) : NULL;
    if (!d)
        return 0;
    size_t used = 0, nd = 0;
    double sum = 0;
    while (used < n && (nd < DATUM_MAX_VALUES || vals[used] == v[nd - 1])) {
        if (nd == 0 || vals[used] != v[nd - 1]) {
            v[nd] = vals[used];
            c[nd++] = 0;
        }
        c[nd - 1] += 1;
        sum += vals[used++];
    }
    *d = *tmpl;
    d->ts_ms = ts;
    d->values = v;
    d->counts = c;
    d->nvalues = (uint16_t)nd;
    /* The stats are kept for callers but not sent. CloudWatch accepts StatisticValues beside
     * Values/Counts (the reference sends all three for statsd/collectd), but here Values/Counts
     * hold every sample exactly, so the statistic set would only add bytes to the body. */
    d->has_stats = 0;
    d->stats = (struct datum_stats){(double)used, sum, v[0], v[nd - 1]};
    return used;
}

static int pack_series(struct datum_list *out, const struct packer *p, const struct series *se,
                       double *vals)
{
    const struct datum *first = &p->in[se->first];
    if (se->count == 1 || first->nvalues > 0) {
        struct datum *d = datum_list_add(out);
        if (!d)
            return -1;
        *d = *first;
        return 0;
    }
    size_t n = 0;
    int64_t ts = first->ts_ms;
    for (size_t i = se->first; i != SIZE_MAX; i = p->next[i]) {
        vals[n++] = p->in[i].value;
        if (p->in[i].ts_ms < ts)
            ts = p->in[i].ts_ms;
    }
    qsort(vals, n, sizeof *vals, cmp_dbl);
    for (size_t done = 0; done < n;) {
        size_t k = emit_chunk(out, first, ts, vals + done, n - done);
        if (k == 0)
            return -1;
        done += k;
    }
    return 0;
}

int rollup_pack(const struct datum_list *in, struct datum_list *out)
{
    struct packer p = {.in = datum_list_items(in), .n = datum_list_len(in)};
    size_t tsize = 16;
    while (tsize < 2 * p.n)
        tsize *= 2;
    p.tmask = tsize - 1;
    p.next = malloc((p.n ? p.n : 1) * sizeof *p.next);
    p.ser = malloc((p.n ? p.n : 1) * sizeof *p.ser);
    p.table = malloc(tsize * sizeof *p.table);
    double *vals = malloc((p.n ? p.n : 1) * sizeof *vals);
    int rc = -1;
    if (!p.next || !p.ser || !p.table || !vals)
        goto out;
    memset(p.table, 0xff, tsize * sizeof *p.table);
    for (size_t i = 0; i < p.n; i++)
        packer_add(&p, i);
    for (size_t s = 0; s < p.nser; s++)
        if (pack_series(out, &p, &p.ser[s], vals) != 0)
            goto out;
    rc = 0;
out:
    free(p.next);
    free(p.ser);
    free(p.table);
    free(vals);
    return rc;
}
