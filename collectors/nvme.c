/* nvme — the diskio measurements ebs_* and instance_store_*, read as the reference agent's
 * awsnvmereceiver reads them: for every NVMe controller of <root>/sys/class/nvme whose model is
 * "Amazon Elastic Block Store" (EBS) or "Amazon EC2 NVMe Instance Storage", the vendor log page
 * 0xD0 (4096 bytes, NVMe Get Log Page through NVME_IOCTL_ADMIN_CMD on /dev/<controller>, else
 * /dev/<controller>n1). The page starts with a magic (0x3C23B510 EBS, 0xEC2C0D7E instance
 * store) followed by little-endian u64 counters: read ops, write ops, read bytes, write bytes,
 * read time, write time, EBS volume IOPS / throughput exceeded, EC2 instance IOPS / throughput
 * exceeded, queue length.
 *
 * Published as diskio_ebs_<field> with dimension VolumeId ("vol-" + the serial after "vol"),
 * diskio_instance_store_<field> with dimension SerialId; the sums are per-interval deltas (first
 * sample dropped, as the reference's cumulativetodelta), the queue length a gauge. diskio
 * `resources` (globs on "<controller>n1", "*" = all) select controllers. No NVMe device, or no
 * permission to send admin commands (root or CAP_SYS_ADMIN), is reported once (the core's
 * log-once rule), never fatal. Enabled by collect_opts when diskio lists an ebs_* or
 * instance_store_* measurement. */
#include "collectors/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define NVME_MAGIC_EBS   0x3C23B510u
#define NVME_MAGIC_STORE 0xEC2C0D7Eu
#define NVME_LOG_ID      0xD0
#define NVME_MAX_CTRL    64

/* The log page's counters in page order (offset 8 + 8 i). */
enum {
    P_ROPS,
    P_WOPS,
    P_RBYTES,
    P_WBYTES,
    P_RTIME,
    P_WTIME,
    P_EBS_IOPS,
    P_EBS_TP,
    P_EC2_IOPS,
    P_EC2_TP,
    P_QUEUE,
    P_COUNT
};

/* Field table: EBS fields, then instance-store fields; `page` = the counter they come from. */
static const struct coll_field fields[] = {
    {"ebs_total_read_ops", "diskio_ebs_total_read_ops", "None"},
    {"ebs_total_write_ops", "diskio_ebs_total_write_ops", "None"},
    {"ebs_total_read_bytes", "diskio_ebs_total_read_bytes", "Bytes"},
    {"ebs_total_write_bytes", "diskio_ebs_total_write_bytes", "Bytes"},
    {"ebs_total_read_time", "diskio_ebs_total_read_time", "None"},
    {"ebs_total_write_time", "diskio_ebs_total_write_time", "None"},
    {"ebs_volume_performance_exceeded_iops", "diskio_ebs_volume_performance_exceeded_iops", "None"},
    {"ebs_volume_performance_exceeded_tp", "diskio_ebs_volume_performance_exceeded_tp", "None"},
    {"ebs_ec2_instance_performance_exceeded_iops",
     "diskio_ebs_ec2_instance_performance_exceeded_iops", "None"},
    {"ebs_ec2_instance_performance_exceeded_tp", "diskio_ebs_ec2_instance_performance_exceeded_tp",
     "None"},
    {"ebs_volume_queue_length", "diskio_ebs_volume_queue_length", "None"},
    {"instance_store_total_read_ops", "diskio_instance_store_total_read_ops", "None"},
    {"instance_store_total_write_ops", "diskio_instance_store_total_write_ops", "None"},
    {"instance_store_total_read_bytes", "diskio_instance_store_total_read_bytes", "Bytes"},
    {"instance_store_total_write_bytes", "diskio_instance_store_total_write_bytes", "Bytes"},
    {"instance_store_total_read_time", "diskio_instance_store_total_read_time", "None"},
    {"instance_store_total_write_time", "diskio_instance_store_total_write_time", "None"},
    {"instance_store_performance_exceeded_iops", "diskio_instance_store_performance_exceeded_iops",
     "None"},
    {"instance_store_performance_exceeded_tp", "diskio_instance_store_performance_exceeded_tp",
     "None"},
    {"instance_store_volume_queue_length", "diskio_instance_store_volume_queue_length", "None"},
    /* the other diskio fields: accepted (the measurement list is diskio's), never emitted here */
    {"reads", NULL, NULL},
    {"writes", NULL, NULL},
    {"read_bytes", NULL, NULL},
    {"write_bytes", NULL, NULL},
    {"read_time", NULL, NULL},
    {"write_time", NULL, NULL},
    {"io_time", NULL, NULL},
    {"iops_in_progress", NULL, NULL},
};
#define NFIELDS 28
#define F_STORE 11 /* first instance-store field */
static const int ebs_page[11] = {P_ROPS,     P_WOPS,   P_RBYTES,   P_WBYTES, P_RTIME, P_WTIME,
                                 P_EBS_IOPS, P_EBS_TP, P_EC2_IOPS, P_EC2_TP, P_QUEUE};
static const int store_page[9] = {P_ROPS,  P_WOPS,     P_RBYTES, P_WBYTES, P_RTIME,
                                  P_WTIME, P_EC2_IOPS, P_EC2_TP, P_QUEUE};

struct nvme_prev {
    char id[72];
    uint64_t v[P_COUNT];
    bool has, seen;
};

struct nvme_state {
    coll_mask mask;
    struct collectors_list devices;
    struct nvme_prev prev[NVME_MAX_CTRL];
    size_t nprev;
    collectors_nvme_fn read;
    void *ud;
};

/* ---- the default reader: NVMe Get Log Page 0xD0 -------------------------------------------- */

static int ioctl_log_page(void *ud, const char *devpath, unsigned char page[COLLECTORS_NVME_PAGE])
{
    (void)ud;
    int fd = open(devpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct nvme_passthru_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.opcode = 0x02; /* Get Log Page */
    cmd.nsid = 0xFFFFFFFFu;
    cmd.addr = (uint64_t)(uintptr_t)page;
    cmd.data_len = COLLECTORS_NVME_PAGE;
    cmd.cdw10 = ((COLLECTORS_NVME_PAGE / 4 - 1) << 16) | NVME_LOG_ID;
    int rc = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);
    int saved = errno;
    close(fd);
    if (rc > 0) { /* an NVMe status, not an errno */
        errno = EIO;
        return -1;
    }
    errno = saved;
    return rc == 0 ? 0 : -1;
}

/* ---- the collector ------------------------------------------------------------------------- */

static void nvme_destroy(void *st)
{
    struct nvme_state *s = st;
    coll_list_free(&s->devices);
    free(s);
}

static void *nvme_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct nvme_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "diskio", &o->plugin[COLL_DISKIO_NVME].measurements,
                       &s->mask, err, errlen) != 0 ||
        coll_list_copy(&s->devices, &o->plugin[COLL_DISKIO_NVME].resources) != 0) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        nvme_destroy(s);
        return NULL;
    }
    s->read = o->nvme_fn ? o->nvme_fn : ioctl_log_page;
    s->ud = o->nvme_ud;
    return s;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads <root>/sys/class/nvme/<ctrl>/<attr> trimmed into out; 0 or -1. */
static int sys_attr(struct coll_ctx *c, const char *ctrl, const char *attr, char *out, size_t cap)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "/sys/class/nvme/%s/%s", ctrl, attr);
    const char *path = coll_path(c, rel);
    if (!path || coll_read_at(AT_FDCWD, path, out, cap, &len) != 0)
        return -1;
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = '\0';
    return 0;
}

/* The previous page of a controller (by VolumeId / SerialId), for the deltas. */
static struct nvme_prev *prev_get(struct nvme_state *s, const char *id)
{
    for (size_t i = 0; i < s->nprev; i++)
        if (strcmp(s->prev[i].id, id) == 0) {
            s->prev[i].seen = true;
            return &s->prev[i];
        }
    if (s->nprev == NVME_MAX_CTRL)
        return NULL;
    struct nvme_prev *p = &s->prev[s->nprev++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->seen = true;
    return p;
}

/* Drops the controllers not seen this round (a device that comes back starts over). */
static void prev_sweep(struct nvme_state *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->nprev; i++)
        if (s->prev[i].seen) {
            s->prev[j] = s->prev[i];
            s->prev[j++].seen = false;
        }
    s->nprev = j;
}

/* Emits one controller's page: sums as deltas against the previous page, the queue length. */
static void emit_page(struct nvme_state *s, struct coll_ctx *c, bool ebs, const char *id,
                      const unsigned char *page)
{
    const struct collectors_dim dim = {ebs ? "VolumeId" : "SerialId", id};
    const int *map = ebs ? ebs_page : store_page;
    unsigned nf = ebs ? 11 : 9, f0 = ebs ? 0 : F_STORE;
    uint64_t v[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        v[i] = le64(page + 8 + 8 * i);
    struct nvme_prev *prev = prev_get(s, id);
    for (unsigned k = 0; k < nf; k++) {
        int p = map[k];
        uint64_t d;
        if (p == P_QUEUE)
            coll_emit(c, fields, s->mask, f0 + k, (double)v[p], &dim, 1);
        else if (prev && prev->has && coll_delta(v[p], prev->v[p], &d))
            coll_emit(c, fields, s->mask, f0 + k, (double)d, &dim, 1);
    }
    if (prev) {
        memcpy(prev->v, v, sizeof v);
        prev->has = true;
    }
}

/* Tries /dev/<ctrl> then /dev/<ctrl>n1; returns 0 with the page. */
static int read_page(struct nvme_state *s, struct coll_ctx *c, const char *ctrl,
                     unsigned char *page)
{
    static const char *const fmt[] = {"/dev/%s", "/dev/%sn1"};
    for (int i = 0; i < 2; i++) {
        char rel[96];
        snprintf(rel, sizeof rel, fmt[i], ctrl);
        const char *path = coll_path(c, rel);
        if (path && s->read(s->ud, path, page) == 0)
            return 0;
    }
    return -1;
}

static int nvme_gather(void *st, struct coll_ctx *c)
{
    struct nvme_state *s = st;
    const char *dir = coll_path(c, "/sys/class/nvme");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return coll_fail(c, "no NVMe controller (%s): %s; ebs_*/instance_store_* unavailable",
                         c->path, strerror(errno));
    char names[NVME_MAX_CTRL][32];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < NVME_MAX_CTRL)
        if (strncmp(de->d_name, "nvme", 4) == 0 && strlen(de->d_name) < sizeof names[0] - 3)
            snprintf(names[n++], sizeof names[0], "%.28s", de->d_name);
    closedir(d);
    size_t amazon = 0, ok = 0;
    int last_errno = 0;
    for (size_t i = 0; i < n; i++) {
        char model[128], serial[64], ns[40], id[72];
        snprintf(ns, sizeof ns, "%.30sn1", names[i]);
        if (s->devices.n > 0 && !coll_list_match(&s->devices, ns))
            continue;
        if (sys_attr(c, names[i], "model", model, sizeof model) != 0)
            continue;
        bool ebs = strcmp(model, "Amazon Elastic Block Store") == 0;
        if (!ebs && strcmp(model, "Amazon EC2 NVMe Instance Storage") != 0)
            continue;
        amazon++;
        if (sys_attr(c, names[i], "serial", serial, sizeof serial) != 0)
            snprintf(serial, sizeof serial, "unknown-%.30s", names[i]);
        if (ebs && strncmp(serial, "vol", 3) == 0 && serial[3] && serial[3] != '-')
            snprintf(id, sizeof id, "vol-%s", serial + 3);
        else
            snprintf(id, sizeof id, "%s", serial);
        unsigned char page[COLLECTORS_NVME_PAGE];
        if (read_page(s, c, names[i], page) != 0) {
            last_errno = errno;
            continue;
        }
        uint32_t magic = (uint32_t)le64(page);
        if (magic != (ebs ? NVME_MAGIC_EBS : NVME_MAGIC_STORE)) {
            last_errno = EPROTO;
            continue;
        }
        emit_page(s, c, ebs, id, page);
        ok++;
    }
    prev_sweep(s);
    if (amazon == 0)
        return coll_fail(c, "no EBS or instance store NVMe device; ebs_*/instance_store_* "
                            "unavailable");
    if (ok == 0)
        return coll_fail(c,
                         "cannot read the NVMe log page of %zu device(s): %s (needs root or "
                         "CAP_SYS_ADMIN); ebs_*/instance_store_* unavailable",
                         amazon, strerror(last_errno));
    return 0;
}

const struct coll_impl coll_nvme_impl = {"diskio_nvme", nvme_create, nvme_gather, nvme_destroy};
