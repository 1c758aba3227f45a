/* bench_logtail — file bytes to events, no HTTP: 200-byte lines read, split, assembled
 * (default multi-line pattern), UTF-8-checked and handed out, every event committed at once.
 * Prints events/s and MB/s for a plain source and for one parsing timestamps. Never asserts.
 */
#include "logtail/logtail.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
    run("plain (warm-up)", glob, NULL);
    run("plain", glob, NULL);
    run("timestamp %Y-%m-%d %H:%M:%S.%f", glob, "%Y-%m-%d %H:%M:%S.%f");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("   peak RSS %ld KiB\n", ru.ru_maxrss);
    nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
