/* nvidia_gpu — telegraf's inputs.nvidia_smi as the reference agent configures it: runs
 * `<bin_path> -q -x` (default /usr/bin/nvidia-smi) and reads its XML report. For the i-th <gpu>
 * element it publishes nvidia_smi_<field> (unit None: %, °C, W, MiB and MHz as printed) with
 * dimensions index = i and name = <product_name> (uuid, pstate and compute_mode are excluded
 * by the reference). A value nvidia-smi prints as "N/A" or "[Not Supported]" is left out.
 *
 * nvidia-smi takes tens to hundreds of milliseconds, and the agent has one thread: the command
 * never runs inside a round. Each round collects the report of the command started by the
 * previous round (non-blocking reads of its pipe), then starts the next one. So values are one
 * interval old, and the first round publishes nothing (as delta metrics). A command still
 * running after NVIDIA_TIMEOUT_MS is killed. A missing or failing nvidia-smi is reported once
 * (the core's log-once rule) and never stops the agent. The command gets a minimal environment
 * (PATH, LC_ALL=C), never the agent's (which may hold credentials). */
#include "collectors/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NVIDIA_TIMEOUT_MS 5000       /* telegraf's default timeout */
#define NVIDIA_MAX_OUTPUT (4u << 20) /* an XML report bigger than this is refused */
#define NVIDIA_MAX_GPUS   64

/* Where each field sits in a <gpu> element: a path of nested tags (alternatives with '|'). */
static const struct {
    struct coll_field f;
    const char *path;
} fields[] = {
    {{"utilization_gpu", "nvidia_smi_utilization_gpu", "None"}, "utilization/gpu_util"},
    {{"utilization_memory", "nvidia_smi_utilization_memory", "None"}, "utilization/memory_util"},
    {{"temperature_gpu", "nvidia_smi_temperature_gpu", "None"}, "temperature/gpu_temp"},
    {{"power_draw", "nvidia_smi_power_draw", "None"},
     "power_readings/power_draw|gpu_power_readings/power_draw"},
    {{"fan_speed", "nvidia_smi_fan_speed", "None"}, "fan_speed"},
    {{"memory_total", "nvidia_smi_memory_total", "None"}, "fb_memory_usage/total"},
    {{"memory_used", "nvidia_smi_memory_used", "None"}, "fb_memory_usage/used"},
    {{"memory_free", "nvidia_smi_memory_free", "None"}, "fb_memory_usage/free"},
    {{"pcie_link_gen_current", "nvidia_smi_pcie_link_gen_current", "None"},
     "pci/pci_gpu_link_info/pcie_gen/current_link_gen|pci/pcie_gen/current_link_gen"},
    {{"pcie_link_width_current", "nvidia_smi_pcie_link_width_current", "None"},
     "pci/pci_gpu_link_info/link_widths/current_link_width|pci/link_widths/current_link_width"},
    {{"encoder_stats_session_count", "nvidia_smi_encoder_stats_session_count", "None"},
     "encoder_stats/session_count"},
    {{"encoder_stats_average_fps", "nvidia_smi_encoder_stats_average_fps", "None"},
     "encoder_stats/average_fps"},
    {{"encoder_stats_average_latency", "nvidia_smi_encoder_stats_average_latency", "None"},
     "encoder_stats/average_latency"},
    {{"clocks_current_graphics", "nvidia_smi_clocks_current_graphics", "None"},
     "clocks/graphics_clock"},
    {{"clocks_current_sm", "nvidia_smi_clocks_current_sm", "None"}, "clocks/sm_clock"},
    {{"clocks_current_memory", "nvidia_smi_clocks_current_memory", "None"}, "clocks/mem_clock"},
    {{"clocks_current_video", "nvidia_smi_clocks_current_video", "None"}, "clocks/video_clock"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

struct nvidia_state {
    coll_mask mask;
    struct coll_field table[NFIELDS];
    char *bin;
    pid_t pid; /* 0 = no command running */
    int fd;    /* its stdout, non-blocking */
    int64_t started_ms;
    char *out;
    size_t len, cap;
    bool eof, too_big;
    bool failed; /* the last finished command failed (or could not start) */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- XML lookup ---------------------------------------------------------------------------- */

/* Finds <tag>...</tag> (the open tag may carry attributes) inside [p, end); sets the content. */
static int xml_child(const char *p, const char *end, const char *tag, size_t tl, const char **cs,
                     const char **ce)
{
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || lt + tl + 2 > end)
            return -1;
        if (memcmp(lt + 1, tag, tl) == 0 && (lt[tl + 1] == '>' || lt[tl + 1] == ' ')) {
            const char *gt = memchr(lt, '>', (size_t)(end - lt));
            if (!gt)
                return -1;
            char close[64];
            int n = snprintf(close, sizeof close, "</%.*s>", (int)tl, tag);
            const char *c = memmem(gt + 1, (size_t)(end - gt - 1), close, (size_t)n);
            if (!c)
                return -1;
            *cs = gt + 1;
            *ce = c;
            return 0;
        }
        p = lt + 1;
    }
    return -1;
}

/* Follows one '/'-separated path of tags; returns 0 with the content of the last one. */
static int xml_path(const char *p, const char *end, const char *path, size_t plen, const char **cs,
                    const char **ce)
{
    const char *seg = path, *pend = path + plen;
    while (seg < pend) {
        const char *slash = memchr(seg, '/', (size_t)(pend - seg));
        size_t sl = slash ? (size_t)(slash - seg) : (size_t)(pend - seg);
        if (xml_child(p, end, seg, sl, &p, &end) != 0)
            return -1;
        seg += sl + 1;
    }
    *cs = p;
    *ce = end;
    return 0;
}

/* The number a field's text starts with ("70.25 W", "16x", "45 %"); -1 for N/A and the like. */
static int field_value(const char *gpu, const char *gend, const char *paths, double *out)
{
    const char *alt = paths;
    while (*alt) {
        size_t al = strcspn(alt, "|");
        const char *cs, *ce;
        if (xml_path(gpu, gend, alt, al, &cs, &ce) == 0) {
            char num[64];
            size_t n = (size_t)(ce - cs) < sizeof num - 1 ? (size_t)(ce - cs) : sizeof num - 1;
            memcpy(num, cs, n);
            num[n] = '\0';
            char *e;
            double v = strtod(num, &e);
            if (e == num)
                return -1;
            *out = v;
            return 0;
        }
        alt += al + (alt[al] == '|');
    }
    return -1;
}

/* Emits every wanted field of each <gpu> element of the report. */
static void emit_report(struct nvidia_state *s, struct coll_ctx *c, const char *xml, size_t len)
{
    const char *p = xml, *end = xml + len;
    for (int idx = 0; idx < NVIDIA_MAX_GPUS; idx++) {
        const char *gs, *ge;
        if (xml_child(p, end, "gpu", 3, &gs, &ge) != 0)
            return;
        char index[16], name[128] = "";
        snprintf(index, sizeof index, "%d", idx);
        const char *ns, *ne;
        if (xml_child(gs, ge, "product_name", 12, &ns, &ne) == 0)
            snprintf(name, sizeof name, "%.*s", (int)(ne - ns), ns);
        struct collectors_dim dims[2] = {{"index", index}, {"name", name}};
        for (unsigned i = 0; i < NFIELDS; i++) {
            double v;
            if (field_value(gs, ge, fields[i].path, &v) == 0)
                coll_emit(c, s->table, s->mask, i, v, dims, 2);
        }
        p = ge;
    }
}

/* ---- the command --------------------------------------------------------------------------- */

static void stop_child(struct nvidia_state *s, bool kill_it)
{
    if (s->pid > 0) {
        if (kill_it)
            kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    if (s->fd >= 0)
        close(s->fd);
    s->pid = 0;
    s->fd = -1;
}

static int start_child(struct nvidia_state *s, struct coll_ctx *c)
{
    if (access(s->bin, X_OK) != 0)
        return coll_fail(c, "%s: %s (set nvidia_gpu.bin_path)", s->bin, strerror(errno));
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return coll_fail(c, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none); /* the agent's loop blocks some signals */
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {s->bin, "-q", "-x", NULL};
    /* a clean environment: the agent's may hold AWS credentials, and "C" keeps '.' decimals */
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
    int rc = posix_spawn(&s->pid, s->bin, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(pfd[1]);
    if (rc != 0) {
        close(pfd[0]);
        s->pid = 0;
        return coll_fail(c, "cannot run %s: %s", s->bin, strerror(rc));
    }
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    s->fd = pfd[0];
    s->started_ms = mono_ms();
    s->len = 0;
    s->eof = s->too_big = false;
    return 0;
}

/* Reads what the command has written so far; sets eof at the end of its output. */
static void drain(struct nvidia_state *s)
{
    for (;;) {
        if (s->len + 4096 > s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 65536;
            char *o = cap <= NVIDIA_MAX_OUTPUT ? realloc(s->out, cap) : NULL;
            if (!o) {
                s->too_big = s->eof = true;
                return;
            }
            s->out = o;
            s->cap = cap;
        }
        ssize_t r = read(s->fd, s->out + s->len, s->cap - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            s->eof = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            return;
        }
        s->len += (size_t)r;
    }
}

/* Collects the previous command's report; returns 0 with *ready set when it can be parsed. */
static int collect_previous(struct nvidia_state *s, struct coll_ctx *c, bool *ready)
{
    *ready = false;
    if (s->pid == 0)
        return 0;
    drain(s);
    if (!s->eof) {
        if (mono_ms() - s->started_ms < NVIDIA_TIMEOUT_MS)
            return 1; /* still running: leave it for the next round */
        stop_child(s, true);
        return coll_fail(c, "%s -q -x did not finish within %d ms; killed", s->bin,
                         NVIDIA_TIMEOUT_MS);
    }
    if (s->too_big) {
        stop_child(s, true);
        return coll_fail(c, "%s printed more than %u bytes", s->bin, NVIDIA_MAX_OUTPUT);
    }
    int status = 0;
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    close(s->fd);
    s->fd = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return coll_fail(c, "%s -q -x failed (status %d)", s->bin,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    *ready = true;
    return 0;
}

/* Returns the outcome of the last finished command (a round that only starts one, or finds it
 * still running, keeps the previous verdict, so a failing nvidia-smi is reported once). */
static int nvidia_gather(void *st, struct coll_ctx *c)
{
    struct nvidia_state *s = st;
    bool ready;
    int rc = collect_previous(s, c, &ready);
    if (rc > 0)
        return s->failed ? coll_fail(c, "%s still failing", s->bin) : 0;
    if (ready)
        emit_report(s, c, s->out, s->len);
    if (rc == 0 && !ready && s->failed)
        rc = coll_fail(c, "%s still failing", s->bin); /* nothing finished this round */
    s->failed = rc != 0;
    if (start_child(s, c) != 0) {
        s->failed = true;
        return -1;
    }
    return rc;
}

static void nvidia_destroy(void *st)
{
    struct nvidia_state *s = st;
    if (!s)
        return;
    stop_child(s, true);
    free(s->out);
    free(s->bin);
    free(s);
}

static void *nvidia_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct nvidia_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = -1;
    for (unsigned i = 0; i < NFIELDS; i++)
        s->table[i] = fields[i].f;
    s->bin = strdup(o->nvidia_bin_path ? o->nvidia_bin_path : "/usr/bin/nvidia-smi");
    if (!s->bin ||
        coll_mask_from(s->table, NFIELDS, "nvidia_smi", &o->plugin[COLL_NVIDIA_GPU].measurements,
                       &s->mask, err, errlen) != 0) {
        if (!s->bin)
            snprintf(err, errlen, "out of memory");
        nvidia_destroy(s);
        return NULL;
    }
    return s;
}

const struct coll_impl coll_nvidia_impl = {"nvidia_gpu", nvidia_create, nvidia_gather,
                                           nvidia_destroy};
