/* bench_collect — CPU cost of one full collection cycle (every Linux collector, plus two
 * procstat items: this process by pid file, and an `exe` regex that makes a full scan), the
 * median of N cycles, measured with CLOCK_PROCESS_CPUTIME_ID (our own CPU only: user + system).
 * Printed, never asserted. The median, not the mean: the 2 cores are shared with other builds.
 *
 *   idle:   the machine as it is
 *   loaded: + 1,000 forked sleeping processes and + 10,000 TCP sockets (5,000 loopback
 *           connections to a local listener, both ends), created here and removed afterwards.
 * Budget (DESIGN.md): <= 1.5 ms idle, <= 15 ms loaded. Also printed: the floors, what the kernel
 * alone charges per process for one openat+read+close of /proc/<pid>/stat, and for one pread on a
 * descriptor kept open (what collectors/proclist.c does: processes and procstat share that one
 * pass per round). RLIMIT_NOFILE is raised to its hard limit first, as the packaged unit sets it
 * (LimitNOFILE=65536): the descriptor cache keeps at most an eighth of the soft limit. netstat's
 * cost is the kernel's walk of the TCP established hash (~1 ms on a 262,144-bucket table) plus
 * the non-ESTABLISHED sockets it formats (ESTABLISHED comes from /proc/net/snmp CurrEstab; see
 * collectors/netstat.c and docs/metrics.md). */
#include "collectors/collectors.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CYCLES      100
#define EXTRA_PROCS 1000
#define EXTRA_CONNS 5000 /* two sockets each */

static void count_cb(void *ud, const struct collectors_sample *s)
{
    (void)s;
    (*(size_t *)ud)++;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char pidfile[64];

static struct collectors *make_set(int only)
{
    struct collectors_opts o;
    char err[256];
    collectors_opts_init(&o, only < 0);
    if (only >= 0)
        o.plugin[only].enabled = true;
    if (only < 0 || only == COLL_PROCSTAT) { /* one process by pid file, one full scan */
        collectors_opts_add_procstat(&o, COLL_PROCSTAT_PID_FILE, pidfile);
        collectors_opts_add_procstat(&o, COLL_PROCSTAT_EXE, "^no_such_process$");
    }
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    if (!set)
        fprintf(stderr, "bench_collect: %s\n", err);
    return set;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n samples (sorts them): the other engineer's builds share the 2 cores, and a mean
 * takes every cache flush they cause; the median is what a round costs. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Returns the median CPU ms per cycle; *datums gets the datums of the last cycle. */
static double measure(int only, int cycles, size_t *datums)
{
    struct collectors *set = make_set(only);
    double t[CYCLES];
    if (!set)
        return -1;
    size_t n = 0;
    collectors_gather(set, 0, count_cb, &n); /* warm-up: first round, buffers sized, fds cached */
    for (int i = 0; i < cycles; i++) {
        n = 0;
        double t0 = cpu_ms();
        collectors_gather(set, (int64_t)(i + 1) * 60000, count_cb, &n);
        t[i] = cpu_ms() - t0;
    }
    collectors_free(set);
    *datums = n;
    return median(t, cycles);
}

/* CPU ms of one bare pass over /proc/<pid>/stat (openat+read+close each), and how many
 * processes it saw; *kept gets the same pass as one pread(2) on descriptors kept open. */
static double proc_floor(int *nproc, double *kept)
{
    static int fds[8192];
    char buf[1024], rel[300];
    double t[CYCLES / 4], u[CYCLES / 4];
    int nfds = 0;
    for (int it = 0; it < CYCLES / 4; it++) {
        double t0 = cpu_ms();
        DIR *d = opendir("/proc");
        struct dirent *de;
        *nproc = 0;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] < '1' || de->d_name[0] > '9')
                continue;
            snprintf(rel, sizeof rel, "%s/stat", de->d_name);
            int fd = openat(dirfd(d), rel, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            if (read(fd, buf, sizeof buf) > 0)
                (*nproc)++;
            if (it == 0 && nfds < 8192)
                fds[nfds++] = fd;
            else
                close(fd);
        }
        if (d)
            closedir(d);
        t[it] = cpu_ms() - t0;
    }
    for (int it = 0; it < CYCLES / 4; it++) {
        double t0 = cpu_ms();
        for (int i = 0; i < nfds; i++)
            if (pread(fds[i], buf, sizeof buf, 0) < 0)
                buf[0] = '\0';
        u[it] = cpu_ms() - t0;
    }
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    *kept = nfds ? median(u, CYCLES / 4) * *nproc / nfds : 0;
    return median(t, CYCLES / 4);
}

static void report(const char *label, double budget)
{
    size_t n = 0;
    int np = 0;
    double kept, all = measure(-1, CYCLES, &n);
    printf("  %-7s full cycle: %7.3f ms CPU  (%zu datums, median of %d cycles) [budget <= %g ms: "
           "%s]\n",
           label, all, n, CYCLES, budget, all <= budget ? "met" : "NOT met");
    double floor = proc_floor(&np, &kept);
    printf("           floor: reading /proc/<pid>/stat of %d processes costs %.3f ms (%.1f us "
           "each: openat+read+close), %.3f ms (%.1f us each) with pread on kept descriptors\n",
           np, floor, np ? floor * 1000 / np : 0, kept, np ? kept * 1000 / np : 0);
    for (int p = 0; p < COLL_PLUGIN_COUNT; p++) {
        double one = measure(p, CYCLES / 4, &n);
        printf("           %-10s %7.3f ms\n", collectors_plugin_name(p), one);
    }
}

static pid_t *spawn_sleepers(int n)
{
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    pid_t parent = getpid();
    for (int i = 0; pids && i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            prctl(PR_SET_NAME, "bench_sleeper");
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
        pids[i] = pid;
    }
    return pids;
}

static void reap(pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
    free(pids);
}

/* Opens EXTRA_CONNS loopback connections; fills fds (2 per connection + the listener). */
static int open_conns(int *fds, int *nfds)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 4096) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    fds[(*nfds)++] = l;
    for (int i = 0; i < EXTRA_CONNS; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof sa) != 0)
            return -1;
        fds[(*nfds)++] = c;
        int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (a < 0)
            return -1;
        fds[(*nfds)++] = a;
    }
    return 0;
}

int main(void)
{
    alarm(300); /* bounded whatever happens */
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(pidfile, sizeof pidfile, "/tmp/cwt_bench_collect.%d.pid", (int)getpid());
    FILE *pf = fopen(pidfile, "w");
    if (pf) {
        fprintf(pf, "%d\n", (int)getpid());
        fclose(pf);
    }
    cw_log_set_level(CW_LOG_ERROR);
    struct rlimit rl; /* as under packaging/cwagent.service (LimitNOFILE=65536): see proclist.h */
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    printf("collection cycle CPU cost (CLOCK_PROCESS_CPUTIME_ID)\n");
    report("idle", 1.5);

    /* sleepers first, so that they do not inherit the 10,000 sockets */
    pid_t *pids = spawn_sleepers(EXTRA_PROCS);
    int *fds = calloc(2 * EXTRA_CONNS + 1, sizeof *fds), nfds = 0;
    if (!fds || rl.rlim_cur < 2 * EXTRA_CONNS + 64 || open_conns(fds, &nfds) != 0) {
        printf("  loaded: cannot open %d TCP sockets (RLIMIT_NOFILE %llu); skipped\n",
               2 * EXTRA_CONNS, (unsigned long long)rl.rlim_cur);
    } else {
        report("loaded", 15);
        printf("           (+%d processes, +%d TCP sockets)\n", EXTRA_PROCS, nfds - 1);
    }
    if (pids)
        reap(pids, EXTRA_PROCS);
    struct linger lg = {1, 0}; /* close with RST: leave no TIME_WAIT sockets behind */
    for (int i = 0; i < nfds; i++) {
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fds[i]);
    }
    free(fds);
    unlink(pidfile);
    return 0;
}
