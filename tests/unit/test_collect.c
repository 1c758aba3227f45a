/* test_collect — the collectors against fixture trees captured from a real kernel and edited for
 * the second and third rounds (tests/fixtures/collect/{a,b,c}: proc/, sys/, run/). The set's
 * root is a symlink in a temp dir that is re-pointed between rounds, exactly as /proc changes
 * under a running agent. Expected values are literals computed by hand from the fixtures. */
#include "collectors/collectors.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXS 2048

struct rec {
    char name[64], dims[160], unit[16];
    double value;
    int64_t ts;
};

struct recs {
    struct rec r[MAXS];
    size_t n;
};

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct recs *rs = ud;
    if (rs->n >= MAXS)
        return;
    struct rec *r = &rs->r[rs->n++];
    snprintf(r->name, sizeof r->name, "%s", s->name);
    snprintf(r->unit, sizeof r->unit, "%s", s->unit);
    size_t off = 0;
    r->dims[0] = '\0';
    for (size_t i = 0; i < s->ndims; i++)
        off += (size_t)snprintf(r->dims + off, sizeof r->dims - off, "%s%s=%s", i ? "," : "",
                                s->dims[i].name, s->dims[i].value);
    r->value = s->value;
    r->ts = s->timestamp_ms;
}

static const struct rec *find(const struct recs *rs, const char *name, const char *dims)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->r[i].name, name) == 0 && strcmp(rs->r[i].dims, dims) == 0)
            return &rs->r[i];
    return NULL;
}

static size_t count_prefix(const struct recs *rs, const char *prefix, const char *dims)
{
    size_t n = 0;
    for (size_t i = 0; i < rs->n; i++)
        if (strncmp(rs->r[i].name, prefix, strlen(prefix)) == 0 &&
            (!dims || strcmp(rs->r[i].dims, dims) == 0))
            n++;
    return n;
}

/* The unit of a recorded datum, or "(missing)". */
static const char *unit_of(const struct recs *rs, const char *name, const char *dims)
{
    const struct rec *r = find(rs, name, dims);
    return r ? r->unit : "(missing)";
}

#define T_VAL(rs, name, dims, want, tol)                                                           \
    do {                                                                                           \
        const struct rec *r_ = find(rs, name, dims);                                               \
        if (!r_)                                                                                   \
            t_fail_at(__FILE__, __LINE__, "missing %s {%s}", name, dims);                          \
        else                                                                                       \
            T_EQ_DBL(r_->value, want, tol);                                                        \
    } while (0)

#define T_ABSENT(rs, name, dims)                                                                   \
    do {                                                                                           \
        if (find(rs, name, dims))                                                                  \
            t_fail_at(__FILE__, __LINE__, "unexpected %s {%s}", name, dims);                       \
    } while (0)

/* A temp dir with a `root` symlink pointing at one fixture round. */
struct fx {
    char dir[64], link[96];
};

static int fx_point(struct fx *f, char round)
{
    char rel[64];
    snprintf(rel, sizeof rel, "tests/fixtures/collect/%c", round);
    char *target = t_repo_path(rel);
    unlink(f->link);
    int rc = symlink(target, f->link);
    free(target);
    return rc;
}

static int fx_open(struct fx *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/cwt_collect_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->link, sizeof f->link, "%s/root", f->dir);
    return fx_point(f, 'a');
}

static void fx_close(struct fx *f)
{
    unlink(f->link);
    rmdir(f->dir);
}

/* statfs seam: fixed answers per mount point; /mnt/nfs hangs for hang_ms. */
struct fake_fs {
    const char *root;
    int hang_ms;
    int nfs_calls;
};

static int fake_statfs(void *ud, const char *path, struct collectors_statfs *out)
{
    struct fake_fs *fs = ud;
    size_t rl = strlen(fs->root);
    if (strncmp(path, fs->root, rl) != 0)
        return -1;
    const char *mp = path + rl;
    memset(out, 0, sizeof *out);
    out->frsize = 4096;
    if (strcmp(mp, "/") == 0) {
        *out = (struct collectors_statfs){4096, 66053021, 24900000, 21500000, 16777216, 16352714};
    } else if (strcmp(mp, "/boot") == 0) {
        *out = (struct collectors_statfs){1024, 1000, 400, 300, 500, 100};
    } else if (strcmp(mp, "/mnt/my disk") == 0) {
        *out = (struct collectors_statfs){4096, 2000, 2000, 2000, 1000, 1000};
    } else if (strcmp(mp, "/mnt/nfs") == 0) {
        __atomic_add_fetch(&fs->nfs_calls, 1, __ATOMIC_SEQ_CST);
        struct timespec ts = {fs->hang_ms / 1000, (long)(fs->hang_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        *out = (struct collectors_statfs){4096, 100, 50, 50, 10, 5};
    } else if (strcmp(mp, "/mnt/empty") == 0) {
        /* total 0: skipped as telegraf does */
    } else {
        *out = (struct collectors_statfs){4096, 10, 5, 5, 10, 5};
    }
    return 0;
}

static struct collectors *make_set(struct fx *f, struct collectors_opts *o)
{
    char err[256] = "";
    o->root = strdup(f->link);
    struct collectors *set = collectors_new(o, err, sizeof err);
    if (!set)
        t_fail_at(__FILE__, __LINE__, "collectors_new: %s", err);
    collectors_opts_clear(o);
    return set;
}

static void only(struct collectors_opts *o, enum collectors_plugin p)
{
    collectors_opts_init(o, false);
    o->plugin[p].enabled = true;
}

TEST(cpu_rounds_hotplug)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r1, r2, r3;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_CPU);
    o.cpu_percpu = true;
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r1.n = r2.n = r3.n = 0;
    collectors_gather(set, 1000000, on_sample, &r1);
    /* first round: cumulative times only */
    T_EQ_INT(count_prefix(&r1, "cpu_usage_", NULL), 0);
    T_EQ_INT(r1.n, 33);
    T_VAL(&r1, "cpu_time_user", "cpu=cpu-total", 66.13, 1e-9);
    T_VAL(&r1, "cpu_time_idle", "cpu=cpu1", 1620.92, 1e-9);
    T_VAL(&r1, "cpu_time_active", "cpu=cpu-total", 144.41, 1e-9);
    const struct rec *first = find(&r1, "cpu_time_user", "cpu=cpu-total");
    T_CHECK(first && first->ts == 1000000);
    T_EQ_STR(unit_of(&r1, "cpu_time_user", "cpu=cpu0"), "None");
    fx_point(&f, 'b');
    collectors_gather(set, 1010000, on_sample, &r2);
    T_VAL(&r2, "cpu_usage_user", "cpu=cpu-total", 8.040201005025125, 1e-9);
    T_VAL(&r2, "cpu_usage_nice", "cpu=cpu-total", 0.6030150753768844, 1e-9);
    T_VAL(&r2, "cpu_usage_system", "cpu=cpu-total", 5.025125628140704, 1e-9);
    T_VAL(&r2, "cpu_usage_idle", "cpu=cpu-total", 80.40201005025126, 1e-9);
    T_VAL(&r2, "cpu_usage_iowait", "cpu=cpu-total", 1.0050251256281406, 1e-9);
    T_VAL(&r2, "cpu_usage_irq", "cpu=cpu-total", 0.5025125628140703, 1e-9);
    T_VAL(&r2, "cpu_usage_softirq", "cpu=cpu-total", 1.0050251256281406, 1e-9);
    T_VAL(&r2, "cpu_usage_steal", "cpu=cpu-total", 1.0050251256281406, 1e-9);
    T_VAL(&r2, "cpu_usage_guest", "cpu=cpu-total", 2.0100502512562812, 1e-9);
    T_VAL(&r2, "cpu_usage_guest_nice", "cpu=cpu-total", 0.4020100502512563, 1e-9);
    T_VAL(&r2, "cpu_usage_active", "cpu=cpu-total", 19.597989949748744, 1e-9);
    T_VAL(&r2, "cpu_usage_active", "cpu=cpu0", 19.597989949748744, 1e-9);
    T_VAL(&r2, "cpu_time_active", "cpu=cpu-total", 146.36, 1e-9);
    T_EQ_STR(unit_of(&r2, "cpu_usage_idle", "cpu=cpu0"), "Percent");
    /* cpu1 went offline: no series at all */
    T_EQ_INT(count_prefix(&r2, "cpu_", "cpu=cpu1"), 0);
    fx_point(&f, 'c');
    collectors_gather(set, 1020000, on_sample, &r3);
    /* cpu1 is back: a new series, times only this round */
    T_EQ_INT(count_prefix(&r3, "cpu_time_", "cpu=cpu1"), 11);
    T_EQ_INT(count_prefix(&r3, "cpu_usage_", "cpu=cpu1"), 0);
    T_EQ_INT(count_prefix(&r3, "cpu_usage_", "cpu=cpu0"), 11);
    collectors_free(set);
    fx_close(&f);
}

TEST(cpu_options_and_filter)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_CPU);
    o.cpu_totalcpu = false;
    o.cpu_percpu = true;
    T_ASSERT(collectors_list_add(&o.plugin[COLL_CPU].measurements, "cpu_time_idle") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_CPU].measurements, "time_user") == 0);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 4); /* 2 fields x cpu0, cpu1; no cpu-total */
    T_VAL(&r, "cpu_time_idle", "cpu=cpu0", 1667.76, 1e-9);
    T_VAL(&r, "cpu_time_user", "cpu=cpu1", 41.72, 1e-9);
    collectors_free(set);
    /* an invalid measurement name is an error naming it */
    only(&o, COLL_CPU);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_CPU].measurements, "usage_bogus") == 0);
    char err[256] = "";
    o.root = strdup(f.link);
    T_CHECK(collectors_new(&o, err, sizeof err) == NULL);
    T_CHECK(strstr(err, "usage_bogus") != NULL);
    collectors_opts_clear(&o);
    fx_close(&f);
}

TEST(mem_and_swap)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_MEM);
    o.plugin[COLL_SWAP].enabled = true;
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 14);
    T_VAL(&r, "mem_total", "", 25276514304.0, 0);
    T_VAL(&r, "mem_free", "", 24740405248.0, 0);
    T_VAL(&r, "mem_available", "", 24904781824.0, 0);
    T_VAL(&r, "mem_buffered", "", 6295552.0, 0);
    T_VAL(&r, "mem_cached", "", 418988032.0, 0); /* Cached + SReclaimable */
    T_VAL(&r, "mem_used", "", 110825472.0, 0);   /* total - free - buffers - cached */
    T_VAL(&r, "mem_used_percent", "", 0.4384523540987687, 1e-12);
    T_VAL(&r, "mem_available_percent", "", 98.52933646020499, 1e-12);
    T_VAL(&r, "mem_active", "", 247513088.0, 0);
    T_VAL(&r, "mem_inactive", "", 110010368.0, 0);
    T_VAL(&r, "mem_shared", "", 8998912.0, 0);
    T_EQ_STR(unit_of(&r, "mem_used_percent", ""), "Percent");
    T_EQ_STR(unit_of(&r, "mem_used", ""), "Bytes");
    T_VAL(&r, "swap_free", "", 1073739776.0, 0);
    T_VAL(&r, "swap_used", "", 1073739776.0, 0);
    T_VAL(&r, "swap_used_percent", "", 50.0, 1e-12);
    collectors_free(set);
    fx_close(&f);
}

TEST(diskio_deltas_reset_vanish)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r1, r2, r3;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_DISKIO);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r1.n = r2.n = r3.n = 0;
    collectors_gather(set, 1, on_sample, &r1);
    /* first round: only the gauge, for vda vda1 sdb zram0 (loop0 skipped by default) */
    T_EQ_INT(r1.n, 4);
    T_VAL(&r1, "diskio_iops_in_progress", "name=sdb", 1, 0);
    T_ABSENT(&r1, "diskio_iops_in_progress", "name=loop0");
    fx_point(&f, 'b');
    collectors_gather(set, 2, on_sample, &r2);
    T_VAL(&r2, "diskio_reads", "name=vda", 100, 0);
    T_VAL(&r2, "diskio_writes", "name=vda", 100, 0);
    T_VAL(&r2, "diskio_read_bytes", "name=vda", 512000, 0);
    T_VAL(&r2, "diskio_write_bytes", "name=vda", 512000, 0);
    T_VAL(&r2, "diskio_read_time", "name=vda", 100, 0);
    T_VAL(&r2, "diskio_write_time", "name=vda", 100, 0);
    T_VAL(&r2, "diskio_io_time", "name=vda", 100, 0);
    T_VAL(&r2, "diskio_iops_in_progress", "name=vda", 2, 0);
    T_EQ_STR(unit_of(&r2, "diskio_io_time", "name=vda"), "Milliseconds");
    T_VAL(&r2, "diskio_reads", "name=zram0", 0, 0);
    /* vda1 counters went backwards: reset, no deltas this round, gauge still sent */
    T_EQ_INT(count_prefix(&r2, "diskio_", "name=vda1"), 1);
    /* sdb vanished */
    T_EQ_INT(count_prefix(&r2, "diskio_", "name=sdb"), 0);
    fx_point(&f, 'c');
    collectors_gather(set, 3, on_sample, &r3);
    T_VAL(&r3, "diskio_reads", "name=vda1", 5, 0);
    T_VAL(&r3, "diskio_write_bytes", "name=vda1", 8 * 512, 0);
    /* sdb came back: its first sample is dropped again */
    T_EQ_INT(count_prefix(&r3, "diskio_", "name=sdb"), 1);
    T_VAL(&r3, "diskio_iops_in_progress", "name=sdb", 3, 0);
    collectors_free(set);
    /* resources select devices by glob */
    only(&o, COLL_DISKIO);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISKIO].resources, "loop*") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISKIO].measurements, "diskio_iops_in_progress") ==
             0);
    set = make_set(&f, &o);
    T_ASSERT(set);
    r1.n = 0;
    collectors_gather(set, 1, on_sample, &r1);
    T_EQ_INT(r1.n, 1);
    T_VAL(&r1, "diskio_iops_in_progress", "name=loop0", 0, 0);
    collectors_free(set);
    fx_close(&f);
}

TEST(net_deltas_and_defaults)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r1, r2, r3;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_NET);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r1.n = r2.n = r3.n = 0;
    collectors_gather(set, 1, on_sample, &r1);
    T_EQ_INT(r1.n, 0);
    fx_point(&f, 'b');
    collectors_gather(set, 2, on_sample, &r2);
    T_EQ_INT(r2.n, 8); /* eth0 only: lo is loopback, ifb0 is down, eth1 vanished */
    T_VAL(&r2, "net_bytes_recv", "interface=eth0", 1000, 0);
    T_VAL(&r2, "net_bytes_sent", "interface=eth0", 2000, 0);
    T_VAL(&r2, "net_packets_recv", "interface=eth0", 10, 0);
    T_VAL(&r2, "net_packets_sent", "interface=eth0", 20, 0);
    T_VAL(&r2, "net_err_in", "interface=eth0", 1, 0);
    T_VAL(&r2, "net_drop_in", "interface=eth0", 2, 0);
    T_VAL(&r2, "net_err_out", "interface=eth0", 3, 0);
    T_VAL(&r2, "net_drop_out", "interface=eth0", 4, 0);
    T_EQ_STR(unit_of(&r2, "net_bytes_recv", "interface=eth0"), "Bytes");
    T_EQ_STR(unit_of(&r2, "net_drop_out", "interface=eth0"), "Count");
    fx_point(&f, 'c');
    collectors_gather(set, 3, on_sample, &r3);
    /* eth0 counters reset (driver reload): nothing; eth1 back: first sample dropped */
    T_EQ_INT(r3.n, 0);
    collectors_free(set);
    /* resources: explicit interfaces, loopback included when named */
    only(&o, COLL_NET);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_NET].resources, "lo") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_NET].measurements, "net_bytes_recv") == 0);
    fx_point(&f, 'a');
    set = make_set(&f, &o);
    T_ASSERT(set);
    r1.n = 0;
    collectors_gather(set, 1, on_sample, &r1);
    collectors_gather(set, 2, on_sample, &r1);
    T_EQ_INT(r1.n, 1);
    T_VAL(&r1, "net_bytes_recv", "interface=lo", 0, 0);
    collectors_free(set);
    fx_close(&f);
}

TEST(netstat_proc_tables)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_NETSTAT);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 13);
    T_VAL(&r, "netstat_tcp_listen", "", 3, 0);
    T_VAL(&r, "netstat_tcp_established", "", 4, 0);
    T_VAL(&r, "netstat_tcp_time_wait", "", 1, 0);
    T_VAL(&r, "netstat_tcp_close_wait", "", 1, 0);
    T_VAL(&r, "netstat_tcp_syn_sent", "", 1, 0);
    T_VAL(&r, "netstat_tcp_syn_recv", "", 1, 0); /* TCP_NEW_SYN_RECV (0C) */
    T_VAL(&r, "netstat_tcp_none", "", 0, 0);
    T_VAL(&r, "netstat_udp_socket", "", 3, 0);
    T_EQ_STR(unit_of(&r, "netstat_udp_socket", ""), "Count");
    collectors_free(set);
    fx_close(&f);
}

TEST(processes_states)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    only(&o, COLL_PROCESSES);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 10);                      /* `wait` is never emitted on Linux */
    T_VAL(&r, "processes_total", "", 8, 0); /* pid 500 exited before its stat was read */
    T_VAL(&r, "processes_running", "", 1, 0);
    T_VAL(&r, "processes_sleeping", "", 2, 0);
    T_VAL(&r, "processes_blocked", "", 1, 0);
    T_VAL(&r, "processes_zombies", "", 1, 0);
    T_VAL(&r, "processes_idle", "", 1, 0);
    T_VAL(&r, "processes_stopped", "", 2, 0);
    T_VAL(&r, "processes_paging", "", 0, 0);
    T_VAL(&r, "processes_dead", "", 0, 0);
    T_VAL(&r, "processes_total_threads", "", 12, 0);
    T_EQ_STR(unit_of(&r, "processes_zombies", ""), "None");
    T_EQ_STR(unit_of(&r, "processes_total", ""), "Count");
    collectors_free(set);
    fx_close(&f);
}

static struct collectors *procstat_set(struct fx *f)
{
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.plugin[COLL_PROCSTAT].enabled = true;
    collectors_opts_add_procstat(&o, COLL_PROCSTAT_PID_FILE, "/run/myapp.pid");
    collectors_opts_add_procstat(&o, COLL_PROCSTAT_EXE, "^myapp$");
    struct collectors_procstat_opts *p =
        collectors_opts_add_procstat(&o, COLL_PROCSTAT_PATTERN, "--serve 8080");
    if (p) {
        if (collectors_list_add(&p->measurements, "pid") != 0 ||
            collectors_list_add(&p->measurements, "procstat_pid_count") != 0)
            return NULL;
    }
    collectors_opts_add_procstat(&o, COLL_PROCSTAT_EXE, "^my app");
    collectors_opts_add_procstat(&o, COLL_PROCSTAT_EXE, "^nomatch$");
    return make_set(f, &o);
}

#define PF "pidfile=/run/myapp.pid,process_name=myapp"

TEST(procstat_fields)
{
    struct fx f;
    static struct recs r1, r2, r3;
    T_ASSERT(fx_open(&f) == 0);
    struct collectors *set = procstat_set(&f);
    T_ASSERT(set);
    r1.n = r2.n = r3.n = 0;
    collectors_gather(set, 1000000, on_sample, &r1);
    T_ABSENT(&r1, "procstat_cpu_usage", PF);
    T_VAL(&r1, "procstat_pid", PF, 100, 0);
    T_VAL(&r1, "procstat_cpu_time_user", PF, 10.0, 1e-12);
    T_VAL(&r1, "procstat_cpu_time_system", PF, 5.0, 1e-12);
    T_VAL(&r1, "procstat_cpu_time_iowait", PF, 0.03, 1e-12);
    T_VAL(&r1, "procstat_cpu_time_guest", PF, 0.02, 1e-12);
    T_VAL(&r1, "procstat_cpu_time", PF, 15.03, 1e-12);
    T_VAL(&r1, "procstat_memory_rss", PF, 2000 * 1024.0, 0);
    T_VAL(&r1, "procstat_memory_vms", PF, 10000 * 1024.0, 0);
    T_VAL(&r1, "procstat_memory_data", PF, 3000 * 1024.0, 0);
    T_VAL(&r1, "procstat_memory_stack", PF, 132 * 1024.0, 0);
    T_VAL(&r1, "procstat_memory_locked", PF, 4 * 1024.0, 0);
    T_VAL(&r1, "procstat_memory_swap", PF, 12 * 1024.0, 0);
    T_VAL(&r1, "procstat_read_bytes", PF, 4096, 0);
    T_VAL(&r1, "procstat_write_bytes", PF, 8192, 0);
    T_VAL(&r1, "procstat_read_count", PF, 10, 0);
    T_VAL(&r1, "procstat_write_count", PF, 20, 0);
    T_VAL(&r1, "procstat_voluntary_context_switches", PF, 7, 0);
    T_VAL(&r1, "procstat_involuntary_context_switches", PF, 3, 0);
    T_VAL(&r1, "procstat_signals_pending", PF, 1, 0);
    T_VAL(&r1, "procstat_nice_priority", PF, 5, 0);
    T_VAL(&r1, "procstat_realtime_priority", PF, 7, 0);
    T_VAL(&r1, "procstat_num_threads", PF, 4, 0);
    T_VAL(&r1, "procstat_num_fds", PF, 4, 0);
    T_VAL(&r1, "procstat_rlimit_num_fds_soft", PF, 20000, 0);
    T_VAL(&r1, "procstat_rlimit_memory_stack_soft", PF, 8388608, 0);
    T_VAL(&r1, "procstat_rlimit_memory_stack_hard", PF, 18446744073709551615.0, 0);
    T_EQ_STR(unit_of(&r1, "procstat_memory_rss", PF), "Bytes");
    T_EQ_STR(unit_of(&r1, "procstat_num_fds", PF), "None");
    T_ABSENT(&r1, "procstat_cpu_time_idle", PF);
    fx_point(&f, 'b');
    collectors_gather(set, 1010000, on_sample, &r2);
    /* 50 ticks (0.5 s) of cpu in 10 s of wall time */
    T_VAL(&r2, "procstat_cpu_usage", PF, 5.0, 1e-9);
    T_EQ_STR(unit_of(&r2, "procstat_cpu_usage", PF), "Percent");
    T_VAL(&r2, "procstat_cpu_usage", "exe=^myapp$,process_name=myapp", 5.0, 1e-9);
    fx_point(&f, 'c');
    collectors_gather(set, 1020000, on_sample, &r3);
    /* pid 100 was reused by a new process (new start time): no usage for its first round */
    T_ABSENT(&r3, "procstat_cpu_usage", PF);
    T_VAL(&r3, "procstat_pid", PF, 100, 0);
    collectors_free(set);
    fx_close(&f);
}

TEST(procstat_lookup_and_edge_cases)
{
    struct fx f;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    struct collectors *set = procstat_set(&f);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    /* pid 500 (comm myapp, no stat: exited mid-read) is not counted */
    T_VAL(&r, "procstat_lookup_pid_count", "pidfile=/run/myapp.pid,pid_finder=native", 1, 0);
    T_VAL(&r, "procstat_lookup_pid_count", "exe=^myapp$,pid_finder=native", 1, 0);
    T_VAL(&r, "procstat_lookup_pid_count", "pattern=--serve 8080,pid_finder=native", 1, 0);
    T_VAL(&r, "procstat_lookup_pid_count", "exe=^nomatch$,pid_finder=native", 0, 0);
    T_EQ_STR(unit_of(&r, "procstat_lookup_pid_count", "exe=^nomatch$,pid_finder=native"), "None");
    /* the pattern item asked for pid and pid_count only */
    T_EQ_INT(count_prefix(&r, "procstat_", "pattern=--serve 8080,process_name=myapp"), 1);
    /* comm with a space and a parenthesis; /proc/300/io missing: io fields skipped */
    const char *d = "exe=^my app,process_name=my app) worker";
    T_VAL(&r, "procstat_pid", d, 300, 0);
    T_VAL(&r, "procstat_nice_priority", d, -5, 0);
    T_VAL(&r, "procstat_num_fds", d, 3, 0);
    T_ABSENT(&r, "procstat_read_bytes", d);
    T_ABSENT(&r, "procstat_write_count", d);
    collectors_free(set);
    /* an invalid regex is an error at creation */
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    collectors_opts_add_procstat(&o, COLL_PROCSTAT_PATTERN, "([unclosed");
    char err[256] = "";
    T_CHECK(collectors_new(&o, err, sizeof err) == NULL);
    T_CHECK(strstr(err, "([unclosed") != NULL);
    collectors_opts_clear(&o);
    fx_close(&f);
}

#define DF "path=/,device=vda,fstype=ext4"

TEST(disk_selection_and_values)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    struct fake_fs fs = {f.link, 0, 0};
    only(&o, COLL_DISK);
    o.statfs_fn = fake_statfs;
    o.statfs_ud = &fs;
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_VAL(&r, "disk_total", DF, 270553174016.0, 0);
    T_VAL(&r, "disk_free", DF, 88064000000.0, 0);
    T_VAL(&r, "disk_used", DF, 168562774016.0, 0);
    T_VAL(&r, "disk_used_percent", DF, 65.68401705641617, 1e-9);
    T_VAL(&r, "disk_inodes_total", DF, 16777216, 0);
    T_VAL(&r, "disk_inodes_free", DF, 16352714, 0);
    T_VAL(&r, "disk_inodes_used", DF, 424502, 0);
    T_EQ_STR(unit_of(&r, "disk_inodes_used", DF), "Count");
    T_EQ_STR(unit_of(&r, "disk_free", DF), "Bytes");
    T_VAL(&r, "disk_total", "path=/boot,device=vda1,fstype=ext4", 1000 * 1024.0, 0);
    T_VAL(&r, "disk_used_percent", "path=/boot,device=vda1,fstype=ext4", 66.66666666666667, 1e-9);
    /* octal-escaped mount point */
    T_VAL(&r, "disk_used_percent", "path=/mnt/my disk,device=sdb,fstype=xfs", 0, 0);
    /* pseudo, overlay, tmpfs and network file systems skipped; total 0 skipped */
    T_EQ_INT(r.n, 3 * 7);
    T_EQ_INT(fs.nfs_calls, 0);
    collectors_free(set);
    /* round b: /boot mounted over by a vfat file system: only the visible one is reported */
    fx_point(&f, 'b');
    only(&o, COLL_DISK);
    o.statfs_fn = fake_statfs;
    o.statfs_ud = &fs;
    o.disk_drop_device = true;
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].resources, "/boot") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].resources, "/dev/shm") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].measurements, "disk_total") == 0);
    set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 2);
    T_VAL(&r, "disk_total", "path=/boot,fstype=vfat", 1000 * 1024.0, 0);
    T_VAL(&r, "disk_total", "path=/dev/shm,fstype=tmpfs", 40960, 0); /* named: included */
    collectors_free(set);
    fx_close(&f);
}

TEST(disk_ignore_fs)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    struct fake_fs fs = {f.link, 0, 0};
    only(&o, COLL_DISK);
    o.statfs_fn = fake_statfs;
    o.statfs_ud = &fs;
    T_ASSERT(collectors_list_add(&o.disk_ignore_fs, "ext4") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].measurements, "total") == 0);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r);
    T_EQ_INT(r.n, 1);
    T_VAL(&r, "disk_total", "path=/mnt/my disk,device=sdb,fstype=xfs", 2000 * 4096.0, 0);
    collectors_free(set);
    fx_close(&f);
}

TEST(disk_dead_network_mount)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    struct fake_fs fs = {f.link, 400, 0};
    only(&o, COLL_DISK);
    o.statfs_fn = fake_statfs;
    o.statfs_ud = &fs;
    o.netfs_timeout_ms = 50;
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].resources, "/mnt/nfs") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].resources, "/") == 0);
    T_ASSERT(collectors_list_add(&o.plugin[COLL_DISK].measurements, "total") == 0);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    cw_log_set_level(CW_LOG_ERROR);
    r.n = 0;
    collectors_gather(set, 1, on_sample, &r); /* the nfs probe hangs: skipped after 50 ms */
    collectors_gather(set, 2, on_sample, &r); /* still stuck: not probed again (had round 1
                                               * waited for it, it would be probed twice) */
    T_EQ_INT(r.n, 2);                         /* "/" twice, nfs never */
    T_EQ_INT(__atomic_load_n(&fs.nfs_calls, __ATOMIC_SEQ_CST), 1);
    struct timespec wait = {0, 500 * 1000000L};
    nanosleep(&wait, NULL); /* the probe finishes */
    r.n = 0;
    fs.hang_ms = 0;
    collectors_gather(set, 3, on_sample, &r);
    T_EQ_INT(__atomic_load_n(&fs.nfs_calls, __ATOMIC_SEQ_CST), 2);
    T_VAL(&r, "disk_total", "path=/mnt/nfs,device=server:/export,fstype=nfs4", 409600, 0);
    cw_log_set_level(CW_LOG_INFO);
    collectors_free(set);
    fx_close(&f);
}

TEST(gather_one_plugin)
{
    struct fx f;
    struct collectors_opts o;
    static struct recs r;
    T_ASSERT(fx_open(&f) == 0);
    collectors_opts_init(&o, true);
    struct collectors *set = make_set(&f, &o);
    T_ASSERT(set);
    r.n = 0;
    T_EQ_INT(collectors_gather_one(set, COLL_MEM, 5, on_sample, &r), 11);
    T_EQ_INT(count_prefix(&r, "mem_", NULL), 11);
    T_EQ_INT(collectors_gather_one(set, COLL_PROCESSES, 5, on_sample, &r), 10);
    T_VAL(&r, "processes_total", "", 8, 0);
    T_EQ_INT(collectors_gather_one(set, COLL_PROCSTAT, 5, on_sample, &r), 0); /* no items */
    T_EQ_INT(r.n, 21);
    collectors_free(set);
    fx_close(&f);
}

static void count_lines(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)line;
    (void)len;
    if (level == CW_LOG_WARN)
        (*(int *)ud)++;
}

TEST(missing_source_skips_collector_and_logs_once)
{
    struct collectors_opts o;
    static struct recs r;
    collectors_opts_init(&o, true);
    char dir[] = "/tmp/cwt_collect_empty_XXXXXX";
    T_ASSERT(mkdtemp(dir));
    o.root = strdup(dir);
    char err[256] = "";
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    T_ASSERT(set);
    int warnings = 0;
    cw_log_set_sink(count_lines, &warnings);
    r.n = 0;
    T_EQ_INT(collectors_gather(set, 1, on_sample, &r), 0);
    T_EQ_INT(collectors_gather(set, 2, on_sample, &r), 0);
    T_EQ_INT(collectors_gather(set, 3, on_sample, &r), 0);
    /* cpu mem swap disk diskio net netstat processes system ethtool: once each, not per round
     * (procstat has no items, so nothing to read) */
    T_EQ_INT(warnings, 10);
    cw_log_set_sink(NULL, NULL);
    collectors_free(set);
    rmdir(dir);
}

T_MAIN("test_collect", T_CASE(cpu_rounds_hotplug), T_CASE(cpu_options_and_filter),
       T_CASE(mem_and_swap), T_CASE(diskio_deltas_reset_vanish), T_CASE(net_deltas_and_defaults),
       T_CASE(netstat_proc_tables), T_CASE(processes_states), T_CASE(procstat_fields),
       T_CASE(procstat_lookup_and_edge_cases), T_CASE(disk_selection_and_values),
       T_CASE(disk_ignore_fs), T_CASE(disk_dead_network_mount),
       T_CASE(missing_source_skips_collector_and_logs_once), T_CASE(gather_one_plugin))
