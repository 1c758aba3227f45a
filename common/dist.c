#include "common/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_1_1 0.09531017980432486 /* ln(1.1): SEH1 bucket width */

void dist_init(struct dist *d)
{
    memset(d, 0, sizeof *d);
}

void dist_free(struct dist *d)
{
    free(d->e);
    dist_init(d);
}

void dist_reset(struct dist *d)
{
    d->n = 0;
    d->bucketed = 0;
}

double dist_bucket_value(double v)
{
    if (v == 0)
        return 0;
    double a = fabs(v);
    double b = floor(log(a) / LN_1_1);
    double mid = exp((b + 0.5) * LN_1_1);
    return v < 0 ? -mid : mid;
}

/* Index of the first entry whose value is >= v. */
static uint32_t lower_bound(const struct dist *d, double v)
{
    uint32_t lo = 0, hi = d->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->e[mid].value < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int grow(struct dist *d)
{
    if (d->n < d->cap)
        return 0;
    uint32_t cap = d->cap ? d->cap * 2 : 1; /* most series of a window hold one value */
    struct dist_entry *e = realloc(d->e, cap * sizeof *e);
    if (!e)
        return -1;
    d->e = e;
    d->cap = cap;
    return 0;
}

static void fold(struct dist_entry *into, const struct dist_entry *x)
{
    into->count += x->count;
    into->sum += x->sum;
    if (x->min < into->min)
        into->min = x->min;
    if (x->max > into->max)
        into->max = x->max;
}

/* Inserts x (its value already final) keeping the order; merges into an equal entry. */
static int put(struct dist *d, const struct dist_entry *x)
{
    uint32_t i = lower_bound(d, x->value);
    if (i < d->n && d->e[i].value == x->value) {
        fold(&d->e[i], x);
        return 0;
    }
    if (grow(d) != 0)
        return -1;
    memmove(&d->e[i + 1], &d->e[i], (d->n - i) * sizeof *d->e);
    d->e[i] = *x;
    d->n++;
    return 0;
}

/* Rebuilds the entries as buckets in place: bucket values are monotonic in the exact values,
 * so equal buckets are adjacent and the order is kept. */
static void to_buckets(struct dist *d)
{
    uint32_t w = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        struct dist_entry x = d->e[i];
        x.value = dist_bucket_value(x.value);
        if (w > 0 && d->e[w - 1].value == x.value)
            fold(&d->e[w - 1], &x);
        else
            d->e[w++] = x;
    }
    d->n = w;
    d->bucketed = 1;
}

static int put_entry(struct dist *d, struct dist_entry x)
{
    if (d->bucketed) {
        x.value = dist_bucket_value(x.value);
        return put(d, &x);
    }
    uint32_t i = lower_bound(d, x.value);
    int known = i < d->n && d->e[i].value == x.value;
    if (!known && d->n >= DIST_EXACT_MAX) {
        to_buckets(d);
        x.value = dist_bucket_value(x.value);
    }
    return put(d, &x);
}

int dist_add(struct dist *d, double v, double weight)
{
    if (!isfinite(v) || !isfinite(weight) || weight <= 0)
        return -1;
    struct dist_entry x = {v, weight, v * weight, v, v};
    return put_entry(d, x);
}

int dist_merge(struct dist *d, const struct dist *src)
{
    for (uint32_t i = 0; i < src->n; i++) {
        struct dist_entry x = src->e[i];
        if (src->bucketed && !d->bucketed)
            to_buckets(d);
        if (put_entry(d, x) != 0)
            return -1;
    }
    return 0;
}

void dist_stats(const struct dist *d, size_t from, size_t n, struct dist_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = from; i < from + n && i < d->n; i++) {
        const struct dist_entry *x = &d->e[i];
        if (i == from || x->min < out->min)
            out->min = x->min;
        if (i == from || x->max > out->max)
            out->max = x->max;
        out->count += x->count;
        out->sum += x->sum;
    }
}
