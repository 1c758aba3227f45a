#include "common/udp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Splits "[host]:port", "host:port" or ":port" (after an optional udp:// prefix). */
static int split_address(const char *address, char *host, size_t hostlen, char *port,
                         size_t portlen, char *err, size_t errlen)
{
    const char *a = address;
    if (strncmp(a, "udp://", 6) == 0)
        a += 6;
    else if (strstr(a, "://")) {
        snprintf(err, errlen, "service_address \"%s\": only udp:// is supported", address);
        return -1;
    }
    const char *colon = strrchr(a, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "service_address \"%s\": expected host:port or :port", address);
        return -1;
    }
    const char *h = a, *he = colon;
    if (*h == '[' && he > h && he[-1] == ']') {
        h++;
        he--;
    }
    if ((size_t)(he - h) >= hostlen || strlen(colon + 1) >= portlen) {
        snprintf(err, errlen, "service_address \"%s\": too long", address);
        return -1;
    }
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = 0;
    snprintf(port, portlen, "%s", colon + 1);
    return 0;
}

int udp_check_address(const char *address, char *err, size_t errlen)
{
    char host[256], port[32];
    return split_address(address, host, sizeof host, port, sizeof port, err, errlen);
}

static void size_buffer(int fd, int rcvbuf, int *out)
{
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int got = 0;
    socklen_t len = sizeof got;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
        got = 0;
    if (out)
        *out = got;
}

static int bind_one(const struct addrinfo *ai, int rcvbuf, int *rcvbuf_out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int one = 1, zero = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    size_buffer(fd, rcvbuf, rcvbuf_out);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int udp_listen(const char *address, int rcvbuf, int *rcvbuf_out, char *err, size_t errlen)
{
    char host[256], port[32];
    if (split_address(address, host, sizeof host, port, sizeof port, err, errlen) != 0)
        return -1;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6; /* ":port": both stacks via [::] */
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 && !host[0]) {
        hints.ai_family = AF_INET; /* no IPv6 on this host */
        rc = getaddrinfo(NULL, port, &hints, &res);
    }
    if (rc != 0) {
        snprintf(err, errlen, "service_address \"%s\": %s", address, gai_strerror(rc));
        return -1;
    }
    /* A name with both families ("localhost") binds IPv4 first, as Go's net.ListenUDP does in
     * the reference: clients mostly send to 127.0.0.1. */
    int fd = -1, e = 0;
    for (int pass = 0; pass < 2 && fd < 0; pass++)
        for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET) != (pass == 0))
                continue;
            fd = bind_one(ai, rcvbuf, rcvbuf_out);
            if (fd < 0)
                e = errno;
        }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "service_address \"%s\": cannot bind: %s", address, strerror(e));
    return fd;
}

int udp_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

ssize_t udp_recv(int fd, void *buf, size_t cap, int *truncated, uint32_t *kernel_drops)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(uint32_t))];
    } ctl;
    struct iovec iov = {buf, cap};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
            memcpy(kernel_drops, CMSG_DATA(c), sizeof *kernel_drops);
    return n;
}
