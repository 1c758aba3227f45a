/* creds_process — credential_process: run a command, read Version 1 JSON from its stdout.
 *
 * Runs synchronously with a hard timeout (see sigv4/creds.h): the child gets its own process
 * group so that a timeout kills the shell and everything it started. stdout is capped at
 * CREDS_MAX_JSON bytes, stderr at PROCESS_MAX_STDERR (only its first line is reported).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"

#define PROCESS_DEFAULT_TIMEOUT 30.0
#define PROCESS_MAX_STDERR      4096

extern char **environ;

struct process_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    char *command;
};

struct child {
    pid_t pid;
    int out, err; /* read ends, -1 once closed */
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* In the child: none of the agent's capabilities (the unit gives it CAP_DAC_READ_SEARCH as
 * an ambient capability, which execve would pass on) and a clean signal state (the agent's
 * loop blocks SIGHUP/SIGINT/SIGTERM; a blocked mask survives execve). Running as root, the
 * shell gets root's capabilities back at execve: that is root's own choice of helper. */
static void child_drop_privileges(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (geteuid() != 0)
        (void)syscall(SYS_capset, &hdr, data);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
}

/* In the child: stdin from /dev/null, stdout/stderr to the pipes, nothing else inherited. */
static void child_exec(const char *command, int out_w, int err_w, char *const *envp)
{
    setpgid(0, 0);
    child_drop_privileges();
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        _exit(127);
    closefrom(3);
    char *argv[] = {"sh", "-c", (char *)command, NULL};
    execve("/bin/sh", argv, envp);
    _exit(127);
}

static int spawn(const char *command, char *const *envp, struct child *ch, char *err, size_t el)
{
    int op[2] = {-1, -1}, ep[2] = {-1, -1};
    if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        creds_fmt(err, el, "pipe: %s", strerror(errno));
        goto fail;
    }
    ch->pid = fork();
    if (ch->pid < 0) {
        creds_fmt(err, el, "fork: %s", strerror(errno));
        goto fail;
    }
    if (ch->pid == 0)
        child_exec(command, op[1], ep[1], envp);
    setpgid(ch->pid, ch->pid); /* also in the parent: no race with the kill below */
    close(op[1]);
    close(ep[1]);
    ch->out = op[0];
    ch->err = ep[0];
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (op[i] >= 0)
            close(op[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    return -1;
}

/* Reads what is available from *fd into b; closes it at EOF. Output past the cap is drained
 * and counted in *over. */
static void drain(int *fd, struct cw_buf *b, int *over)
{
    char chunk[4096];
    ssize_t r = read(*fd, chunk, sizeof chunk);
    if (r > 0 && cw_buf_append(b, chunk, (size_t)r) != 0)
        *over = 1;
    explicit_bzero(chunk, sizeof chunk);
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        close(*fd);
        *fd = -1;
    }
}

/* Collects stdout/stderr until both close or the deadline passes. Returns 0, or -1 on timeout. */
static int collect(struct child *ch, double timeout, struct cw_buf *out, struct cw_buf *errb,
                   int *over)
{
    double deadline = mono_now() + timeout;
    int dummy = 0;
    while (ch->out >= 0 || ch->err >= 0) {
        double left = deadline - mono_now();
        if (left <= 0)
            return -1;
        struct pollfd pf[2] = {{ch->out, POLLIN, 0}, {ch->err, POLLIN, 0}};
        int n = poll(pf, 2, (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n <= 0)
            continue;
        if (ch->out >= 0 && pf[0].revents)
            drain(&ch->out, out, over);
        if (ch->err >= 0 && pf[1].revents)
            drain(&ch->err, errb, &dummy);
    }
    return 0;
}

/* Waits for the child to exit, up to the deadline; kills its process group when it does not. */
static int reap(pid_t pid, double timeout, int *status)
{
    double deadline = mono_now() + timeout;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mono_now() >= deadline)
            break;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, status, 0);
    return -1;
}

static void close_child(struct child *ch)
{
    if (ch->out >= 0)
        close(ch->out);
    if (ch->err >= 0)
        close(ch->err);
    ch->out = ch->err = -1;
}

static struct creds *judge(int status, struct cw_buf *out, struct cw_buf *errb, int over, char *err,
                           size_t el)
{
    char line[200];
    if (WIFSIGNALED(status)) {
        creds_fmt(err, el, "credential_process killed by signal %d", WTERMSIG(status));
        return NULL;
    }
    if (WEXITSTATUS(status) != 0) {
        creds_first_line(errb->data ? errb->data : "", errb->len, line, sizeof line);
        creds_fmt(err, el, "credential_process exited with status %d: %s", WEXITSTATUS(status),
                  *line ? line : "(no stderr)");
        return NULL;
    }
    if (over) {
        creds_fmt(err, el, "credential_process output is larger than %d bytes", CREDS_MAX_JSON);
        return NULL;
    }
    char why[CREDS_ERR_MAX];
    struct creds *c =
        creds_from_json(out->data ? out->data : "", out->len, "process", 1, 0, why, sizeof why);
    if (!c)
        creds_fmt(err, el, "credential_process output: %s", why);
    return c;
}

/* Runs the command and parses its output. Returns the credentials or NULL with err set. */
static struct creds *run_process(const struct creds_ctx *ctx, const char *command, char *err,
                                 size_t el)
{
    double timeout = ctx->process_timeout > 0 ? ctx->process_timeout : PROCESS_DEFAULT_TIMEOUT;
    struct child ch = {-1, -1, -1};
    struct cw_buf out, errb;
    int over = 0, status = 0;
    struct creds *c = NULL;
    cw_buf_init(&out, CREDS_MAX_JSON);
    cw_buf_init(&errb, PROCESS_MAX_STDERR);
    char *const *envp = ctx->envp ? (char *const *)ctx->envp : environ;
    if (creds_buf_presize(&out) != 0) {
        creds_fmt(err, el, "out of memory");
        goto out;
    }
    if (spawn(command, envp, &ch, err, el) != 0)
        goto out;
    if (collect(&ch, timeout, &out, &errb, &over) != 0) {
        close_child(&ch);
        kill(-ch.pid, SIGKILL);
        waitpid(ch.pid, &status, 0);
        creds_fmt(err, el, "credential_process timed out after %.1f s (killed)", timeout);
        goto out;
    }
    close_child(&ch);
    if (reap(ch.pid, 1.0, &status) != 0) {
        creds_fmt(err, el, "credential_process did not exit after closing its output (killed)");
        goto out;
    }
    c = judge(status, &out, &errb, over, err, el);
out:
    cw_buf_free_secret(&out);
    cw_buf_free_secret(&errb);
    return c;
}

static void process_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct process_provider *p = (struct process_provider *)self;
    char err[CREDS_ERR_MAX];
    struct creds *c = run_process(&p->ctx, p->command, err, sizeof err);
    done(ud, c, c ? NULL : err);
}

static void process_free(struct creds_provider *self)
{
    struct process_provider *p = (struct process_provider *)self;
    free(p->command);
    free(p);
}

struct creds_provider *creds_process_provider_new(const struct creds_ctx *ctx, const char *command)
{
    struct process_provider *p = calloc(1, sizeof *p);
    if (!p || !command || !*command || !(p->command = strdup(command))) {
        free(p);
        return NULL;
    }
    p->base.name = "process";
    p->base.fetch = process_fetch;
    p->base.free = process_free;
    p->ctx = *ctx;
    return &p->base;
}
