/* collectors/internal.h — shared by the collector files only (not part of the module's API,
 * which is collectors.h). Each collector is a table of fields and three functions; core.c owns
 * the set, the read buffer, the measurement filter and the log-once bookkeeping. */
#ifndef CW_COLLECTORS_INTERNAL_H
#define CW_COLLECTORS_INTERNAL_H

#include "collectors/collectors.h"

#include <stdarg.h>
#include <stdint.h>

/* The biggest /proc file we read whole (/proc/net/tcp6 with ~100k sockets is ~15 MB). */
#define COLL_READ_MAX (64u << 20)
#define COLL_PATH_MAX 4096
/* Process list cap (pid_max is at most 4,194,304). */
#define COLL_MAX_PROCS (1u << 22)

/* One field of a plugin: its telegraf field name, its CloudWatch metric name and unit.
 * `metric` NULL marks a field the allow-list accepts but Linux does not expose (never emitted). */
struct coll_field {
    const char *field;
    const char *metric;
    const char *unit;
};

/* Bit i set = field i of the plugin's table is wanted. Tables have at most 64 entries. */
typedef uint64_t coll_mask;

/* Per-round context handed to each gather. */
/* One process as listed from /proc/<pid>/stat this round (shared by processes and procstat). */
struct coll_proc {
    int32_t pid;
    char state;
    uint32_t threads;
    uint64_t starttime; /* field 22, clock ticks after boot: tells a reused pid apart */
    char comm[16];      /* TASK_COMM_LEN */
    bool kthread;       /* PF_KTHREAD: no exe, no cmdline */
};

struct proclist;

struct coll_ctx {
    const char *root; /* "" for "/", else the root without a trailing slash */
    char path[COLL_PATH_MAX];
    char *buf; /* set-owned read buffer, grown up to COLL_READ_MAX */
    size_t bufcap;
    collectors_emit_fn emit;
    void *ud;
    int64_t now_ms;
    size_t count;
    char err[256];                 /* why the last gather failed (logged once by core.c) */
    struct proclist *proclist;     /* set-owned; caches /proc/<pid>/stat descriptors */
    const struct coll_proc *procs; /* this round's process list, built on first use */
    size_t nprocs;
    bool procs_valid;
};

struct coll_impl {
    const char *name;
    /* Returns the collector's state (NULL with err filled on invalid options / no memory). */
    void *(*create)(const struct collectors_opts *o, char *err, size_t errlen);
    /* Returns 0, or -1 after coll_fail() when its source is missing or unreadable. */
    int (*gather)(void *state, struct coll_ctx *c);
    void (*destroy)(void *state);
};

extern const struct coll_impl coll_cpu_impl, coll_mem_impl, coll_swap_impl, coll_disk_impl,
    coll_diskio_impl, coll_net_impl, coll_netstat_impl, coll_processes_impl, coll_procstat_impl,
    coll_system_impl, coll_ethtool_impl, coll_nvidia_impl, coll_nvme_impl;

/* Records why a gather failed; returns -1 so callers can `return coll_fail(...)`. */
int coll_fail(struct coll_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lists every process of <root>/proc with its state, thread count and comm, once per round
 * (the second caller gets the same list). Processes that exit mid-read are left out. The list
 * is borrowed until the end of the round. Returns 0 or -1 (coll_fail) when /proc is unreadable. */
int coll_procs(struct coll_ctx *c, const struct coll_proc **out, size_t *n);

/* Builds <root><rel> in c->path and returns it (rel starts with '/'); NULL if too long. */
const char *coll_path(struct coll_ctx *c, const char *rel);

/* Reads the whole file <root><rel> into c->buf (NUL-terminated); the data is borrowed until the
 * next read. Returns 0 or -1 (errno set). */
int coll_read(struct coll_ctx *c, const char *rel, size_t *len);

/* Reads file `name` relative to dirfd into the caller's buf (at most cap-1 bytes, NUL-terminated).
 * A short read ends it (saves the EOF read: small /proc files and regular files give their
 * whole content at once). Returns 0 or -1 (errno set). */
int coll_read_at(int dirfd, const char *name, char *buf, size_t cap, size_t *len);

/* Computes the mask of wanted fields from a measurement list (empty = every exposed field).
 * Returns 0, or -1 with err naming the invalid measurement. */
int coll_mask_from(const struct coll_field *f, size_t n, const char *plugin,
                   const struct collectors_list *meas, coll_mask *out, char *err, size_t errlen);

/* Emits field i of table f if the mask wants it. dims are borrowed for the call. */
void coll_emit(struct coll_ctx *c, const struct coll_field *f, coll_mask mask, unsigned i, double v,
               const struct collectors_dim *dims, size_t ndims);

/* Parsing helpers: skip blanks, then parse an unsigned decimal; *p advances past it.
 * Returns 0, or -1 when no digit follows (p unchanged past the blanks). */
int coll_u64(const char **p, const char *end, uint64_t *out);
int coll_i64(const char **p, const char *end, int64_t *out);
/* Returns the start of the next line after p (or end). */
const char *coll_next_line(const char *p, const char *end);
/* Skips n blank-separated words. */
const char *coll_skip_words(const char *p, const char *end, int n);

/* /proc/meminfo values in bytes, keyed as the kernel names them (shared by mem and swap). */
struct coll_meminfo {
    uint64_t total, free, available, buffers, cached, sreclaimable, active, inactive, shmem;
    uint64_t swap_total, swap_free;
    bool has_available;
};
int coll_read_meminfo(struct coll_ctx *c, struct coll_meminfo *m);

/* Counter delta for the delta-pipeline collectors: returns 1 and sets *d when cur >= prev;
 * returns 0 when the counter went backwards (reset: nothing is emitted for this round). */
static inline int coll_delta(uint64_t cur, uint64_t prev, uint64_t *d)
{
    if (cur < prev)
        return 0;
    *d = cur - prev;
    return 1;
}

/* Per-device / per-interface previous counters for delta collectors. Each round: look every
 * present series up with coll_series_get (which marks it seen), then coll_series_sweep drops the
 * ones that vanished, so a device that comes back starts over (first round dropped). */
#define COLL_SERIES_NAME   64
#define COLL_SERIES_VALUES 8
struct coll_series {
    char name[COLL_SERIES_NAME];
    uint64_t v[COLL_SERIES_VALUES];
    uint32_t gen;
    bool has_prev;
};
struct coll_series_set {
    struct coll_series *s;
    size_t n, cap;
    uint32_t gen;
};
/* Returns the series for name (created with has_prev false), or NULL when out of memory or the
 * name is too long. The pointer is valid until the next get or sweep. */
struct coll_series *coll_series_get(struct coll_series_set *set, const char *name, size_t len);
void coll_series_sweep(struct coll_series_set *set);
void coll_series_free(struct coll_series_set *set);

/* Shell-glob match of name against a resource list ("*" matches all). */
bool coll_list_match(const struct collectors_list *l, const char *name);
bool coll_list_has(const struct collectors_list *l, const char *s);
int coll_list_copy(struct collectors_list *dst, const struct collectors_list *src);
void coll_list_free(struct collectors_list *l);

#endif
