/* bench_logtail — file bytes to events, no HTTP: 200-byte lines read, split, assembled
 * (default multi-line pattern), UTF-8-checked and handed out, every event committed at once.
 * Prints events/s and MB/s for a plain source and for one parsing timestamps. Never asserts.
 */
#include "logtail/logtail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_LEN 200
#define N_LINES  (500 * 1000) /* 100 MB */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int make_file(const char *path)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    char line[LINE_LEN + 1];
    for (int i = 0; i < N_LINES; i++) {
        int n =
            snprintf(line, sizeof line, "2024-03-05 10:20:%02d.%03d INFO [worker-%d] request %d ",
                     i % 60, i % 1000, i % 16, i);
        memset(line + n, 'x', (size_t)(LINE_LEN - 1 - n));
        line[LINE_LEN - 1] = '\n';
        fwrite(line, 1, LINE_LEN, fp);
    }
    return fclose(fp);
}

static void run(const char *name, const char *glob, const char *ts_format)
{
    struct lt_options o;
    memset(&o, 0, sizeof o);
    struct logtail *lt = logtail_new(&o);
    if (!lt)
        return;
    struct lt_source_config c;
    memset(&c, 0, sizeof c);
    c.file_path = glob;
    c.timestamp_format = ts_format;
    c.timezone = LT_TZ_UTC;
    double t0 = mono();
    if (logtail_add_source(lt, &c, NULL, 0) != 0) {
        logtail_free(lt);
        return;
    }
    struct lt_event ev;
    unsigned long long events = 0, bytes = 0;
    for (;;) {
        while (logtail_next_event(lt, &ev) == 1) {
            events++;
            bytes += ev.len + 1;
            logtail_commit(lt, ev.file_id, ev.end_offset);
        }
        if (!logtail_has_work(lt))
            break;
    }
    double dt = mono() - t0;
    printf("   %-28s %8.0f events/s  %7.1f MB/s  (%llu events, %.2f s)\n", name,
           (double)events / dt, (double)bytes / dt / 1e6, events, dt);
    logtail_free(lt);
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t g_sim_ms;

static int64_t sim_clock(void *ud)
{
    (void)ud;
    return g_sim_ms;
}

/* 100 files x 1,000 lines/min for 60 simulated seconds, checkpoints on: the tailer's CPU time
 * (inotify, reads, events, commits, ticks, checkpoint writes) over 60 s of wall time. */
static void many_files(const char *dir, bool checkpoints)
{
    enum { FILES = 100, SECONDS = 60, PER_SEC = 17 };
    char path[512], glob[512], state[512], line[256];
    snprintf(glob, sizeof glob, "%s/many/*.log", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(path, sizeof path, "%s/many", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return;
    int fds[FILES];
    for (int i = 0; i < FILES; i++) {
        snprintf(path, sizeof path, "%s/many/f%03d.log", dir, i);
        fds[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    }
    g_sim_ms = 1700000000000LL;
    struct lt_options o;
    memset(&o, 0, sizeof o);
    o.state_dir = checkpoints ? state : NULL;
    o.clock = sim_clock;
    struct logtail *lt = logtail_new(&o);
    struct lt_source_config c;
    memset(&c, 0, sizeof c);
    c.file_path = glob;
    c.publish_multi_logs = true;
    if (!lt || logtail_add_source(lt, &c, NULL, 0) != 0)
        goto out;
    double spent = 0, wall = 0;
    unsigned long long events = 0;
    for (int s = 0; s < SECONDS; s++) {
        for (int i = 0; i < FILES; i++)
            for (int k = 0; k < PER_SEC; k++) {
                int n = snprintf(line, sizeof line,
                                 "2024-03-05 10:20:30 INFO file %d line %d "
                                 "some payload of a typical length for an application log\n",
                                 i, s * PER_SEC + k);
                if (write(fds[i], line, (size_t)n) != n)
                    goto out;
            }
        for (int i = 0; i < FILES; i++) /* the application's writeback is not ours to count */
            (void)fdatasync(fds[i]);
        double c0 = cpu(), w0 = mono();
        logtail_on_readable(lt);
        struct lt_event ev;
        do {
            while (logtail_next_event(lt, &ev) == 1) {
                events++;
                logtail_commit(lt, ev.file_id, ev.end_offset);
            }
        } while (logtail_has_work(lt));
        g_sim_ms += 1000;
        logtail_tick(lt, g_sim_ms);
        spent += cpu() - c0;
        wall += mono() - w0;
    }
    printf("   100 files x 1,000 lines/min, checkpoints %-3s  %.3f %% of a core (%.1f ms CPU, "
           "%.1f ms wall, per 60 s; %llu events)\n",
           checkpoints ? "on" : "off", spent / SECONDS * 100, spent * 1e3, wall * 1e3, events);
out:
    logtail_free(lt);
    for (int i = 0; i < FILES; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

int main(void)
{
    char tmpl[] = "/tmp/lt_bench_XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        return 1;
    char path[256], glob[256];
    snprintf(path, sizeof path, "%s/app.log", dir);
    snprintf(glob, sizeof glob, "%s/*.log", dir);
    if (make_file(path) != 0) {
        nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    printf("   %d lines x %d bytes = %.0f MB, page cache warm after the first run\n", N_LINES,
           LINE_LEN, (double)N_LINES * LINE_LEN / 1e6);
    if (!getenv("BENCH_LOGTAIL_MANY_ONLY")) {
        run("plain (warm-up)", glob, NULL);
        run("plain", glob, NULL);
        run("timestamp %Y-%m-%d %H:%M:%S.%f", glob, "%Y-%m-%d %H:%M:%S.%f");
    }
    many_files(dir, false);
    many_files(dir, true);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("   peak RSS %ld KiB\n", ru.ru_maxrss);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
