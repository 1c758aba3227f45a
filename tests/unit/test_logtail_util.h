/* Helpers shared by the logtail unit tests: temp dirs, files, an injected clock, and an event
 * collector that drives the tailer the way the agent's loop does. Header-only (static). */
#ifndef TEST_LOGTAIL_UTIL_H
#define TEST_LOGTAIL_UTIL_H

#include "logtail/logtail.h"
#include "tests/unit/t.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV_MAX 4096

struct evs {
    size_t n;
    char *msg[EV_MAX];
    size_t len[EV_MAX];
    int64_t ts[EV_MAX];
    uint64_t file_id[EV_MAX], end[EV_MAX];
    char *stream[EV_MAX];
};

static int64_t g_now = 1700000000000LL; /* 2023-11-14T22:13:20Z */

static int64_t fake_clock(void *ud)
{
    (void)ud;
    return g_now;
}

static char *mk_tmp(void)
{
    char tmpl[] = "/tmp/lt_test_XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(char *dir)
{
    if (dir)
        nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static void write_file(const char *path, const void *data, size_t n, int append)
{
    int fd = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0)
        return;
    if (write(fd, data, n) != (ssize_t)n)
        perror("write");
    close(fd);
}

static void write_str(const char *path, const char *s, int append)
{
    write_file(path, s, strlen(s), append);
}

static struct lt_options test_opts(const char *state)
{
    struct lt_options o;
    memset(&o, 0, sizeof o);
    o.state_dir = state;
    o.clock = fake_clock;
    return o;
}

static void evs_free(struct evs *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->msg[i]);
        free(e->stream[i]);
    }
    e->n = 0;
}

/* Pulls every ready event; commits each when `commit`. Returns how many were pulled. */
static size_t pull(struct logtail *lt, struct evs *e, int commit)
{
    struct lt_event ev;
    size_t got = 0;
    while (e->n < EV_MAX && logtail_next_event(lt, &ev) == 1) {
        e->msg[e->n] = malloc(ev.len + 1);
        memcpy(e->msg[e->n], ev.message, ev.len + 1);
        e->len[e->n] = ev.len;
        e->ts[e->n] = ev.timestamp_ms;
        e->file_id[e->n] = ev.file_id;
        e->end[e->n] = ev.end_offset;
        e->stream[e->n] = strdup(ev.stream_path);
        e->n++;
        got++;
        if (commit)
            logtail_commit(lt, ev.file_id, ev.end_offset);
    }
    return got;
}

/* One loop turn: inotify, a tick `step_ms` later, then pull everything. */
static size_t turn(struct logtail *lt, struct evs *e, int64_t step_ms, int commit)
{
    logtail_on_readable(lt);
    size_t n = pull(lt, e, commit);
    g_now += step_ms;
    logtail_tick(lt, g_now);
    return n + pull(lt, e, commit);
}

/* Runs turns until `k` turns in a row produce nothing (max 200 turns). */
static void settle(struct logtail *lt, struct evs *e, int64_t step_ms, int commit)
{
    int quiet = 0;
    for (int i = 0; i < 400 && quiet < 8; i++)
        quiet = turn(lt, e, step_ms, commit) || logtail_has_work(lt) ? 0 : quiet + 1;
}

static struct lt_source_config src_cfg(const char *glob)
{
    struct lt_source_config c;
    memset(&c, 0, sizeof c);
    c.file_path = glob;
    return c;
}

#endif
