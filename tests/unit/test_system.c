/* test_system — the system collector (collectors/system.c) on a root built in a temp dir:
 * /proc/loadavg, /proc/stat with three cpuN lines, /proc/uptime and a utmp file holding two
 * USER_PROCESS records among others. Expected values are the literals written. */
#include "collectors/collectors.h"
#include "tests/unit/t.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utmp.h>

struct got {
    char name[64][32];
    char unit[64][16];
    double v[64];
    size_t n;
};

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct got *g = ud;
    if (g->n >= 64)
        return;
    snprintf(g->name[g->n], sizeof g->name[0], "%s", s->name);
    snprintf(g->unit[g->n], sizeof g->unit[0], "%s", s->unit);
    g->v[g->n++] = s->value;
}

static double value(const struct got *g, const char *name, const char *unit)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->name[i], name) == 0)
            return strcmp(g->unit[i], unit) == 0 ? g->v[i] : -2;
    return -1;
}

static void put(const char *root, const char *rel, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", root, rel);
    FILE *f = fopen(path, "w");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
    }
}

static void make_root(char *root, int with_utmp)
{
    char d[512];
    snprintf(d, sizeof d, "%s/proc", root);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/var", root);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/var/run", root);
    mkdir(d, 0755);
    const char *load = "0.25 1.50 3.75 1/200 999\n";
    const char *stat = "cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu1 1 1 1 1\ncpu7 1 1 1 1\nctxt 5\n";
    const char *up = "12345.67 20000.00\n";
    put(root, "/proc/loadavg", load, strlen(load));
    put(root, "/proc/stat", stat, strlen(stat));
    put(root, "/proc/uptime", up, strlen(up));
    if (!with_utmp)
        return;
    struct utmp u[4];
    memset(u, 0, sizeof u);
    u[0].ut_type = BOOT_TIME;
    u[1].ut_type = USER_PROCESS;
    u[2].ut_type = LOGIN_PROCESS;
    u[3].ut_type = USER_PROCESS;
    put(root, "/var/run/utmp", u, sizeof u);
}

static void rm_root(const char *root)
{
    static const char *const rel[] = {
        "/proc/loadavg", "/proc/stat", "/proc/uptime", "/var/run/utmp",
        "/var/run",      "/var",       "/proc",        ""};
    char p[512];
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(p, sizeof p, "%s%s", root, rel[i]);
        remove(p);
    }
}

static size_t gather(const char *root, struct got *g)
{
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.root = strdup(root);
    o.plugin[COLL_SYSTEM].enabled = true;
    char err[256];
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    if (!set)
        return 0;
    size_t n = collectors_gather(set, 1000, on_sample, g);
    collectors_free(set);
    return n;
}

TEST(values_from_the_root)
{
    char root[] = "/tmp/cwt_system_XXXXXX";
    T_ASSERT(mkdtemp(root) != NULL);
    make_root(root, 1);
    struct got g = {0};
    T_EQ_INT(gather(root, &g), 6);
    T_EQ_DBL(value(&g, "system_load1", "None"), 0.25, 1e-9);
    T_EQ_DBL(value(&g, "system_load5", "None"), 1.5, 1e-9);
    T_EQ_DBL(value(&g, "system_load15", "None"), 3.75, 1e-9);
    T_EQ_DBL(value(&g, "system_n_cpus", "Count"), 3, 0);
    T_EQ_DBL(value(&g, "system_n_users", "Count"), 2, 0);
    T_EQ_DBL(value(&g, "system_uptime", "Seconds"), 12345, 0);
    rm_root(root);
}

TEST(no_utmp_means_no_users)
{
    char root[] = "/tmp/cwt_system_XXXXXX";
    T_ASSERT(mkdtemp(root) != NULL);
    make_root(root, 0);
    struct got g = {0};
    T_EQ_INT(gather(root, &g), 6);
    T_EQ_DBL(value(&g, "system_n_users", "Count"), 0, 0);
    rm_root(root);
}

TEST(missing_proc_emits_nothing)
{
    struct got g = {0};
    T_EQ_INT(gather("/nonexistent/cwagent-system", &g), 0);
}

TEST(measurement_filter_and_bad_name)
{
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.plugin[COLL_SYSTEM].enabled = true;
    T_ASSERT(collectors_list_add(&o.plugin[COLL_SYSTEM].measurements, "system_bogus") == 0);
    char err[256] = "";
    struct collectors *set = collectors_new(&o, err, sizeof err);
    T_CHECK(set == NULL);
    T_CHECK(strstr(err, "system_bogus") != NULL);
    collectors_opts_clear(&o);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(values_from_the_root),
        T_CASE(no_utmp_means_no_users),
        T_CASE(missing_proc_emits_nothing),
        T_CASE(measurement_filter_and_bad_name),
    };
    return t_run("test_system", cases, sizeof cases / sizeof cases[0], argc, argv);
}
