/* net — /proc/net/dev, as telegraf's inputs.net followed by the reference's cumulativetodelta
 * processor: bytes_sent/recv, packets_sent/recv, err_in/out, drop_in/out are per-interval
 * deltas (first sample of an interface dropped; a counter going backwards is a reset and emits
 * nothing that round). Dimension `interface`.
 * Default interfaces: every interface that is up (IFF_UP in /sys/class/net/<if>/flags) and not
 * a loopback (IFF_LOOPBACK); when flags cannot be read, every interface but "lo". `resources`
 * (globs, "*" = all) replaces that choice. telegraf's protocol counters (interface "all") are
 * not in the reference's allow-list and are not collected. */
#include "collectors/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IFF_UP_BIT       0x1
#define IFF_LOOPBACK_BIT 0x8

static const struct coll_field fields[] = {
    {"bytes_sent", "net_bytes_sent", "Bytes"},
    {"bytes_recv", "net_bytes_recv", "Bytes"},
    {"packets_sent", "net_packets_sent", "Count"},
    {"packets_recv", "net_packets_recv", "Count"},
    {"err_in", "net_err_in", "Count"},
    {"err_out", "net_err_out", "Count"},
    {"drop_in", "net_drop_in", "Count"},
    {"drop_out", "net_drop_out", "Count"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct net_state {
    coll_mask mask;
    struct collectors_list ifaces;
    struct coll_series_set series;
};

static void net_destroy(void *st)
{
    struct net_state *s = st;
    coll_list_free(&s->ifaces);
    coll_series_free(&s->series);
    free(s);
}

static void *net_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct net_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "net", &o->plugin[COLL_NET].measurements, &s->mask, err,
                       errlen) != 0 ||
        coll_list_copy(&s->ifaces, &o->plugin[COLL_NET].resources) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        net_destroy(s);
        return NULL;
    }
    return s;
}

/* Reads /sys/class/net/<if>/flags; returns -1 when unavailable. */
static long iface_flags(struct coll_ctx *c, const char *ifname)
{
    char rel[128], buf[64];
    size_t len;
    snprintf(rel, sizeof rel, "/sys/class/net/%s/flags", ifname);
    const char *path = coll_path(c, rel);
    if (!path || coll_read_at(AT_FDCWD, path, buf, sizeof buf, &len) != 0)
        return -1;
    char *endp;
    long f = strtol(buf, &endp, 0);
    return endp == buf ? -1 : f;
}

static bool wanted(struct coll_ctx *c, const struct net_state *s, const char *ifname)
{
    if (s->ifaces.n)
        return coll_list_match(&s->ifaces, ifname);
    long f = iface_flags(c, ifname);
    if (f < 0)
        return strcmp(ifname, "lo") != 0;
    return (f & IFF_UP_BIT) && !(f & IFF_LOOPBACK_BIT);
}

static void emit_deltas(struct coll_ctx *c, const struct net_state *s, const struct coll_series *e,
                        const uint64_t cur[NFIELDS], const struct collectors_dim *d)
{
    uint64_t delta[NFIELDS];
    for (unsigned i = 0; i < NFIELDS; i++)
        if (!coll_delta(cur[i], e->v[i], &delta[i]))
            return;
    for (unsigned i = 0; i < NFIELDS; i++)
        coll_emit(c, fields, s->mask, i, (double)delta[i], d, 1);
}

static void net_line(struct coll_ctx *c, struct net_state *s, const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    uint64_t v[16];
    char name[COLL_SERIES_NAME];
    size_t nl = colon ? (size_t)(colon - p) : 0;
    if (nl == 0 || nl >= sizeof name)
        return;
    memcpy(name, p, nl);
    name[nl] = '\0';
    p = colon + 1;
    for (int i = 0; i < 16; i++)
        if (coll_u64(&p, end, &v[i]) != 0)
            return;
    if (!wanted(c, s, name))
        return;
    struct coll_series *e = coll_series_get(&s->series, name, nl);
    if (!e)
        return;
    /* rx: 0 bytes 1 packets 2 errs 3 drop ...; tx: 8 bytes 9 packets 10 errs 11 drop */
    uint64_t cur[NFIELDS] = {v[8], v[0], v[9], v[1], v[2], v[10], v[3], v[11]};
    struct collectors_dim d = {"interface", name};
    if (e->has_prev)
        emit_deltas(c, s, e, cur, &d);
    memcpy(e->v, cur, sizeof cur);
    e->has_prev = true;
}

static int net_gather(void *st, struct coll_ctx *c)
{
    struct net_state *s = st;
    size_t len;
    if (coll_read(c, "/proc/net/dev", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    /* iface_flags reuses c->path but not c->buf, so the lines stay valid. */
    const char *p = c->buf, *end = c->buf + len;
    p = coll_next_line(coll_next_line(p, end), end); /* two header lines */
    while (p < end) {
        const char *next = coll_next_line(p, end);
        net_line(c, s, p, next);
        p = next;
    }
    coll_series_sweep(&s->series);
    return 0;
}

const struct coll_impl coll_net_impl = {"net", net_create, net_gather, net_destroy};
