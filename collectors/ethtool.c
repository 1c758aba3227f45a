/* ethtool — driver statistics as telegraf's inputs.ethtool reads them for the reference agent:
 * for every interface of <root>/proc/net/dev that passes interface_include / interface_exclude
 * (shell globs) and answers ETHTOOL_GDRVINFO, each statistic the driver reports
 * (ETH_SS_STATS + ETHTOOL_GSTATS) that metrics_include selects (empty = all) is published as
 * `ethtool_<statistic>`, unit None, dimensions interface and driver, as the raw counter (the
 * reference sends ethtool values through its plain host pipeline, not the delta one). On EC2's
 * ENA driver these include bw_in_allowance_exceeded, bw_out_allowance_exceeded,
 * pps_allowance_exceeded, conntrack_allowance_exceeded and linklocal_allowance_exceeded.
 * Interfaces without ethtool support (lo) are skipped silently. */
#include "collectors/internal.h"
#include "common/log.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETHTOOL_MAX_STATS 8192 /* statistics per interface read at most */

struct ethtool_state {
    struct collectors_list include, exclude, metrics;
    collectors_ethtool_fn read;
    void *ud;
    int fd; /* socket for the default ioctl reader */
};

/* ---- the default reader: SIOCETHTOOL ---------------------------------------------------- */

static int ethtool_ioctl(int fd, const char *ifname, void *cmd)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    if (strlen(ifname) >= sizeof ifr.ifr_name) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    ifr.ifr_data = cmd;
    return ioctl(fd, SIOCETHTOOL, &ifr);
}

static int ioctl_read(void *ud, const char *ifname, char *driver, size_t driverlen,
                      collectors_ethtool_stat_fn stat, void *cb_ud)
{
    struct ethtool_state *s = ud;
    struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
    if (ethtool_ioctl(s->fd, ifname, &di) != 0)
        return -1;
    snprintf(driver, driverlen, "%.*s", (int)sizeof di.driver, di.driver);
    uint32_t n = di.n_stats < ETHTOOL_MAX_STATS ? di.n_stats : ETHTOOL_MAX_STATS;
    if (n == 0)
        return 0;
    struct ethtool_gstrings *gs = calloc(1, sizeof *gs + (size_t)n * ETH_GSTRING_LEN);
    struct ethtool_stats *st = calloc(1, sizeof *st + (size_t)n * sizeof(uint64_t));
    int rc = -1;
    if (!gs || !st)
        goto out;
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = n;
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = n;
    if (ethtool_ioctl(s->fd, ifname, gs) != 0 || ethtool_ioctl(s->fd, ifname, st) != 0)
        goto out;
    uint32_t got = gs->len < st->n_stats ? gs->len : st->n_stats;
    for (uint32_t i = 0; i < got && i < n; i++) {
        char name[ETH_GSTRING_LEN + 1];
        memcpy(name, gs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
        name[ETH_GSTRING_LEN] = '\0';
        stat(cb_ud, name, st->data[i]);
    }
    rc = 0;
out:
    free(gs);
    free(st);
    return rc;
}

/* ---- the collector ---------------------------------------------------------------------- */

static void ethtool_destroy(void *st)
{
    struct ethtool_state *s = st;
    if (!s)
        return;
    coll_list_free(&s->include);
    coll_list_free(&s->exclude);
    coll_list_free(&s->metrics);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static void *ethtool_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct ethtool_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = -1;
    if (coll_list_copy(&s->include, &o->ethtool_include) != 0 ||
        coll_list_copy(&s->exclude, &o->ethtool_exclude) != 0 ||
        coll_list_copy(&s->metrics, &o->ethtool_metrics) != 0) {
        snprintf(err, errlen, "out of memory");
        ethtool_destroy(s);
        return NULL;
    }
    s->read = o->ethtool_fn;
    s->ud = o->ethtool_ud;
    if (!s->read) {
        s->read = ioctl_read;
        s->ud = s;
        s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0) {
            snprintf(err, errlen, "ethtool: cannot open a socket: %s", strerror(errno));
            ethtool_destroy(s);
            return NULL;
        }
    }
    return s;
}

struct emit_ctx {
    struct coll_ctx *c;
    const struct ethtool_state *s;
    struct collectors_dim dims[2];
};

static void on_stat(void *ud, const char *name, uint64_t value)
{
    struct emit_ctx *e = ud;
    if (e->s->metrics.n > 0 && !coll_list_has(&e->s->metrics, name))
        return;
    char metric[ETH_GSTRING_LEN + 16];
    snprintf(metric, sizeof metric, "ethtool_%s", name);
    struct collectors_sample smp = {metric, "None", e->dims, 2, (double)value, e->c->now_ms};
    e->c->emit(e->c->ud, &smp);
    e->c->count++;
}

static bool wanted(const struct ethtool_state *s, const char *ifname)
{
    if (s->include.n > 0 && !coll_list_match(&s->include, ifname))
        return false;
    return !coll_list_match(&s->exclude, ifname);
}

static int ethtool_gather(void *st, struct coll_ctx *c)
{
    struct ethtool_state *s = st;
    size_t len;
    if (coll_read(c, "/proc/net/dev", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    /* the names first: the reader may reuse nothing of c->buf, but keep the loop simple */
    char names[256][IFNAMSIZ];
    size_t n = 0;
    const char *p = c->buf, *end = p + len;
    for (; p < end && n < 256; p = coll_next_line(p, end)) {
        const char *eol = coll_next_line(p, end), *colon = memchr(p, ':', (size_t)(eol - p));
        while (p < colon && *p == ' ')
            p++;
        if (!colon || colon == p || (size_t)(colon - p) >= IFNAMSIZ)
            continue;
        memcpy(names[n], p, (size_t)(colon - p));
        names[n][colon - p] = '\0';
        if (wanted(s, names[n]))
            n++;
    }
    for (size_t i = 0; i < n; i++) {
        char driver[64] = "";
        struct emit_ctx e = {c, s, {{"driver", driver}, {"interface", names[i]}}};
        if (s->read(s->ud, names[i], driver, sizeof driver, on_stat, &e) != 0)
            cw_debug("collectors", "ethtool: %s: %s; skipped", names[i], strerror(errno));
    }
    return 0;
}

const struct coll_impl coll_ethtool_impl = {"ethtool", ethtool_create, ethtool_gather,
                                            ethtool_destroy};
