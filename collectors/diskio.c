/* diskio — /proc/diskstats, as telegraf's inputs.diskio followed by the reference's
 * cumulativetodelta processor: reads, writes, read_bytes, write_bytes (sectors x 512),
 * read_time, write_time, io_time are per-interval deltas (the first sample of a device is
 * dropped; a counter that goes backwards is a reset and emits nothing that round);
 * iops_in_progress is a gauge. Dimension `name` = the kernel device name.
 * Default devices: every line of /proc/diskstats (partitions included, as telegraf) except
 * loop* and ram* (always-idle pseudo devices); `resources` (globs, "*" = all) replaces that.
 * The NVMe log-page fields (ebs_*, instance_store_*) are accepted but not collected. */
#include "collectors/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { D_READS, D_WRITES, D_RBYTES, D_WBYTES, D_RTIME, D_WTIME, D_IOTIME, D_NDELTA };

static const struct coll_field fields[] = {
    {"reads", "diskio_reads", "Count"},
    {"writes", "diskio_writes", "Count"},
    {"read_bytes", "diskio_read_bytes", "Bytes"},
    {"write_bytes", "diskio_write_bytes", "Bytes"},
    {"read_time", "diskio_read_time", "Milliseconds"},
    {"write_time", "diskio_write_time", "Milliseconds"},
    {"io_time", "diskio_io_time", "Milliseconds"},
    {"iops_in_progress", "diskio_iops_in_progress", "Count"},
    {"ebs_total_read_ops", NULL, NULL},
    {"ebs_total_write_ops", NULL, NULL},
    {"ebs_total_read_bytes", NULL, NULL},
    {"ebs_total_write_bytes", NULL, NULL},
    {"ebs_total_read_time", NULL, NULL},
    {"ebs_total_write_time", NULL, NULL},
    {"ebs_volume_performance_exceeded_iops", NULL, NULL},
    {"ebs_volume_performance_exceeded_tp", NULL, NULL},
    {"ebs_ec2_instance_performance_exceeded_iops", NULL, NULL},
    {"ebs_ec2_instance_performance_exceeded_tp", NULL, NULL},
    {"ebs_volume_queue_length", NULL, NULL},
    {"instance_store_total_read_ops", NULL, NULL},
    {"instance_store_total_write_ops", NULL, NULL},
    {"instance_store_total_read_bytes", NULL, NULL},
    {"instance_store_total_write_bytes", NULL, NULL},
    {"instance_store_total_read_time", NULL, NULL},
    {"instance_store_total_write_time", NULL, NULL},
    {"instance_store_performance_exceeded_iops", NULL, NULL},
    {"instance_store_performance_exceeded_tp", NULL, NULL},
    {"instance_store_volume_queue_length", NULL, NULL},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct diskio_state {
    coll_mask mask;
    struct collectors_list devices;
    struct coll_series_set series;
};

static void diskio_destroy(void *st)
{
    struct diskio_state *s = st;
    coll_list_free(&s->devices);
    coll_series_free(&s->series);
    free(s);
}

static void *diskio_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct diskio_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "diskio", &o->plugin[COLL_DISKIO].measurements, &s->mask,
                       err, errlen) != 0 ||
        coll_list_copy(&s->devices, &o->plugin[COLL_DISKIO].resources) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        diskio_destroy(s);
        return NULL;
    }
    return s;
}

static bool wanted(const struct diskio_state *s, const char *name)
{
    if (s->devices.n)
        return coll_list_match(&s->devices, name);
    return strncmp(name, "loop", 4) != 0 && strncmp(name, "ram", 3) != 0;
}

/* Parses the 11 counters after the device name; returns 0 or -1 on a short line. */
static int parse_counters(const char *p, const char *end, uint64_t v[11])
{
    for (int i = 0; i < 11; i++)
        if (coll_u64(&p, end, &v[i]) != 0)
            return -1;
    return 0;
}

static void emit_deltas(struct coll_ctx *c, struct diskio_state *s, struct coll_series *e,
                        const uint64_t cur[D_NDELTA], const struct collectors_dim *d)
{
    uint64_t delta[D_NDELTA];
    for (int i = 0; i < D_NDELTA; i++)
        if (!coll_delta(cur[i], e->v[i], &delta[i]))
            return; /* reset: this round is dropped for the device */
    for (unsigned i = 0; i < D_NDELTA; i++)
        coll_emit(c, fields, s->mask, i, (double)delta[i], d, 1);
}

static void diskio_line(struct coll_ctx *c, struct diskio_state *s, const char *p, const char *end)
{
    p = coll_skip_words(p, end, 2);
    while (p < end && *p == ' ')
        p++;
    const char *name = p;
    while (p < end && *p != ' ' && *p != '\n')
        p++;
    size_t nl = (size_t)(p - name);
    char dev[COLL_SERIES_NAME];
    uint64_t v[11];
    if (nl == 0 || nl >= sizeof dev || parse_counters(p, end, v) != 0)
        return;
    memcpy(dev, name, nl);
    dev[nl] = '\0';
    if (!wanted(s, dev))
        return;
    struct coll_series *e = coll_series_get(&s->series, dev, nl);
    if (!e)
        return;
    /* fields: 0 reads 1 merged 2 sectors 3 read_ms 4 writes 5 merged 6 sectors 7 write_ms
     * 8 in_flight 9 io_ms 10 weighted */
    uint64_t cur[D_NDELTA] = {v[0], v[4], v[2] * 512, v[6] * 512, v[3], v[7], v[9]};
    struct collectors_dim d = {"name", dev};
    if (e->has_prev)
        emit_deltas(c, s, e, cur, &d);
    coll_emit(c, fields, s->mask, D_NDELTA, (double)v[8], &d, 1);
    memcpy(e->v, cur, sizeof cur);
    e->has_prev = true;
}

static int diskio_gather(void *st, struct coll_ctx *c)
{
    struct diskio_state *s = st;
    size_t len;
    if (coll_read(c, "/proc/diskstats", &len) != 0)
        return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    const char *p = c->buf, *end = c->buf + len;
    while (p < end) {
        const char *next = coll_next_line(p, end);
        diskio_line(c, s, p, next);
        p = next;
    }
    coll_series_sweep(&s->series);
    return 0;
}

const struct coll_impl coll_diskio_impl = {"diskio", diskio_create, diskio_gather, diskio_destroy};
