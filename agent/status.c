#include "agent/status.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

/* Clients served at once; further connections wait in the listen backlog. */
#define STATUS_MAX_CLIENTS 2
/* A client that does not read its document within this time is dropped. */
#define STATUS_CLIENT_DEADLINE_MS 2000

struct client {
    struct status_server *s;
    int fd;
    uint64_t watch, timer;
    char *doc;
    size_t len, off;
};

struct status_server {
    struct cw_loop *loop;
    int fd;
    uint64_t watch;
    char *path;
    status_render_fn render;
    void *ud;
    struct client *clients[STATUS_MAX_CLIENTS];
    size_t nclients;
};

static int make_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path)
        return -1;
    memcpy(sa->sun_path, path, strlen(path));
    return 0;
}

/* The server never blocks the loop: each client's socket is non-blocking, written when it is
 * writable, and dropped at its deadline; at most STATUS_MAX_CLIENTS are served at once (the
 * listening socket is not watched while they are). */
static void on_accept(struct cw_loop *loop, int fd, unsigned events, void *ud);

static void client_close(struct client *c)
{
    struct status_server *s = c->s;
    cw_loop_watch_remove(s->loop, c->watch);
    cw_loop_timer_cancel(s->loop, c->timer);
    close(c->fd);
    free(c->doc);
    for (size_t i = 0; i < s->nclients; i++)
        if (s->clients[i] == c) {
            s->clients[i] = s->clients[--s->nclients];
            break;
        }
    free(c);
    if (s->nclients == STATUS_MAX_CLIENTS - 1)
        cw_loop_watch_modify(s->loop, s->watch, CW_LOOP_READ);
}

/* Writes what the socket takes now. 1 when done (or failed), 0 when it must wait. */
static int client_write(struct client *c)
{
    while (c->off < c->len) {
        ssize_t w = send(c->fd, c->doc + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return 1;
        c->off += (size_t)w;
    }
    return 1;
}

static void on_client_writable(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct client *c = ud;
    if (client_write(c))
        client_close(c);
}

static void on_client_deadline(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct client *c = ud;
    c->timer = 0;
    client_close(c);
}

static void serve(struct status_server *s, int fd)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->doc = s->render(s->ud);
    c->len = c->doc ? strlen(c->doc) : 0;
    s->clients[s->nclients++] = c;
    if (s->nclients == STATUS_MAX_CLIENTS)
        cw_loop_watch_modify(s->loop, s->watch, 0);
    if (client_write(c)) {
        client_close(c);
        return;
    }
    c->watch = cw_loop_watch_fd(s->loop, fd, CW_LOOP_WRITE, on_client_writable, c);
    c->timer = cw_loop_timer_add(s->loop, STATUS_CLIENT_DEADLINE_MS, on_client_deadline, c);
    if (!c->watch || !c->timer)
        client_close(c);
}

static void on_accept(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)events;
    struct status_server *s = ud;
    while (s->nclients < STATUS_MAX_CLIENTS) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0)
            return;
        serve(s, c);
    }
}

struct status_server *status_server_new(struct cw_loop *loop, const char *path,
                                        status_render_fn render, void *ud)
{
    struct sockaddr_un sa;
    struct stat st;
    struct status_server *s = calloc(1, sizeof *s);
    if (!s || make_addr(path, &sa) != 0 || !(s->path = strdup(path))) {
        cw_error("status", "status socket path too long: %s", path);
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->render = render;
    s->ud = ud;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    int rc = s->fd < 0 ? -1 : bind(s->fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || listen(s->fd, 8) != 0 ||
        !(s->watch = cw_loop_watch_fd(loop, s->fd, CW_LOOP_READ, on_accept, s))) {
        cw_error("status", "cannot listen on %s: %s", path, strerror(errno));
        if (s->fd >= 0)
            close(s->fd);
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

void status_server_free(struct status_server *s)
{
    if (!s)
        return;
    while (s->nclients > 0)
        client_close(s->clients[0]);
    cw_loop_watch_remove(s->loop, s->watch);
    close(s->fd);
    unlink(s->path);
    free(s->path);
    free(s);
}

static int wait_readable(int fd, long timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, (int)timeout_ms);
    return r > 0 ? 0 : -1;
}

int status_query(const char *path, long timeout_ms, char **out)
{
    struct sockaddr_un sa;
    *out = NULL;
    if (make_addr(path, &sa) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    struct cw_buf b;
    cw_buf_init(&b, STATUS_MAX_BYTES);
    char chunk[8192];
    int rc = 0;
    for (;;) {
        if (wait_readable(fd, timeout_ms) != 0) {
            rc = -1;
            break;
        }
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n == 0)
            break;
        if (n < 0 || cw_buf_append(&b, chunk, (size_t)n) != 0) {
            rc = -1;
            break;
        }
    }
    close(fd);
    if (rc == 0 && b.len > 0) {
        *out = cw_buf_detach(&b, NULL);
        return *out ? 0 : -1;
    }
    cw_buf_free(&b);
    errno = ETIMEDOUT;
    return -1;
}
