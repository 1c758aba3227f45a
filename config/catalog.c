/* catalog — the measurement names each metrics plugin accepts (the reference's
 * Registered_Metrics_Linux plus the NVMe diskio names, notes section b) and the CloudWatch
 * unit names. */
#include "config/catalog.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static const char *const cpu_fields[] = {"time_active",
                                         "time_guest",
                                         "time_guest_nice",
                                         "time_idle",
                                         "time_iowait",
                                         "time_irq",
                                         "time_nice",
                                         "time_softirq",
                                         "time_steal",
                                         "time_system",
                                         "time_user",
                                         "usage_active",
                                         "usage_guest",
                                         "usage_guest_nice",
                                         "usage_idle",
                                         "usage_iowait",
                                         "usage_irq",
                                         "usage_nice",
                                         "usage_softirq",
                                         "usage_steal",
                                         "usage_system",
                                         "usage_user",
                                         NULL};
static const char *const disk_fields[] = {"free",  "inodes_free", "inodes_total", "inodes_used",
                                          "total", "used",        "used_percent", NULL};
static const char *const diskio_fields[] = {
    "iops_in_progress", "io_time", "reads", "read_bytes", "read_time", "writes", "write_bytes",
    "write_time",
    /* NVMe log page (awsnvmereceiver; collectors/nvme.c) */
    "ebs_total_read_ops", "ebs_total_write_ops", "ebs_total_read_bytes", "ebs_total_write_bytes",
    "ebs_total_read_time", "ebs_total_write_time", "ebs_volume_performance_exceeded_iops",
    "ebs_volume_performance_exceeded_tp", "ebs_ec2_instance_performance_exceeded_iops",
    "ebs_ec2_instance_performance_exceeded_tp", "ebs_volume_queue_length",
    "instance_store_total_read_ops", "instance_store_total_write_ops",
    "instance_store_total_read_bytes", "instance_store_total_write_bytes",
    "instance_store_total_read_time", "instance_store_total_write_time",
    "instance_store_performance_exceeded_iops", "instance_store_performance_exceeded_tp",
    "instance_store_volume_queue_length", NULL};
static const char *const mem_fields[] = {"active", "available", "available_percent", "buffered",
                                         "cached", "free",      "inactive",          "shared",
                                         "total",  "used",      "used_percent",      NULL};
static const char *const swap_fields[] = {"free", "used", "used_percent", NULL};
static const char *const net_fields[] = {"bytes_sent",   "bytes_recv",   "drop_in",
                                         "drop_out",     "err_in",       "err_out",
                                         "packets_sent", "packets_recv", NULL};
static const char *const netstat_fields[] = {"tcp_close",     "tcp_close_wait",
                                             "tcp_closing",   "tcp_established",
                                             "tcp_fin_wait1", "tcp_fin_wait2",
                                             "tcp_last_ack",  "tcp_listen",
                                             "tcp_none",      "tcp_syn_sent",
                                             "tcp_syn_recv",  "tcp_time_wait",
                                             "udp_socket",    NULL};
static const char *const processes_fields[] = {"blocked",       "dead",     "idle",    "paging",
                                               "running",       "sleeping", "stopped", "total",
                                               "total_threads", "wait",     "zombies", NULL};
/* telegraf's inputs.system; not in the reference's registry (it drops the plugin). */
static const char *const system_fields[] = {"load1",   "load5",  "load15", "n_cpus",
                                            "n_users", "uptime", NULL};
/* nvidia_gpu (telegraf's nvidia_smi, reference metric names nvidia_smi_<field>) */
static const char *const nvidia_fields[] = {"utilization_gpu",
                                            "utilization_memory",
                                            "temperature_gpu",
                                            "power_draw",
                                            "fan_speed",
                                            "memory_total",
                                            "memory_used",
                                            "memory_free",
                                            "pcie_link_gen_current",
                                            "pcie_link_width_current",
                                            "encoder_stats_session_count",
                                            "encoder_stats_average_fps",
                                            "encoder_stats_average_latency",
                                            "clocks_current_graphics",
                                            "clocks_current_sm",
                                            "clocks_current_memory",
                                            "clocks_current_video",
                                            NULL};
static const char *const procstat_fields[] = {"cpu_time",
                                              "cpu_time_guest",
                                              "cpu_time_guest_nice",
                                              "cpu_time_idle",
                                              "cpu_time_iowait",
                                              "cpu_time_irq",
                                              "cpu_time_nice",
                                              "cpu_time_soft_irq",
                                              "cpu_time_steal",
                                              "cpu_time_stolen",
                                              "cpu_time_system",
                                              "cpu_time_user",
                                              "cpu_usage",
                                              "involuntary_context_switches",
                                              "memory_data",
                                              "memory_locked",
                                              "memory_rss",
                                              "memory_stack",
                                              "memory_swap",
                                              "memory_vms",
                                              "nice_priority",
                                              "num_fds",
                                              "num_threads",
                                              "pid",
                                              "read_bytes",
                                              "read_count",
                                              "realtime_priority",
                                              "rlimit_cpu_time_hard",
                                              "rlimit_cpu_time_soft",
                                              "rlimit_file_locks_hard",
                                              "rlimit_file_locks_soft",
                                              "rlimit_memory_data_hard",
                                              "rlimit_memory_data_soft",
                                              "rlimit_memory_locked_hard",
                                              "rlimit_memory_locked_soft",
                                              "rlimit_memory_rss_hard",
                                              "rlimit_memory_rss_soft",
                                              "rlimit_memory_stack_hard",
                                              "rlimit_memory_stack_soft",
                                              "rlimit_memory_vms_hard",
                                              "rlimit_memory_vms_soft",
                                              "rlimit_nice_priority_hard",
                                              "rlimit_nice_priority_soft",
                                              "rlimit_num_fds_hard",
                                              "rlimit_num_fds_soft",
                                              "rlimit_realtime_priority_hard",
                                              "rlimit_realtime_priority_soft",
                                              "rlimit_signals_pending_hard",
                                              "rlimit_signals_pending_soft",
                                              "signals_pending",
                                              "voluntary_context_switches",
                                              "write_bytes",
                                              "write_count",
                                              "pid_count",
                                              NULL};

static const struct {
    const char *plugin;
    const char *const *fields;
} catalog[] = {
    {"cpu", cpu_fields},         {"disk", disk_fields},           {"diskio", diskio_fields},
    {"mem", mem_fields},         {"swap", swap_fields},           {"net", net_fields},
    {"netstat", netstat_fields}, {"processes", processes_fields}, {"procstat", procstat_fields},
    {"system", system_fields},   {"nvidia_gpu", nvidia_fields},
};

const char *const *cw_catalog_fields(const char *plugin)
{
    for (size_t i = 0; i < sizeof catalog / sizeof catalog[0]; i++)
        if (strcmp(catalog[i].plugin, plugin) == 0)
            return catalog[i].fields;
    return NULL;
}

static int listed(const char *const *fields, const char *name)
{
    for (size_t i = 0; fields && fields[i]; i++)
        if (strcmp(fields[i], name) == 0)
            return 1;
    return 0;
}

const char *cw_catalog_field(const char *plugin, const char *name)
{
    const char *const *fields = cw_catalog_fields(plugin);
    size_t pl = strlen(plugin);
    if (!fields)
        return NULL;
    if (listed(fields, name))
        return name;
    if (strncmp(name, plugin, pl) == 0 && name[pl] == '_' && listed(fields, name + pl + 1))
        return name + pl + 1;
    if (strcmp(plugin, "nvidia_gpu") == 0 && strncmp(name, "nvidia_smi_", 11) == 0 &&
        listed(fields, name + 11))
        return name + 11;
    return NULL;
}

int cw_catalog_field_supported(const char *plugin, const char *field)
{
    (void)plugin;
    (void)field;
    return 1; /* every registered field is collected (diskio ebs_*: collectors/nvme.c) */
}

static const char *const units[] = {"Seconds",
                                    "Microseconds",
                                    "Milliseconds",
                                    "Bytes",
                                    "Kilobytes",
                                    "Megabytes",
                                    "Gigabytes",
                                    "Terabytes",
                                    "Bits",
                                    "Kilobits",
                                    "Megabits",
                                    "Gigabits",
                                    "Terabits",
                                    "Percent",
                                    "Count",
                                    "Bytes/Second",
                                    "Kilobytes/Second",
                                    "Megabytes/Second",
                                    "Gigabytes/Second",
                                    "Terabytes/Second",
                                    "Bits/Second",
                                    "Kilobits/Second",
                                    "Megabits/Second",
                                    "Gigabits/Second",
                                    "Terabits/Second",
                                    "Count/Second",
                                    "None",
                                    NULL};

const char *cw_catalog_unit(const char *unit)
{
    for (size_t i = 0; units[i]; i++)
        if (strcasecmp(units[i], unit) == 0)
            return units[i];
    return NULL;
}
