/* loop — the agent's single event loop: epoll for file descriptors, a binary heap of timers on
 * CLOCK_MONOTONIC, and signals delivered through a signalfd.
 *
 * One loop per thread and the agent has one thread; nothing here is thread-safe.
 *
 * Handles are 64-bit ids (slot + generation), never pointers, so a stale handle (a one-shot timer
 * that already fired, a watch removed earlier) is harmless: cancelling or removing it is a no-op.
 * The id 0 is never a valid handle. Callbacks may add, modify, remove and cancel any watch or
 * timer, including the one currently firing; an fd event that was already collected for a watch
 * removed by an earlier callback of the same iteration is dropped, not delivered.
 *
 * Time: cw_loop_now_ms() is CLOCK_MONOTONIC in milliseconds, read once per iteration (after
 * epoll_wait returns) so every callback of an iteration sees the same value. Timer deadlines are
 * computed from that cached value; outside of a dispatch the clock is re-read first.
 *
 * Signals: cw_loop_on_signal() blocks the signal in the calling thread's mask (process-wide in our
 * single-threaded agent) so that it is delivered only through the loop's signalfd. This is the
 * one process-wide side effect of the module. Blocked signal masks survive fork() and execve():
 * code that spawns children (credential_process) must call cw_loop_child_unblock_signals() in the
 * child between fork and exec. cw_loop_free() drops pending deliveries of those signals and
 * restores the mask bits it changed. Signals of one kind coalesce (several SIGCHLD may produce
 * one callback): a SIGCHLD handler must reap with waitpid(-1, ..., WNOHANG) in a loop.
 */
#ifndef CW_LOOP_H
#define CW_LOOP_H

#include <stdint.h>

struct cw_loop;

/* Event bits for fd watches. CW_LOOP_ERROR is only ever reported (EPOLLERR/EPOLLHUP), never
 * requested; it is reported together with CW_LOOP_READ so a reader sees EOF/the error. */
#define CW_LOOP_READ  1u
#define CW_LOOP_WRITE 2u
#define CW_LOOP_ERROR 4u

typedef void (*cw_loop_fd_fn)(struct cw_loop *loop, int fd, unsigned events, void *ud);
typedef void (*cw_loop_timer_fn)(struct cw_loop *loop, void *ud);
typedef void (*cw_loop_signal_fn)(struct cw_loop *loop, int signo, void *ud);

/* Creates a loop (epoll fd, close-on-exec). Returns NULL on failure (logged). */
struct cw_loop *cw_loop_new(void);
/* Frees the loop and every watch, timer and signal handler still registered (their callbacks are
 * not called). File descriptors being watched are not closed: they belong to their owners. */
void cw_loop_free(struct cw_loop *loop);

/* Watches fd for `events` (CW_LOOP_READ|CW_LOOP_WRITE, level-triggered). `cb(loop, fd, ev, ud)`
 * runs for each readiness. The fd stays owned by the caller, who removes the watch before
 * closing it. Returns the watch id, or 0 on failure (logged; e.g. the fd is already watched). */
uint64_t cw_loop_watch_fd(struct cw_loop *loop, int fd, unsigned events, cw_loop_fd_fn cb,
                          void *ud);
/* Changes the events of a watch. Returns 0, or -1 for a stale id or an epoll failure. */
int cw_loop_watch_modify(struct cw_loop *loop, uint64_t watch, unsigned events);
/* Removes a watch; stale ids are ignored. Works if the fd was already closed. */
void cw_loop_watch_remove(struct cw_loop *loop, uint64_t watch);

/* Runs `cb(loop, ud)` once, `delay_ms` (>= 0) from now. A timer added from a callback never
 * fires in the same iteration, so a 0-ms timer is "on the next turn of the loop". Timers with
 * equal deadlines fire in the order they were added. Returns the timer id, or 0 on failure. */
uint64_t cw_loop_timer_add(struct cw_loop *loop, long delay_ms, cw_loop_timer_fn cb, void *ud);
/* Runs `cb` every `interval_ms` (> 0), first after one interval, until cancelled. When the loop
 * falls behind, missed ticks are skipped rather than run back to back. */
uint64_t cw_loop_timer_every(struct cw_loop *loop, long interval_ms, cw_loop_timer_fn cb, void *ud);
/* As cw_loop_timer_every, but the first run is at `first_ms` on the loop's clock (see
 * cw_loop_clock_ms; a time already past runs on the next turn of the loop). Timers armed with
 * the same first_ms and interval wake the process once and fire in the order they were added. */
uint64_t cw_loop_timer_every_at(struct cw_loop *loop, int64_t first_ms, long interval_ms,
                                cw_loop_timer_fn cb, void *ud);
/* Cancels a timer; stale ids (already fired or cancelled) are ignored. */
void cw_loop_timer_cancel(struct cw_loop *loop, uint64_t timer);
/* Number of pending timers (for tests and status). */
unsigned cw_loop_timer_count(const struct cw_loop *loop);

/* Delivers `signo` (e.g. SIGTERM, SIGINT, SIGHUP, SIGCHLD) to `cb` from the loop; replaces an
 * earlier handler of the same signal. Blocks the signal (see the header comment). 0 or -1. */
int cw_loop_on_signal(struct cw_loop *loop, int signo, cw_loop_signal_fn cb, void *ud);
/* Unblocks every signal the loop blocked. Async-signal-safe: meant for a child after fork(). */
int cw_loop_child_unblock_signals(const struct cw_loop *loop);

/* Runs iterations until cw_loop_stop() is called, or until nothing is left to wait for (no fd
 * watch, timer or signal handler). Returns 0, or -1 on an epoll failure. */
int cw_loop_run(struct cw_loop *loop);
/* Runs one iteration: waits at most timeout_ms (-1: until something happens; 0: poll) for fd
 * events or the next timer, then runs the callbacks due. Returns the number of callbacks run,
 * or -1 on failure. */
int cw_loop_run_once(struct cw_loop *loop, long timeout_ms);
/* Runs iterations until *flag becomes non-zero (set by some callback) or timeout_ms elapses
 * (-1: no limit). Returns 0 when the flag was set, -1 on timeout or failure. The blocking helper
 * for CLI tools; the daemon uses cw_loop_run. */
int cw_loop_run_until(struct cw_loop *loop, const int *flag, long timeout_ms);
/* Makes cw_loop_run return after the current iteration. */
void cw_loop_stop(struct cw_loop *loop);

/* Monotonic milliseconds, cached per iteration. */
int64_t cw_loop_now_ms(const struct cw_loop *loop);
/* The time timers are armed from: cw_loop_now_ms() inside a callback, the clock read afresh
 * outside of a dispatch (so that a deadline computed from it is not already stale). */
int64_t cw_loop_clock_ms(struct cw_loop *loop);

#endif
