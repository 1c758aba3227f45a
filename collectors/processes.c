/* processes — /proc/[pid]/stat of every process, as telegraf's inputs.processes on Linux:
 * state R running, S sleeping, D blocked, Z zombies, X dead, T/t stopped, W paging, I idle
 * (others are counted in total only); total = number of processes; total_threads = sum of
 * field 20 (num_threads). A process that exits between the directory listing and the read is
 * skipped. `wait` is in the reference's allow-list but telegraf emits it on FreeBSD only; it is
 * accepted and never emitted here. `zombies` carries unit None, as the reference sends it. */
#include "collectors/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    P_BLOCKED,
    P_DEAD,
    P_IDLE,
    P_PAGING,
    P_RUNNING,
    P_SLEEPING,
    P_STOPPED,
    P_TOTAL,
    P_THREADS,
    P_WAIT,
    P_ZOMBIES,
    P_N
};

static const struct coll_field fields[] = {
    {"blocked", "processes_blocked", "Count"},
    {"dead", "processes_dead", "Count"},
    {"idle", "processes_idle", "Count"},
    {"paging", "processes_paging", "Count"},
    {"running", "processes_running", "Count"},
    {"sleeping", "processes_sleeping", "Count"},
    {"stopped", "processes_stopped", "Count"},
    {"total", "processes_total", "Count"},
    {"total_threads", "processes_total_threads", "Count"},
    {"wait", NULL, NULL},
    {"zombies", "processes_zombies", "None"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct processes_state {
    coll_mask mask;
};

static void *processes_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct processes_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "processes", &o->plugin[COLL_PROCESSES].measurements,
                       &s->mask, err, errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static int state_index(char st)
{
    switch (st) {
    case 'R':
        return P_RUNNING;
    case 'S':
        return P_SLEEPING;
    case 'D':
        return P_BLOCKED;
    case 'Z':
        return P_ZOMBIES;
    case 'X':
        return P_DEAD;
    case 'T':
    case 't':
        return P_STOPPED;
    case 'W':
        return P_PAGING;
    case 'I':
        return P_IDLE;
    default:
        return -1;
    }
}

static int processes_gather(void *st, struct coll_ctx *c)
{
    struct processes_state *s = st;
    const struct coll_proc *p;
    size_t np;
    if (coll_procs(c, &p, &np) != 0)
        return -1;
    uint64_t n[P_N] = {0};
    for (size_t i = 0; i < np; i++) {
        int idx = state_index(p[i].state);
        if (idx >= 0)
            n[idx]++;
        n[P_THREADS] += p[i].threads;
    }
    n[P_TOTAL] = np;
    for (unsigned i = 0; i < P_N; i++)
        coll_emit(c, fields, s->mask, i, (double)n[i], NULL, 0);
    return 0;
}

const struct coll_impl coll_processes_impl = {"processes", processes_create, processes_gather,
                                              free};
