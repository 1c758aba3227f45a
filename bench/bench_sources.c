/* bench_sources — the log sources beyond files, no HTTP:
 *   journald: 200,000 entries written by systemd-journal-remote, read through sd-journal,
 *     turned into the reference's JSON events and committed (entries per CPU-second);
 *   EMF: 200,000 EMF documents (~330 bytes) over loopback TCP from a child process, framed,
 *     parsed, routed and handed out (events per CPU-second of the agent side).
 * Prints the figures; never asserts.
 */
#include "logtail/emf.h"
#include "logtail/journal.h"

#include <ftw.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_ENTRIES (200 * 1000)
#define N_DOCS    (200 * 1000)

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static const char *journal_remote(void)
{
    static const char *const paths[] = {"/lib/systemd/systemd-journal-remote",
                                        "/usr/lib/systemd/systemd-journal-remote"};
    for (size_t i = 0; i < 2; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static int write_journal(const char *dir)
{
    const char *remote = journal_remote();
    char cmd[1024];
    if (!remote)
        return -1;
    snprintf(cmd, sizeof cmd, "%s -o %s/system.journal - 2>/dev/null", remote, dir);
    FILE *p = popen(cmd, "w");
    if (!p)
        return -1;
    long long t0 = (long long)time(NULL) * 1000000LL;
    for (int i = 0; i < N_ENTRIES; i++)
        fprintf(p,
                "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%d\n"
                "_BOOT_ID=0123456789abcdef0123456789abcdef\nPRIORITY=6\n_PID=%d\n"
                "_SYSTEMD_UNIT=app.service\nSYSLOG_IDENTIFIER=app\n_HOSTNAME=bench\n"
                "MESSAGE=request %d served in 12 ms for client 10.0.0.%d path /api/v1/items\n\n",
                t0 + i, i + 1, 1000 + i % 50, i, i % 250);
    return pclose(p) == 0 ? 0 : -1;
}

static void bench_journal(void)
{
    char tmpl[] = "/tmp/cwbench-journal-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char jdir[512], sdir[512], state[600];
    if (!dir)
        return;
    snprintf(jdir, sizeof jdir, "%s/journal", dir);
    snprintf(sdir, sizeof sdir, "%s/state", dir);
    mkdir(jdir, 0700);
    mkdir(sdir, 0700);
    if (write_journal(jdir) != 0) {
        printf("journald: skipped (systemd-journal-remote missing or failed)\n");
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        return;
    }
    snprintf(state, sizeof state, "%s/journald.state", sdir);
    FILE *f = fopen(state, "w"); /* read from the start of the journal */
    if (f) {
        fputs("bench\thead\n", f);
        fclose(f);
    }
    struct lt_journal_options o = {.state_dir = sdir, .directory = jdir};
    struct lt_journal *j = lt_journal_new(&o);
    struct lt_journal_config c = {.priority = 6, .key = "bench"};
    char err[256];
    if (!j || lt_journal_add(j, &c, err, sizeof err) != 0) {
        printf("journald: cannot open: %s\n", j ? err : "lt_journal_new");
        lt_journal_free(j);
        return;
    }
    double w0 = mono(), c0 = cpu();
    long n = 0;
    size_t bytes = 0;
    struct lt_journal_event ev;
    while (lt_journal_next(j, &ev) == 1) {
        n++;
        bytes += ev.len;
        lt_journal_commit(j, ev.reader, ev.seq);
    }
    lt_journal_save(j);
    double w = mono() - w0, cs = cpu() - c0;
    printf("journald: %ld entries (%.1f MB of JSON events) in %.2f s wall, %.2f s CPU: "
           "%.0f entries/s per CPU-second (budget >= 100,000)\n",
           n, (double)bytes / 1e6, w, cs, cs > 0 ? (double)n / cs : 0.0);
    lt_journal_free(j);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void send_docs(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        _exit(1);
    static char buf[1 << 16];
    size_t len = 0;
    for (int i = 0; i < N_DOCS; i++) {
        len += (size_t)snprintf(
            buf + len, sizeof buf - len,
            "{\"_aws\":{\"Timestamp\":1700000000000,\"LogGroupName\":\"bench\","
            "\"CloudWatchMetrics\":"
            "[{\"Namespace\":\"App\",\"Dimensions\":[[\"Service\",\"Op\"]],\"Metrics\":[{\"Name\":"
            "\"Latency\",\"Unit\":\"Milliseconds\"},{\"Name\":\"Hits\",\"Unit\":\"Count\"}]}]},"
            "\"Service\":\"api\",\"Op\":\"get\",\"Latency\":%d,\"Hits\":1,\"RequestId\":\"r-%d\"}"
            "\n",
            i % 500, i);
        if (len > sizeof buf - 1024 || i == N_DOCS - 1) {
            for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, buf + off, len - off);
                if (w <= 0)
                    _exit(1);
                off += (size_t)w;
            }
            len = 0;
        }
    }
    close(fd);
    _exit(0);
}

static void bench_emf(void)
{
    char err[256];
    struct lt_emf_options o = {.tcp = "127.0.0.1:0", .default_stream = "s"};
    struct lt_emf *e = lt_emf_new(&o, err, sizeof err);
    if (!e) {
        printf("emf: skipped (%s)\n", err);
        return;
    }
    int ep = epoll_create1(0);
    struct epoll_event w = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, lt_emf_fd(e), &w);
    double w0 = mono(), c0 = cpu();
    pid_t pid = fork();
    if (pid == 0)
        send_docs(lt_emf_port(e, false));
    long n = 0;
    size_t bytes = 0;
    double deadline = mono() + 120;
    while (n < N_DOCS && mono() < deadline) {
        struct epoll_event got;
        if (epoll_wait(ep, &got, 1, 1000) <= 0 && !lt_emf_has_work(e))
            continue;
        lt_emf_on_readable(e);
        struct lt_emf_event ev;
        while (lt_emf_next(e, &ev) == 1) {
            n++;
            bytes += ev.len;
        }
    }
    double wall = mono() - w0, cs = cpu() - c0;
    waitpid(pid, NULL, 0);
    printf("emf: %ld documents (%.1f MB) over TCP in %.2f s wall, %.2f s CPU (agent side): "
           "%.0f events/s per CPU-second (budget >= 100,000)\n",
           n, (double)bytes / 1e6, wall, cs, cs > 0 ? (double)n / cs : 0.0);
    close(ep);
    lt_emf_free(e);
}

int main(void)
{
    bench_journal();
    bench_emf();
    return 0;
}
