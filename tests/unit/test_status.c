/* Unit tests for agent/status: the socket server answers each connection with the rendered
 * document; the client reads it whole; permissions are 0600; no agent → -1. */
#include "agent/loop.h"
#include "agent/status.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int renders;

static char *render(void *ud)
{
    const char *text = ud;
    char *s = NULL;
    renders++;
    return asprintf(&s, "{\"n\":%d,\"t\":\"%s\"}", renders, text) < 0 ? NULL : s;
}

/* Queries from a child process while the parent runs the loop. */
static char *query_from_child(struct cw_loop *loop, const char *path)
{
    int p[2];
    if (pipe(p) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        char *doc = NULL;
        int rc = status_query(path, 2000, &doc);
        if (rc == 0 && write(p[1], doc, strlen(doc)) < 0)
            rc = -1;
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    for (int i = 0; i < 50; i++)
        cw_loop_run_once(loop, 20);
    char buf[256] = {0};
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    return n > 0 ? strdup(buf) : NULL;
}

TEST(server_answers_each_connection)
{
    char dir[] = "/tmp/cwstatusXXXXXX";
    T_ASSERT(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, STATUS_SOCKET_NAME);
    struct cw_loop *loop = cw_loop_new();
    renders = 0;
    struct status_server *s = status_server_new(loop, path, render, "running");
    T_ASSERT(s);
    struct stat st;
    T_ASSERT(stat(path, &st) == 0);
    T_EQ_INT(st.st_mode & 0777, 0600);
    char *a = query_from_child(loop, path);
    char *b = query_from_child(loop, path);
    T_EQ_STR(a, "{\"n\":1,\"t\":\"running\"}");
    T_EQ_STR(b, "{\"n\":2,\"t\":\"running\"}");
    free(a);
    free(b);
    status_server_free(s);
    T_CHECK(access(path, F_OK) != 0); /* the socket file is removed */
    char *doc = NULL;
    T_EQ_INT(status_query(path, 500, &doc), -1);
    T_CHECK(doc == NULL);
    cw_loop_free(loop);
    rmdir(dir);
}

TEST(stale_socket_is_replaced_and_long_path_refused)
{
    char dir[] = "/tmp/cwstatusXXXXXX";
    T_ASSERT(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, STATUS_SOCKET_NAME);
    /* A crashed agent leaves its socket file behind: the next one replaces it. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    T_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    close(fd);
    struct cw_loop *loop = cw_loop_new();
    struct status_server *s2 = status_server_new(loop, path, render, "b");
    T_CHECK(s2 != NULL);
    status_server_free(s2);
    char longp[200];
    memset(longp, 'x', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    T_CHECK(status_server_new(loop, longp, render, "c") == NULL);
    cw_loop_free(loop);
    rmdir(dir);
}

T_MAIN("status", T_CASE(server_answers_each_connection),
       T_CASE(stale_socket_is_replaced_and_long_path_refused))
