/* procstat — per-process metrics for the processes chosen by each `procstat` item, as
 * telegraf's inputs.procstat with the native finder:
 *   pid_file: the pid written in a file (read at every round);
 *   exe:      PCRE2 regex matched against the process name (comm, from /proc/pid/stat), or, when
 * comm is truncated (15 bytes), against the basename of /proc/pid/exe (pgrep-like); pattern:  PCRE2
 * regex matched against the full command line (arguments joined by spaces). Dimensions: the search
 * key (`pidfile`, `exe` or `pattern`, value as configured) and `process_name`;
 * procstat_lookup_pid_count carries the search key and `pid_finder`=native. Sources: /proc/pid/stat
 * (cpu times, priorities, threads), /proc/pid/status (memory, context switches, SigQ), /proc/pid/io
 * (may be unreadable for other users: those four fields are skipped), /proc/pid/fd (count),
 * /proc/pid/limits (rlimit_*; "unlimited" is sent as RLIM_INFINITY, 18446744073709551615).
 * cpu_usage = 100 * delta(utime+stime+blkio ticks) / USER_HZ / delta(wall seconds) (gopsutil's
 * Percent, not divided by the number of cpus); the first round of a process emits none. A process
 * that exits mid-read is skipped. Fields the kernel does not expose per process (cpu_time_idle,
 * _nice, _irq, _soft_irq, _steal, _stolen, _guest_nice) are accepted and never emitted. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "collectors/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define USER_HZ        100.0
#define RLIM_INF_VALUE 18446744073709551615.0
/* comm is cut at TASK_COMM_LEN - 1 bytes; only then can the exe basename say more */
#define COMM_TRUNCATED 15

enum {
    F_CPU_TIME,
    F_CPU_USER,
    F_CPU_SYSTEM,
    F_CPU_IOWAIT,
    F_CPU_GUEST,
    F_CPU_USAGE,
    F_MEM_DATA,
    F_MEM_LOCKED,
    F_MEM_RSS,
    F_MEM_STACK,
    F_MEM_SWAP,
    F_MEM_VMS,
    F_READ_BYTES,
    F_WRITE_BYTES,
    F_READ_COUNT,
    F_WRITE_COUNT,
    F_INVOL,
    F_VOL,
    F_NICE,
    F_RTPRIO,
    F_NUM_FDS,
    F_NUM_THREADS,
    F_PID,
    F_SIGPEND,
    F_PID_COUNT,
    F_RLIMIT /* 11 resources x {hard, soft} follow */
};

static const struct coll_field fields[] = {
    {"cpu_time", "procstat_cpu_time", "None"},
    {"cpu_time_user", "procstat_cpu_time_user", "None"},
    {"cpu_time_system", "procstat_cpu_time_system", "None"},
    {"cpu_time_iowait", "procstat_cpu_time_iowait", "None"},
    {"cpu_time_guest", "procstat_cpu_time_guest", "None"},
    {"cpu_usage", "procstat_cpu_usage", "Percent"},
    {"memory_data", "procstat_memory_data", "Bytes"},
    {"memory_locked", "procstat_memory_locked", "Bytes"},
    {"memory_rss", "procstat_memory_rss", "Bytes"},
    {"memory_stack", "procstat_memory_stack", "Bytes"},
    {"memory_swap", "procstat_memory_swap", "Bytes"},
    {"memory_vms", "procstat_memory_vms", "Bytes"},
    {"read_bytes", "procstat_read_bytes", "Bytes"},
    {"write_bytes", "procstat_write_bytes", "Bytes"},
    {"read_count", "procstat_read_count", "None"},
    {"write_count", "procstat_write_count", "None"},
    {"involuntary_context_switches", "procstat_involuntary_context_switches", "None"},
    {"voluntary_context_switches", "procstat_voluntary_context_switches", "None"},
    {"nice_priority", "procstat_nice_priority", "None"},
    {"realtime_priority", "procstat_realtime_priority", "None"},
    {"num_fds", "procstat_num_fds", "None"},
    {"num_threads", "procstat_num_threads", "None"},
    {"pid", "procstat_pid", "None"},
    {"signals_pending", "procstat_signals_pending", "None"},
    {"pid_count", "procstat_lookup_pid_count", "None"},
#define RL(n, u)                                                                                   \
    {"rlimit_" n "_hard", "procstat_rlimit_" n "_hard", u},                                        \
    {                                                                                              \
        "rlimit_" n "_soft", "procstat_rlimit_" n "_soft", u                                       \
    }
    RL("cpu_time", "None"),
    RL("file_locks", "None"),
    RL("memory_data", "Bytes"),
    RL("memory_locked", "Bytes"),
    RL("memory_rss", "Bytes"),
    RL("memory_stack", "Bytes"),
    RL("memory_vms", "Bytes"),
    RL("nice_priority", "None"),
    RL("num_fds", "None"),
    RL("realtime_priority", "None"),
    RL("signals_pending", "None"),
    {"cpu_time_guest_nice", NULL, NULL},
    {"cpu_time_idle", NULL, NULL},
    {"cpu_time_irq", NULL, NULL},
    {"cpu_time_nice", NULL, NULL},
    {"cpu_time_soft_irq", NULL, NULL},
    {"cpu_time_steal", NULL, NULL},
    {"cpu_time_stolen", NULL, NULL},
};
#define NFIELDS     (sizeof fields / sizeof fields[0])
#define RLIMIT_MASK ((((coll_mask)1 << 22) - 1) << F_RLIMIT)

/* /proc/pid/limits row names, in the order of the RL() rows above. */
static const char *const limit_rows[] = {
    "Max cpu time",     "Max file locks",        "Max data size",       "Max locked memory",
    "Max resident set", "Max stack size",        "Max address space",   "Max nice priority",
    "Max open files",   "Max realtime priority", "Max pending signals",
};

struct item {
    enum collectors_procstat_key key;
    char *value;
    pcre2_code *re;
    coll_mask mask;
    size_t found; /* pids matched this round */
};

struct procstat_state {
    struct item *items;
    size_t n;
    bool need_comm, need_cmdline;
    bool procfs; /* this round's <root>/proc is a procfs (not a fixture tree) */
    pcre2_match_data *md;
    struct coll_series_set cpu; /* "<item>/<pid>/<starttime>" -> {ticks, now_ms} */
};

static void procstat_destroy(void *st)
{
    struct procstat_state *s = st;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].value);
        pcre2_code_free(s->items[i].re);
    }
    free(s->items);
    pcre2_match_data_free(s->md);
    coll_series_free(&s->cpu);
    free(s);
}

static const char *key_tag(enum collectors_procstat_key k)
{
    return k == COLL_PROCSTAT_PID_FILE ? "pidfile" : k == COLL_PROCSTAT_EXE ? "exe" : "pattern";
}

static int item_init(struct procstat_state *s, struct item *it,
                     const struct collectors_procstat_opts *o, char *err, size_t errlen)
{
    it->key = o->key;
    if (!(it->value = strdup(o->value ? o->value : ""))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (coll_mask_from(fields, NFIELDS, "procstat", &o->measurements, &it->mask, err, errlen))
        return -1;
    if (o->key == COLL_PROCSTAT_PID_FILE)
        return 0;
    int ec;
    PCRE2_SIZE off;
    it->re = pcre2_compile((PCRE2_SPTR)it->value, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
    if (!it->re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, errlen, "procstat: %s \"%s\": invalid regex at offset %zu: %s",
                 key_tag(o->key), it->value, (size_t)off, (const char *)msg);
        return -1;
    }
    s->need_comm |= o->key == COLL_PROCSTAT_EXE;
    s->need_cmdline |= o->key == COLL_PROCSTAT_PATTERN;
    return 0;
}

static void *procstat_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct procstat_state *s = calloc(1, sizeof *s);
    if (!s || !(s->md = pcre2_match_data_create(4, NULL)) ||
        (o->nprocstat && !(s->items = calloc(o->nprocstat, sizeof *s->items)))) {
        snprintf(err, errlen, "out of memory");
        if (s)
            procstat_destroy(s);
        return NULL;
    }
    for (size_t i = 0; i < o->nprocstat; i++) {
        s->n = i + 1;
        if (item_init(s, &s->items[i], &o->procstat[i], err, errlen) != 0) {
            procstat_destroy(s);
            return NULL;
        }
    }
    return s;
}

/* ---- reading one process ------------------------------------------------------------------ */

struct pinfo {
    char name[64];
    uint64_t utime, stime, blkio, guest, starttime, threads;
    int64_t nice, rtprio;
    uint64_t status[9]; /* see status_keys */
    bool has_status[9];
    uint64_t io[4];
    bool has_io;
    long nfds;
};

static const char *const status_keys[] = {"VmData:",
                                          "VmLck:",
                                          "VmRSS:",
                                          "VmStk:",
                                          "VmSwap:",
                                          "VmSize:",
                                          "nonvoluntary_ctxt_switches:",
                                          "voluntary_ctxt_switches:",
                                          "SigQ:"};

/* Parses /proc/pid/stat: comm and the numeric fields we use. */
static int parse_stat(const char *buf, size_t len, struct pinfo *pi)
{
    const char *end = buf + len, *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open || close + 2 >= end)
        return -1;
    size_t nl = (size_t)(close - open - 1);
    if (nl >= sizeof pi->name)
        nl = sizeof pi->name - 1;
    memcpy(pi->name, open + 1, nl);
    pi->name[nl] = '\0';
    /* After ")": field 3 is the state; fields 14 utime 15 stime 19 nice 20 threads 22 start
     * 40 rt_priority 42 delayacct_blkio_ticks 43 guest_time. */
    const char *p = coll_skip_words(close + 1, end, 11); /* fields 3..13 */
    int64_t skip;
    if (coll_u64(&p, end, &pi->utime) || coll_u64(&p, end, &pi->stime) ||
        coll_i64(&p, end, &skip) || coll_i64(&p, end, &skip) || coll_i64(&p, end, &skip) ||
        coll_i64(&p, end, &pi->nice) || coll_u64(&p, end, &pi->threads) ||
        coll_i64(&p, end, &skip) || coll_u64(&p, end, &pi->starttime))
        return -1;
    p = coll_skip_words(p, end, 17); /* fields 23..39 */
    uint64_t rt = 0, sched;
    if (coll_u64(&p, end, &rt) == 0 && coll_u64(&p, end, &sched) == 0)
        coll_u64(&p, end, &pi->blkio);
    pi->rtprio = (int64_t)rt;
    coll_u64(&p, end, &pi->guest);
    return 0;
}

static void parse_status(const char *buf, size_t len, struct pinfo *pi)
{
    const char *p = buf, *end = buf + len;
    for (; p < end; p = coll_next_line(p, end)) {
        for (size_t k = 0; k < sizeof status_keys / sizeof status_keys[0]; k++) {
            size_t kl = strlen(status_keys[k]);
            if ((size_t)(end - p) <= kl || memcmp(p, status_keys[k], kl) != 0)
                continue;
            const char *q = p + kl;
            uint64_t v;
            if (coll_u64(&q, end, &v) != 0)
                break;
            if (q + 3 <= end && memcmp(q, " kB", 3) == 0)
                v *= 1024;
            pi->status[k] = v;
            pi->has_status[k] = true;
            break;
        }
    }
}

static void parse_io(const char *buf, size_t len, struct pinfo *pi)
{
    static const char *const keys[] = {"read_bytes:", "write_bytes:", "syscr:", "syscw:"};
    const char *p = buf, *end = buf + len;
    int got = 0;
    for (; p < end; p = coll_next_line(p, end)) {
        for (int k = 0; k < 4; k++) {
            size_t kl = strlen(keys[k]);
            const char *q = p + kl;
            if ((size_t)(end - p) > kl && memcmp(p, keys[k], kl) == 0 &&
                coll_u64(&q, end, &pi->io[k]) == 0)
                got++;
        }
    }
    pi->has_io = got == 4;
}

/* Counts the open descriptors of a process. Since Linux 6.2 fstat(2) of /proc/<pid>/fd gives
 * the count as st_size (one bitmap count in the kernel, instead of a lookup per descriptor: 8 ms
 * for a process with 10,000 sockets); opening the directory first keeps the permission rule of
 * the listing (another user's fds stay unreadable, as in telegraf). An older kernel reports 0,
 * and a tree that is not a procfs (a fixture) has a directory size: then the entries are
 * counted. */
static long count_fds(int piddir, bool procfs)
{
    int fd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (procfs && fstat(fd, &st) == 0 && st.st_size > 0) {
        close(fd);
        return (long)st.st_size;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Reads what the mask needs. Returns 0, or -1 when the process is gone (stat unreadable). */
static int read_pinfo(int piddir, coll_mask mask, bool procfs, struct pinfo *pi, char *buf,
                      size_t cap)
{
    size_t len;
    memset(pi, 0, sizeof *pi);
    pi->nfds = -1;
    if (coll_read_at(piddir, "stat", buf, cap, &len) != 0 || parse_stat(buf, len, pi) != 0)
        return -1;
    if (coll_read_at(piddir, "status", buf, cap, &len) == 0)
        parse_status(buf, len, pi);
    if ((mask & ((coll_mask)0xf << F_READ_BYTES)) &&
        coll_read_at(piddir, "io", buf, cap, &len) == 0)
        parse_io(buf, len, pi);
    if (mask & ((coll_mask)1 << F_NUM_FDS))
        pi->nfds = count_fds(piddir, procfs);
    return 0;
}

/* ---- emitting ----------------------------------------------------------------------------- */

struct emit_ctx {
    struct coll_ctx *c;
    coll_mask mask;
    struct collectors_dim d[2];
};

static void put(struct emit_ctx *e, unsigned f, double v)
{
    coll_emit(e->c, fields, e->mask, f, v, e->d, 2);
}

static void emit_limits(struct emit_ctx *e, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    for (; p < end; p = coll_next_line(p, end)) {
        for (unsigned k = 0; k < sizeof limit_rows / sizeof limit_rows[0]; k++) {
            size_t kl = strlen(limit_rows[k]);
            if ((size_t)(end - p) <= kl || memcmp(p, limit_rows[k], kl) != 0 || p[kl] != ' ')
                continue;
            const char *q = p + kl;
            double v[2]; /* soft, hard */
            for (int j = 0; j < 2; j++) {
                uint64_t x;
                while (q < end && *q == ' ')
                    q++;
                if (q + 9 <= end && memcmp(q, "unlimited", 9) == 0) {
                    v[j] = RLIM_INF_VALUE;
                    q += 9;
                } else {
                    v[j] = coll_u64(&q, end, &x) == 0 ? (double)x : -1;
                }
            }
            if (v[0] >= 0 && v[1] >= 0) {
                put(e, F_RLIMIT + 2 * k, v[1]);
                put(e, F_RLIMIT + 2 * k + 1, v[0]);
            }
            break;
        }
    }
}

static void emit_cpu_usage(struct emit_ctx *e, struct procstat_state *s, size_t item,
                           const char *pid, const struct pinfo *pi)
{
    char key[COLL_SERIES_NAME];
    int n = snprintf(key, sizeof key, "%zu/%s/%llu", item, pid, (unsigned long long)pi->starttime);
    struct coll_series *ser =
        n > 0 && (size_t)n < sizeof key ? coll_series_get(&s->cpu, key, (size_t)n) : NULL;
    if (!ser)
        return;
    uint64_t ticks = pi->utime + pi->stime + pi->blkio, now = (uint64_t)e->c->now_ms;
    if (ser->has_prev && ticks >= ser->v[0] && now > ser->v[1])
        put(e, F_CPU_USAGE,
            100.0 * ((double)(ticks - ser->v[0]) / USER_HZ) / ((double)(now - ser->v[1]) / 1e3));
    ser->v[0] = ticks;
    ser->v[1] = now;
    ser->has_prev = true;
}

static void emit_pinfo(struct emit_ctx *e, const struct pinfo *pi, long pid)
{
    put(e, F_CPU_TIME, (double)(pi->utime + pi->stime + pi->blkio) / USER_HZ);
    put(e, F_CPU_USER, (double)pi->utime / USER_HZ);
    put(e, F_CPU_SYSTEM, (double)pi->stime / USER_HZ);
    put(e, F_CPU_IOWAIT, (double)pi->blkio / USER_HZ);
    put(e, F_CPU_GUEST, (double)pi->guest / USER_HZ);
    static const unsigned status_field[] = {F_MEM_DATA,  F_MEM_LOCKED, F_MEM_RSS,
                                            F_MEM_STACK, F_MEM_SWAP,   F_MEM_VMS,
                                            F_INVOL,     F_VOL,        F_SIGPEND};
    for (unsigned k = 0; k < 9; k++)
        if (pi->has_status[k])
            put(e, status_field[k], (double)pi->status[k]);
    if (pi->has_io)
        for (unsigned k = 0; k < 4; k++)
            put(e, F_READ_BYTES + k, (double)pi->io[k]);
    put(e, F_NICE, (double)pi->nice);
    put(e, F_RTPRIO, (double)pi->rtprio);
    if (pi->nfds >= 0)
        put(e, F_NUM_FDS, (double)pi->nfds);
    put(e, F_NUM_THREADS, (double)pi->threads);
    put(e, F_PID, (double)pid);
}

/* Collects and emits one matched process for item i; a vanished process is skipped. */
static void sample_pid(struct coll_ctx *c, struct procstat_state *s, size_t i, int procfd,
                       const char *pid)
{
    struct item *it = &s->items[i];
    char buf[4096];
    struct pinfo pi;
    int piddir = openat(procfd, pid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (piddir < 0)
        return;
    if (read_pinfo(piddir, it->mask, s->procfs, &pi, buf, sizeof buf) == 0) {
        struct emit_ctx e = {
            c, it->mask, {{key_tag(it->key), it->value}, {"process_name", pi.name}}};
        it->found++;
        emit_pinfo(&e, &pi, strtol(pid, NULL, 10));
        emit_cpu_usage(&e, s, i, pid, &pi);
        size_t len;
        if ((it->mask & RLIMIT_MASK) && coll_read_at(piddir, "limits", buf, sizeof buf, &len) == 0)
            emit_limits(&e, buf, len);
    }
    close(piddir);
}

/* ---- finding processes -------------------------------------------------------------------- */

static bool re_match(struct procstat_state *s, const pcre2_code *re, const char *str, size_t n)
{
    return pcre2_match(re, (PCRE2_SPTR)str, n, 0, 0, s->md, NULL) >= 0;
}

static bool exe_basename_matches(struct procstat_state *s, const struct item *it, int procfd,
                                 const char *pid)
{
    char rel[64], target[COLL_PATH_MAX];
    snprintf(rel, sizeof rel, "%s/exe", pid);
    ssize_t n = readlinkat(procfd, rel, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    base = base ? base + 1 : target;
    return re_match(s, it->re, base, strlen(base));
}

/* Reads cmdline with NULs turned into spaces; returns its length or -1. */
static long read_cmdline(int procfd, const char *pid, char *buf, size_t cap)
{
    char rel[64];
    size_t len;
    snprintf(rel, sizeof rel, "%s/cmdline", pid);
    if (coll_read_at(procfd, rel, buf, cap, &len) != 0)
        return -1;
    while (len > 0 && buf[len - 1] == '\0')
        len--;
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    return (long)len;
}

/* Matches one listed process against every exe/pattern item and samples the hits. */
static void scan_pid(struct coll_ctx *c, struct procstat_state *s, int procfd,
                     const struct coll_proc *p)
{
    char pid[16], cmd[8192];
    snprintf(pid, sizeof pid, "%d", (int)p->pid);
    size_t commlen = strlen(p->comm);
    long cmdlen = s->need_cmdline ? read_cmdline(procfd, pid, cmd, sizeof cmd) : -1;
    for (size_t i = 0; i < s->n; i++) {
        const struct item *it = &s->items[i];
        bool hit = false;
        if (it->key == COLL_PROCSTAT_EXE)
            hit = re_match(s, it->re, p->comm, commlen) ||
                  (commlen >= COMM_TRUNCATED && !p->kthread &&
                   exe_basename_matches(s, it, procfd, pid));
        else if (it->key == COLL_PROCSTAT_PATTERN && cmdlen >= 0)
            hit = re_match(s, it->re, cmd, (size_t)cmdlen);
        if (hit)
            sample_pid(c, s, i, procfd, pid);
    }
}

static void scan_pidfile(struct coll_ctx *c, struct procstat_state *s, size_t i, int procfd)
{
    char buf[64];
    size_t len;
    const char *path = coll_path(c, s->items[i].value);
    if (!path || coll_read_at(AT_FDCWD, path, buf, sizeof buf, &len) != 0)
        return;
    const char *p = buf;
    uint64_t pid;
    while (p < buf + len && (*p == ' ' || *p == '\n'))
        p++;
    if (coll_u64(&p, buf + len, &pid) != 0 || pid == 0)
        return;
    char pids[24];
    snprintf(pids, sizeof pids, "%llu", (unsigned long long)pid);
    sample_pid(c, s, i, procfd, pids);
}

static void emit_lookups(struct coll_ctx *c, struct procstat_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct item *it = &s->items[i];
        struct collectors_dim d[2] = {{key_tag(it->key), it->value}, {"pid_finder", "native"}};
        coll_emit(c, fields, it->mask, F_PID_COUNT, (double)it->found, d, 2);
    }
}

static int procstat_gather(void *st, struct coll_ctx *c)
{
    struct procstat_state *s = st;
    if (s->n == 0)
        return 0;
    const struct coll_proc *procs = NULL;
    size_t np = 0;
    if ((s->need_comm || s->need_cmdline) && coll_procs(c, &procs, &np) != 0)
        return -1;
    const char *path = coll_path(c, "/proc");
    int procfd = path ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (procfd < 0)
        return coll_fail(c, "cannot open %s: %s", c->path, strerror(errno));
    struct statfs sf;
    s->procfs = fstatfs(procfd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
    for (size_t i = 0; i < s->n; i++)
        s->items[i].found = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].key == COLL_PROCSTAT_PID_FILE)
            scan_pidfile(c, s, i, procfd);
    for (size_t i = 0; i < np; i++)
        scan_pid(c, s, procfd, &procs[i]);
    close(procfd);
    emit_lookups(c, s);
    coll_series_sweep(&s->cpu);
    return 0;
}

const struct coll_impl coll_procstat_impl = {"procstat", procstat_create, procstat_gather,
                                             procstat_destroy};
