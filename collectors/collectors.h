/* collectors — host metric collectors named, measured and dimensioned exactly as
 * amazon-cloudwatch-agent (telegraf inputs + gopsutil) does: cpu, mem, swap, disk, diskio, net,
 * netstat, processes, procstat. See docs/metrics.md for every metric, unit and source file.
 *
 * Usage:
 *   struct collectors_opts o;
 *   collectors_opts_init(&o, 1);               // every plugin on, all measurements
 *   struct collectors *set = collectors_new(&o, err, sizeof err);
 *   collectors_opts_clear(&o);                 // the set keeps its own copies
 *   collectors_gather(set, now_ms, emit, ud);  // each interval; the first round of delta
 *                                              // metrics emits nothing (needs two samples)
 *   collectors_free(set);
 *
 * Everything read comes from `<root>/proc`, `<root>/sys` and statfs(2) on `<root><mountpoint>`;
 * the root ("/" normally, a fixture tree in tests, "/hostfs" in a container) is a parameter.
 * Missing or unreadable sources make the affected collector log once and skip; the others go on.
 * One thread; a set is not safe for concurrent use.
 */
#ifndef CW_COLLECTORS_H
#define CW_COLLECTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum collectors_plugin {
    COLL_CPU = 0,
    COLL_MEM,
    COLL_SWAP,
    COLL_DISK,
    COLL_DISKIO,
    COLL_NET,
    COLL_NETSTAT,
    COLL_PROCESSES,
    COLL_PROCSTAT,
    COLL_SYSTEM,      /* load, n_cpus, n_users, uptime (collectors/system.c) */
    COLL_ETHTOOL,     /* driver statistics via SIOCETHTOOL (collectors/ethtool.c) */
    COLL_NVIDIA_GPU,  /* nvidia-smi -q -x, run between rounds (collectors/nvidia.c) */
    COLL_DISKIO_NVME, /* diskio ebs_* / instance_store_*: NVMe log page 0xD0 (nvme.c); not a
                         JSON key: enabled with diskio's measurement list and resources */
    COLL_PLUGIN_COUNT
};

/* Returns the plugin's JSON key ("cpu", "diskio", ...); collectors_plugin_by_name returns -1 for
 * an unknown key. */
const char *collectors_plugin_name(enum collectors_plugin p);
int collectors_plugin_by_name(const char *name);

/* A list of strings owned by the options (collectors_opts_clear frees them). */
struct collectors_list {
    char **items;
    size_t n;
};

/* Appends a copy of s; returns 0 or -1 (out of memory). */
int collectors_list_add(struct collectors_list *l, const char *s);

struct collectors_plugin_opts {
    bool enabled;
    /* Field names with or without the "<plugin>_" prefix ("usage_idle" == "cpu_usage_idle");
     * empty = every field of the catalog. A name not in the reference allow-list is an error. */
    struct collectors_list measurements;
    /* cpu: ["*"] = per-core; disk: mount points; diskio: device names; net: interfaces.
     * Shell globs are accepted for diskio and net; "*" = all. Empty = the plugin default. */
    struct collectors_list resources;
};

enum collectors_procstat_key { COLL_PROCSTAT_PID_FILE, COLL_PROCSTAT_EXE, COLL_PROCSTAT_PATTERN };

/* One `procstat` array item: which processes, and which fields (empty = all). */
struct collectors_procstat_opts {
    enum collectors_procstat_key key;
    char *value; /* pid file path, or a PCRE2 pattern (exe: process name; pattern: cmdline) */
    struct collectors_list measurements;
};

/* Result of one statfs(2) call, as the disk collector needs it. */
struct collectors_statfs {
    uint64_t frsize, blocks, bfree, bavail, files, ffree;
};

/* The statfs seam: returns 0 and fills *out, or -1. `path` is <root><mountpoint>. The default
 * calls statfs(2); tests inject a table or a function that never returns (a dead mount). */
typedef int (*collectors_statfs_fn)(void *ud, const char *path, struct collectors_statfs *out);

/* The ethtool seam: reads one interface's driver name (ETHTOOL_GDRVINFO) and every driver
 * statistic (ETH_SS_STATS strings + ETHTOOL_GSTATS), calling stat() once per statistic with
 * borrowed strings. Returns 0, or -1 with errno set when the interface has no ethtool support
 * (loopback, EOPNOTSUPP) or vanished. The default issues the SIOCETHTOOL ioctl in the agent's
 * network namespace; tests inject recorded statistics (an ENA adapter's). `driver` is filled
 * before the first stat() call. */
/* The NVMe seam: reads the 4096-byte vendor log page 0xD0 of the device at `devpath`
 * (<root>/dev/nvmeX or nvmeXn1) into page. Returns 0, or -1 with errno set (no device, no
 * permission: admin commands need root or CAP_SYS_ADMIN). Tests replay recorded pages. */
#define COLLECTORS_NVME_PAGE 4096
typedef int (*collectors_nvme_fn)(void *ud, const char *devpath,
                                  unsigned char page[COLLECTORS_NVME_PAGE]);

typedef void (*collectors_ethtool_stat_fn)(void *cb_ud, const char *name, uint64_t value);
typedef int (*collectors_ethtool_fn)(void *ud, const char *ifname, char *driver, size_t driverlen,
                                     collectors_ethtool_stat_fn stat, void *cb_ud);

struct collectors_opts {
    char *root; /* "/" when NULL */
    struct collectors_plugin_opts plugin[COLL_PLUGIN_COUNT];
    bool cpu_percpu;                       /* per-core `cpu0..N` series (JSON: resources ["*"]) */
    bool cpu_totalcpu;                     /* `cpu-total` series (JSON: totalcpu, default true) */
    bool disk_drop_device;                 /* JSON: drop_device */
    struct collectors_list disk_ignore_fs; /* JSON: ignore_file_system_types */
    struct collectors_procstat_opts *procstat;
    size_t nprocstat;
    collectors_statfs_fn statfs_fn; /* NULL = statfs(2) */
    void *statfs_ud; /* must outlive the set and any probe thread still stuck in statfs_fn */
    /* Network file systems are only sampled when their mount point is named in disk resources,
     * and then in a helper thread bounded by this timeout (ms, default 2000). */
    int netfs_timeout_ms;
    /* ethtool: interface globs (include empty = every interface with ethtool support), and
     * the statistics to publish (metrics_include; empty = all the driver reports). */
    struct collectors_list ethtool_include, ethtool_exclude, ethtool_metrics;
    collectors_ethtool_fn ethtool_fn; /* NULL = the SIOCETHTOOL ioctl */
    void *ethtool_ud;
    char *nvidia_bin_path;      /* nvidia_gpu: the nvidia-smi to run; NULL = /usr/bin/nvidia-smi */
    collectors_nvme_fn nvme_fn; /* diskio_nvme: NULL = NVME_IOCTL_ADMIN_CMD Get Log Page */
    void *nvme_ud;
};

/* Zeroes *o; with all_plugins every plugin but nvidia_gpu and diskio_nvme (they need the
 * hardware) is enabled
 * with every measurement and percpu on (what `cwagent collect` does without a config).
 * cpu_totalcpu is true either way. */
void collectors_opts_init(struct collectors_opts *o, bool all_plugins);
/* Appends one procstat item (copies value); returns it, or NULL when out of memory. */
struct collectors_procstat_opts *collectors_opts_add_procstat(struct collectors_opts *o,
                                                              enum collectors_procstat_key key,
                                                              const char *value);
/* Frees everything the options own and zeroes them. */
void collectors_opts_clear(struct collectors_opts *o);

#define COLLECTORS_MAX_DIMS 4

struct collectors_dim {
    const char *name;
    const char *value;
};

/* One datum. Every pointer is borrowed and valid only during the emit callback. `host` is not
 * among the dimensions: the pipeline adds it. */
struct collectors_sample {
    const char *name; /* "mem_used_percent" */
    const char *unit; /* CloudWatch unit: Percent, Bytes, Count, Milliseconds, Seconds, None */
    const struct collectors_dim *dims;
    size_t ndims;
    double value;
    int64_t timestamp_ms;
};

typedef void (*collectors_emit_fn)(void *ud, const struct collectors_sample *s);

struct collectors;

/* Builds a collector set from options (deep-copied; the caller keeps ownership of `o`). Returns
 * NULL and writes a message naming the plugin and the offending value into err on invalid options
 * (unknown measurement, bad regex). The caller frees the set with collectors_free. */
struct collectors *collectors_new(const struct collectors_opts *o, char *err, size_t errlen);
void collectors_free(struct collectors *set);

/* Runs one round of every enabled collector; calls emit once per datum, stamped with now_ms.
 * Returns the number of datums emitted. */
size_t collectors_gather(struct collectors *set, int64_t now_ms, collectors_emit_fn emit, void *ud);

/* Runs one round of a single plugin (for per-plugin collection intervals); returns the number
 * of datums emitted (0 when the plugin is not enabled). Calls with the same now_ms share one
 * /proc process listing (processes and procstat). */
size_t collectors_gather_one(struct collectors *set, enum collectors_plugin p, int64_t now_ms,
                             collectors_emit_fn emit, void *ud);

#endif
