/* test_collect_kernel — the collectors against the running kernel, where fixtures cannot stand in:
 *  - netstat: in a network namespace of its own (nothing else's sockets), a known set of
 *    loopback sockets (LISTEN, ESTABLISHED, CLOSE_WAIT, FIN_WAIT2, TIME_WAIT, UDP) is counted
 *    over several rounds through sock_diag netlink (the first round dumps every socket, the next
 *    ones take ESTABLISHED from /proc/net/snmp CurrEstab) and through the /proc/net text tables
 *    (a root of /proc/self/root reads the same kernel as text); every count must be exact.
 *  - proclist: descriptors kept across rounds: the cap, children that exit, a pid reused by a
 *    new process (clone3 with set_tid, root only), and no descriptor left behind.
 * Bounded: at most 8 children and 16 sockets; SKIP where the kernel or privileges do not allow. */
#include "collectors/collectors.h"
#include "collectors/proclist.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- netstat ------------------------------------------------------------------------------ */

enum { NS_N = 13 };
static const char *const ns_names[NS_N] = {
    "netstat_tcp_close",       "netstat_tcp_close_wait", "netstat_tcp_closing",
    "netstat_tcp_established", "netstat_tcp_fin_wait1",  "netstat_tcp_fin_wait2",
    "netstat_tcp_last_ack",    "netstat_tcp_listen",     "netstat_tcp_none",
    "netstat_tcp_syn_sent",    "netstat_tcp_syn_recv",   "netstat_tcp_time_wait",
    "netstat_udp_socket"};

struct counts {
    double v[NS_N];
    int seen;
};

static void on_netstat(void *ud, const struct collectors_sample *s)
{
    struct counts *c = ud;
    for (int i = 0; i < NS_N; i++)
        if (strcmp(s->name, ns_names[i]) == 0) {
            c->v[i] = s->value;
            c->seen++;
        }
}

static struct collectors *netstat_set(const char *root)
{
    struct collectors_opts o;
    char err[256];
    collectors_opts_init(&o, false);
    o.plugin[COLL_NETSTAT].enabled = true;
    o.root = root ? strdup(root) : NULL;
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    return set;
}

/* Enters a new network namespace with lo up; returns 0, or -1 (SKIP) when not allowed. */
static int private_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
        return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 ? 0 : -1;
    ifr.ifr_flags |= IFF_UP;
    if (rc == 0)
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* A loopback listener of family fam; *sa gets its address. */
static int listener(int fam, struct sockaddr_storage *sa, socklen_t *sl)
{
    int l = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(sa, 0, sizeof *sa);
    sa->ss_family = (sa_family_t)fam;
    if (fam == AF_INET)
        ((struct sockaddr_in *)sa)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        ((struct sockaddr_in6 *)sa)->sin6_addr = in6addr_loopback;
    *sl = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (l < 0 || bind(l, (struct sockaddr *)sa, *sl) != 0 || listen(l, 16) != 0 ||
        getsockname(l, (struct sockaddr *)sa, sl) != 0) {
        if (l >= 0)
            close(l);
        return -1;
    }
    return l;
}

/* Connects to l; fds[0] the client end, fds[1] the accepted end. */
static int connect_pair(int fam, int l, const struct sockaddr_storage *sa, socklen_t sl, int fds[2])
{
    fds[0] = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (const struct sockaddr *)sa, sl) != 0)
        return -1;
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    return fds[1] < 0 ? -1 : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Builds: v4 listener + 3 established pairs, v6 listener + 2 pairs (when IPv6 is there),
 * one half-closed pair (client FIN_WAIT2, server CLOSE_WAIT), one closed pair (client
 * TIME_WAIT), 2 UDP sockets. Fills want[] and returns the number of fds in fds. */
static int build_sockets(int *fds, double want[NS_N])
{
    int n = 0, pair[2];
    struct sockaddr_storage sa;
    socklen_t sl;
    int l4 = listener(AF_INET, &sa, &sl);
    if (l4 < 0)
        return -1;
    fds[n++] = l4;
    want[7] += 1;
    for (int i = 0; i < 3; i++) {
        if (connect_pair(AF_INET, l4, &sa, sl, pair) != 0)
            return -1;
        fds[n++] = pair[0];
        fds[n++] = pair[1];
        want[3] += 2;
    }
    if (connect_pair(AF_INET, l4, &sa, sl, pair) != 0) /* half-closed */
        return -1;
    shutdown(pair[0], SHUT_WR);
    fds[n++] = pair[0];
    fds[n++] = pair[1];
    want[5] += 1;                                      /* FIN_WAIT2 */
    want[1] += 1;                                      /* CLOSE_WAIT */
    if (connect_pair(AF_INET, l4, &sa, sl, pair) != 0) /* client closes first: TIME_WAIT */
        return -1;
    close(pair[0]);
    sleep_ms(20);
    close(pair[1]);
    want[11] += 1;
    struct sockaddr_storage sa6;
    socklen_t sl6;
    int l6 = listener(AF_INET6, &sa6, &sl6);
    if (l6 >= 0) {
        fds[n++] = l6;
        want[7] += 1;
        for (int i = 0; i < 2; i++) {
            if (connect_pair(AF_INET6, l6, &sa6, sl6, pair) != 0)
                return -1;
            fds[n++] = pair[0];
            fds[n++] = pair[1];
            want[3] += 2;
        }
    }
    for (int i = 0; i < 2; i++) {
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (u < 0 || bind(u, (struct sockaddr *)&a, sizeof a) != 0)
            return -1;
        fds[n++] = u;
        want[12] += 1;
    }
    sleep_ms(50); /* FINs and ACKs crossed loopback */
    return n;
}

/* In the child: prints each difference (the parent only sees the exit status). */
static int expect_counts(const char *what, int round, const struct counts *got,
                         const double want[NS_N])
{
    int bad = got->seen != NS_N;
    if (bad)
        printf("  %s round %d: %d netstat datums, want %d\n", what, round, got->seen, NS_N);
    for (int i = 0; i < NS_N; i++)
        if (got->v[i] != want[i]) {
            printf("  %s round %d: %s = %g, want %g\n", what, round, ns_names[i], got->v[i],
                   want[i]);
            bad = 1;
        }
    return bad;
}

/* Runs in a child (the namespace stays with it); reports through the exit status: 0 pass,
 * 1 fail (messages on stdout), 77 skip. */
static int netstat_child(void)
{
    if (private_netns() != 0)
        return 77;
    int fds[32];
    double want[NS_N] = {0};
    int n = build_sockets(fds, want);
    if (n < 0) {
        printf("cannot build the socket set: %s\n", strerror(errno));
        return 1;
    }
    struct collectors *nl = netstat_set(NULL), *text = netstat_set("/proc/self/root");
    if (!nl || !text)
        return 1;
    int bad = 0;
    for (int round = 0; round < 4; round++) {
        struct counts a = {{0}, 0}, b = {{0}, 0};
        collectors_gather(nl, round + 1, on_netstat, &a);
        collectors_gather(text, round + 1, on_netstat, &b);
        bad |= expect_counts("netlink", round, &a, want);
        bad |= expect_counts("/proc/net text", round, &b, want);
    }
    collectors_free(nl);
    collectors_free(text);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return bad;
}

TEST(netstat_netlink_equals_proc_text)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = netstat_child();
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    int st = 0;
    T_ASSERT(pid > 0 && waitpid(pid, &st, 0) == pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        t_skip("cannot create a network namespace (needs root or user namespaces)");
        return;
    }
    T_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- proclist ----------------------------------------------------------------------------- */

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the listing's own */
}

static pid_t sleeper(const char *name)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, name);
        for (;;)
            pause();
    }
    return pid;
}

static void kill_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static const struct coll_proc *find_proc(const struct coll_proc *p, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (p[i].pid == pid)
            return &p[i];
    return NULL;
}

/* Waits until pid has renamed itself (a fresh child does it asynchronously). */
static int wait_named(pid_t pid, const char *name)
{
    char path[64], comm[32];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    for (int tries = 0; tries < 200; tries++) {
        FILE *f = fopen(path, "r");
        bool ok = f && fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0;
        if (f)
            fclose(f);
        if (ok)
            return 0;
        sleep_ms(5);
    }
    return -1;
}

/* Waits for the children's names, then scans once: every one must be listed by that scan. */
static int scan_named(struct proclist *pl, const pid_t *pids, int n, const char *name,
                      const struct coll_proc **out, size_t *np)
{
    for (int i = 0; i < n; i++)
        if (wait_named(pids[i], name) != 0)
            return -1;
    if (proclist_scan(pl, "", out, np) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct coll_proc *p = find_proc(*out, *np, pids[i]);
        if (!p || strcmp(p->comm, name) != 0) {
            printf("  pid %d: %s\n", (int)pids[i], p ? p->comm : "not listed");
            return -1;
        }
    }
    return 0;
}

TEST(proclist_cap_and_vanished)
{
    enum { KIDS = 6 };
    pid_t kids[KIDS];
    int fds_before = count_open_fds();
    for (int i = 0; i < KIDS; i++)
        kids[i] = sleeper("cwt_plc");
    struct proclist *small = proclist_new(4), *big = proclist_new(PROCLIST_MAX_FDS);
    T_ASSERT(small && big);
    const struct coll_proc *p;
    size_t np;
    T_ASSERT(scan_named(small, kids, KIDS, "cwt_plc", &p, &np) == 0);
    T_EQ_INT(proclist_cached(small), 4);
    T_ASSERT(scan_named(big, kids, KIDS, "cwt_plc", &p, &np) == 0);
    T_CHECK(proclist_cached(big) >= KIDS);
    T_CHECK(proclist_cached(big) <= np);
    T_CHECK(find_proc(p, np, getpid()) != NULL);
    const struct coll_proc *k = find_proc(p, np, kids[0]);
    T_ASSERT(k);
    T_CHECK(k->state == 'S');
    T_EQ_INT(k->threads, 1);
    T_CHECK(!k->kthread);
    /* two children exit: a round later they are gone and their descriptors closed */
    kill_reap(kids[0]);
    kill_reap(kids[1]);
    T_ASSERT(scan_named(big, kids + 2, KIDS - 2, "cwt_plc", &p, &np) == 0);
    T_CHECK(find_proc(p, np, kids[0]) == NULL);
    T_CHECK(find_proc(p, np, kids[1]) == NULL);
    for (int i = 2; i < KIDS; i++)
        kill_reap(kids[i]);
    proclist_free(small);
    proclist_free(big);
    T_EQ_INT(count_open_fds(), fds_before);
}

/* In a child: with RLIMIT_NOFILE 80 (a cache of 10) and every other descriptor taken, the next
 * scans must give the cache back (EMFILE opening /proc, then opening a stat file) and still
 * list every process. Exit 0 = pass. */
static int emfile_child(void)
{
    struct rlimit rl = {80, 80};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 2;
    struct proclist *pl = proclist_new(PROCLIST_MAX_FDS);
    const struct coll_proc *p;
    size_t n1, n2;
    if (!pl || proclist_scan(pl, "", &p, &n1) != 0)
        return 3;
    size_t cached = proclist_cached(pl);
    if (cached != 10 && cached != n1) {
        printf("  %zu cached, want 10 (80 / 8)\n", cached);
        return 4;
    }
    while (dup(0) >= 0)
        ;
    if (errno != EMFILE || proclist_scan(pl, "", &p, &n2) != 0)
        return 5;
    if (n2 + 10 < n1 || proclist_cached(pl) > 1) {
        printf("  listed %zu then %zu with no descriptor left; %zu still cached\n", n1, n2,
               proclist_cached(pl));
        return 6;
    }
    /* the 10 given back are free again: this scan keeps 9, fails to open the 10th, gives
     * them back again and goes on */
    size_t n3;
    if (proclist_scan(pl, "", &p, &n3) != 0)
        return 7;
    if (n3 + 10 < n1 || proclist_cached(pl) > 1) {
        printf("  listed %zu then %zu with 10 descriptors left; %zu still cached\n", n1, n3,
               proclist_cached(pl));
        return 8;
    }
    proclist_free(pl);
    return 0;
}

TEST(proclist_gives_fds_back_on_emfile)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = emfile_child();
        fflush(stdout);
        _exit(rc);
    }
    int st = 0;
    T_ASSERT(pid > 0 && waitpid(pid, &st, 0) == pid);
    T_EQ_INT(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
}

/* clone_args (linux/sched.h, CLONE_ARGS_SIZE_VER1), declared here to keep <sched.h> usable. */
struct clone_args_v1 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
        set_tid_size;
};

/* Forks a sleeper named `name` with pid `want`; returns it, or -1 (errno) when not allowed. */
static pid_t sleeper_at(pid_t want, const char *name)
{
#ifdef SYS_clone3
    pid_t tid = want;
    struct clone_args_v1 a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    a.set_tid = (uint64_t)(uintptr_t)&tid;
    a.set_tid_size = 1;
    fflush(stdout);
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, name);
        for (;;)
            pause();
    }
    return (pid_t)pid;
#else
    (void)want;
    (void)name;
    errno = ENOSYS;
    return -1;
#endif
}

TEST(proclist_pid_reused)
{
    struct proclist *pl = proclist_new(PROCLIST_MAX_FDS);
    T_ASSERT(pl);
    pid_t old = sleeper("cwt_old");
    const struct coll_proc *p;
    size_t np;
    T_ASSERT(scan_named(pl, &old, 1, "cwt_old", &p, &np) == 0);
    T_ASSERT(proclist_cached(pl) >= 1);
    uint64_t start = find_proc(p, np, old)->starttime;
    kill_reap(old);
    sleep_ms(20); /* a new start time (clock ticks) */
    pid_t again = sleeper_at(old, "cwt_new");
    if (again < 0) {
        t_skip("clone3 set_tid not allowed here (%s): pid reuse not forced", strerror(errno));
        proclist_free(pl);
        return;
    }
    T_EQ_INT(again, old);
    T_ASSERT(scan_named(pl, &again, 1, "cwt_new", &p, &np) == 0);
    const struct coll_proc *q = find_proc(p, np, again);
    T_ASSERT(q);
    T_CHECK(q->starttime > start);
    kill_reap(again);
    proclist_free(pl);
}

T_MAIN("test_collect_kernel", T_CASE(netstat_netlink_equals_proc_text),
       T_CASE(proclist_cap_and_vanished), T_CASE(proclist_pid_reused),
       T_CASE(proclist_gives_fds_back_on_emfile))
