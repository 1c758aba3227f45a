/* test_nvidia — the nvidia_gpu collector with a fake bin_path: a shell script that checks it is
 * called as `nvidia-smi -q -x` and prints tests/fixtures/nvidia/nvidia-smi-q-x.xml (two GPUs).
 * The command runs between rounds, so the report shows up in the round after the one that
 * started it. Also: a missing binary and a failing one are reported, never fatal. */
#include "collectors/collectors.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct got {
    char line[64][128];
    size_t n;
};

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct got *g = ud;
    if (g->n >= 64 || s->ndims != 2)
        return;
    snprintf(g->line[g->n++], sizeof g->line[0], "%s %s=%s,%s=%s %g", s->name, s->dims[0].name,
             s->dims[0].value, s->dims[1].name, s->dims[1].value, s->value);
}

static int has(const struct got *g, const char *line)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->line[i], line) == 0)
            return 1;
    return 0;
}

static void count_lines(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)level;
    (void)len;
    if (strstr(line, "nvidia"))
        (*(int *)ud)++;
}

/* Writes an executable script; body gets the fixture path as $FX. */
static void write_script(const char *path, const char *body)
{
    char *fx = t_repo_path("tests/fixtures/nvidia/nvidia-smi-q-x.xml");
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "#!/bin/sh\nFX='%s'\n%s\n", fx, body);
        fclose(f);
    }
    chmod(path, 0755);
    free(fx);
}

static struct collectors *make(const char *bin, const char *measurement)
{
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.plugin[COLL_NVIDIA_GPU].enabled = true;
    o.nvidia_bin_path = strdup(bin);
    if (measurement)
        collectors_list_add(&o.plugin[COLL_NVIDIA_GPU].measurements, measurement);
    char err[256];
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    return set;
}

/* Gathers every 50 ms until something is emitted (the command finished), at most `tries`. */
static size_t rounds_until_data(struct collectors *set, struct got *g, int tries)
{
    for (int i = 0; i < tries; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        size_t n = collectors_gather(set, 2000 + i, on_sample, g);
        if (n > 0)
            return n;
    }
    return 0;
}

TEST(report_of_two_gpus)
{
    char dir[] = "/tmp/cwt_nvidia_XXXXXX", bin[64];
    T_ASSERT(mkdtemp(dir) != NULL);
    snprintf(bin, sizeof bin, "%s/nvidia-smi", dir);
    /* called as nvidia-smi -q -x, with none of the agent's environment (credentials) */
    setenv("AWS_SECRET_ACCESS_KEY", "not-for-children", 1);
    write_script(bin, "[ \"$1 $2\" = \"-q -x\" ] || exit 3\n"
                      "[ -z \"$AWS_SECRET_ACCESS_KEY\" ] || exit 4\nexec cat \"$FX\"");
    struct collectors *set = make(bin, NULL);
    T_ASSERT(set != NULL);
    struct got g = {0};
    T_EQ_INT(collectors_gather(set, 1000, on_sample, &g), 0); /* started, nothing yet */
    size_t n = rounds_until_data(set, &g, 100);
    /* A10G: all 17 fields; T4: no fan, no power, no encoder stats: 12 */
    T_EQ_INT(n, 29);
    T_CHECK(has(&g, "nvidia_smi_utilization_gpu index=0,name=NVIDIA A10G 87"));
    T_CHECK(has(&g, "nvidia_smi_utilization_memory index=0,name=NVIDIA A10G 41"));
    T_CHECK(has(&g, "nvidia_smi_temperature_gpu index=0,name=NVIDIA A10G 61"));
    T_CHECK(has(&g, "nvidia_smi_power_draw index=0,name=NVIDIA A10G 182.37"));
    T_CHECK(has(&g, "nvidia_smi_fan_speed index=0,name=NVIDIA A10G 12"));
    T_CHECK(has(&g, "nvidia_smi_memory_total index=0,name=NVIDIA A10G 23028"));
    T_CHECK(has(&g, "nvidia_smi_memory_used index=0,name=NVIDIA A10G 10240"));
    T_CHECK(has(&g, "nvidia_smi_memory_free index=0,name=NVIDIA A10G 12353"));
    T_CHECK(has(&g, "nvidia_smi_pcie_link_gen_current index=0,name=NVIDIA A10G 1"));
    T_CHECK(has(&g, "nvidia_smi_pcie_link_width_current index=0,name=NVIDIA A10G 8"));
    T_CHECK(has(&g, "nvidia_smi_encoder_stats_session_count index=0,name=NVIDIA A10G 2"));
    T_CHECK(has(&g, "nvidia_smi_encoder_stats_average_fps index=0,name=NVIDIA A10G 30"));
    T_CHECK(has(&g, "nvidia_smi_encoder_stats_average_latency index=0,name=NVIDIA A10G 1500"));
    T_CHECK(has(&g, "nvidia_smi_clocks_current_graphics index=0,name=NVIDIA A10G 1710"));
    T_CHECK(has(&g, "nvidia_smi_clocks_current_sm index=0,name=NVIDIA A10G 1710"));
    T_CHECK(has(&g, "nvidia_smi_clocks_current_memory index=0,name=NVIDIA A10G 6251"));
    T_CHECK(has(&g, "nvidia_smi_clocks_current_video index=0,name=NVIDIA A10G 1500"));
    T_CHECK(has(&g, "nvidia_smi_pcie_link_width_current index=1,name=Tesla T4 16"));
    T_CHECK(has(&g, "nvidia_smi_temperature_gpu index=1,name=Tesla T4 27"));
    T_CHECK(!has(&g, "nvidia_smi_fan_speed index=1,name=Tesla T4 0"));
    collectors_free(set);
    unlink(bin);
    rmdir(dir);
}

TEST(measurement_filter)
{
    char dir[] = "/tmp/cwt_nvidia_XXXXXX", bin[64];
    T_ASSERT(mkdtemp(dir) != NULL);
    snprintf(bin, sizeof bin, "%s/nvidia-smi", dir);
    write_script(bin, "exec cat \"$FX\"");
    struct collectors *set = make(bin, "nvidia_smi_temperature_gpu");
    T_ASSERT(set != NULL);
    struct got g = {0};
    collectors_gather(set, 1000, on_sample, &g);
    T_EQ_INT(rounds_until_data(set, &g, 100), 2);
    collectors_free(set);
    unlink(bin);
    rmdir(dir);
}

TEST(missing_and_failing_binary_are_reported_once)
{
    int lines = 0;
    cw_log_set_sink(count_lines, &lines);
    struct collectors *set = make("/nonexistent/nvidia-smi", NULL);
    T_ASSERT(set != NULL); /* never a failed start */
    struct got g = {0};
    for (int i = 0; i < 3; i++)
        T_EQ_INT(collectors_gather(set, 1000 + i, on_sample, &g), 0);
    T_EQ_INT(lines, 1);
    collectors_free(set);

    char dir[] = "/tmp/cwt_nvidia_XXXXXX", bin[64];
    T_ASSERT(mkdtemp(dir) != NULL);
    snprintf(bin, sizeof bin, "%s/nvidia-smi", dir);
    write_script(bin, "echo 'NVIDIA-SMI has failed' >&2; exit 9");
    set = make(bin, NULL);
    lines = 0;
    collectors_gather(set, 1000, on_sample, &g);
    T_EQ_INT(rounds_until_data(set, &g, 10), 0);
    T_EQ_INT(lines, 1);
    cw_log_set_sink(NULL, NULL);
    collectors_free(set);
    unlink(bin);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(report_of_two_gpus),
        T_CASE(measurement_filter),
        T_CASE(missing_and_failing_binary_are_reported_once),
    };
    return t_run("test_nvidia", cases, sizeof cases / sizeof cases[0], argc, argv);
}
