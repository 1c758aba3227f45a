/* test_ethtool — the ethtool collector through its seam: interfaces come from the fixture's
 * /proc/net/dev (lo, eth0); the fake reader answers eth0 with ENA driver statistics from
 * tests/fixtures/ethtool/ena-eth0.txt (`ethtool -S` layout) and refuses lo (EOPNOTSUPP), as
 * the kernel does. The real SIOCETHTOOL path is tested on a veth pair in a network namespace
 * (tests/e2e/test_ethtool.py). */
#include "collectors/collectors.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct got {
    char line[128][96];
    size_t n;
};

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct got *g = ud;
    if (g->n >= 128 || s->ndims != 2)
        return;
    snprintf(g->line[g->n++], sizeof g->line[0], "%s %s %s=%s,%s=%s %.0f", s->name, s->unit,
             s->dims[0].name, s->dims[0].value, s->dims[1].name, s->dims[1].value, s->value);
}

static int has(const struct got *g, const char *line)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->line[i], line) == 0)
            return 1;
    return 0;
}

/* Replays ena-eth0.txt for eth0; every other interface has no ethtool support. */
static int fake_read(void *ud, const char *ifname, char *driver, size_t driverlen,
                     collectors_ethtool_stat_fn stat, void *cb_ud)
{
    const char *text = ud;
    if (strcmp(ifname, "eth0") != 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    const char *d = strstr(text, "driver: ");
    snprintf(driver, driverlen, "%.*s", d ? (int)strcspn(d + 8, "\n") : 0, d ? d + 8 : "");
    for (const char *p = strstr(text, "NIC statistics:\n"); p && *p; p = strchr(p, '\n')) {
        p++;
        char name[64];
        unsigned long long v;
        if (sscanf(p, " %63[^:]: %llu", name, &v) == 2)
            stat(cb_ud, name, v);
    }
    return 0;
}

static size_t run(const char *const *include, const char *const *exclude,
                  const char *const *metrics, struct got *g)
{
    char *fx = t_repo_path("tests/fixtures/ethtool/ena-eth0.txt");
    char *text = t_read_file(fx, NULL);
    free(fx);
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.root = t_repo_path("tests/fixtures/node");
    o.plugin[COLL_ETHTOOL].enabled = true;
    o.ethtool_fn = fake_read;
    o.ethtool_ud = text;
    for (size_t i = 0; include && include[i]; i++)
        collectors_list_add(&o.ethtool_include, include[i]);
    for (size_t i = 0; exclude && exclude[i]; i++)
        collectors_list_add(&o.ethtool_exclude, exclude[i]);
    for (size_t i = 0; metrics && metrics[i]; i++)
        collectors_list_add(&o.ethtool_metrics, metrics[i]);
    char err[256];
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    size_t n = set ? collectors_gather(set, 1000, on_sample, g) : 0;
    collectors_free(set);
    free(text);
    return n;
}

TEST(every_statistic_of_the_ena_interface)
{
    struct got g = {0};
    T_EQ_INT(run(NULL, NULL, NULL, &g), 32);
    T_CHECK(has(&g, "ethtool_bw_in_allowance_exceeded None driver=ena,interface=eth0 1203"));
    T_CHECK(has(&g, "ethtool_queue_0_rx_bytes None driver=ena,interface=eth0 9912034551"));
}

TEST(metrics_include_selects_the_allowance_counters)
{
    static const char *const m[] = {"bw_in_allowance_exceeded",     "bw_out_allowance_exceeded",
                                    "pps_allowance_exceeded",       "conntrack_allowance_exceeded",
                                    "linklocal_allowance_exceeded", NULL};
    struct got g = {0};
    T_EQ_INT(run(NULL, NULL, m, &g), 5);
    T_CHECK(has(&g, "ethtool_bw_out_allowance_exceeded None driver=ena,interface=eth0 87"));
    T_CHECK(has(&g, "ethtool_pps_allowance_exceeded None driver=ena,interface=eth0 42"));
    T_CHECK(has(&g, "ethtool_conntrack_allowance_exceeded None driver=ena,interface=eth0 7"));
    T_CHECK(has(&g, "ethtool_linklocal_allowance_exceeded None driver=ena,interface=eth0 3"));
}

TEST(interface_filters)
{
    static const char *const eth[] = {"eth*", NULL}, *const lo[] = {"lo", NULL};
    struct got g = {0};
    T_EQ_INT(run(NULL, eth, NULL, &g), 0); /* excluded */
    T_EQ_INT(run(lo, NULL, NULL, &g), 0);  /* lo has no ethtool support */
    T_EQ_INT(run(eth, lo, NULL, &g), 32);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(every_statistic_of_the_ena_interface),
        T_CASE(metrics_include_selects_the_allowance_counters),
        T_CASE(interface_filters),
    };
    return t_run("test_ethtool", cases, sizeof cases / sizeof cases[0], argc, argv);
}
