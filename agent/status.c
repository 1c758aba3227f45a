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

struct status_server {
    struct cw_loop *loop;
    int fd;
    uint64_t watch;
    char *path;
    status_render_fn render;
    void *ud;
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

/* Sends the whole document, giving a slow reader at most one second. */
static void send_all(int fd, const char *p, size_t n)
{
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void on_accept(struct cw_loop *loop, int fd, unsigned events, void *ud)
{
    (void)loop;
    (void)events;
    struct status_server *s = ud;
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            return;
        char *doc = s->render(s->ud);
        if (doc) {
            send_all(c, doc, strlen(doc));
            free(doc);
        }
        close(c);
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
