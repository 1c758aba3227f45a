#include "collectors/statsd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kmap.h"

#define STATSD_MAX_DATAGRAM       65536 /* UDP payload limit; the reference reads 64 KiB */
#define STATSD_MAX_SEGMENTS       64    /* '|'-separated fields per line */
#define STATSD_MAX_SAMPLES        16    /* `a:1|c:2|c` samples per line */
#define STATSD_DEFAULT_MAX_SERIES 100000
#define STATSD_EMPTY_TAG          "<empty>" /* the reference's value for a tag without one */

enum kind { K_COUNTER, K_GAUGE, K_SET, K_TIMING, K_HISTOGRAM, K_DIST, K_COUNT };

static const char *const kind_tag[K_COUNT] = {"counter", "gauge",     "set",
                                              "timing",  "histogram", "distribution"};

/* One allocation: the struct, then the tag array, then the name and tag strings. */
struct series {
    enum kind kind;
    const char *name;
    struct statsd_tag *tags; /* metric_type first */
    size_t ntags;
    double value;
    struct dist dist;
    uint64_t *set; /* open addressing over string hashes (0 = empty) */
    uint32_t set_len, set_cap;
};

struct statsd {
    char sep[256];
    size_t max_series;
    struct kmap *series;
    char *scratch; /* a datagram copy that parsing may cut up */
    char *key;     /* series key being built */
    struct statsd_stats st;
};

/* One sample of a line, before it is stored. */
struct sample {
    const char *value;
    const char *type;
    double rate;
};

struct line {
    char *bucket;
    struct sample s[STATSD_MAX_SAMPLES];
    size_t ns;
    struct statsd_tag tags[STATSD_MAX_TAGS + 1];
    size_t ntags;
};

/* ---- series ---- */

static void series_free(void *p)
{
    struct series *se = p;
    if (!se)
        return;
    dist_free(&se->dist);
    free(se->set);
    free(se);
}

static struct series *series_new(enum kind k, const char *name, const struct statsd_tag *tags,
                                 size_t ntags)
{
    size_t bytes = strlen(name) + 1;
    for (size_t i = 0; i < ntags; i++)
        bytes += strlen(tags[i].name) + strlen(tags[i].value) + 2;
    size_t head = sizeof(struct series) + (ntags + 1) * sizeof(struct statsd_tag);
    struct series *se = malloc(head + bytes);
    if (!se)
        return NULL;
    memset(se, 0, sizeof *se);
    se->kind = k;
    se->tags = (struct statsd_tag *)(se + 1);
    char *blob = (char *)se + head;
    size_t nl = strlen(name) + 1;
    memcpy(blob, name, nl);
    se->name = blob;
    blob += nl;
    se->tags[0] = (struct statsd_tag){"metric_type", kind_tag[k]};
    for (size_t i = 0; i < ntags; i++) {
        size_t kl = strlen(tags[i].name) + 1, vl = strlen(tags[i].value) + 1;
        memcpy(blob, tags[i].name, kl);
        memcpy(blob + kl, tags[i].value, vl);
        se->tags[i + 1] = (struct statsd_tag){blob, blob + kl};
        blob += kl + vl;
    }
    se->ntags = ntags + 1;
    dist_init(&se->dist);
    return se;
}

static int set_insert(struct series *se, uint64_t h)
{
    h = h ? h : 1;
    if ((se->set_len + 1) * 4 > se->set_cap * 3) {
        uint32_t cap = se->set_cap ? se->set_cap * 2 : 8;
        uint64_t *n = calloc(cap, sizeof *n);
        if (!n)
            return -1;
        for (uint32_t i = 0; i < se->set_cap; i++) {
            if (!se->set[i])
                continue;
            uint32_t j = (uint32_t)se->set[i] & (cap - 1);
            while (n[j])
                j = (j + 1) & (cap - 1);
            n[j] = se->set[i];
        }
        free(se->set);
        se->set = n;
        se->set_cap = cap;
    }
    uint32_t j = (uint32_t)h & (se->set_cap - 1);
    while (se->set[j] && se->set[j] != h)
        j = (j + 1) & (se->set_cap - 1);
    if (!se->set[j]) {
        se->set[j] = h;
        se->set_len++;
    }
    return 0;
}

/* ---- store ---- */

struct statsd *statsd_new(const struct statsd_opts *o)
{
    struct statsd *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->sep, sizeof s->sep, "%s", o && o->separator ? o->separator : "_");
    s->max_series = o && o->max_series ? o->max_series : STATSD_DEFAULT_MAX_SERIES;
    s->series = kmap_new(s->max_series);
    s->scratch = malloc(STATSD_MAX_DATAGRAM + 1);
    s->key = malloc(2 * STATSD_MAX_DATAGRAM + 64);
    if (!s->series || !s->scratch || !s->key) {
        statsd_free(s);
        return NULL;
    }
    return s;
}

void statsd_free(struct statsd *s)
{
    if (!s)
        return;
    if (s->series)
        kmap_free(s->series, series_free);
    free(s->scratch);
    free(s->key);
    free(s);
}

void statsd_get_stats(const struct statsd *s, struct statsd_stats *out)
{
    *out = s->st;
}

size_t statsd_series(const struct statsd *s)
{
    return kmap_len(s->series);
}

/* ---- parsing ---- */

static char *trim(char *p, char **end)
{
    while (p < *end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    while (*end > p && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
        (*end)--;
    **end = 0;
    return p;
}

static int parse_kind(const char *t, enum kind *k)
{
    static const struct {
        const char *name;
        enum kind k;
    } map[] = {{"c", K_COUNTER}, {"g", K_GAUGE},     {"s", K_SET},
               {"ms", K_TIMING}, {"h", K_HISTOGRAM}, {"d", K_DIST}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(t, map[i].name) == 0) {
            *k = map[i].k;
            return 0;
        }
    return -1;
}

static int is_type(const char *t)
{
    enum kind k;
    return parse_kind(t, &k) == 0;
}

static int add_tag(struct line *l, char *name, char *value, char *err, size_t errlen)
{
    if (!name[0])
        return 0;
    if (!value || !value[0])
        value = STATSD_EMPTY_TAG;
    for (size_t i = 0; i < l->ntags; i++)
        if (strcmp(l->tags[i].name, name) == 0) {
            l->tags[i].value = value; /* the later one wins */
            return 0;
        }
    if (l->ntags >= STATSD_MAX_TAGS) {
        snprintf(err, errlen, "more than %d tags", STATSD_MAX_TAGS);
        return -1;
    }
    l->tags[l->ntags++] = (struct statsd_tag){name, value};
    return 0;
}

/* DogStatsD "#k:v,k2:v2,k3". */
static int parse_dog_tags(struct line *l, char *p, char *err, size_t errlen)
{
    while (p) {
        char *next = strchr(p, ',');
        if (next)
            *next++ = 0;
        char *colon = strchr(p, ':');
        if (colon)
            *colon++ = 0;
        if (add_tag(l, p, colon, err, errlen) != 0)
            return -1;
        p = next;
    }
    return 0;
}

/* A segment after a complete sample: @rate, T<unix>, or a DogStatsD field `c:`/`e:`. */
static int parse_trailer(struct line *l, char *seg, char *err, size_t errlen)
{
    if (seg[0] == '@') {
        char *end;
        errno = 0;
        double r = strtod(seg + 1, &end);
        if (errno == 0 && end != seg + 1 && !*end && r > 0 && r <= 1)
            l->s[l->ns - 1].rate = r;
        /* else: a bad rate is ignored, as by the reference */
        return 0;
    }
    if (seg[0] == 'T' && seg[1] >= '0' && seg[1] <= '9')
        return 0;
    if ((seg[0] == 'c' || seg[0] == 'e') && seg[1] == ':')
        return 0;
    snprintf(err, errlen, "unexpected field \"%.40s\"", seg);
    return -1;
}

static int new_sample(struct line *l, char *value, char *err, size_t errlen)
{
    if (l->ns >= STATSD_MAX_SAMPLES) {
        snprintf(err, errlen, "more than %d samples in one line", STATSD_MAX_SAMPLES);
        return -1;
    }
    l->s[l->ns++] = (struct sample){value, NULL, 1.0};
    return 0;
}

/* Splits a trimmed line into bucket, samples and tags. */
static int parse_fields(struct line *l, char *p, char *err, size_t errlen)
{
    char *seg[STATSD_MAX_SEGMENTS];
    size_t nseg = 0;
    for (char *q = p; q; nseg++) {
        if (nseg == STATSD_MAX_SEGMENTS) {
            snprintf(err, errlen, "more than %d '|' fields", STATSD_MAX_SEGMENTS);
            return -1;
        }
        seg[nseg] = q;
        q = strchr(q, '|');
        if (q)
            *q++ = 0;
    }
    char *colon = strchr(seg[0], ':');
    if (!colon) {
        snprintf(err, errlen, "no ':' after the metric name");
        return -1;
    }
    *colon = 0;
    l->bucket = seg[0];
    if (new_sample(l, colon + 1, err, errlen) != 0)
        return -1;
    int pending = 1; /* the last sample has a value but no type yet */
    for (size_t i = 1; i < nseg; i++) {
        char *sg = seg[i];
        if (sg[0] == '#') {
            if (parse_dog_tags(l, sg + 1, err, errlen) != 0)
                return -1;
        } else if (pending) {
            char *c = strchr(sg, ':');
            if (c)
                *c = 0;
            if (!is_type(sg)) {
                snprintf(err, errlen, "metric type \"%.10s\" unsupported (g c s ms h d)", sg);
                return -1;
            }
            l->s[l->ns - 1].type = sg;
            pending = 0;
            if (c) {
                if (new_sample(l, c + 1, err, errlen) != 0)
                    return -1;
                pending = 1;
            }
        } else if (parse_trailer(l, sg, err, errlen) != 0) {
            return -1;
        }
    }
    if (pending) {
        snprintf(err, errlen, "no '|type' after the value");
        return -1;
    }
    return 0;
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const struct statsd_tag *)a)->name, ((const struct statsd_tag *)b)->name);
}

/* Influx-style `name,k=v,k2=v2`: bucket tags come first, DogStatsD tags override them. */
static int bucket_tags(struct line *l, char *err, size_t errlen)
{
    char *comma = strchr(l->bucket, ',');
    if (!comma)
        return 0;
    *comma = 0;
    struct statsd_tag dog[STATSD_MAX_TAGS];
    size_t ndog = l->ntags;
    memcpy(dog, l->tags, ndog * sizeof *dog);
    l->ntags = 0;
    for (char *p = comma + 1; p;) {
        char *next = strchr(p, ',');
        if (next)
            *next++ = 0;
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = 0;
            if (add_tag(l, p, eq + 1, err, errlen) != 0)
                return -1;
        }
        p = next;
    }
    for (size_t i = 0; i < ndog; i++)
        if (add_tag(l, (char *)dog[i].name, (char *)dog[i].value, err, errlen) != 0)
            return -1;
    return 0;
}

/* ---- storing ---- */

static int append(char **p, const char *end, const char *s)
{
    size_t n = strlen(s) + 1;
    if ((size_t)(end - *p) < n)
        return -1;
    memcpy(*p, s, n);
    *p += n;
    return 0;
}

/* The metric name: '.' -> separator, into key space after the key itself. */
static int metric_name(const struct statsd *s, const char *bucket, char *out, size_t outlen)
{
    size_t o = 0, sl = strlen(s->sep);
    for (const char *b = bucket; *b; b++) {
        const char *piece = *b == '.' ? s->sep : b;
        size_t n = *b == '.' ? sl : 1;
        if (o + n + 1 > outlen)
            return -1;
        memcpy(out + o, piece, n);
        o += n;
    }
    out[o] = 0;
    return 0;
}

static struct series *lookup(struct statsd *s, enum kind k, const char *name, const struct line *l)
{
    char *p = s->key, *end = s->key + 2 * STATSD_MAX_DATAGRAM + 64;
    *p++ = (char)('0' + k);
    if (append(&p, end, name) != 0)
        return NULL;
    for (size_t i = 0; i < l->ntags; i++)
        if (append(&p, end, l->tags[i].name) != 0 || append(&p, end, l->tags[i].value) != 0)
            return NULL;
    size_t klen = (size_t)(p - s->key);
    struct series *se = kmap_get(s->series, s->key, klen);
    if (se)
        return se;
    se = series_new(k, name, l->tags, l->ntags);
    if (!se)
        return NULL;
    if (kmap_put(s->series, s->key, klen, se) != 0) {
        series_free(se);
        s->st.series_dropped++;
        return NULL;
    }
    return se;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Counter values: int64, else a float truncated to int64 (as the reference). */
static int parse_counter(const char *v, double *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (end != v && !*end && errno == 0) {
        *out = (double)n;
        return 0;
    }
    double d;
    if (parse_double(v, &d) != 0 || fabs(d) >= 9.2e18)
        return -1;
    *out = (double)(long long)d;
    return 0;
}

static int store(struct statsd *s, const struct line *l, const char *name, const struct sample *sm,
                 char *err, size_t errlen)
{
    enum kind k = K_COUNTER;
    (void)parse_kind(sm->type, &k);
    double v = 0;
    int ok = 0;
    if (k == K_SET)
        ok = sm->value[0] ? 0 : -1;
    else if (k == K_COUNTER)
        ok = parse_counter(sm->value, &v);
    else
        ok = parse_double(sm->value, &v);
    if (ok != 0 || ((k == K_TIMING || k == K_HISTOGRAM || k == K_DIST) && v < 0)) {
        snprintf(err, errlen, "bad %s value \"%.40s\"", kind_tag[k], sm->value);
        return -1;
    }
    struct series *se = lookup(s, k, name, l);
    if (!se) {
        snprintf(err, errlen, "series limit (%zu) reached or out of memory", s->max_series);
        return -1;
    }
    switch (k) {
    case K_COUNTER:
        se->value += (double)(long long)(v / sm->rate);
        break;
    case K_GAUGE:
        se->value = (sm->value[0] == '+' || sm->value[0] == '-') ? se->value + v : v;
        break;
    case K_SET:
        if (set_insert(se, kmap_hash(sm->value, strlen(sm->value))) != 0)
            return -1;
        se->value = se->set_len;
        break;
    default:
        if (dist_add(&se->dist, v, 1.0 / sm->rate) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    s->st.samples++;
    return 0;
}

static int parse_line(struct statsd *s, char *p, char *err, size_t errlen)
{
    struct line l;
    l.ns = l.ntags = 0;
    if (parse_fields(&l, p, err, errlen) != 0 || bucket_tags(&l, err, errlen) != 0)
        return -1;
    qsort(l.tags, l.ntags, sizeof *l.tags, cmp_tag);
    for (size_t i = 0; i < l.ntags; i++)
        if (strcmp(l.tags[i].name, "metric_type") == 0) { /* set by us, as the reference */
            memmove(&l.tags[i], &l.tags[i + 1], (l.ntags - i - 1) * sizeof *l.tags);
            l.ntags--;
            break;
        }
    char name[1024];
    if (!l.bucket[0] || metric_name(s, l.bucket, name, sizeof name) != 0) {
        snprintf(err, errlen, "%s metric name", l.bucket[0] ? "too long a" : "empty");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < l.ns; i++) /* each sample on its own: one bad value keeps the rest */
        if (store(s, &l, name, &l.s[i], err, errlen) != 0)
            rc = -1;
    return rc;
}

size_t statsd_feed(struct statsd *s, const char *buf, size_t len, char *err, size_t errlen)
{
    char dummy[8];
    char e[256];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (len > STATSD_MAX_DATAGRAM)
        len = STATSD_MAX_DATAGRAM;
    memcpy(s->scratch, buf, len);
    s->scratch[len] = 0;
    s->st.datagrams++;
    size_t bad = 0;
    char *p = s->scratch, *end = s->scratch + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *next = nl ? nl + 1 : end;
        char *line = trim(p, &le);
        p = next;
        if (line == le)
            continue;
        s->st.lines++;
        e[0] = 0;
        if (memchr(line, 0, (size_t)(le - line)) || parse_line(s, line, e, sizeof e) != 0) {
            if (!e[0])
                snprintf(e, sizeof e, "NUL byte in the line");
            if (!bad++)
                snprintf(err, errlen, "%s", e);
            s->st.bad_lines++;
        }
    }
    return bad;
}

struct gather_ctx {
    statsd_emit_fn emit;
    void *ud;
    size_t n;
};

static int gather_one(void *ud, const char *key, size_t klen, void *val)
{
    (void)key;
    (void)klen;
    struct gather_ctx *g = ud;
    struct series *se = val;
    struct statsd_sample smp = {se->name, se->tags, se->ntags, se->value, NULL};
    if (se->kind >= K_TIMING)
        smp.dist = &se->dist;
    if (!smp.dist || se->dist.n > 0) {
        g->emit(g->ud, &smp);
        g->n++;
    }
    series_free(se);
    return 1;
}

size_t statsd_gather(struct statsd *s, statsd_emit_fn emit, void *ud)
{
    struct gather_ctx g = {emit, ud, 0};
    kmap_each(s->series, gather_one, &g);
    return g.n;
}
