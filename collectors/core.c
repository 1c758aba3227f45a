/* core — the collector set: options, per-plugin state, the shared read buffer, the measurement
 * filter and the log-once rule for failing sources. */
#include "collectors/internal.h"
#include "collectors/proclist.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct coll_impl *const impls[COLL_PLUGIN_COUNT] = {
    &coll_cpu_impl,      &coll_mem_impl,    &coll_swap_impl,    &coll_disk_impl,
    &coll_diskio_impl,   &coll_net_impl,    &coll_netstat_impl, &coll_processes_impl,
    &coll_procstat_impl, &coll_system_impl, &coll_ethtool_impl, &coll_nvidia_impl,
    &coll_nvme_impl,
};

struct collectors {
    char *root;
    void *state[COLL_PLUGIN_COUNT];
    bool failing[COLL_PLUGIN_COUNT]; /* logged once until the source comes back */
    struct coll_ctx ctx;
};

const char *collectors_plugin_name(enum collectors_plugin p)
{
    return (unsigned)p < COLL_PLUGIN_COUNT ? impls[p]->name : "?";
}

int collectors_plugin_by_name(const char *name)
{
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++)
        if (strcmp(impls[i]->name, name) == 0)
            return i;
    return -1;
}

int collectors_list_add(struct collectors_list *l, const char *s)
{
    char *copy = strdup(s);
    char **items = copy ? realloc(l->items, (l->n + 1) * sizeof *items) : NULL;
    if (!items) {
        free(copy);
        return -1;
    }
    items[l->n++] = copy;
    l->items = items;
    return 0;
}

void coll_list_free(struct collectors_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int coll_list_copy(struct collectors_list *dst, const struct collectors_list *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++) {
        if (collectors_list_add(dst, src->items[i]) != 0) {
            coll_list_free(dst);
            return -1;
        }
    }
    return 0;
}

bool coll_list_match(const struct collectors_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (fnmatch(l->items[i], name, 0) == 0)
            return true;
    return false;
}

bool coll_list_has(const struct collectors_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

void collectors_opts_init(struct collectors_opts *o, bool all_plugins)
{
    memset(o, 0, sizeof *o);
    o->cpu_totalcpu = true;
    o->cpu_percpu = all_plugins;
    o->netfs_timeout_ms = 2000;
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++)
        o->plugin[i].enabled = all_plugins && i != COLL_NVIDIA_GPU && i != COLL_DISKIO_NVME;
}

struct collectors_procstat_opts *collectors_opts_add_procstat(struct collectors_opts *o,
                                                              enum collectors_procstat_key key,
                                                              const char *value)
{
    struct collectors_procstat_opts *p =
        realloc(o->procstat, (o->nprocstat + 1) * sizeof *o->procstat);
    if (!p)
        return NULL;
    o->procstat = p;
    p = &o->procstat[o->nprocstat];
    memset(p, 0, sizeof *p);
    p->key = key;
    p->value = strdup(value);
    if (!p->value)
        return NULL;
    o->nprocstat++;
    return p;
}

void collectors_opts_clear(struct collectors_opts *o)
{
    free(o->root);
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++) {
        coll_list_free(&o->plugin[i].measurements);
        coll_list_free(&o->plugin[i].resources);
    }
    coll_list_free(&o->disk_ignore_fs);
    coll_list_free(&o->ethtool_include);
    coll_list_free(&o->ethtool_exclude);
    coll_list_free(&o->ethtool_metrics);
    free(o->nvidia_bin_path);
    for (size_t i = 0; i < o->nprocstat; i++) {
        free(o->procstat[i].value);
        coll_list_free(&o->procstat[i].measurements);
    }
    free(o->procstat);
    memset(o, 0, sizeof *o);
}

/* Normalises the root: "/" and "" become "", a trailing slash is dropped. Caller frees. */
static char *root_dup(const char *root)
{
    if (!root)
        root = "";
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    return strndup(root, n);
}

struct collectors *collectors_new(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct collectors *set = calloc(1, sizeof *set);
    if (!set || !(set->root = root_dup(o->root))) {
        snprintf(err, errlen, "out of memory");
        free(set);
        return NULL;
    }
    set->ctx.root = set->root;
    if (!(set->ctx.proclist = proclist_new(PROCLIST_MAX_FDS))) {
        snprintf(err, errlen, "out of memory");
        collectors_free(set);
        return NULL;
    }
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++) {
        if (!o->plugin[i].enabled && !(i == COLL_PROCSTAT && o->nprocstat > 0))
            continue;
        set->state[i] = impls[i]->create(o, err, errlen);
        if (!set->state[i]) {
            collectors_free(set);
            return NULL;
        }
    }
    return set;
}

void collectors_free(struct collectors *set)
{
    if (!set)
        return;
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++)
        if (set->state[i])
            impls[i]->destroy(set->state[i]);
    free(set->ctx.buf);
    proclist_free(set->ctx.proclist);
    free(set->root);
    free(set);
}

/* Runs plugin i and applies the log-once rule to its result. */
static void gather_plugin(struct collectors *set, int i)
{
    struct coll_ctx *c = &set->ctx;
    c->err[0] = '\0';
    int rc = impls[i]->gather(set->state[i], c);
    if (rc != 0 && !set->failing[i])
        cw_warn("collectors", "%s: %s; skipping it until it comes back", impls[i]->name, c->err);
    else if (rc == 0 && set->failing[i])
        cw_info("collectors", "%s: source readable again", impls[i]->name);
    set->failing[i] = rc != 0;
}

static void round_start(struct coll_ctx *c, int64_t now_ms, collectors_emit_fn emit, void *ud)
{
    c->emit = emit;
    c->ud = ud;
    if (c->now_ms != now_ms)
        c->procs_valid = false;
    c->now_ms = now_ms;
    c->count = 0;
}

size_t collectors_gather(struct collectors *set, int64_t now_ms, collectors_emit_fn emit, void *ud)
{
    round_start(&set->ctx, now_ms, emit, ud);
    set->ctx.procs_valid = false; /* a full round always reads /proc afresh */
    for (int i = 0; i < COLL_PLUGIN_COUNT; i++)
        if (set->state[i])
            gather_plugin(set, i);
    return set->ctx.count;
}

size_t collectors_gather_one(struct collectors *set, enum collectors_plugin p, int64_t now_ms,
                             collectors_emit_fn emit, void *ud)
{
    if ((unsigned)p >= COLL_PLUGIN_COUNT || !set->state[p])
        return 0;
    round_start(&set->ctx, now_ms, emit, ud);
    gather_plugin(set, (int)p);
    return set->ctx.count;
}

int coll_fail(struct coll_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return -1;
}

const char *coll_path(struct coll_ctx *c, const char *rel)
{
    int n = snprintf(c->path, sizeof c->path, "%s%s", c->root, rel);
    if (n < 0 || (size_t)n >= sizeof c->path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return c->path;
}

/* Reads fd to EOF into c->buf, growing it (doubling) up to COLL_READ_MAX. */
static int read_all(struct coll_ctx *c, int fd, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n + 1 >= c->bufcap) {
            size_t cap = c->bufcap ? c->bufcap * 2 : 65536;
            if (cap > COLL_READ_MAX) {
                errno = EFBIG;
                return -1;
            }
            char *b = realloc(c->buf, cap);
            if (!b)
                return -1;
            c->buf = b;
            c->bufcap = cap;
        }
        ssize_t r = read(fd, c->buf + n, c->bufcap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    c->buf[n] = '\0';
    *len = n;
    return 0;
}

int coll_read(struct coll_ctx *c, const char *rel, size_t *len)
{
    const char *path = coll_path(c, rel);
    if (!path)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = read_all(c, fd, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int coll_read_at(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r < 0) {
                int saved = errno;
                close(fd);
                errno = saved;
                return -1;
            }
            break;
        }
        n += (size_t)r;
        if ((size_t)r < cap - 1 - (n - (size_t)r))
            break; /* short read: /proc files hand over their whole record in one read */
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* Matches a measurement name against a field, with or without the "<plugin>_" prefix. */
static bool field_matches(const char *plugin, const char *field, const char *name)
{
    if (strcmp(field, name) == 0)
        return true;
    size_t pl = strlen(plugin);
    return strncmp(name, plugin, pl) == 0 && name[pl] == '_' && strcmp(name + pl + 1, field) == 0;
}

int coll_mask_from(const struct coll_field *f, size_t n, const char *plugin,
                   const struct collectors_list *meas, coll_mask *out, char *err, size_t errlen)
{
    coll_mask m = 0;
    if (meas->n == 0) {
        for (size_t i = 0; i < n; i++)
            if (f[i].metric)
                m |= (coll_mask)1 << i;
        *out = m;
        return 0;
    }
    for (size_t j = 0; j < meas->n; j++) {
        size_t i = 0;
        while (i < n && !field_matches(plugin, f[i].field, meas->items[j]))
            i++;
        if (i == n) {
            snprintf(err, errlen, "%s: measurement name %s is invalid", plugin, meas->items[j]);
            return -1;
        }
        m |= (coll_mask)1 << i;
    }
    *out = m;
    return 0;
}

void coll_emit(struct coll_ctx *c, const struct coll_field *f, coll_mask mask, unsigned i, double v,
               const struct collectors_dim *dims, size_t ndims)
{
    if (!(mask & ((coll_mask)1 << i)) || !f[i].metric)
        return;
    struct collectors_sample s = {f[i].metric, f[i].unit, dims, ndims, v, c->now_ms};
    c->emit(c->ud, &s);
    c->count++;
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

int coll_u64(const char **pp, const char *end, uint64_t *out)
{
    const char *p = skip_blank(*pp, end);
    *pp = p;
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    *out = v;
    *pp = p;
    return 0;
}

int coll_i64(const char **pp, const char *end, int64_t *out)
{
    const char *p = skip_blank(*pp, end);
    bool neg = p < end && *p == '-';
    const char *q = neg ? p + 1 : p;
    uint64_t v;
    if (coll_u64(&q, end, &v) != 0)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    *pp = q;
    return 0;
}

const char *coll_next_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

const char *coll_skip_words(const char *p, const char *end, int n)
{
    for (int i = 0; i < n; i++) {
        p = skip_blank(p, end);
        while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
    }
    return p;
}

struct coll_series *coll_series_get(struct coll_series_set *set, const char *name, size_t len)
{
    if (len >= COLL_SERIES_NAME)
        return NULL;
    for (size_t i = 0; i < set->n; i++) {
        struct coll_series *e = &set->s[i];
        if (strncmp(e->name, name, len) == 0 && e->name[len] == '\0') {
            e->gen = set->gen;
            return e;
        }
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct coll_series *s = realloc(set->s, cap * sizeof *s);
        if (!s)
            return NULL;
        set->s = s;
        set->cap = cap;
    }
    struct coll_series *e = &set->s[set->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, len);
    e->gen = set->gen;
    return e;
}

void coll_series_sweep(struct coll_series_set *set)
{
    size_t j = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->s[i].gen == set->gen)
            set->s[j++] = set->s[i];
    set->n = j;
    set->gen++;
}

void coll_series_free(struct coll_series_set *set)
{
    free(set->s);
    memset(set, 0, sizeof *set);
}

int coll_procs(struct coll_ctx *c, const struct coll_proc **out, size_t *n)
{
    if (!c->procs_valid) {
        if (proclist_scan(c->proclist, c->root, &c->procs, &c->nprocs) != 0)
            return coll_fail(c, "cannot list %s/proc: %s", c->root, strerror(errno));
        c->procs_valid = true;
    }
    *out = c->procs;
    *n = c->nprocs;
    return 0;
}
