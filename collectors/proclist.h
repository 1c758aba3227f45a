/* proclist — the per-round list of processes, from <root>/proc/<pid>/stat (state, thread count,
 * comm, start time), shared by the processes and procstat collectors (one pass per round).
 *
 * On a real procfs the descriptor of each /proc/<pid>/stat is kept open across rounds and read
 * again with one pread(2) at offset 0: on this kind of VM a syscall costs about a microsecond,
 * and openat+read+close costs ~2x one pread. The cache is bounded (the cap given to
 * proclist_new, and never more than an eighth of the soft RLIMIT_NOFILE, checked every round);
 * when an open fails with EMFILE/ENFILE, every cached descriptor is given back at once. Each kept
 * descriptor costs ~4 KB of kernel memory (the seq_file page), charged to the agent's cgroup.
 * A cached descriptor names the struct pid of the process that was opened, not the number:
 * once that process is reaped the read fails (ESRCH) and the descriptor is closed, so a pid
 * reused by a new process is opened afresh by name; the start time is compared as well.
 * Descriptors of pids no longer listed are closed at the end of the round. On any other tree
 * (a fixture, a copy) nothing is cached: every file is opened, read and closed each round.
 *
 *   struct proclist *pl = proclist_new(PROCLIST_MAX_FDS);
 *   proclist_scan(pl, "", &procs, &n);     // each round; procs borrowed until the next scan
 *   proclist_free(pl);                     // closes every cached descriptor
 *
 * One thread; a list is not safe for concurrent use. */
#ifndef CW_COLLECTORS_PROCLIST_H
#define CW_COLLECTORS_PROCLIST_H

#include "collectors/internal.h"

#include <stddef.h>

/* Default cap of cached descriptors (1,000 processes + room to grow). */
#define PROCLIST_MAX_FDS 4096

struct proclist;

/* Returns an empty list that caches at most max_fds descriptors (0 = never cache), or NULL when
 * out of memory. */
struct proclist *proclist_new(size_t max_fds);
void proclist_free(struct proclist *pl);

/* Lists every process of <root>/proc ("" = the real /proc). Processes that exit between the
 * listing and the read are left out. *out is borrowed until the next scan or free. Returns 0,
 * or -1 with errno set when <root>/proc cannot be opened or listed. */
int proclist_scan(struct proclist *pl, const char *root, const struct coll_proc **out, size_t *n);

/* The number of descriptors cached now (for tests and the benchmark). */
size_t proclist_cached(const struct proclist *pl);

#endif
