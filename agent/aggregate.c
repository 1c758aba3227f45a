#include "agent/aggregate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/kmap.h"

#define AGG_KEY_MAX 65536 /* name + 30 dimensions of <= 1279 bytes each fit */

/* One allocation: the struct, then the dimension array, then the name and dimension strings. */
struct aseries {
    const char *name;
    struct datum_dim *dims;
    size_t ndims;
    int64_t ts_ms;
    struct dist dist;
};

struct agg {
    struct kmap *m;
    char *key;
    uint64_t dropped;
};

static void aseries_free(void *p)
{
    struct aseries *s = p;
    if (!s)
        return;
    dist_free(&s->dist);
    free(s);
}

struct agg *agg_new(size_t max_series)
{
    struct agg *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->m = kmap_new(max_series);
    a->key = malloc(AGG_KEY_MAX);
    if (!a->m || !a->key) {
        agg_free(a);
        return NULL;
    }
    return a;
}

void agg_free(struct agg *a)
{
    if (!a)
        return;
    if (a->m)
        kmap_free(a->m, aseries_free);
    free(a->key);
    free(a);
}

size_t agg_series(const struct agg *a)
{
    return kmap_len(a->m);
}

uint64_t agg_dropped(const struct agg *a)
{
    return a->dropped;
}

static int put_str(char **p, const char *end, const char *s)
{
    size_t n = strlen(s) + 1;
    if ((size_t)(end - *p) < n)
        return -1;
    memcpy(*p, s, n);
    *p += n;
    return 0;
}

static struct aseries *aseries_new(const char *name, const struct datum_dim *dims, size_t ndims,
                                   int64_t ts_ms)
{
    size_t bytes = strlen(name) + 1;
    for (size_t i = 0; i < ndims; i++)
        bytes += strlen(dims[i].name) + strlen(dims[i].value) + 2;
    size_t head = sizeof(struct aseries) + ndims * sizeof(struct datum_dim);
    struct aseries *s = malloc(head + bytes);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->dims = (struct datum_dim *)(s + 1);
    char *p = (char *)s + head, *end = p + bytes;
    s->name = p;
    (void)put_str(&p, end, name);
    for (size_t i = 0; i < ndims; i++) {
        s->dims[i].name = p;
        (void)put_str(&p, end, dims[i].name);
        s->dims[i].value = p;
        (void)put_str(&p, end, dims[i].value);
    }
    s->ndims = ndims;
    s->ts_ms = ts_ms;
    dist_init(&s->dist);
    return s;
}

static struct aseries *lookup(struct agg *a, const char *name, const struct datum_dim *dims,
                              size_t ndims, int64_t ts_ms)
{
    char *p = a->key, *end = a->key + AGG_KEY_MAX;
    if (put_str(&p, end, name) != 0)
        return NULL;
    for (size_t i = 0; i < ndims; i++)
        if (put_str(&p, end, dims[i].name) != 0 || put_str(&p, end, dims[i].value) != 0)
            return NULL;
    size_t klen = (size_t)(p - a->key);
    struct aseries *s = kmap_get(a->m, a->key, klen);
    if (s)
        return s;
    s = aseries_new(name, dims, ndims, ts_ms);
    if (s && kmap_put(a->m, a->key, klen, s) != 0) {
        aseries_free(s);
        s = NULL;
    }
    return s;
}

int agg_add(struct agg *a, const char *name, const struct datum_dim *dims, size_t ndims, double v,
            const struct dist *d, int64_t ts_ms)
{
    if (!d && !isfinite(v))
        return -1;
    struct aseries *s = lookup(a, name, dims, ndims, ts_ms);
    if (!s || (d ? dist_merge(&s->dist, d) : dist_add(&s->dist, v, 1.0)) != 0) {
        a->dropped++;
        return -1;
    }
    return 0;
}

size_t agg_emit_dist(const struct rollup_sample *s, const struct dist *d, agg_put_fn put, void *ud)
{
    double values[DATUM_MAX_VALUES], counts[DATUM_MAX_VALUES];
    size_t failed = 0;
    for (size_t from = 0; from < d->n; from += DATUM_MAX_VALUES) {
        size_t n = d->n - from < DATUM_MAX_VALUES ? d->n - from : DATUM_MAX_VALUES;
        for (size_t i = 0; i < n; i++) {
            values[i] = d->e[from + i].value;
            counts[i] = d->e[from + i].count;
        }
        struct dist_stats ds;
        dist_stats(d, from, n, &ds);
        struct datum_stats st = {ds.count, ds.sum, ds.min, ds.max};
        struct rollup_values rv = {values, counts, n, &st};
        if (put(ud, s, &rv) != 0)
            failed++;
    }
    return failed;
}

struct flush_ctx {
    agg_put_fn put;
    void *ud;
    size_t datums, failed;
};

static int flush_one(void *ud, const char *key, size_t klen, void *val)
{
    (void)key;
    (void)klen;
    struct flush_ctx *f = ud;
    struct aseries *s = val;
    struct rollup_sample rs = {s->name, NULL, s->dims, s->ndims, 0, s->ts_ms};
    f->failed += agg_emit_dist(&rs, &s->dist, f->put, f->ud);
    f->datums += (s->dist.n + DATUM_MAX_VALUES - 1) / DATUM_MAX_VALUES;
    aseries_free(s);
    return 1;
}

size_t agg_flush(struct agg *a, agg_put_fn put, void *ud, size_t *failed)
{
    struct flush_ctx f = {put, ud, 0, 0};
    kmap_each(a->m, flush_one, &f);
    if (failed)
        *failed = f.failed;
    return f.datums;
}
