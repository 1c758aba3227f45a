/* sdnotify — see sdnotify.h. */
#include "agent/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

/* Fills *sa from the $NOTIFY_SOCKET syntax; returns the address length or -1 when the path is
 * not absolute, not abstract, or too long for sun_path. */
static int fill_addr(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if ((path[0] != '/' && path[0] != '@') || len < 2 || len > sizeof sa->sun_path - 1)
        return -1;
    memcpy(sa->sun_path, path, len);
    if (path[0] == '@') {
        sa->sun_path[0] = '\0'; /* abstract: the length, not a NUL, ends the name */
        return (int)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

int cw_sd_notify_to(const char *socket_path, const char *state)
{
    struct sockaddr_un sa;
    if (!socket_path || !*socket_path)
        return 0;
    if (!state || !*state)
        return -1;
    int alen = fill_addr(socket_path, &sa);
    if (alen < 0) {
        cw_warn("sdnotify", "NOTIFY_SOCKET '%s' is not a usable socket path", socket_path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        cw_warn("sdnotify", "socket: %s", strerror(errno));
        return -1;
    }
    size_t n = strlen(state);
    ssize_t sent;
    do {
        sent = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&sa, (socklen_t)alen);
    } while (sent < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (sent != (ssize_t)n) {
        cw_warn("sdnotify", "cannot notify systemd at %s: %s", socket_path,
                sent < 0 ? strerror(err) : "short write");
        return -1;
    }
    return 0;
}

int cw_sd_notify(const char *state)
{
    return cw_sd_notify_to(getenv("NOTIFY_SOCKET"), state);
}
