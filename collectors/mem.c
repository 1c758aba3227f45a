/* mem — /proc/meminfo, as telegraf's inputs.mem over gopsutil's VirtualMemory:
 *   total = MemTotal, free = MemFree, available = MemAvailable, buffered = Buffers,
 *   cached = Cached + SReclaimable, active = Active, inactive = Inactive, shared = Shmem,
 *   used = total - free - buffered - cached      (gopsutil's definition, what the reference sends)
 *   used_percent = 100 * used / total, available_percent = 100 * available / total.
 * `free -b` (procps-ng >= 4.0.1) prints used = total - available instead; its "buff/cache"
 * column equals buffered + cached here, so mem_used = free's total - free - buff/cache.
 * Kernels without MemAvailable (< 3.14) get gopsutil's fallback: free + buffers + cached. */
#include "collectors/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct coll_field fields[] = {
    {"active", "mem_active", "Bytes"},
    {"available", "mem_available", "Bytes"},
    {"available_percent", "mem_available_percent", "Percent"},
    {"buffered", "mem_buffered", "Bytes"},
    {"cached", "mem_cached", "Bytes"},
    {"free", "mem_free", "Bytes"},
    {"inactive", "mem_inactive", "Bytes"},
    {"shared", "mem_shared", "Bytes"},
    {"total", "mem_total", "Bytes"},
    {"used", "mem_used", "Bytes"},
    {"used_percent", "mem_used_percent", "Percent"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct mem_state {
    coll_mask mask;
};

struct meminfo_key {
    const char *name; /* including the colon */
    size_t off;
};

#define MK(n, f)                                                                                   \
    {                                                                                              \
        n, offsetof(struct coll_meminfo, f)                                                        \
    }
static const struct meminfo_key keys[] = {
    MK("MemTotal:", total),       MK("MemFree:", free),       MK("MemAvailable:", available),
    MK("Buffers:", buffers),      MK("Cached:", cached),      MK("SReclaimable:", sreclaimable),
    MK("Active:", active),        MK("Inactive:", inactive),  MK("Shmem:", shmem),
    MK("SwapTotal:", swap_total), MK("SwapFree:", swap_free),
};

static void meminfo_line(const char *p, const char *end, struct coll_meminfo *m)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t kl = strlen(keys[i].name);
        if ((size_t)(end - p) <= kl || memcmp(p, keys[i].name, kl) != 0)
            continue;
        const char *q = p + kl;
        uint64_t v;
        if (coll_u64(&q, end, &v) != 0)
            return;
        if (q + 3 <= end && memcmp(q, " kB", 3) == 0)
            v *= 1024;
        memcpy((char *)m + keys[i].off, &v, sizeof v);
        if (i == 2)
            m->has_available = true;
        return;
    }
}

int coll_read_meminfo(struct coll_ctx *c, struct coll_meminfo *m)
{
    size_t len;
    memset(m, 0, sizeof *m);
    if (coll_read(c, "/proc/meminfo", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    const char *p = c->buf, *end = c->buf + len;
    while (p < end) {
        const char *next = coll_next_line(p, end);
        meminfo_line(p, next, m);
        p = next;
    }
    if (m->total == 0)
        return coll_fail(c, "%s has no MemTotal", c->path);
    return 0;
}

static void *mem_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct mem_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "mem", &o->plugin[COLL_MEM].measurements, &s->mask, err,
                       errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static int mem_gather(void *st, struct coll_ctx *c)
{
    struct mem_state *s = st;
    struct coll_meminfo m;
    if (coll_read_meminfo(c, &m) != 0)
        return -1;
    double total = (double)m.total;
    double cached = (double)m.cached + (double)m.sreclaimable;
    double avail =
        m.has_available ? (double)m.available : (double)m.free + (double)m.buffers + cached;
    double used = total - (double)m.free - (double)m.buffers - cached;
    double v[NFIELDS] = {(double)m.active,
                         avail,
                         100.0 * avail / total,
                         (double)m.buffers,
                         cached,
                         (double)m.free,
                         (double)m.inactive,
                         (double)m.shmem,
                         total,
                         used,
                         100.0 * used / total};
    for (unsigned i = 0; i < NFIELDS; i++)
        coll_emit(c, fields, s->mask, i, v[i], NULL, 0);
    return 0;
}

const struct coll_impl coll_mem_impl = {"mem", mem_create, mem_gather, free};
