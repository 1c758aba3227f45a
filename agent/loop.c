#include "agent/loop.h"

#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64 /* fd events collected per epoll_wait */
#define LOOP_MAX_SIGNO  64 /* signals 1..64 (standard and real-time) */
#define NOT_IN_HEAP     UINT32_MAX
#define SLOT_NONE       UINT32_MAX

struct watch_slot {
    uint32_t gen;
    uint32_t next_free;
    int used;
    int fd;
    unsigned events;
    cw_loop_fd_fn cb;
    void *ud;
};

struct timer_slot {
    uint32_t gen;
    uint32_t next_free;
    int used;
    uint32_t heap_pos; /* NOT_IN_HEAP while firing */
    int64_t deadline;
    uint64_t seq;        /* tie-break: insertion order */
    uint64_t armed_iter; /* never fires in the iteration that armed it */
    long interval;       /* > 0 for repeating timers */
    cw_loop_timer_fn cb;
    void *ud;
};

struct sig_handler {
    cw_loop_signal_fn cb;
    void *ud;
};

struct cw_loop {
    int epfd;
    int stopped;
    int dispatching;
    int64_t now;
    uint64_t iter;
    uint64_t next_seq;

    struct watch_slot *watches;
    uint32_t nwatch_slots, watch_free, nwatches;

    struct timer_slot *timers;
    uint32_t ntimer_slots, timer_free;
    uint32_t *heap;
    uint32_t heap_len;

    int sfd;
    uint64_t sig_watch;
    unsigned nsignals;
    sigset_t sigmask;     /* signals delivered through sfd */
    sigset_t sig_unblock; /* signals we blocked that were not blocked before */
    struct sig_handler sig[LOOP_MAX_SIGNO + 1];
};

static int64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t make_id(uint32_t gen, uint32_t slot)
{
    return ((uint64_t)gen << 32) | slot;
}

static uint32_t next_gen(uint32_t gen)
{
    return gen == UINT32_MAX ? 1 : gen + 1;
}

/* Grows an array of slots by doubling; the new slots are zeroed. Returns the old count, or
 * SLOT_NONE when out of memory. */
static uint32_t grow_array(void **arr, uint32_t *nslots, size_t size)
{
    uint32_t old = *nslots, n = old ? old * 2 : 16;
    if (n >= SLOT_NONE / 2)
        return SLOT_NONE;
    char *p = realloc(*arr, (size_t)n * size);
    if (!p)
        return SLOT_NONE;
    memset(p + (size_t)old * size, 0, (size_t)(n - old) * size);
    *arr = p;
    *nslots = n;
    return old;
}

static int grow_watches(struct cw_loop *loop)
{
    uint32_t old = grow_array((void **)&loop->watches, &loop->nwatch_slots, sizeof *loop->watches);
    if (old == SLOT_NONE)
        return -1;
    for (uint32_t i = old; i < loop->nwatch_slots; i++) {
        loop->watches[i].gen = 1;
        loop->watches[i].next_free = i + 1 < loop->nwatch_slots ? i + 1 : loop->watch_free;
    }
    loop->watch_free = old;
    return 0;
}

/* The heap is sized with the slots so pushing never allocates. */
static int grow_timers(struct cw_loop *loop)
{
    uint32_t n = loop->ntimer_slots ? loop->ntimer_slots * 2 : 16;
    uint32_t *h = realloc(loop->heap, (size_t)n * sizeof *h);
    if (!h)
        return -1;
    loop->heap = h;
    uint32_t old = grow_array((void **)&loop->timers, &loop->ntimer_slots, sizeof *loop->timers);
    if (old == SLOT_NONE)
        return -1;
    for (uint32_t i = old; i < loop->ntimer_slots; i++) {
        loop->timers[i].gen = 1;
        loop->timers[i].heap_pos = NOT_IN_HEAP;
        loop->timers[i].next_free = i + 1 < loop->ntimer_slots ? i + 1 : loop->timer_free;
    }
    loop->timer_free = old;
    return 0;
}

/* ---- fd watches ---- */

static struct watch_slot *watch_get(struct cw_loop *loop, uint64_t id)
{
    uint32_t slot = (uint32_t)id;
    if (id == 0 || slot >= loop->nwatch_slots)
        return NULL;
    struct watch_slot *w = &loop->watches[slot];
    return w->used && w->gen == (uint32_t)(id >> 32) ? w : NULL;
}

static uint32_t to_epoll(unsigned events)
{
    return (events & CW_LOOP_READ ? EPOLLIN : 0) | (events & CW_LOOP_WRITE ? EPOLLOUT : 0);
}

uint64_t cw_loop_watch_fd(struct cw_loop *loop, int fd, unsigned events, cw_loop_fd_fn cb, void *ud)
{
    if (loop->watch_free == SLOT_NONE && grow_watches(loop) != 0) {
        cw_error("loop", "out of memory adding a watch");
        return 0;
    }
    uint32_t slot = loop->watch_free;
    struct watch_slot *w = &loop->watches[slot];
    uint64_t id = make_id(w->gen, slot);
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = id};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        cw_error("loop", "cannot watch fd %d: %s", fd, strerror(errno));
        return 0;
    }
    loop->watch_free = w->next_free;
    w->used = 1;
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->ud = ud;
    loop->nwatches++;
    return id;
}

int cw_loop_watch_modify(struct cw_loop *loop, uint64_t watch, unsigned events)
{
    struct watch_slot *w = watch_get(loop, watch);
    if (!w)
        return -1;
    struct epoll_event ev = {.events = to_epoll(events), .data.u64 = watch};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0) {
        cw_error("loop", "cannot modify watch of fd %d: %s", w->fd, strerror(errno));
        return -1;
    }
    w->events = events;
    return 0;
}

void cw_loop_watch_remove(struct cw_loop *loop, uint64_t watch)
{
    struct watch_slot *w = watch_get(loop, watch);
    if (!w)
        return;
    /* Fails harmlessly (EBADF) when the owner already closed the fd: epoll dropped it then. */
    (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->used = 0;
    w->gen = next_gen(w->gen);
    w->cb = NULL;
    w->next_free = loop->watch_free;
    loop->watch_free = (uint32_t)watch;
    loop->nwatches--;
}

/* ---- timers: a binary min-heap of slot indices ordered by (deadline, seq) ---- */

static int timer_before(const struct cw_loop *loop, uint32_t a, uint32_t b)
{
    const struct timer_slot *ta = &loop->timers[a], *tb = &loop->timers[b];
    return ta->deadline != tb->deadline ? ta->deadline < tb->deadline : ta->seq < tb->seq;
}

static void heap_set(struct cw_loop *loop, uint32_t pos, uint32_t slot)
{
    loop->heap[pos] = slot;
    loop->timers[slot].heap_pos = pos;
}

static void heap_up(struct cw_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!timer_before(loop, slot, loop->heap[parent]))
            break;
        heap_set(loop, pos, loop->heap[parent]);
        pos = parent;
    }
    heap_set(loop, pos, slot);
}

static void heap_down(struct cw_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= loop->heap_len)
            break;
        if (c + 1 < loop->heap_len && timer_before(loop, loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!timer_before(loop, loop->heap[c], slot))
            break;
        heap_set(loop, pos, loop->heap[c]);
        pos = c;
    }
    heap_set(loop, pos, slot);
}

static void heap_remove(struct cw_loop *loop, uint32_t pos)
{
    uint32_t slot = loop->heap[pos];
    loop->timers[slot].heap_pos = NOT_IN_HEAP;
    uint32_t last = loop->heap[--loop->heap_len];
    if (pos == loop->heap_len)
        return;
    heap_set(loop, pos, last);
    heap_up(loop, pos);
    heap_down(loop, loop->timers[last].heap_pos);
}

static void heap_push(struct cw_loop *loop, uint32_t slot)
{
    loop->heap[loop->heap_len] = slot;
    heap_up(loop, loop->heap_len++);
}

static void timer_release(struct cw_loop *loop, uint32_t slot)
{
    struct timer_slot *t = &loop->timers[slot];
    t->used = 0;
    t->gen = next_gen(t->gen);
    t->cb = NULL;
    t->next_free = loop->timer_free;
    loop->timer_free = slot;
}

static int64_t loop_time_for_arming(struct cw_loop *loop)
{
    if (!loop->dispatching)
        loop->now = clock_ms();
    return loop->now;
}

static uint64_t timer_arm_at(struct cw_loop *loop, int64_t deadline, long interval,
                             cw_loop_timer_fn cb, void *ud)
{
    if (loop->timer_free == SLOT_NONE && grow_timers(loop) != 0) {
        cw_error("loop", "out of memory adding a timer");
        return 0;
    }
    uint32_t slot = loop->timer_free;
    struct timer_slot *t = &loop->timers[slot];
    loop->timer_free = t->next_free;
    t->used = 1;
    t->deadline = deadline;
    t->seq = loop->next_seq++;
    t->armed_iter = loop->iter;
    t->interval = interval;
    t->cb = cb;
    t->ud = ud;
    heap_push(loop, slot);
    return make_id(t->gen, slot);
}

static uint64_t timer_arm(struct cw_loop *loop, long delay_ms, long interval, cw_loop_timer_fn cb,
                          void *ud)
{
    return timer_arm_at(loop, loop_time_for_arming(loop) + (delay_ms > 0 ? delay_ms : 0), interval,
                        cb, ud);
}

uint64_t cw_loop_timer_add(struct cw_loop *loop, long delay_ms, cw_loop_timer_fn cb, void *ud)
{
    return timer_arm(loop, delay_ms, 0, cb, ud);
}

uint64_t cw_loop_timer_every(struct cw_loop *loop, long interval_ms, cw_loop_timer_fn cb, void *ud)
{
    if (interval_ms <= 0)
        return 0;
    return timer_arm(loop, interval_ms, interval_ms, cb, ud);
}

uint64_t cw_loop_timer_every_at(struct cw_loop *loop, int64_t first_ms, long interval_ms,
                                cw_loop_timer_fn cb, void *ud)
{
    if (interval_ms <= 0)
        return 0;
    return timer_arm_at(loop, first_ms, interval_ms, cb, ud);
}

void cw_loop_timer_cancel(struct cw_loop *loop, uint64_t timer)
{
    uint32_t slot = (uint32_t)timer;
    if (timer == 0 || slot >= loop->ntimer_slots)
        return;
    struct timer_slot *t = &loop->timers[slot];
    if (!t->used || t->gen != (uint32_t)(timer >> 32))
        return;
    if (t->heap_pos != NOT_IN_HEAP)
        heap_remove(loop, t->heap_pos);
    timer_release(loop, slot);
}

unsigned cw_loop_timer_count(const struct cw_loop *loop)
{
    return loop->heap_len;
}

/* Fires one due timer (the heap top). One-shot timers are released before their callback, so
 * cancelling them from it is a no-op; repeating ones are re-armed unless cancelled meanwhile. */
static void timer_fire_top(struct cw_loop *loop)
{
    uint32_t slot = loop->heap[0];
    struct timer_slot *t = &loop->timers[slot];
    cw_loop_timer_fn cb = t->cb;
    void *ud = t->ud;
    uint32_t gen = t->gen;
    heap_remove(loop, 0);
    if (t->interval == 0) {
        timer_release(loop, slot);
        cb(loop, ud);
        return;
    }
    cb(loop, ud);
    t = &loop->timers[slot]; /* the array may have moved */
    if (!t->used || t->gen != gen || t->heap_pos != NOT_IN_HEAP)
        return;
    t->deadline += t->interval;
    if (t->deadline <= loop->now)
        t->deadline = loop->now + t->interval;
    t->seq = loop->next_seq++;
    t->armed_iter = loop->iter;
    heap_push(loop, slot);
}

static int run_timers(struct cw_loop *loop)
{
    int n = 0;
    while (loop->heap_len > 0) {
        const struct timer_slot *t = &loop->timers[loop->heap[0]];
        /* Anything armed in this iteration sorts after every earlier-armed due timer. */
        if (t->deadline > loop->now || t->armed_iter == loop->iter)
            break;
        timer_fire_top(loop);
        n++;
    }
    return n;
}

/* ---- signals ---- */

static void on_signalfd(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)events;
    (void)ud;
    struct signalfd_siginfo si[8];
    ssize_t r = read(fd, si, sizeof si);
    for (ssize_t i = 0; r > 0 && i < r / (ssize_t)sizeof si[0]; i++) {
        unsigned signo = si[i].ssi_signo;
        if (signo <= LOOP_MAX_SIGNO && loop->sig[signo].cb)
            loop->sig[signo].cb(loop, (int)signo, loop->sig[signo].ud);
    }
}

static int block_signal(struct cw_loop *loop, int signo)
{
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, signo);
    if (sigprocmask(SIG_BLOCK, &one, &old) != 0)
        return -1;
    if (!sigismember(&old, signo))
        sigaddset(&loop->sig_unblock, signo);
    return 0;
}

int cw_loop_on_signal(struct cw_loop *loop, int signo, cw_loop_signal_fn cb, void *ud)
{
    if (signo <= 0 || signo > LOOP_MAX_SIGNO || !cb)
        return -1;
    if (!loop->sig[signo].cb) {
        sigaddset(&loop->sigmask, signo);
        if (block_signal(loop, signo) != 0)
            goto fail;
        int fd = signalfd(loop->sfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
            goto fail;
        if (loop->sfd < 0) {
            loop->sfd = fd;
            loop->sig_watch = cw_loop_watch_fd(loop, fd, CW_LOOP_READ, on_signalfd, NULL);
            if (!loop->sig_watch)
                return -1;
        }
        loop->nsignals++;
    }
    loop->sig[signo].cb = cb;
    loop->sig[signo].ud = ud;
    return 0;
fail:
    cw_error("loop", "cannot handle signal %d: %s", signo, strerror(errno));
    return -1;
}

int cw_loop_child_unblock_signals(const struct cw_loop *loop)
{
    return sigprocmask(SIG_UNBLOCK, &loop->sig_unblock, NULL);
}

/* Drops pending deliveries (so unblocking cannot kill us with a stale SIGHUP), then restores. */
static void signals_release(struct cw_loop *loop)
{
    if (loop->sfd < 0)
        return;
    struct signalfd_siginfo si[8];
    while (read(loop->sfd, si, sizeof si) > 0)
        ;
    cw_loop_watch_remove(loop, loop->sig_watch);
    close(loop->sfd);
    loop->sfd = -1;
    sigprocmask(SIG_UNBLOCK, &loop->sig_unblock, NULL);
}

/* ---- the loop ---- */

struct cw_loop *cw_loop_new(void)
{
    struct cw_loop *loop = calloc(1, sizeof *loop);
    if (!loop) {
        cw_error("loop", "out of memory");
        return NULL;
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        cw_error("loop", "epoll_create1: %s", strerror(errno));
        free(loop);
        return NULL;
    }
    loop->watch_free = SLOT_NONE;
    loop->timer_free = SLOT_NONE;
    loop->sfd = -1;
    sigemptyset(&loop->sigmask);
    sigemptyset(&loop->sig_unblock);
    loop->now = clock_ms();
    return loop;
}

void cw_loop_free(struct cw_loop *loop)
{
    if (!loop)
        return;
    signals_release(loop);
    close(loop->epfd);
    free(loop->watches);
    free(loop->timers);
    free(loop->heap);
    free(loop);
}

/* Milliseconds epoll may sleep: the caller's limit, shortened to the next timer. */
static int wait_budget(struct cw_loop *loop, long timeout_ms)
{
    long long wait = timeout_ms < 0 ? -1 : timeout_ms;
    if (loop->heap_len > 0) {
        const struct timer_slot *t = &loop->timers[loop->heap[0]];
        long long until = t->deadline - clock_ms();
        if (until < 0)
            until = 0;
        if (wait < 0 || until < wait)
            wait = until;
    }
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

static int dispatch_fd(struct cw_loop *loop, const struct epoll_event *ev)
{
    struct watch_slot *w = watch_get(loop, ev->data.u64);
    if (!w) /* removed by an earlier callback of this iteration */
        return 0;
    unsigned e = 0;
    if (ev->events & EPOLLIN)
        e |= CW_LOOP_READ;
    if (ev->events & EPOLLOUT)
        e |= CW_LOOP_WRITE;
    if (ev->events & (EPOLLERR | EPOLLHUP))
        e |= CW_LOOP_ERROR | CW_LOOP_READ;
    w->cb(loop, w->fd, e, w->ud);
    return 1;
}

int cw_loop_run_once(struct cw_loop *loop, long timeout_ms)
{
    struct epoll_event evs[LOOP_MAX_EVENTS];
    loop->iter++;
    int n = epoll_wait(loop->epfd, evs, LOOP_MAX_EVENTS, wait_budget(loop, timeout_ms));
    if (n < 0 && errno != EINTR) {
        cw_error("loop", "epoll_wait: %s", strerror(errno));
        return -1;
    }
    loop->now = clock_ms();
    loop->dispatching = 1;
    int ran = 0;
    for (int i = 0; i < n; i++)
        ran += dispatch_fd(loop, &evs[i]);
    ran += run_timers(loop);
    loop->dispatching = 0;
    return ran;
}

static int has_work(const struct cw_loop *loop)
{
    unsigned user_watches = loop->nwatches - (loop->sfd >= 0 ? 1 : 0);
    return user_watches > 0 || loop->heap_len > 0 || loop->nsignals > 0;
}

int cw_loop_run(struct cw_loop *loop)
{
    loop->stopped = 0;
    while (!loop->stopped && has_work(loop))
        if (cw_loop_run_once(loop, -1) < 0)
            return -1;
    return 0;
}

int cw_loop_run_until(struct cw_loop *loop, const int *flag, long timeout_ms)
{
    int64_t end = clock_ms() + timeout_ms;
    while (!*flag) {
        long left = -1;
        if (timeout_ms >= 0) {
            int64_t d = end - clock_ms();
            if (d <= 0)
                return -1;
            left = (long)d;
        }
        if (cw_loop_run_once(loop, left) < 0)
            return -1;
    }
    return 0;
}

void cw_loop_stop(struct cw_loop *loop)
{
    loop->stopped = 1;
}

int64_t cw_loop_now_ms(const struct cw_loop *loop)
{
    return loop->now;
}

int64_t cw_loop_clock_ms(struct cw_loop *loop)
{
    return loop_time_for_arming(loop);
}
