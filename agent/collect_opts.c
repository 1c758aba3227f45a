#include "agent/collect_opts.h"

#include <string.h>

static int add_list(struct collectors_list *l, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (collectors_list_add(l, v[i]) != 0)
            return -1;
    return 0;
}

static int add_fields(struct collectors_list *l, const struct cw_metric_plugin *p)
{
    for (size_t i = 0; i < p->n_measurements; i++)
        if (collectors_list_add(l, p->measurements[i].field) != 0)
            return -1;
    return 0;
}

static bool wants_nvme(const struct cw_metric_plugin *p)
{
    for (size_t i = 0; i < p->n_measurements; i++)
        if (strncmp(p->measurements[i].field, "ebs_", 4) == 0 ||
            strncmp(p->measurements[i].field, "instance_store_", 15) == 0)
            return true;
    return false;
}

int collect_opts_add(struct collectors_opts *co, const struct cw_metrics_config *mc,
                     const char *plugin, const struct cw_metric_plugin *p,
                     const struct cw_procstat *pr)
{
    int cp = collectors_plugin_by_name(plugin);
    if (cp < 0)
        return -1;
    co->plugin[cp].enabled = true;
    co->cpu_percpu = mc->cpu_percpu;
    co->cpu_totalcpu = mc->cpu_totalcpu;
    co->disk_drop_device = mc->disk_drop_device;
    if (co->disk_ignore_fs.n == 0 &&
        add_list(&co->disk_ignore_fs, mc->disk_ignore_fs.v, mc->disk_ignore_fs.n) != 0)
        return -1;
    if (cp == COLL_ETHTOOL &&
        (add_list(&co->ethtool_include, mc->ethtool_include.v, mc->ethtool_include.n) != 0 ||
         add_list(&co->ethtool_exclude, mc->ethtool_exclude.v, mc->ethtool_exclude.n) != 0 ||
         add_list(&co->ethtool_metrics, mc->ethtool_metrics.v, mc->ethtool_metrics.n) != 0))
        return -1;
    if (cp == COLL_NVIDIA_GPU && mc->nvidia_bin_path && !co->nvidia_bin_path &&
        !(co->nvidia_bin_path = strdup(mc->nvidia_bin_path)))
        return -1;
    if (cp == COLL_DISKIO && wants_nvme(p)) { /* ebs_* / instance_store_*: the NVMe collector */
        co->plugin[COLL_DISKIO_NVME].enabled = true;
        if (add_fields(&co->plugin[COLL_DISKIO_NVME].measurements, p) != 0 ||
            add_list(&co->plugin[COLL_DISKIO_NVME].resources, p->resources.v, p->resources.n) != 0)
            return -1;
    }
    if (!pr)
        return add_fields(&co->plugin[cp].measurements, p) == 0 &&
                       add_list(&co->plugin[cp].resources, p->resources.v, p->resources.n) == 0
                   ? 0
                   : -1;
    enum collectors_procstat_key key = pr->pid_file ? COLL_PROCSTAT_PID_FILE
                                       : pr->exe    ? COLL_PROCSTAT_EXE
                                                    : COLL_PROCSTAT_PATTERN;
    const char *val = pr->pid_file ? pr->pid_file : pr->exe ? pr->exe : pr->pattern;
    struct collectors_procstat_opts *po = collectors_opts_add_procstat(co, key, val);
    return po ? add_fields(&po->measurements, p) : -1;
}

int collect_opts_all(struct collectors_opts *co, const struct cw_metrics_config *mc)
{
    for (int id = 0; id < CW_PLUGIN_COUNT; id++) {
        const struct cw_metric_plugin *p = &mc->plugins[id];
        if (p->enabled &&
            collect_opts_add(co, mc, cw_plugin_name((enum cw_plugin_id)id), p, NULL) != 0)
            return -1;
    }
    for (size_t i = 0; i < mc->n_procstat; i++)
        if (collect_opts_add(co, mc, "procstat", &mc->procstat[i].common, &mc->procstat[i]) != 0)
            return -1;
    return 0;
}
