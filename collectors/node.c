/* node — node_exporter-compatible readings (see node.h). Each source is parsed into a small
 * table first, then emitted family by family, so the series of one family stay together. */
#include "collectors/node.h"
#include "collectors/internal.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#define NODE_MAX_ROWS 4096 /* devices, interfaces, cpus or mounts kept per round */

enum node_source {
    SRC_STAT,
    SRC_MEMINFO,
    SRC_LOADAVG,
    SRC_DISKSTATS,
    SRC_NETDEV,
    SRC_MOUNTS,
    SRC_PRESSURE,
    SRC_COUNT
};

static const char *const src_names[SRC_COUNT] = {
    "/proc/stat",    "/proc/meminfo", "/proc/loadavg", "/proc/diskstats",
    "/proc/net/dev", "/proc/mounts",  "/proc/pressure"};

struct node_reader {
    struct coll_ctx ctx;
    char *root;
    collectors_statfs_fn statfs_fn;
    void *statfs_ud;
    bool failing[SRC_COUNT];
    long hz;
    node_emit_fn emit;
    void *ud;
    size_t count;
};

/* ---- plumbing ---------------------------------------------------------------------------- */

static void put(struct node_reader *r, const char *family, const char *help, enum node_type t,
                const struct node_label *l, size_t nl, double v)
{
    struct node_series s = {family, help, t, l, nl, v};
    r->emit(r->ud, &s);
    r->count++;
}

/* Log-once for a source: warns the first time it fails, tells when it is back. */
static void source_state(struct node_reader *r, enum node_source s, bool ok)
{
    if (!ok && !r->failing[s])
        cw_warn("prometheus", "%s unreadable (%s); its node_* series are left out", src_names[s],
                strerror(errno));
    else if (ok && r->failing[s])
        cw_info("prometheus", "%s readable again", src_names[s]);
    r->failing[s] = !ok;
}

static int read_src(struct node_reader *r, enum node_source s, const char *rel, size_t *len)
{
    int rc = coll_read(&r->ctx, rel, len);
    source_state(r, s, rc == 0);
    return rc;
}

/* Copies one blank-delimited word at *p into out (truncated to cap-1); advances *p. */
static size_t word(const char **p, const char *end, char *out, size_t cap)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    const char *s = q;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\n')
        q++;
    size_t n = (size_t)(q - s);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = q;
    return n;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > NODE_MAX_ROWS)
        return -1;
    void *a = realloc(*arr, nc * size);
    if (!a)
        return -1;
    *arr = a;
    *cap = nc;
    return 0;
}

/* ---- /proc/stat -------------------------------------------------------------------------- */

#define CPU_FIELDS 10 /* user nice system idle iowait irq softirq steal guest guest_nice */

struct cpu_row {
    char name[12];
    uint64_t v[CPU_FIELDS];
};

static const char *const cpu_modes[8] = {"user",   "nice", "system",  "idle",
                                         "iowait", "irq",  "softirq", "steal"};
/* node_exporter writes the modes in label order; this is the index order of cpu_modes sorted. */
static const unsigned cpu_mode_order[8] = {3, 4, 5, 1, 6, 7, 2, 0};

static void emit_cpus(struct node_reader *r, const struct cpu_row *rows, size_t n)
{
    double hz = (double)r->hz;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < 8; k++) {
            unsigned m = cpu_mode_order[k];
            struct node_label l[2] = {{"cpu", rows[i].name}, {"mode", cpu_modes[m]}};
            put(r, "node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", NODE_COUNTER,
                l, 2, (double)rows[i].v[m] / hz);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct node_label l[2] = {{"cpu", rows[i].name}, {"mode", "nice"}};
        put(r, "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.", NODE_COUNTER, l, 2,
            (double)rows[i].v[9] / hz);
        l[1].value = "user";
        put(r, "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.", NODE_COUNTER, l, 2,
            (double)rows[i].v[8] / hz);
    }
}

struct stat_misc {
    uint64_t ctxt, btime, processes, running, blocked, intr;
    bool has_ctxt, has_btime, has_processes, has_running, has_blocked, has_intr;
};

static void stat_line(const char *p, const char *end, struct stat_misc *m)
{
    static const struct {
        const char *key;
        size_t off, has;
    } keys[] = {
        {"ctxt ", offsetof(struct stat_misc, ctxt), offsetof(struct stat_misc, has_ctxt)},
        {"btime ", offsetof(struct stat_misc, btime), offsetof(struct stat_misc, has_btime)},
        {"processes ", offsetof(struct stat_misc, processes),
         offsetof(struct stat_misc, has_processes)},
        {"procs_running ", offsetof(struct stat_misc, running),
         offsetof(struct stat_misc, has_running)},
        {"procs_blocked ", offsetof(struct stat_misc, blocked),
         offsetof(struct stat_misc, has_blocked)},
        {"intr ", offsetof(struct stat_misc, intr), offsetof(struct stat_misc, has_intr)},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        size_t kl = strlen(keys[i].key);
        if ((size_t)(end - p) > kl && memcmp(p, keys[i].key, kl) == 0) {
            const char *q = p + kl;
            uint64_t v;
            if (coll_u64(&q, end, &v) == 0) {
                memcpy((char *)m + keys[i].off, &v, sizeof v);
                *((bool *)((char *)m + keys[i].has)) = true;
            }
            return;
        }
    }
}

static void emit_stat_misc(struct node_reader *r, const struct stat_misc *m)
{
    if (m->has_btime)
        put(r, "node_boot_time_seconds", "Node boot time, in unixtime.", NODE_GAUGE, NULL, 0,
            (double)m->btime);
    if (m->has_ctxt)
        put(r, "node_context_switches_total", "Total number of context switches.", NODE_COUNTER,
            NULL, 0, (double)m->ctxt);
    if (m->has_processes)
        put(r, "node_forks_total", "Total number of forks.", NODE_COUNTER, NULL, 0,
            (double)m->processes);
    if (m->has_intr)
        put(r, "node_intr_total", "Total number of interrupts serviced.", NODE_COUNTER, NULL, 0,
            (double)m->intr);
    if (m->has_blocked)
        put(r, "node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
            NODE_GAUGE, NULL, 0, (double)m->blocked);
    if (m->has_running)
        put(r, "node_procs_running", "Number of processes in runnable state.", NODE_GAUGE, NULL, 0,
            (double)m->running);
}

/* Parses /proc/stat; the per-cpu rows are returned in *rows (caller frees). */
static int read_stat(struct node_reader *r, struct cpu_row **rows, size_t *n, struct stat_misc *m)
{
    size_t len, cap = 0;
    memset(m, 0, sizeof *m);
    *rows = NULL;
    *n = 0;
    if (read_src(r, SRC_STAT, "/proc/stat", &len) != 0)
        return -1;
    const char *p = r->ctx.buf, *end = p + len;
    for (; p < end; p = coll_next_line(p, end)) {
        if (end - p > 3 && memcmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
            if (grow((void **)rows, &cap, *n, sizeof **rows) != 0)
                break;
            struct cpu_row *c = &(*rows)[*n];
            memset(c, 0, sizeof *c);
            const char *q = p + 3;
            word(&q, end, c->name, sizeof c->name);
            for (int i = 0; i < CPU_FIELDS && coll_u64(&q, end, &c->v[i]) == 0; i++)
                ;
            (*n)++;
        } else {
            stat_line(p, end, m);
        }
    }
    return 0;
}

/* ---- /proc/meminfo ----------------------------------------------------------------------- */

static void emit_meminfo(struct node_reader *r)
{
    size_t len;
    if (read_src(r, SRC_MEMINFO, "/proc/meminfo", &len) != 0)
        return;
    const char *p = r->ctx.buf, *end = p + len;
    for (; p < end; p = coll_next_line(p, end)) {
        const char *colon = memchr(p, ':', (size_t)(coll_next_line(p, end) - p));
        if (!colon || colon == p || colon - p > 64)
            continue;
        char key[96];
        size_t k = 0;
        for (const char *s = p; s < colon; s++) {
            if (*s == '(')
                key[k++] = '_';
            else if (*s != ')')
                key[k++] = *s;
        }
        key[k] = '\0';
        const char *q = colon + 1;
        uint64_t v;
        if (coll_u64(&q, end, &v) != 0)
            continue;
        bool kb = end - q >= 3 && memcmp(q, " kB", 3) == 0;
        char family[128], help[160];
        snprintf(family, sizeof family, "node_memory_%s%s", key, kb ? "_bytes" : "");
        snprintf(help, sizeof help, "Memory information field %s%s.", key, kb ? "_bytes" : "");
        size_t fl = strlen(family);
        bool counter = fl > 6 && strcmp(family + fl - 6, "_total") == 0;
        put(r, family, help, counter ? NODE_COUNTER : NODE_GAUGE, NULL, 0,
            kb ? (double)v * 1024.0 : (double)v);
    }
}

/* ---- /proc/loadavg ----------------------------------------------------------------------- */

static void emit_loadavg(struct node_reader *r)
{
    size_t len;
    if (read_src(r, SRC_LOADAVG, "/proc/loadavg", &len) != 0)
        return;
    static const char *const fam[3] = {"node_load1", "node_load5", "node_load15"};
    static const char *const help[3] = {"1m load average.", "5m load average.",
                                        "15m load average."};
    char *p = r->ctx.buf;
    for (int i = 0; i < 3; i++) {
        char *endp;
        errno = 0;
        double v = strtod(p, &endp);
        if (endp == p || errno)
            return;
        p = endp;
        put(r, fam[i], help[i], NODE_GAUGE, NULL, 0, v);
    }
}

/* ---- /proc/diskstats --------------------------------------------------------------------- */

#define DISK_FIELDS 17

struct disk_row {
    char name[64];
    uint64_t v[DISK_FIELDS]; /* fields 4.. of /proc/diskstats */
    int nv;
};

/* node_exporter 1.5's --collector.diskstats.ignored-devices default:
 * ^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$ (later versions also drop zram). */
static bool disk_excluded(const char *n)
{
    size_t l = strlen(n), d = l;
    while (d > 0 && n[d - 1] >= '0' && n[d - 1] <= '9')
        d--;
    if (d == l || d == 0)
        return false; /* the pattern needs trailing digits and a prefix */
    size_t pl = d;
    if ((pl == 3 && memcmp(n, "ram", 3) == 0) || (pl == 4 && memcmp(n, "loop", 4) == 0) ||
        (pl == 2 && memcmp(n, "fd", 2) == 0))
        return true;
    if (pl == 3 && (n[0] == 'h' || n[0] == 's' || n[0] == 'v') && n[1] == 'd' && n[2] >= 'a' &&
        n[2] <= 'z')
        return true;
    if (pl == 4 && n[0] == 'x' && n[1] == 'v' && n[2] == 'd' && n[3] >= 'a' && n[3] <= 'z')
        return true;
    /* nvme\d+n\d+p */
    if (pl > 6 && memcmp(n, "nvme", 4) == 0 && n[pl - 1] == 'p') {
        size_t i = 4;
        if (!(n[i] >= '0' && n[i] <= '9'))
            return false;
        while (i < pl && n[i] >= '0' && n[i] <= '9')
            i++;
        if (i >= pl || n[i++] != 'n' || !(n[i] >= '0' && n[i] <= '9'))
            return false;
        while (i < pl && n[i] >= '0' && n[i] <= '9')
            i++;
        return i == pl - 1;
    }
    return false;
}

struct disk_family {
    const char *name, *help;
    enum node_type type;
    int field;    /* index into disk_row.v */
    double scale; /* sectors -> bytes (x 512); ms -> s is 0 (divided by 1000, as node_exporter) */
};

/* /proc/diskstats fields from the 4th: reads, reads merged, sectors read, ms reading, writes,
 * writes merged, sectors written, ms writing, in progress, ms doing I/O, weighted ms, discards,
 * discards merged, sectors discarded, ms discarding, flushes, ms flushing. */
static const struct disk_family disk_families[] = {
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", NODE_COUNTER, 14, 0},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     NODE_COUNTER, 13, 1},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     NODE_COUNTER, 11, 1},
    {"node_disk_discards_merged_total", "The total number of discards merged.", NODE_COUNTER, 12,
     1},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", NODE_COUNTER, 16, 0},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     NODE_COUNTER, 15, 1},
    {"node_disk_io_now", "The number of I/Os currently in progress.", NODE_GAUGE, 8, 1},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", NODE_COUNTER, 9, 0},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     NODE_COUNTER, 10, 0},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", NODE_COUNTER, 2,
     512},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     NODE_COUNTER, 3, 0},
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     NODE_COUNTER, 0, 1},
    {"node_disk_reads_merged_total", "The total number of reads merged.", NODE_COUNTER, 1, 1},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", NODE_COUNTER, 7, 0},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     NODE_COUNTER, 4, 1},
    {"node_disk_writes_merged_total", "The number of writes merged.", NODE_COUNTER, 5, 1},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.",
     NODE_COUNTER, 6, 512},
};

static void emit_diskstats(struct node_reader *r)
{
    size_t len, n = 0, cap = 0;
    struct disk_row *rows = NULL;
    if (read_src(r, SRC_DISKSTATS, "/proc/diskstats", &len) != 0)
        return;
    const char *p = r->ctx.buf, *end = p + len;
    for (; p < end; p = coll_next_line(p, end)) {
        if (grow((void **)&rows, &cap, n, sizeof *rows) != 0)
            break;
        struct disk_row *d = &rows[n];
        memset(d, 0, sizeof *d);
        const char *q = coll_skip_words(p, end, 2);
        if (word(&q, end, d->name, sizeof d->name) == 0 || disk_excluded(d->name))
            continue;
        while (d->nv < DISK_FIELDS && coll_u64(&q, end, &d->v[d->nv]) == 0)
            d->nv++;
        if (d->nv >= 11)
            n++;
    }
    for (size_t f = 0; f < sizeof disk_families / sizeof disk_families[0]; f++) {
        const struct disk_family *df = &disk_families[f];
        for (size_t i = 0; i < n; i++) {
            if (df->field >= rows[i].nv)
                continue;
            struct node_label l = {"device", rows[i].name};
            double v = (double)rows[i].v[df->field];
            put(r, df->name, df->help, df->type, &l, 1, df->scale > 0 ? v * df->scale : v / 1000.0);
        }
    }
    free(rows);
}

/* ---- /proc/net/dev and operstate ----------------------------------------------------------- */

#define NET_FIELDS 16

struct net_row {
    char name[32];
    uint64_t v[NET_FIELDS];
    int up; /* -1 unknown */
};

/* /proc/net/dev columns, in order, as node_exporter names them. */
static const char *const net_cols[NET_FIELDS] = {
    "receive_bytes",  "receive_packets",  "receive_errs",       "receive_drop",
    "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs",      "transmit_drop",
    "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed"};

static int operstate_up(struct node_reader *r, const char *dev)
{
    char rel[96], buf[32];
    size_t len;
    snprintf(rel, sizeof rel, "/sys/class/net/%s/operstate", dev);
    const char *path = coll_path(&r->ctx, rel);
    if (!path || coll_read_at(AT_FDCWD, path, buf, sizeof buf, &len) != 0)
        return -1;
    return len >= 2 && memcmp(buf, "up", 2) == 0 && (len == 2 || buf[2] == '\n');
}

static void emit_net_families(struct node_reader *r, const struct net_row *rows, size_t n)
{
    /* node_exporter's families sorted by name: receive_* then transmit_* (each alphabetical) */
    static const unsigned order[NET_FIELDS] = {0, 6,  3,  2,  4,  5,  7,  1,
                                               8, 14, 13, 15, 11, 10, 12, 9};
    char family[96], help[96];
    for (unsigned k = 0; k < NET_FIELDS; k++) {
        unsigned c = order[k];
        snprintf(family, sizeof family, "node_network_%s_total", net_cols[c]);
        snprintf(help, sizeof help, "Network device statistic %s.", net_cols[c]);
        for (size_t i = 0; i < n; i++) {
            struct node_label l = {"device", rows[i].name};
            put(r, family, help, NODE_COUNTER, &l, 1, (double)rows[i].v[c]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].up < 0)
            continue;
        struct node_label l = {"device", rows[i].name};
        put(r, "node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", NODE_GAUGE, &l,
            1, rows[i].up);
    }
}

static void emit_netdev(struct node_reader *r)
{
    size_t len, n = 0, cap = 0;
    struct net_row *rows = NULL;
    if (read_src(r, SRC_NETDEV, "/proc/net/dev", &len) != 0)
        return;
    const char *p = r->ctx.buf, *end = p + len;
    for (; p < end; p = coll_next_line(p, end)) {
        const char *eol = coll_next_line(p, end), *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon)
            continue; /* the two header lines */
        if (grow((void **)&rows, &cap, n, sizeof *rows) != 0)
            break;
        struct net_row *d = &rows[n];
        memset(d, 0, sizeof *d);
        const char *s = p;
        while (s < colon && *s == ' ')
            s++;
        size_t nl = (size_t)(colon - s);
        if (nl == 0 || nl >= sizeof d->name)
            continue;
        memcpy(d->name, s, nl);
        const char *q = colon + 1;
        int i = 0;
        while (i < NET_FIELDS && coll_u64(&q, eol, &d->v[i]) == 0)
            i++;
        if (i == NET_FIELDS)
            n++;
    }
    /* the reads below reuse ctx.path only, not ctx.buf */
    for (size_t i = 0; i < n; i++)
        rows[i].up = operstate_up(r, rows[i].name);
    emit_net_families(r, rows, n);
    free(rows);
}

/* ---- file systems ------------------------------------------------------------------------ */

struct fs_row {
    char device[256], mountpoint[512], fstype[64];
    bool ro, error;
    struct collectors_statfs st;
};

/* node_exporter's --collector.filesystem.mount-points-exclude default:
 * ^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/) */
static bool mount_excluded(const char *m)
{
    static const char *const whole[] = {"/dev", "/proc", "/sys"};
    static const char *const under[] = {"/run/credentials/", "/var/lib/docker/",
                                        "/var/lib/containers/storage/"};
    for (size_t i = 0; i < 3; i++) {
        size_t l = strlen(whole[i]);
        if (strncmp(m, whole[i], l) == 0 && (m[l] == '\0' || m[l] == '/'))
            return true;
        l = strlen(under[i]);
        if (strncmp(m, under[i], l) == 0 && m[l] != '\0')
            return true;
    }
    return false;
}

/* node_exporter's --collector.filesystem.fs-types-exclude default, plus network file systems
 * (statfs could block the agent's thread; node_exporter has a stuck-mount timeout instead). */
static bool fstype_excluded(const char *t)
{
    static const char *const types[] = {
        "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
        "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
        "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
        "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs",
        "nfs",        "nfs4",        "cifs",      "smb3",     "smbfs",     "ceph",
        "glusterfs",  "fuse.sshfs",  "afs",       "9p",       "lustre",    "gfs2"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t, types[i]) == 0)
            return true;
    return false;
}

/* Decodes the octal escapes of /proc/mounts (\040 = space) in place. */
static void unescape_mount(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static int default_statfs(void *ud, const char *path, struct collectors_statfs *out)
{
    (void)ud;
    struct statfs s;
    if (statfs(path, &s) != 0)
        return -1;
    /* node_exporter multiplies by f_bsize (filesystem_linux.go) */
    out->frsize = (uint64_t)s.f_bsize;
    out->blocks = s.f_blocks;
    out->bfree = s.f_bfree;
    out->bavail = s.f_bavail;
    out->files = s.f_files;
    out->ffree = s.f_ffree;
    return 0;
}

static bool fs_seen(const struct fs_row *rows, size_t n, const struct fs_row *f)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].mountpoint, f->mountpoint) == 0 &&
            strcmp(rows[i].device, f->device) == 0 && strcmp(rows[i].fstype, f->fstype) == 0)
            return true;
    return false;
}

/* Parses one /proc/mounts line into f; returns 0 when the mount is in scope. */
static int parse_mount(const char *p, const char *end, struct fs_row *f)
{
    char opts[512];
    memset(f, 0, sizeof *f);
    word(&p, end, f->device, sizeof f->device);
    word(&p, end, f->mountpoint, sizeof f->mountpoint);
    word(&p, end, f->fstype, sizeof f->fstype);
    word(&p, end, opts, sizeof opts);
    if (!f->mountpoint[0] || !f->fstype[0])
        return -1;
    unescape_mount(f->device);
    unescape_mount(f->mountpoint);
    if (mount_excluded(f->mountpoint) || fstype_excluded(f->fstype))
        return -1;
    f->ro = strcmp(opts, "ro") == 0 || strncmp(opts, "ro,", 3) == 0 || strstr(opts, ",ro,") ||
            (strlen(opts) > 3 && strcmp(opts + strlen(opts) - 3, ",ro") == 0);
    return 0;
}

struct fs_family {
    const char *name, *help;
};

static const struct fs_family fs_families[] = {
    {"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes."},
    {"node_filesystem_device_error",
     "Whether an error occurred while getting statistics for the given device."},
    {"node_filesystem_files", "Filesystem total file nodes."},
    {"node_filesystem_files_free", "Filesystem total free file nodes."},
    {"node_filesystem_free_bytes", "Filesystem free space in bytes."},
    {"node_filesystem_readonly", "Filesystem read-only status."},
    {"node_filesystem_size_bytes", "Filesystem size in bytes."},
};

static double fs_value(const struct fs_row *f, size_t fam)
{
    const struct collectors_statfs *s = &f->st;
    switch (fam) {
    case 0:
        return (double)s->bavail * (double)s->frsize;
    case 1:
        return f->error;
    case 2:
        return (double)s->files;
    case 3:
        return (double)s->ffree;
    case 4:
        return (double)s->bfree * (double)s->frsize;
    case 5:
        return f->ro;
    default:
        return (double)s->blocks * (double)s->frsize;
    }
}

static void emit_fs_rows(struct node_reader *r, const struct fs_row *rows, size_t n)
{
    for (size_t fam = 0; fam < sizeof fs_families / sizeof fs_families[0]; fam++) {
        for (size_t i = 0; i < n; i++) {
            /* node_exporter emits only device_error (and readonly) for a failed statfs */
            if (rows[i].error && fam != 1 && fam != 5)
                continue;
            struct node_label l[3] = {{"device", rows[i].device},
                                      {"fstype", rows[i].fstype},
                                      {"mountpoint", rows[i].mountpoint}};
            put(r, fs_families[fam].name, fs_families[fam].help, NODE_GAUGE, l, 3,
                fs_value(&rows[i], fam));
        }
    }
}

static void emit_filesystems(struct node_reader *r)
{
    size_t len, n = 0, cap = 0;
    struct fs_row *rows = NULL;
    if (coll_read(&r->ctx, "/proc/1/mounts", &len) != 0 &&
        read_src(r, SRC_MOUNTS, "/proc/self/mounts", &len) != 0)
        return;
    source_state(r, SRC_MOUNTS, true);
    const char *p = r->ctx.buf, *end = p + len;
    for (; p < end; p = coll_next_line(p, end)) {
        if (grow((void **)&rows, &cap, n, sizeof *rows) != 0)
            break;
        struct fs_row *f = &rows[n];
        if (parse_mount(p, coll_next_line(p, end), f) != 0 || fs_seen(rows, n, f))
            continue;
        n++;
    }
    char path[COLL_PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s%s", r->root, rows[i].mountpoint);
        rows[i].error = r->statfs_fn(r->statfs_ud, path, &rows[i].st) != 0;
    }
    emit_fs_rows(r, rows, n);
    free(rows);
}

/* ---- /proc/pressure ---------------------------------------------------------------------- */

/* Reads the "total=" of the some (full=false) or full line of one pressure file. */
static int pressure_total(const char *buf, size_t len, bool full, uint64_t *out)
{
    const char *p = buf, *end = buf + len;
    const char *tag = full ? "full " : "some ";
    for (; p < end; p = coll_next_line(p, end)) {
        const char *eol = coll_next_line(p, end);
        if (eol - p < 5 || memcmp(p, tag, 5) != 0)
            continue;
        for (const char *q = p; q + 6 <= eol; q++) {
            if (memcmp(q, "total=", 6) == 0) {
                q += 6;
                return coll_u64(&q, eol, out);
            }
        }
    }
    return -1;
}

static void emit_pressure(struct node_reader *r)
{
    static const struct {
        const char *file, *family, *help;
        bool full;
    } ps[] = {
        {"/proc/pressure/cpu", "node_pressure_cpu_waiting_seconds_total",
         "Total time in seconds that processes have waited for CPU time", false},
        {"/proc/pressure/io", "node_pressure_io_stalled_seconds_total",
         "Total time in seconds no process could make progress due to IO congestion", true},
        {"/proc/pressure/io", "node_pressure_io_waiting_seconds_total",
         "Total time in seconds that processes have waited due to IO congestion", false},
        {"/proc/pressure/memory", "node_pressure_memory_stalled_seconds_total",
         "Total time in seconds no process could make progress due to memory congestion", true},
        {"/proc/pressure/memory", "node_pressure_memory_waiting_seconds_total",
         "Total time in seconds that processes have waited for memory", false},
    };
    bool any = false;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        size_t len;
        uint64_t us;
        if (coll_read(&r->ctx, ps[i].file, &len) != 0 ||
            pressure_total(r->ctx.buf, len, ps[i].full, &us) != 0)
            continue;
        any = true;
        put(r, ps[i].family, ps[i].help, NODE_COUNTER, NULL, 0, (double)us / 1000.0 / 1000.0);
    }
    if (!any && !r->failing[SRC_PRESSURE]) /* kernels without PSI: say it once, at debug */
        cw_debug("prometheus", "no /proc/pressure: node_pressure_* left out");
    r->failing[SRC_PRESSURE] = !any;
}

/* ---- uname and time ---------------------------------------------------------------------- */

static void emit_uname(struct node_reader *r)
{
    struct utsname u;
    if (uname(&u) != 0)
        return;
    struct node_label l[6] = {{"domainname", u.domainname}, {"machine", u.machine},
                              {"nodename", u.nodename},     {"release", u.release},
                              {"sysname", u.sysname},       {"version", u.version}};
    put(r, "node_uname_info", "Labeled system information as provided by the uname system call.",
        NODE_GAUGE, l, 6, 1);
}

/* ---- the round --------------------------------------------------------------------------- */

struct node_reader *node_reader_new(const char *root, collectors_statfs_fn statfs_fn,
                                    void *statfs_ud)
{
    struct node_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    const char *s = root ? root : "";
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    r->root = strndup(s, n);
    if (!r->root) {
        free(r);
        return NULL;
    }
    r->ctx.root = r->root;
    r->statfs_fn = statfs_fn ? statfs_fn : default_statfs;
    r->statfs_ud = statfs_ud;
    r->hz = sysconf(_SC_CLK_TCK);
    if (r->hz <= 0)
        r->hz = 100;
    return r;
}

void node_reader_free(struct node_reader *r)
{
    if (!r)
        return;
    free(r->ctx.buf);
    free(r->root);
    free(r);
}

/* Families come out grouped, mostly in node_exporter's (alphabetical) order. */
size_t node_reader_round(struct node_reader *r, int64_t wall_ms, node_emit_fn emit, void *ud)
{
    r->emit = emit;
    r->ud = ud;
    r->count = 0;
    struct cpu_row *cpus = NULL;
    size_t ncpu = 0;
    struct stat_misc m;
    int stat_ok = read_stat(r, &cpus, &ncpu, &m);
    if (stat_ok == 0 && m.has_btime)
        put(r, "node_boot_time_seconds", "Node boot time, in unixtime.", NODE_GAUGE, NULL, 0,
            (double)m.btime);
    m.has_btime = false;
    if (stat_ok == 0)
        emit_cpus(r, cpus, ncpu);
    free(cpus);
    emit_diskstats(r);
    emit_filesystems(r);
    emit_loadavg(r);
    emit_meminfo(r);
    emit_netdev(r);
    emit_pressure(r);
    if (stat_ok == 0)
        emit_stat_misc(r, &m);
    put(r, "node_time_seconds", "System time in seconds since epoch (1970).", NODE_GAUGE, NULL, 0,
        (double)wall_ms / 1000.0);
    emit_uname(r);
    return r->count;
}
