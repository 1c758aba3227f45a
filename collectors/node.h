/* node — one round of host readings named, typed and labelled as Prometheus's node_exporter
 * (Debian's 1.5.0) names them, for cwagent's /metrics exposition.
 *
 * The values are the kernel's raw cumulative counters (not the per-interval deltas the
 * CloudWatch collectors emit): node_cpu_seconds_total, node_disk_*, node_network_*,
 * node_memory_*_bytes, node_filesystem_*, node_load1/5/15, node_pressure_*, node_procs_*,
 * node_context_switches_total, node_forks_total, node_intr_total, node_boot_time_seconds,
 * node_time_seconds and node_uname_info. See docs/metrics.md ("Prometheus exposition").
 *
 * Usage:
 *   struct node_reader *r = node_reader_new(root, NULL, NULL);
 *   node_reader_round(r, wall_ms, emit, ud);   // once per collection interval
 *   node_reader_free(r);
 *
 * node_reader_round reads <root>/proc/{stat,meminfo,loadavg,diskstats,net/dev,1/mounts,
 * pressure/{cpu,io,memory}}, <root>/sys/class/net/<dev>/operstate, uname(2) and statfs(2) of each
 * mount point, and calls emit once per series. Every series of one family is emitted consecutively
 * and a family is emitted at most once per round, so a renderer writes HELP/TYPE when the family
 * changes. A missing source drops its families for that round (logged once by the reader).
 *
 * node_exporter's default scope: disk partitions, ram, loop and fd devices are left out;
 * mount points under /dev, /proc, /run/credentials, /sys, /var/lib/docker and
 * /var/lib/containers/storage and pseudo file systems are left out (tmpfs is kept); every
 * network interface is kept. Network file systems (nfs, cifs, ...) are left out too, because
 * statfs on a dead server blocks, and the reader runs on the agent's one thread.
 */
#ifndef CW_NODE_H
#define CW_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/collectors.h"

enum node_type { NODE_GAUGE, NODE_COUNTER };

struct node_label {
    const char *name;
    const char *value;
};

/* One series; every pointer is borrowed for the duration of the emit call. Labels come sorted
 * by name (as node_exporter writes them). */
struct node_series {
    const char *family; /* "node_cpu_seconds_total" */
    const char *help;
    enum node_type type;
    const struct node_label *labels;
    size_t nlabels;
    double value;
};

typedef void (*node_emit_fn)(void *ud, const struct node_series *s);

struct node_reader;

/* root: "/" (or NULL), a fixture tree in tests, "/hostfs" in a container. statfs_fn: the seam
 * of collectors.h (NULL = statfs(2)); statfs_ud is passed to it. Returns NULL when out of
 * memory. The caller frees the reader with node_reader_free. */
struct node_reader *node_reader_new(const char *root, collectors_statfs_fn statfs_fn,
                                    void *statfs_ud);
void node_reader_free(struct node_reader *r);

/* Reads every source once and emits the series. wall_ms is node_time_seconds (x 1000).
 * Returns the number of series emitted. */
size_t node_reader_round(struct node_reader *r, int64_t wall_ms, node_emit_fn emit, void *ud);

#endif
