/* swap — /proc/meminfo SwapTotal/SwapFree, as telegraf's inputs.swap over gopsutil's
 * SwapMemory: used = total - free, used_percent = 100 * used / total (0 without swap).
 * The allow-list has free, used and used_percent only (swap_total and swap_in/out are not
 * accepted by the reference). */
#include "collectors/internal.h"

#include <stdio.h>
#include <stdlib.h>

static const struct coll_field fields[] = {
    {"free", "swap_free", "Bytes"},
    {"used", "swap_used", "Bytes"},
    {"used_percent", "swap_used_percent", "Percent"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct swap_state {
    coll_mask mask;
};

static void *swap_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct swap_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "swap", &o->plugin[COLL_SWAP].measurements, &s->mask, err,
                       errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static int swap_gather(void *st, struct coll_ctx *c)
{
    struct swap_state *s = st;
    struct coll_meminfo m;
    if (coll_read_meminfo(c, &m) != 0)
        return -1;
    uint64_t used = m.swap_total >= m.swap_free ? m.swap_total - m.swap_free : 0;
    double pct = m.swap_total ? 100.0 * (double)used / (double)m.swap_total : 0.0;
    coll_emit(c, fields, s->mask, 0, (double)m.swap_free, NULL, 0);
    coll_emit(c, fields, s->mask, 1, (double)used, NULL, 0);
    coll_emit(c, fields, s->mask, 2, pct, NULL, 0);
    return 0;
}

const struct coll_impl coll_swap_impl = {"swap", swap_create, swap_gather, free};
