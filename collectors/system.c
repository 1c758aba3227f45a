/* system — telegraf's inputs.system (load1, load5, load15, n_cpus, n_users, uptime), which the
 * reference agent's schema accepts and its translator drops; cwagent publishes it:
 *   load1/5/15 = /proc/loadavg, n_cpus = the cpuN lines of /proc/stat (online logical CPUs, as
 *   gopsutil's cpu.Counts(true)), n_users = USER_PROCESS records of the utmp file
 *   (<root>/var/run/utmp, else <root>/run/utmp; gopsutil's host.Users), uptime = whole seconds
 *   of /proc/uptime. A missing utmp means no login record: n_users is 0, as gopsutil reports. */
#include "collectors/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utmp.h>

static const struct coll_field fields[] = {
    {"load1", "system_load1", "None"},      {"load5", "system_load5", "None"},
    {"load15", "system_load15", "None"},    {"n_cpus", "system_n_cpus", "Count"},
    {"n_users", "system_n_users", "Count"}, {"uptime", "system_uptime", "Seconds"},
};
#define NFIELDS    (sizeof fields / sizeof fields[0])
#define UTMP_LIMIT 65536 /* records read at most (a corrupt or huge file stays bounded) */

struct system_state {
    coll_mask mask;
};

static void *system_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct system_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "system", &o->plugin[COLL_SYSTEM].measurements, &s->mask,
                       err, errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static int read_loadavg(struct coll_ctx *c, double load[3])
{
    size_t len;
    if (coll_read(c, "/proc/loadavg", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    char *p = c->buf;
    for (int i = 0; i < 3; i++) {
        char *end;
        load[i] = strtod(p, &end);
        if (end == p)
            return coll_fail(c, "%s: unexpected content", c->path);
        p = end;
    }
    return 0;
}

static int count_cpus(struct coll_ctx *c, unsigned *n)
{
    size_t len;
    if (coll_read(c, "/proc/stat", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    const char *p = c->buf, *end = p + len;
    *n = 0;
    for (; p < end; p = coll_next_line(p, end))
        if (end - p > 3 && memcmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9')
            (*n)++;
    return 0;
}

static int read_uptime(struct coll_ctx *c, double *up)
{
    size_t len;
    if (coll_read(c, "/proc/uptime", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    const char *p = c->buf;
    uint64_t secs;
    if (coll_u64(&p, c->buf + len, &secs) != 0)
        return coll_fail(c, "%s: unexpected content", c->path);
    *up = (double)secs;
    return 0;
}

/* Counts USER_PROCESS records; 0 when there is no utmp file. */
static unsigned count_users(struct coll_ctx *c)
{
    static const char *const paths[] = {"/var/run/utmp", "/run/utmp"};
    int fd = -1;
    for (size_t i = 0; i < 2 && fd < 0; i++) {
        const char *path = coll_path(c, paths[i]);
        fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    }
    if (fd < 0)
        return 0;
    unsigned n = 0;
    struct utmp u;
    for (int i = 0; i < UTMP_LIMIT && read(fd, &u, sizeof u) == (ssize_t)sizeof u; i++)
        if (u.ut_type == USER_PROCESS)
            n++;
    close(fd);
    return n;
}

static int system_gather(void *st, struct coll_ctx *c)
{
    struct system_state *s = st;
    double load[3], up = 0;
    unsigned ncpu = 0;
    if (read_loadavg(c, load) != 0 || count_cpus(c, &ncpu) != 0 || read_uptime(c, &up) != 0)
        return -1;
    double v[NFIELDS] = {load[0], load[1], load[2], ncpu, count_users(c), up};
    for (unsigned i = 0; i < NFIELDS; i++)
        coll_emit(c, fields, s->mask, i, v[i], NULL, 0);
    return 0;
}

const struct coll_impl coll_system_impl = {"system", system_create, system_gather, free};
