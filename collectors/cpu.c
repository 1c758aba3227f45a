/* cpu — /proc/stat, as telegraf's inputs.cpu: usage_* are percentages of the jiffies elapsed
 * since the previous round (the first round emits none); time_* are cumulative seconds
 * (jiffies / USER_HZ). "user" and "nice" in /proc/stat include guest and guest_nice, so the
 * total excludes guest time and usage_user/usage_nice subtract it. A cpu line that disappears
 * (hot-unplug) drops its history; one that appears starts a new series next round. */
#include "collectors/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_HZ 100.0 /* the /proc/stat tick, fixed by the kernel ABI for userspace */

enum {
    C_USER,
    C_NICE,
    C_SYSTEM,
    C_IDLE,
    C_IOWAIT,
    C_IRQ,
    C_SOFTIRQ,
    C_STEAL,
    C_GUEST,
    C_GNICE,
    C_N
};

/* Field table order: usage_<x> then time_<x>, each group: the C_* order followed by active. */
static const struct coll_field fields[] = {
    {"usage_user", "cpu_usage_user", "Percent"},
    {"usage_nice", "cpu_usage_nice", "Percent"},
    {"usage_system", "cpu_usage_system", "Percent"},
    {"usage_idle", "cpu_usage_idle", "Percent"},
    {"usage_iowait", "cpu_usage_iowait", "Percent"},
    {"usage_irq", "cpu_usage_irq", "Percent"},
    {"usage_softirq", "cpu_usage_softirq", "Percent"},
    {"usage_steal", "cpu_usage_steal", "Percent"},
    {"usage_guest", "cpu_usage_guest", "Percent"},
    {"usage_guest_nice", "cpu_usage_guest_nice", "Percent"},
    {"usage_active", "cpu_usage_active", "Percent"},
    {"time_user", "cpu_time_user", "None"},
    {"time_nice", "cpu_time_nice", "None"},
    {"time_system", "cpu_time_system", "None"},
    {"time_idle", "cpu_time_idle", "None"},
    {"time_iowait", "cpu_time_iowait", "None"},
    {"time_irq", "cpu_time_irq", "None"},
    {"time_softirq", "cpu_time_softirq", "None"},
    {"time_steal", "cpu_time_steal", "None"},
    {"time_guest", "cpu_time_guest", "None"},
    {"time_guest_nice", "cpu_time_guest_nice", "None"},
    {"time_active", "cpu_time_active", "None"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define F_USAGE 0
#define F_TIME  (C_N + 1)

struct cpu_times {
    uint64_t v[C_N];
    bool valid;
};

struct cpu_state {
    coll_mask mask;
    bool percpu, total;
    struct cpu_times prev_total;
    struct cpu_times *prev; /* indexed by cpu number */
    size_t nprev;
};

static void *cpu_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct cpu_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "cpu", &o->plugin[COLL_CPU].measurements, &s->mask, err,
                       errlen) != 0) {
        free(s);
        return NULL;
    }
    s->percpu = o->cpu_percpu;
    s->total = o->cpu_totalcpu;
    return s;
}

static void cpu_destroy(void *st)
{
    struct cpu_state *s = st;
    free(s->prev);
    free(s);
}

static uint64_t total_of(const struct cpu_times *t)
{
    return t->v[C_USER] + t->v[C_NICE] + t->v[C_SYSTEM] + t->v[C_IDLE] + t->v[C_IOWAIT] +
           t->v[C_IRQ] + t->v[C_SOFTIRQ] + t->v[C_STEAL];
}

static void emit_times(struct coll_ctx *c, const struct cpu_state *s, const struct cpu_times *t,
                       const struct collectors_dim *d)
{
    for (unsigned i = 0; i < C_N; i++)
        coll_emit(c, fields, s->mask, F_TIME + i, (double)t->v[i] / USER_HZ, d, 1);
    coll_emit(c, fields, s->mask, F_TIME + C_N, (double)(total_of(t) - t->v[C_IDLE]) / USER_HZ, d,
              1);
}

/* Differences of unsigned jiffies as signed doubles: a counter that went backwards (which the
 * kernel can do for iowait) yields a negative share, as in telegraf. */
static double dj(const struct cpu_times *t, const struct cpu_times *p, int i)
{
    return (double)t->v[i] - (double)p->v[i];
}

static void emit_usage(struct coll_ctx *c, const struct cpu_state *s, const struct cpu_times *t,
                       const struct cpu_times *p, const struct collectors_dim *d)
{
    double total = (double)total_of(t) - (double)total_of(p);
    if (total <= 0) /* no tick elapsed, or the counters went backwards (reset) */
        return;
    double u[C_N + 1];
    for (int i = 0; i < C_N; i++)
        u[i] = 100.0 * dj(t, p, i) / total;
    u[C_USER] = 100.0 * (dj(t, p, C_USER) - dj(t, p, C_GUEST)) / total;
    u[C_NICE] = 100.0 * (dj(t, p, C_NICE) - dj(t, p, C_GNICE)) / total;
    u[C_N] = 100.0 * (total - dj(t, p, C_IDLE)) / total;
    for (unsigned i = 0; i <= C_N; i++)
        coll_emit(c, fields, s->mask, F_USAGE + i, u[i], d, 1);
}

/* Parses one "cpuN a b c ..." line (missing trailing fields read as 0, as on old kernels). */
static void parse_times(const char *p, const char *end, struct cpu_times *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < C_N; i++)
        if (coll_u64(&p, end, &t->v[i]) != 0)
            break;
    t->valid = true;
}

static int grow_prev(struct cpu_state *s, size_t n)
{
    if (n <= s->nprev)
        return 0;
    struct cpu_times *p = realloc(s->prev, n * sizeof *p);
    if (!p)
        return -1;
    memset(p + s->nprev, 0, (n - s->nprev) * sizeof *p);
    s->prev = p;
    s->nprev = n;
    return 0;
}

/* Handles one line of /proc/stat that starts with "cpu". seen[] marks cpus present this round. */
static void cpu_line(struct coll_ctx *c, struct cpu_state *s, const char *p, const char *end,
                     bool *seen, size_t nseen)
{
    struct cpu_times t, *prev;
    char name[32];
    const char *q = p + 3;
    if (*q == ' ') {
        if (!s->total)
            return;
        prev = &s->prev_total;
        memcpy(name, "cpu-total", 10);
    } else {
        uint64_t n;
        if (!s->percpu || coll_u64(&q, end, &n) != 0 || n >= nseen || grow_prev(s, n + 1) != 0)
            return;
        prev = &s->prev[n];
        seen[n] = true;
        snprintf(name, sizeof name, "cpu%u", (unsigned)n);
    }
    parse_times(q, end, &t);
    struct collectors_dim d = {"cpu", name};
    emit_times(c, s, &t, &d);
    if (prev->valid)
        emit_usage(c, s, &t, prev, &d);
    *prev = t;
}

static int cpu_gather(void *st, struct coll_ctx *c)
{
    struct cpu_state *s = st;
    size_t len;
    if (coll_read(c, "/proc/stat", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    bool seen[4096] = {false};
    const char *p = c->buf, *end = c->buf + len;
    while (p < end && strncmp(p, "cpu", 3) == 0) {
        const char *next = coll_next_line(p, end);
        cpu_line(c, s, p, next, seen, sizeof seen / sizeof seen[0]);
        p = next;
    }
    for (size_t i = 0; i < s->nprev; i++) /* a cpu gone offline loses its history */
        if (!seen[i])
            s->prev[i].valid = false;
    return 0;
}

const struct coll_impl coll_cpu_impl = {"cpu", cpu_create, cpu_gather, cpu_destroy};
