#include "agent/series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

#define SERIES_MAX_DATUMS 1000000     /* one round of one plugin; a sanity cap */
#define SERIES_MAX_BYTES  (64u << 20) /* arena cap for one round */

struct series_set {
    char *ns;
    struct series_item *items;
    size_t n, cap;
};

struct entry {
    struct series_item it;
    size_t plugin_idx;
    char *key; /* name \x1f dim=value \x1f ... : identity for de-duplication */
};

static char *series_key(const struct datum *d)
{
    size_t len = strlen(d->name) + 2;
    for (size_t i = 0; i < d->ndims; i++)
        len += strlen(d->dims[i].name) + strlen(d->dims[i].value) + 3;
    char *k = malloc(len), *p = k;
    if (!k)
        return NULL;
    p += snprintf(p, len, "%s", d->name);
    for (size_t i = 0; i < d->ndims; i++)
        p += snprintf(p, len - (size_t)(p - k), "\x1f%s=%s", d->dims[i].name, d->dims[i].value);
    return k;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->plugin_idx != y->plugin_idx)
        return x->plugin_idx < y->plugin_idx ? -1 : 1;
    return strcmp(x->key, y->key);
}

static void free_item(struct series_item *it)
{
    for (size_t i = 0; i < it->ndims; i++) {
        free((char *)it->dims[i].name);
        free((char *)it->dims[i].value);
    }
    free((void *)it->dims);
    free((char *)it->name);
    free((char *)it->unit);
    free((char *)it->plugin);
}

void series_free(struct series_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free_item(&s->items[i]);
    free(s->items);
    free(s->ns);
    free(s);
}

static int copy_item(struct entry *e, const struct datum *d, const char *plugin, int interval)
{
    struct datum_dim *dims = calloc(d->ndims ? d->ndims : 1, sizeof *dims);
    e->it.dims = dims;
    e->it.name = strdup(d->name);
    e->it.unit = d->unit ? strdup(d->unit) : NULL;
    e->it.plugin = strdup(plugin);
    e->it.storage_res = d->storage_res;
    e->it.interval = interval;
    if (!dims || !e->it.name || (d->unit && !e->it.unit) || !e->it.plugin)
        return -1;
    for (size_t i = 0; i < d->ndims; i++) {
        dims[i].name = strdup(d->dims[i].name);
        dims[i].value = strdup(d->dims[i].value);
        e->it.ndims = i + 1;
        if (!dims[i].name || !dims[i].value)
            return -1;
    }
    return 0;
}

struct collect {
    struct entry *v;
    size_t n, cap;
};

static int add_round(struct collect *c, const struct datum_list *l, const char *plugin, size_t pidx,
                     int interval)
{
    const struct datum *d = datum_list_items(l);
    for (size_t i = 0, n = datum_list_len(l); i < n; i++) {
        if (c->n == c->cap) {
            size_t ncap = c->cap ? c->cap * 2 : 256;
            struct entry *nv = realloc(c->v, ncap * sizeof *nv);
            if (!nv)
                return -1;
            c->v = nv;
            c->cap = ncap;
        }
        struct entry *e = &c->v[c->n];
        memset(e, 0, sizeof *e);
        e->plugin_idx = pidx;
        e->key = series_key(&d[i]);
        c->n++;
        if (!e->key || copy_item(e, &d[i], plugin, interval) != 0)
            return -1;
    }
    return 0;
}

/* Keeps the first of equal keys (sorted), frees the others and the keys. */
static void dedupe(struct collect *c)
{
    if (c->n == 0)
        return;
    qsort(c->v, c->n, sizeof *c->v, cmp_entry);
    size_t w = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (w > 0 && c->v[w - 1].plugin_idx == c->v[i].plugin_idx &&
            strcmp(c->v[w - 1].key, c->v[i].key) == 0) {
            free_item(&c->v[i].it);
            free(c->v[i].key);
            continue;
        }
        if (w > 0)
            free(c->v[w - 1].key);
        c->v[w++] = c->v[i];
    }
    if (w > 0)
        free(c->v[w - 1].key);
    c->n = w;
}

/* A roll-up is smaller than another series of the same name and contained in it. */
static void mark_rollups(struct series_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct series_item *a = &s->items[i];
        for (size_t j = 0; j < s->n && !a->is_rollup; j++) {
            const struct series_item *b = &s->items[j];
            if (b->ndims <= a->ndims || strcmp(a->name, b->name) != 0)
                continue;
            size_t k = 0;
            while (k < a->ndims && series_dim(b, a->dims[k].name) &&
                   strcmp(series_dim(b, a->dims[k].name), a->dims[k].value) == 0)
                k++;
            a->is_rollup = k == a->ndims;
        }
    }
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int gather_rounds(struct mshape **shapes, size_t nshapes, int wait_ms, struct collect *c)
{
    struct datum_list *l = datum_list_new(SERIES_MAX_DATUMS, SERIES_MAX_BYTES);
    int rc = -1;
    if (!l)
        return -1;
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            pause_ms(wait_ms);
        for (size_t i = 0; i < nshapes; i++) {
            datum_list_clear(l);
            mshape_gather(shapes[i], cw_wall_ms(NULL), l, NULL, NULL, NULL);
            if (round == 1 &&
                add_round(c, l, mshape_plugin(shapes[i]), i, mshape_interval(shapes[i])) != 0)
                goto out;
        }
    }
    rc = 0;
out:
    datum_list_free(l);
    return rc;
}

int series_collect(const struct mshape_options *o, int wait_ms, struct series_set **out, char *err,
                   size_t errlen)
{
    struct mshape **shapes = NULL;
    size_t nshapes = 0;
    struct collect c = {0};
    struct series_set *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s || mshape_new_all(o, &shapes, &nshapes, err, errlen) != 0)
        goto fail;
    const char *ns = o->cfg->metrics.namespace;
    s->ns = strdup(ns ? ns : CW_DEFAULT_NAMESPACE);
    if (!s->ns || gather_rounds(shapes, nshapes, wait_ms, &c) != 0) {
        snprintf(err, errlen, "out of memory while collecting the series");
        goto fail;
    }
    dedupe(&c);
    s->items = calloc(c.n ? c.n : 1, sizeof *s->items);
    if (!s->items)
        goto fail;
    for (size_t i = 0; i < c.n; i++)
        s->items[s->n++] = c.v[i].it;
    c.n = 0;
    free(c.v);
    mark_rollups(s);
    mshape_free_all(shapes, nshapes);
    *out = s;
    return 0;
fail:
    for (size_t i = 0; i < c.n; i++) {
        free_item(&c.v[i].it);
        free(c.v[i].key);
    }
    free(c.v);
    mshape_free_all(shapes, nshapes);
    series_free(s);
    if (!err[0])
        snprintf(err, errlen, "out of memory");
    return -1;
}

size_t series_count(const struct series_set *s)
{
    return s->n;
}

const struct series_item *series_get(const struct series_set *s, size_t i)
{
    return i < s->n ? &s->items[i] : NULL;
}

const char *series_namespace(const struct series_set *s)
{
    return s->ns;
}

const char *series_dim(const struct series_item *it, const char *dim)
{
    for (size_t i = 0; i < it->ndims; i++)
        if (strcmp(it->dims[i].name, dim) == 0)
            return it->dims[i].value;
    return NULL;
}

const struct series_item *series_find(const struct series_set *s, const char *name,
                                      const char *const *names, size_t n)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct series_item *it = &s->items[i];
        if (it->ndims != n || strcmp(it->name, name) != 0)
            continue;
        size_t k = 0;
        while (k < n && series_dim(it, names[k]))
            k++;
        if (k == n)
            return it;
    }
    return NULL;
}

size_t series_by_name(const struct series_set *s, const char *name, const struct series_item **out,
                      size_t max)
{
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const struct series_item *it = &s->items[i];
            if (strcmp(it->name, name) != 0 || it->is_rollup != pass)
                continue;
            if (n < max)
                out[n] = it;
            n++;
        }
    return n;
}
