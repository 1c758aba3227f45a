/* test_sdnotify — the sd_notify datagram reaches a bound socket, file-system and abstract. */
#include "agent/sdnotify.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A bound datagram socket at `path` ('@' = abstract); returns the fd or -1. */
static int bind_dgram(const char *path)
{
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path)
        return -1;
    memcpy(sa.sun_path, path, len);
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0';
        alen--;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, alen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads one datagram without blocking; returns its length or -1. */
static ssize_t recv_one(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static void quiet(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)ud;
    (void)level;
    (void)line;
    (void)len;
}

TEST(ready_reaches_a_filesystem_socket)
{
    char dir[] = "/tmp/cwt-sdnotify-XXXXXX";
    T_ASSERT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_dgram(path);
    T_ASSERT(fd >= 0);
    T_EQ_INT(cw_sd_notify_to(path, "READY=1"), 0);
    char buf[64];
    T_EQ_INT(recv_one(fd, buf, sizeof buf), 7);
    T_EQ_STR(buf, "READY=1");
    /* Through the environment, as systemd passes it. */
    setenv("NOTIFY_SOCKET", path, 1);
    T_EQ_INT(cw_sd_notify("STATUS=flushing\nSTOPPING=1"), 0);
    T_EQ_INT(recv_one(fd, buf, sizeof buf), 26);
    T_EQ_STR(buf, "STATUS=flushing\nSTOPPING=1");
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
    rmdir(dir);
}

TEST(ready_reaches_an_abstract_socket)
{
    char name[64];
    snprintf(name, sizeof name, "@cwt-sdnotify-%ld", (long)getpid());
    int fd = bind_dgram(name);
    T_ASSERT(fd >= 0);
    T_EQ_INT(cw_sd_notify_to(name, "READY=1"), 0);
    char buf[64];
    T_EQ_INT(recv_one(fd, buf, sizeof buf), 7);
    T_EQ_STR(buf, "READY=1");
    close(fd);
}

TEST(no_socket_is_a_quiet_success_and_bad_paths_fail)
{
    unsetenv("NOTIFY_SOCKET");
    T_EQ_INT(cw_sd_notify("READY=1"), 0);
    T_EQ_INT(cw_sd_notify_to(NULL, "READY=1"), 0);
    T_EQ_INT(cw_sd_notify_to("", "READY=1"), 0);
    cw_log_set_sink(quiet, NULL);
    T_EQ_INT(cw_sd_notify_to("relative/path", "READY=1"), -1);
    T_EQ_INT(cw_sd_notify_to("@", "READY=1"), -1);
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    T_EQ_INT(cw_sd_notify_to(longp, "READY=1"), -1);
    /* Nobody listens there: the send fails and says so. */
    T_EQ_INT(cw_sd_notify_to("/tmp/cwt-sdnotify-nobody-listens", "READY=1"), -1);
    T_EQ_INT(cw_sd_notify_to("/tmp/x", ""), -1);
    cw_log_set_sink(NULL, NULL);
}

T_MAIN("sdnotify", T_CASE(ready_reaches_a_filesystem_socket),
       T_CASE(ready_reaches_an_abstract_socket),
       T_CASE(no_socket_is_a_quiet_success_and_bad_paths_fail))
