/* test_nvme — diskio ebs_* / instance_store_* (collectors/nvme.c) through the NVMe seam: the
 * controllers come from tests/fixtures/nvme/sys/class/nvme (an EBS volume, an instance store
 * disk, a non-Amazon controller that is ignored) and the log pages from the recorded
 * tests/fixtures/nvme/{ebs,store}-round{1,2}.bin (make_pages.py lists their values). The sums are
 * deltas between the two rounds, the queue lengths gauges. Also: no device, no permission. */
#include "collectors/collectors.h"
#include "common/log.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct got {
    char line[64][128];
    size_t n;
};

static void on_sample(void *ud, const struct collectors_sample *s)
{
    struct got *g = ud;
    if (g->n >= 64 || s->ndims != 1)
        return;
    snprintf(g->line[g->n++], sizeof g->line[0], "%s %s %s=%s %.0f", s->name, s->unit,
             s->dims[0].name, s->dims[0].value, s->value);
}

static int has(const struct got *g, const char *line)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->line[i], line) == 0)
            return 1;
    return 0;
}

struct fake {
    int round;
    int deny;
    int calls;
};

static int fake_page(void *ud, const char *devpath, unsigned char page[COLLECTORS_NVME_PAGE])
{
    struct fake *f = ud;
    f->calls++;
    if (f->deny) {
        errno = EACCES;
        return -1;
    }
    const char *base = strrchr(devpath, '/');
    const char *kind = !base                         ? NULL
                       : strcmp(base, "/nvme0") == 0 ? "ebs"
                       : strcmp(base, "/nvme1") == 0 ? "store"
                                                     : NULL;
    if (!kind) {
        errno = ENOENT;
        return -1;
    }
    char rel[96];
    snprintf(rel, sizeof rel, "tests/fixtures/nvme/%s-round%d.bin", kind, f->round);
    char *path = t_repo_path(rel);
    size_t len = 0;
    char *data = t_read_file(path, &len);
    free(path);
    if (!data || len != COLLECTORS_NVME_PAGE) {
        free(data);
        errno = EIO;
        return -1;
    }
    memcpy(page, data, len);
    free(data);
    return 0;
}

static struct collectors *make(const char *root, struct fake *f, const char *const *meas,
                               const char *resource)
{
    struct collectors_opts o;
    collectors_opts_init(&o, false);
    o.root = root ? t_repo_path(root) : strdup("/nonexistent/cwagent-nvme");
    o.plugin[COLL_DISKIO_NVME].enabled = true;
    for (size_t i = 0; meas && meas[i]; i++)
        collectors_list_add(&o.plugin[COLL_DISKIO_NVME].measurements, meas[i]);
    if (resource)
        collectors_list_add(&o.plugin[COLL_DISKIO_NVME].resources, resource);
    o.nvme_fn = fake_page;
    o.nvme_ud = f;
    char err[256];
    struct collectors *set = collectors_new(&o, err, sizeof err);
    collectors_opts_clear(&o);
    return set;
}

TEST(ebs_and_instance_store_deltas)
{
    struct fake f = {1, 0, 0};
    struct collectors *set = make("tests/fixtures/nvme", &f, NULL, NULL);
    T_ASSERT(set != NULL);
    struct got g = {0};
    /* round 1: only the gauges (deltas need two pages) */
    T_EQ_INT(collectors_gather(set, 1000, on_sample, &g), 2);
    T_CHECK(has(&g, "diskio_ebs_volume_queue_length None VolumeId=vol-0123456789abcdef0 3"));
    T_CHECK(
        has(&g, "diskio_instance_store_volume_queue_length None SerialId=AWS1A2B3C4D5E6F7G8H9 0"));
    g.n = 0;
    f.round = 2;
    T_EQ_INT(collectors_gather(set, 2000, on_sample, &g), 20);
    const char *want[] = {
        "diskio_ebs_total_read_ops None VolumeId=vol-0123456789abcdef0 600",
        "diskio_ebs_total_write_ops None VolumeId=vol-0123456789abcdef0 300",
        "diskio_ebs_total_read_bytes Bytes VolumeId=vol-0123456789abcdef0 2457600",
        "diskio_ebs_total_write_bytes Bytes VolumeId=vol-0123456789abcdef0 1228800",
        "diskio_ebs_total_read_time None VolumeId=vol-0123456789abcdef0 300000",
        "diskio_ebs_total_write_time None VolumeId=vol-0123456789abcdef0 90000",
        "diskio_ebs_volume_performance_exceeded_iops None VolumeId=vol-0123456789abcdef0 5",
        "diskio_ebs_volume_performance_exceeded_tp None VolumeId=vol-0123456789abcdef0 0",
        "diskio_ebs_ec2_instance_performance_exceeded_iops None VolumeId=vol-0123456789abcdef0 1",
        "diskio_ebs_ec2_instance_performance_exceeded_tp None VolumeId=vol-0123456789abcdef0 5",
        "diskio_ebs_volume_queue_length None VolumeId=vol-0123456789abcdef0 7",
        "diskio_instance_store_total_read_ops None SerialId=AWS1A2B3C4D5E6F7G8H9 30",
        "diskio_instance_store_total_write_ops None SerialId=AWS1A2B3C4D5E6F7G8H9 1",
        "diskio_instance_store_total_read_bytes Bytes SerialId=AWS1A2B3C4D5E6F7G8H9 122880",
        "diskio_instance_store_total_write_bytes Bytes SerialId=AWS1A2B3C4D5E6F7G8H9 4096",
        "diskio_instance_store_total_read_time None SerialId=AWS1A2B3C4D5E6F7G8H9 2000",
        "diskio_instance_store_total_write_time None SerialId=AWS1A2B3C4D5E6F7G8H9 100",
        "diskio_instance_store_performance_exceeded_iops None SerialId=AWS1A2B3C4D5E6F7G8H9 3",
        "diskio_instance_store_performance_exceeded_tp None SerialId=AWS1A2B3C4D5E6F7G8H9 0",
        "diskio_instance_store_volume_queue_length None SerialId=AWS1A2B3C4D5E6F7G8H9 1",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has(&g, want[i]))
            t_fail_at(__FILE__, __LINE__, "missing \"%s\"", want[i]);
    collectors_free(set);
}

TEST(measurements_and_resources_filter)
{
    static const char *const m[] = {"ebs_total_read_ops", "reads", NULL};
    struct fake f = {1, 0, 0};
    struct collectors *set = make("tests/fixtures/nvme", &f, m, "nvme0n1");
    T_ASSERT(set != NULL);
    struct got g = {0};
    T_EQ_INT(collectors_gather(set, 1000, on_sample, &g), 0);
    f.round = 2;
    T_EQ_INT(collectors_gather(set, 2000, on_sample, &g), 1);
    T_CHECK(has(&g, "diskio_ebs_total_read_ops None VolumeId=vol-0123456789abcdef0 600"));
    T_EQ_INT(f.calls, 2); /* nvme1 is not in resources: never read */
    collectors_free(set);
}

static void count_lines(void *ud, enum cw_log_level level, const char *line, size_t len)
{
    (void)level;
    (void)len;
    if (strstr(line, "diskio_nvme"))
        (*(int *)ud)++;
}

TEST(unavailable_is_reported_once)
{
    int lines = 0;
    cw_log_set_sink(count_lines, &lines);
    struct fake f = {1, 1, 0};
    struct collectors *set = make("tests/fixtures/nvme", &f, NULL, NULL);
    T_ASSERT(set != NULL);
    struct got g = {0};
    for (int i = 0; i < 3; i++)
        T_EQ_INT(collectors_gather(set, 1000 + i, on_sample, &g), 0);
    T_EQ_INT(lines, 1);
    collectors_free(set);
    lines = 0;
    set = make(NULL, &f, NULL, NULL); /* no /sys/class/nvme at all */
    for (int i = 0; i < 3; i++)
        T_EQ_INT(collectors_gather(set, 1000 + i, on_sample, &g), 0);
    T_EQ_INT(lines, 1);
    cw_log_set_sink(NULL, NULL);
    collectors_free(set);
}

int main(int argc, char **argv)
{
    static const struct t_case cases[] = {
        T_CASE(ebs_and_instance_store_deltas),
        T_CASE(measurements_and_resources_filter),
        T_CASE(unavailable_is_reported_once),
    };
    return t_run("test_nvme", cases, sizeof cases / sizeof cases[0], argc, argv);
}
