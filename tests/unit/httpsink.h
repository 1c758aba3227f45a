/* httpsink — starts tests/lib/httpsink.py (a loopback HTTP/1.1 server) for C tests and
 * benchmarks, and stops it. Header-only; include it from one test or bench file.
 *
 *   struct httpsink s;
 *   if (httpsink_start(&s) == 0) { ... "http://127.0.0.1:<s.port>/echo" ...; httpsink_stop(&s); }
 */
#ifndef CW_TEST_HTTPSINK_H
#define CW_TEST_HTTPSINK_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct httpsink {
    pid_t pid;
    int port;
};

/* Starts the sink with a bounded lifetime; 0, or -1 when it could not start. */
static inline int httpsink_start(struct httpsink *s)
{
    const char *repo = getenv("CW_REPO");
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/lib/httpsink.py", repo && *repo ? repo : ".");
    int p[2];
    if (pipe(p) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl("/usr/bin/python3", "python3", script, "--port", "0", "--lifetime", "120",
              (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[32] = {0};
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof line - 1 && (r = read(p[0], line + n, 1)) == 1 && line[n] != '\n')
        n++;
    close(p[0]);
    char *end = NULL;
    long port = strtol(line, &end, 10);
    if (n == 0 || port <= 0 || port > 65535) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
        return -1;
    }
    s->port = (int)port;
    return 0;
}

static inline void httpsink_stop(struct httpsink *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
}

#endif
