/* Unit tests for agent/loop: timer order, cancellation and re-entrancy, fd watches on pipes,
 * signals through signalfd, run_once timeouts, run/stop and run_until. */
#include "agent/loop.h"
#include "tests/unit/t.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A record of which timers fired, in order. */
struct trace {
    int order[1024];
    int n;
    int64_t now_seen[1024];
    struct cw_loop *loop;
    uint64_t ids[1024];
};

struct tick {
    struct trace *tr;
    int tag;
};

static void on_tick(struct cw_loop *loop, void *ud)
{
    struct tick *t = ud;
    if (t->tr->n < 1024) {
        t->tr->now_seen[t->tr->n] = cw_loop_now_ms(loop);
        t->tr->order[t->tr->n++] = t->tag;
    }
}

TEST(timers_fire_in_deadline_then_insertion_order)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct trace tr = {.n = 0};
    struct tick t[5] = {{&tr, 30}, {&tr, 10}, {&tr, 20}, {&tr, 11}, {&tr, 0}};
    long delays[5] = {30, 10, 20, 10, 0};
    for (int i = 0; i < 5; i++)
        T_CHECK(cw_loop_timer_add(loop, delays[i], on_tick, &t[i]) != 0);
    T_EQ_INT(cw_loop_timer_count(loop), 5);
    T_EQ_INT(cw_loop_run(loop), 0); /* returns when no timer is left */
    T_EQ_INT(tr.n, 5);
    int want[5] = {0, 10, 11, 20, 30};
    for (int i = 0; i < 5; i++)
        T_EQ_INT(tr.order[i], want[i]);
    T_EQ_INT(cw_loop_timer_count(loop), 0);
    cw_loop_free(loop);
}

TEST(timer_cancel_and_stale_ids_are_harmless)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct trace tr = {.n = 0};
    struct tick a = {&tr, 1}, b = {&tr, 2}, c = {&tr, 3};
    uint64_t ia = cw_loop_timer_add(loop, 5, on_tick, &a);
    uint64_t ib = cw_loop_timer_add(loop, 5, on_tick, &b);
    uint64_t ic = cw_loop_timer_add(loop, 5, on_tick, &c);
    cw_loop_timer_cancel(loop, ib);
    cw_loop_timer_cancel(loop, ib); /* twice: no-op */
    cw_loop_timer_cancel(loop, 0);
    T_EQ_INT(cw_loop_timer_count(loop), 2);
    T_EQ_INT(cw_loop_run(loop), 0);
    T_EQ_INT(tr.n, 2);
    T_EQ_INT(tr.order[0], 1);
    T_EQ_INT(tr.order[1], 3);
    /* The slot of `a` is reused by a new timer; the old id must not cancel it. */
    struct tick d = {&tr, 4};
    uint64_t id = cw_loop_timer_add(loop, 1, on_tick, &d);
    T_CHECK(id != ia && id != ib && id != ic);
    cw_loop_timer_cancel(loop, ia);
    cw_loop_timer_cancel(loop, ic);
    T_EQ_INT(cw_loop_timer_count(loop), 1);
    T_EQ_INT(cw_loop_run(loop), 0);
    T_EQ_INT(tr.n, 3);
    T_EQ_INT(tr.order[2], 4);
    cw_loop_free(loop);
}

struct canceller {
    uint64_t self, victim;
    int fired;
    int cancel_self_at;
};

static void cancel_victim(struct cw_loop *loop, void *ud)
{
    struct canceller *c = ud;
    c->fired++;
    cw_loop_timer_cancel(loop, c->victim);
    cw_loop_timer_cancel(loop, c->self); /* one-shot, currently firing: no-op */
}

static void count_fire(struct cw_loop *loop, void *ud)
{
    (void)loop;
    ++*(int *)ud;
}

static void repeat_cancel_self(struct cw_loop *loop, void *ud)
{
    struct canceller *c = ud;
    if (++c->fired == c->cancel_self_at)
        cw_loop_timer_cancel(loop, c->self);
}

TEST(callbacks_cancel_due_timers_and_themselves)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int victim_fired = 0;
    struct canceller c = {0, 0, 0, 0};
    c.self = cw_loop_timer_add(loop, 0, cancel_victim, &c);
    c.victim = cw_loop_timer_add(loop, 0, count_fire, &victim_fired); /* due in same pass */
    struct canceller r = {0, 0, 0, 3};
    r.self = cw_loop_timer_every(loop, 2, repeat_cancel_self, &r);
    T_ASSERT(c.self && c.victim && r.self);
    T_EQ_INT(cw_loop_run(loop), 0);
    T_EQ_INT(c.fired, 1);
    T_EQ_INT(victim_fired, 0);
    T_EQ_INT(r.fired, 3);
    T_EQ_INT(cw_loop_timer_count(loop), 0);
    cw_loop_free(loop);
}

struct rearm {
    int fired;
    int limit;
};

static void rearm_zero(struct cw_loop *loop, void *ud)
{
    struct rearm *r = ud;
    if (++r->fired < r->limit)
        cw_loop_timer_add(loop, 0, rearm_zero, r);
}

TEST(zero_delay_timer_added_in_callback_waits_for_next_iteration)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct rearm r = {0, 5};
    cw_loop_timer_add(loop, 0, rearm_zero, &r);
    for (int i = 1; i <= 5; i++) {
        T_EQ_INT(cw_loop_run_once(loop, 0), 1);
        T_EQ_INT(r.fired, i);
    }
    T_EQ_INT(cw_loop_run_once(loop, 0), 0);
    cw_loop_free(loop);
}

TEST(hundreds_of_timers_fire_sorted_and_cancelled_ones_never)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    static struct trace tr;
    static struct tick ticks[600];
    tr.n = 0;
    srand(7);
    int64_t base = mono_ms();
    for (int i = 0; i < 600; i++) {
        int delay = rand() % 40;
        ticks[i].tr = &tr;
        tr.ids[i] = cw_loop_timer_add(loop, delay, on_tick, &ticks[i]);
        T_ASSERT(tr.ids[i]);
        /* The tag is the deadline relative to base (arming re-reads the clock). */
        ticks[i].tag = (int)(cw_loop_now_ms(loop) - base) + delay;
    }
    int cancelled = 0;
    for (int i = 0; i < 600; i += 3, cancelled++)
        cw_loop_timer_cancel(loop, tr.ids[i]);
    T_EQ_INT(cw_loop_timer_count(loop), 600 - cancelled);
    T_EQ_INT(cw_loop_run(loop), 0);
    T_EQ_INT(tr.n, 600 - cancelled);
    for (int i = 1; i < tr.n; i++)
        T_ASSERT(tr.order[i] >= tr.order[i - 1]); /* deadline order */
    for (int i = 0; i < tr.n; i++)
        T_ASSERT(tr.now_seen[i] - base >= tr.order[i]); /* never early */
    cw_loop_free(loop);
}

TEST(repeating_timer_fires_until_cancelled)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int n = 0, done = 0;
    uint64_t id = cw_loop_timer_every(loop, 5, count_fire, &n);
    T_ASSERT(id);
    T_EQ_INT(cw_loop_timer_every(loop, 0, count_fire, &n), 0); /* interval must be > 0 */
    while (n < 4)
        T_ASSERT(cw_loop_run_once(loop, 1000) >= 0);
    cw_loop_timer_cancel(loop, id);
    T_EQ_INT(cw_loop_timer_count(loop), 0);
    T_EQ_INT(cw_loop_run_until(loop, &done, 30), -1); /* nothing fires any more */
    T_EQ_INT(n, 4);
    cw_loop_free(loop);
}

struct fdrec {
    int calls;
    unsigned last_events;
    char data[64];
    ssize_t got;
    uint64_t self, other;
    int remove_self, remove_other;
};

static void on_fd(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    struct fdrec *r = ud;
    r->calls++;
    r->last_events = events;
    if (events & CW_LOOP_READ)
        r->got = read(fd, r->data, sizeof r->data - 1);
    if (r->remove_self)
        cw_loop_watch_remove(loop, r->self);
    if (r->remove_other)
        cw_loop_watch_remove(loop, r->other);
}

TEST(fd_watch_on_pipe_reads_then_removes_itself)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int p[2];
    T_ASSERT(pipe(p) == 0);
    struct fdrec r = {0};
    r.self = cw_loop_watch_fd(loop, p[0], CW_LOOP_READ, on_fd, &r);
    T_ASSERT(r.self);
    T_EQ_INT(cw_loop_watch_fd(loop, p[0], CW_LOOP_READ, on_fd, &r), 0); /* already watched */
    T_EQ_INT(cw_loop_run_once(loop, 0), 0);
    T_EQ_INT(write(p[1], "hello", 5), 5);
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1);
    T_EQ_INT(r.calls, 1);
    T_EQ_INT(r.got, 5);
    T_CHECK(r.last_events & CW_LOOP_READ);
    r.remove_self = 1;
    T_EQ_INT(write(p[1], "x", 1), 1);
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1);
    T_EQ_INT(write(p[1], "y", 1), 1);
    T_EQ_INT(cw_loop_run_once(loop, 20), 0); /* removed: no more callbacks */
    T_EQ_INT(r.calls, 2);
    T_EQ_INT(cw_loop_watch_modify(loop, r.self, CW_LOOP_WRITE), -1); /* stale */
    close(p[0]);
    close(p[1]);
    cw_loop_free(loop);
}

TEST(fd_watch_write_readiness_modify_and_hangup)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int p[2];
    T_ASSERT(pipe(p) == 0);
    struct fdrec w = {0}, r = {0};
    w.self = cw_loop_watch_fd(loop, p[1], 0, on_fd, &w);
    r.self = cw_loop_watch_fd(loop, p[0], CW_LOOP_READ, on_fd, &r);
    T_ASSERT(w.self && r.self);
    T_EQ_INT(cw_loop_run_once(loop, 0), 0);
    T_EQ_INT(cw_loop_watch_modify(loop, w.self, CW_LOOP_WRITE), 0);
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1);
    T_CHECK(w.last_events == CW_LOOP_WRITE);
    cw_loop_watch_remove(loop, w.self);
    close(p[1]); /* the reader now sees EOF/hang-up */
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1);
    T_CHECK(r.last_events & CW_LOOP_READ);
    T_CHECK(r.last_events & CW_LOOP_ERROR);
    T_EQ_INT(r.got, 0);
    cw_loop_watch_remove(loop, r.self);
    close(p[0]);
    cw_loop_free(loop);
}

TEST(watch_removed_by_earlier_callback_of_same_iteration_is_not_called)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int a[2], b[2];
    T_ASSERT(pipe(a) == 0 && pipe(b) == 0);
    struct fdrec ra = {0}, rb = {0};
    ra.self = cw_loop_watch_fd(loop, a[0], CW_LOOP_READ, on_fd, &ra);
    rb.self = cw_loop_watch_fd(loop, b[0], CW_LOOP_READ, on_fd, &rb);
    ra.other = rb.self;
    rb.other = ra.self;
    ra.remove_other = rb.remove_other = 1;
    T_EQ_INT(write(a[1], "1", 1), 1);
    T_EQ_INT(write(b[1], "2", 1), 1);
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1); /* both ready, only the first runs */
    T_EQ_INT(ra.calls + rb.calls, 1);
    /* The survivor keeps working. */
    struct fdrec *alive = ra.calls ? &ra : &rb;
    alive->remove_other = 0;
    T_EQ_INT(write(ra.calls ? a[1] : b[1], "3", 1), 1);
    T_EQ_INT(cw_loop_run_once(loop, 1000), 1);
    T_EQ_INT(alive->calls, 2);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    cw_loop_free(loop);
}

struct sigrec {
    int signo;
    int calls;
};

static void on_sig(struct cw_loop *loop, int signo, void *ud)
{
    struct sigrec *s = ud;
    s->signo = signo;
    s->calls++;
    cw_loop_stop(loop);
}

static int is_blocked(int signo)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, signo);
}

TEST(signals_arrive_through_the_loop_and_mask_is_restored)
{
    T_ASSERT(!is_blocked(SIGUSR1));
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct sigrec s = {0, 0}, h = {0, 0};
    T_EQ_INT(cw_loop_on_signal(loop, SIGUSR1, on_sig, &s), 0);
    T_EQ_INT(cw_loop_on_signal(loop, SIGHUP, on_sig, &h), 0);
    T_EQ_INT(cw_loop_on_signal(loop, 0, on_sig, &h), -1);
    T_CHECK(is_blocked(SIGUSR1) && is_blocked(SIGHUP));
    T_EQ_INT(raise(SIGUSR1), 0);
    T_EQ_INT(cw_loop_run(loop), 0); /* on_sig stops it */
    T_EQ_INT(s.calls, 1);
    T_EQ_INT(s.signo, SIGUSR1);
    T_EQ_INT(raise(SIGHUP), 0);
    T_EQ_INT(cw_loop_run(loop), 0);
    T_EQ_INT(h.calls, 1);
    T_EQ_INT(h.signo, SIGHUP);
    T_EQ_INT(raise(SIGHUP), 0); /* left pending: free must drop it, not die of it */
    cw_loop_free(loop);
    T_CHECK(!is_blocked(SIGUSR1));
    T_CHECK(!is_blocked(SIGHUP));
}

TEST(child_can_unblock_the_loops_signals)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct sigrec s = {0, 0};
    T_EQ_INT(cw_loop_on_signal(loop, SIGUSR2, on_sig, &s), 0);
    T_ASSERT(is_blocked(SIGUSR2));
    pid_t pid = fork();
    T_ASSERT(pid >= 0);
    if (pid == 0) {
        int inherited = is_blocked(SIGUSR2);
        int ok = cw_loop_child_unblock_signals(loop) == 0 && !is_blocked(SIGUSR2);
        _exit(inherited && ok ? 0 : 1);
    }
    int status = -1;
    T_ASSERT(waitpid(pid, &status, 0) == pid);
    T_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    T_CHECK(is_blocked(SIGUSR2)); /* the parent keeps its mask */
    cw_loop_free(loop);
    T_CHECK(!is_blocked(SIGUSR2));
}

TEST(run_once_honours_its_timeout_and_run_until)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    int64_t t0 = mono_ms();
    T_EQ_INT(cw_loop_run_once(loop, 50), 0);
    T_CHECK(mono_ms() - t0 >= 45); /* it waited (lower bound only) */
    T_CHECK(cw_loop_now_ms(loop) >= t0 + 45);
    int flag = 0;
    t0 = mono_ms();
    T_EQ_INT(cw_loop_run_until(loop, &flag, 40), -1);
    T_CHECK(mono_ms() - t0 >= 35);
    /* A timer shorter than the run_once timeout ends the wait early and runs. */
    int fired = 0;
    cw_loop_timer_add(loop, 5, count_fire, &fired);
    while (!fired)
        T_ASSERT(cw_loop_run_once(loop, 5000) >= 0);
    cw_loop_timer_add(loop, 5, count_fire, &flag);
    T_EQ_INT(cw_loop_run_until(loop, &flag, 5000), 0);
    T_EQ_INT(flag, 1);
    cw_loop_free(loop);
}

struct samenow {
    int64_t a, b;
};

static void see_now_a(struct cw_loop *loop, void *ud)
{
    ((struct samenow *)ud)->a = cw_loop_now_ms(loop);
}

static void see_now_b(struct cw_loop *loop, void *ud)
{
    ((struct samenow *)ud)->b = cw_loop_now_ms(loop);
    cw_loop_stop(loop);
}

static void slow_tick(struct cw_loop *loop, void *ud)
{
    (void)loop;
    (void)ud;
    usleep(20000);
}

TEST(now_is_cached_per_iteration_and_stop_ends_run)
{
    struct cw_loop *loop = cw_loop_new();
    T_ASSERT(loop);
    struct samenow s = {0, 0};
    int other = 0;
    cw_loop_timer_add(loop, 3, see_now_a, &s);
    cw_loop_timer_add(loop, 3, slow_tick, NULL);
    cw_loop_timer_add(loop, 3, see_now_b, &s);
    cw_loop_timer_add(loop, 10000, count_fire, &other); /* stop must not wait for it */
    T_EQ_INT(cw_loop_run(loop), 0);
    T_CHECK(s.a != 0);
    T_EQ_INT(s.b, s.a); /* same iteration despite the 20 ms callback between */
    T_EQ_INT(other, 0);
    T_EQ_INT(cw_loop_timer_count(loop), 1);
    cw_loop_free(loop); /* frees the pending timer without calling it */
    T_EQ_INT(other, 0);
}

T_MAIN("loop", T_CASE(timers_fire_in_deadline_then_insertion_order),
       T_CASE(timer_cancel_and_stale_ids_are_harmless),
       T_CASE(callbacks_cancel_due_timers_and_themselves),
       T_CASE(zero_delay_timer_added_in_callback_waits_for_next_iteration),
       T_CASE(hundreds_of_timers_fire_sorted_and_cancelled_ones_never),
       T_CASE(repeating_timer_fires_until_cancelled),
       T_CASE(fd_watch_on_pipe_reads_then_removes_itself),
       T_CASE(fd_watch_write_readiness_modify_and_hangup),
       T_CASE(watch_removed_by_earlier_callback_of_same_iteration_is_not_called),
       T_CASE(signals_arrive_through_the_loop_and_mask_is_restored),
       T_CASE(child_can_unblock_the_loops_signals),
       T_CASE(run_once_honours_its_timeout_and_run_until),
       T_CASE(now_is_cached_per_iteration_and_stop_ends_run))
