/* config — cwagent's configuration: the JSON of Amazon's amazon-cloudwatch-agent, loaded from
 * files and directories, merged, validated and turned into typed structs.
 *
 * Loading (cw_config_load): each source is a file or a directory. A directory contributes, in
 * name order, every regular file named *.json plus the names the reference agent's ctl writes
 * into amazon-cloudwatch-agent.d/ ("default", "file_<name>", "ssm_<name>"); pending "*.tmp"
 * downloads, subdirectories and other names are skipped with a warning, hidden (dot) files
 * silently; directories are not searched recursively. Syntax errors are
 * reported as "FILE:LINE:COL: invalid JSON: ...".
 *
 * Merging, as the reference does it: objects are merged key by key (recursively), arrays are
 * concatenated keeping the first of deep-equal items, and the same scalar at the same path with
 * different values in two files is an error naming both files.
 *
 * Validation: the merged document is checked against the reference's own schema.json (embedded
 * in the binary), then by cwagent's semantic checks (registered measurement names, regexes
 * compile, retention / log group class conflicts, ...). Every error line reads
 * "FILE: JSON.PATH: found VALUE, expected WHAT", FILE being the file the value came from.
 * Every key cwagent does not implement produces exactly one warning
 * "FILE: PATH: not supported by cwagent; ignored".
 *
 * Placeholders: ${ENV} references in string values are expanded when the model is built (the
 * reference keeps them in its TOML and expands them when the agent starts; the result is the
 * same for one run); {instance_id}-style placeholders in log group/stream names and ${aws:...}
 * values in plugin append_dimensions are resolved from the caller's cw_config_meta (this
 * module does no I/O beyond reading the configuration files).
 *
 * Schema validation sees the text before ${ENV} expansion, as the reference's does. An unset
 * variable expands to "" with a warning (an empty region or role then counts as absent).
 *
 * Deliberate differences from the reference (each reported, never silent): an unknown root key
 * is an error (the reference's schema allows it and ignores it); auto_removal together with
 * publish_multi_logs is an error (the reference then deletes every other matching file when a
 * new one appears); a measurement "unit" that is not a CloudWatch unit is ignored with a
 * warning (CloudWatch would reject the datum); metrics.append_dimensions pairs other than the
 * four ${aws:...} ones, and invalid log_group_class values, are reported and ignored (the
 * reference drops them silently).
 *
 * Ownership: cw_config_load returns a struct cw_config the caller frees with cw_config_free;
 * every string and array inside belongs to it. Diagnostics are freed with cw_config_diag_free.
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include <stddef.h>
#include <time.h>

/* Reference defaults (notes a.1-a.3). */
#define CW_DEFAULT_INTERVAL      60        /* agent.metrics_collection_interval, seconds */
#define CW_DEFAULT_NAMESPACE     "CWAgent" /* metrics.namespace */
#define CW_DEFAULT_METRICS_FLUSH 60        /* metrics.force_flush_interval, seconds */
#define CW_DEFAULT_LOGS_FLUSH    5         /* logs.force_flush_interval, seconds */
#define CW_DEFAULT_MULTILINE     "^[\\S]"  /* logfile multi_line_start_pattern when absent */
#define CW_DEFAULT_LOGFILE       "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log"
#define CW_DEFAULT_NVIDIA_SMI    "/usr/bin/nvidia-smi" /* nvidia_gpu.bin_path */
#define CW_CONFIG_MAX_FILE_BYTES (16u << 20)           /* a bigger config file is refused */
/* agent.cwagent bounds (cwagent-only settings, docs/rotation.md) */
#define CW_MAX_ROTATED_QUIET_S 86400   /* rotated_file_quiet_seconds: 1 s .. 1 day */
#define CW_MAX_READ_AHEAD_KB   1048576 /* log_read_ahead_kb: 64 KiB .. 1 GiB */

/* Diagnostics: complete lines, errors and warnings separately, in the order found. */
struct cw_config_diag {
    char **errors;
    size_t n_errors;
    char **warnings;
    size_t n_warnings;
};

/* Values for placeholders, supplied by the caller (IMDS, uname...). NULL = unknown, replaced by
 * the reference's markers: i-UNKNOWN, UNKNOWN-HOST, UNKNOWN-IP, UNKNOWN-REGION,
 * UNKNOWN-ACCOUNT, UNKNOWN-TYPE, UNKNOWN-AMI. */
struct cw_config_meta {
    const char *instance_id;
    const char *hostname;       /* IMDS hostname (private DNS name); NULL = local_hostname */
    const char *local_hostname; /* the OS hostname */
    const char *ip_address;
    const char *region; /* used when agent.region is absent */
    const char *account_id;
    const char *instance_type;
    const char *image_id;
    const char *asg_name; /* AutoScalingGroupName tag; NULL drops ${aws:...} dims */
    int on_ec2;           /* default log_stream_name: {instance_id} on EC2, else host */
    time_t now;           /* for {date} (YYYY-MM-DD, UTC); 0 = time(NULL) */
    const char *(*getenv_fn)(const char *name); /* ${ENV} lookups; NULL = getenv */
};

struct cw_kv {
    char *key;
    char *value;
};

struct cw_strlist {
    char **v;
    size_t n;
};

/* A metric a plugin collects. */
struct cw_measurement {
    char *field;       /* registered field, without plugin prefix: "usage_idle" */
    char *name;        /* final CloudWatch name: rename, or "<plugin>_<field>" ("cpu_usage_idle";
                          procstat pid_count is "procstat_lookup_pid_count") */
    char *unit;        /* unit override from {"unit": ...}, or NULL for the collector's default */
    int drop_original; /* named in drop_original_metrics: send only aggregation roll-ups */
};

/* Settings shared by every metrics plugin (and each procstat entry). */
struct cw_metric_plugin {
    int enabled;
    struct cw_measurement *measurements;
    size_t n_measurements;
    int interval;                    /* seconds: the plugin's, else the agent's */
    int high_resolution;             /* interval < 60: StorageResolution 1 */
    struct cw_strlist resources;     /* n == 0: not given; "*" = all */
    struct cw_kv *append_dimensions; /* resolved static pairs, config order */
    size_t n_append_dimensions;
};

enum cw_plugin_id {
    CW_PLUGIN_CPU = 0,
    CW_PLUGIN_DISK,
    CW_PLUGIN_DISKIO,
    CW_PLUGIN_MEM,
    CW_PLUGIN_SWAP,
    CW_PLUGIN_NET,
    CW_PLUGIN_NETSTAT,
    CW_PLUGIN_PROCESSES,
    CW_PLUGIN_SYSTEM,     /* telegraf's system plugin: the reference accepts it and drops it */
    CW_PLUGIN_ETHTOOL,    /* no measurement list: metrics_include selects statistics */
    CW_PLUGIN_NVIDIA_GPU, /* metric names nvidia_smi_<field> */
    CW_PLUGIN_COUNT
};

/* The JSON key of a plugin ("cpu", ...). */
const char *cw_plugin_name(enum cw_plugin_id id);

struct cw_procstat {
    struct cw_metric_plugin common;
    char *pid_file;   /* at least one of pid_file, exe, pattern is set */
    char *exe;        /* regex on the process name */
    char *pattern;    /* regex on the full command line */
    char *pid_finder; /* "native" */
};

/* Bits of metrics.append_dimensions: the only four pairs the reference honours. */
#define CW_DIM_IMAGE_ID      0x1u
#define CW_DIM_INSTANCE_ID   0x2u
#define CW_DIM_INSTANCE_TYPE 0x4u
#define CW_DIM_ASG_NAME      0x8u
/* The key is present (even with no pair honoured): the reference's ec2tagger then removes the
 * host dimension from every host metric (amazon-cloudwatch-agent.md, append_dimensions). */
#define CW_DIM_PRESENT 0x10u

/* metrics_collected.statsd (reference defaults in comments). */
struct cw_statsd {
    int enabled;
    char *service_address;    /* ":8125" (UDP, every interface) */
    int interval;             /* metrics_collection_interval, 10 s */
    int aggregation_interval; /* metrics_aggregation_interval, 60 s; 0 = none, high resolution */
    int allowed_pending;      /* allowed_pending_messages, 10000: sizes the socket buffer */
    char *separator;          /* metric_separator, "_" */
    struct cw_strlist drop_original; /* drop_original_metrics: final metric names */
};

enum cw_collectd_level { CW_COLLECTD_NONE = 0, CW_COLLECTD_SIGN, CW_COLLECTD_ENCRYPT };

/* metrics_collected.collectd. */
struct cw_collectd {
    int enabled;
    char *service_address;           /* "udp://127.0.0.1:25826" */
    char *name_prefix;               /* "collectd_" */
    enum cw_collectd_level level;    /* collectd_security_level, "encrypt" */
    char *auth_file;                 /* collectd_auth_file, "/etc/collectd/auth_file" */
    struct cw_strlist typesdb;       /* collectd_typesdb, ["/usr/share/collectd/types.db"] */
    int aggregation_interval;        /* metrics_aggregation_interval, 60 s; 0 = none */
    struct cw_kv *append_dimensions; /* resolved static pairs */
    size_t n_append_dimensions;
    struct cw_strlist drop_original;
};

struct cw_metrics_config {
    int present;
    char *namespace;
    unsigned global_dims; /* CW_DIM_* requested; also removes the host dimension */
    struct cw_strlist *aggregation_dimensions;
    size_t n_aggregation_dimensions;
    int force_flush_interval;
    char *role_arn; /* metrics credentials.role_arn, else the agent's */
    char *endpoint_override;
    struct cw_metric_plugin plugins[CW_PLUGIN_COUNT];
    int cpu_totalcpu; /* default 1 */
    int cpu_percpu;   /* resources ["*"] */
    struct cw_strlist disk_ignore_fs;
    struct cw_strlist ethtool_include, ethtool_exclude, ethtool_metrics; /* ethtool */
    char *nvidia_bin_path; /* nvidia_gpu.bin_path; NULL = CW_DEFAULT_NVIDIA_SMI */
    int disk_drop_device;
    struct cw_procstat *procstat;
    size_t n_procstat;
    struct cw_statsd statsd;
    struct cw_collectd collectd;
};

struct cw_log_filter {
    int exclude; /* 0 = include */
    char *expression;
};

struct cw_log_file {
    char *file_path;
    /* Resolved names. With publish_multi_logs the reference derives names per matched file:
     * no group given -> group = the path with chars outside [.-_/#A-Za-z0-9] replaced by '_'
     * (and log_group_name is NULL here); group given -> stream = "<log_stream_name>_<that
     * sanitized path with '/' -> '_'>". That is left to the tailer. */
    char *log_group_name;
    char *log_stream_name; /* the section's default when absent */
    int utc;               /* timezone "UTC"; else local */
    char *timestamp_format;
    int trim_timestamp;
    char *multi_line_start_pattern; /* default CW_DEFAULT_MULTILINE */
    int multiline_uses_timestamp;   /* the pattern was "{timestamp_format}" */
    char *encoding;                 /* NULL = utf-8 */
    struct cw_log_filter *filters;
    size_t n_filters;
    int retention_in_days; /* -1 = leave the group's retention alone */
    char *log_group_class; /* "STANDARD", "INFREQUENT_ACCESS" or NULL */
    int auto_removal;
    int publish_multi_logs;
    char *blacklist; /* regex on the file's base name */
};

/* logs.logs_collected.journald.collect_list[] (reference notes inputs-outputs 2.4). */
struct cw_journald {
    char *log_group_name;  /* required, resolved */
    char *log_stream_name; /* resolved; default {instance_id} on EC2, host name elsewhere */
    char *log_group_class; /* "STANDARD", "INFREQUENT_ACCESS" or NULL */
    int retention_in_days; /* -1 = leave alone */
    int priority;          /* keep entries with PRIORITY <= this; default 6 (info) */
    struct cw_strlist units;
    struct cw_strlist *matches; /* each object: "FIELD=value" pairs, ANDed; objects ORed */
    size_t n_matches;
    struct cw_log_filter *filters; /* journald semantics: any exclude drops, includes OR */
    size_t n_filters;
};

/* logs.metrics_collected.emf: the EMF listener. */
struct cw_emf {
    int present;
    char *tcp; /* "host:port" to listen on with TCP, or NULL */
    char *udp; /* "host:port" for UDP, or NULL */
};

struct cw_logs_config {
    int present;
    int force_flush_interval;
    char *log_stream_name; /* resolved section default */
    char *endpoint_override;
    char *role_arn;
    int concurrency; /* default 1 */
    struct cw_log_file *files;
    size_t n_files;
    struct cw_journald *journald;
    size_t n_journald;
    struct cw_emf emf;
};

struct cw_agent_config {
    int metrics_collection_interval;
    char *region; /* agent.region, else meta->region; NULL = unknown */
    char *role_arn;
    int debug;
    char *logfile; /* NULL or "" = stderr (journald); the reference defaults to
                      CW_DEFAULT_LOGFILE, cwagent logs to the journal unless told otherwise */
    int omit_hostname;
    char *hostname; /* NULL = OS hostname */
    char *run_as_user;
    char *user_agent;
    int use_dualstack_endpoint; /* agent.use_dualstack_endpoint (agent/endpoint.h) */
    char *prom_listen;          /* agent.cwagent.prometheus.listen; NULL = no /metrics */
    /* agent.cwagent (cwagent-only settings; 0 = the log tailer's default) */
    int rotated_file_quiet_seconds; /* keep reading a rotated file until quiet this long */
    int log_read_ahead_kb;          /* log bytes read but not yet accepted by CloudWatch */
};

struct cw_config {
    struct cw_agent_config agent;
    struct cw_metrics_config metrics;
    struct cw_logs_config logs;
};

/* Loads, merges and validates the sources (files or directories, in order) and builds the
 * model. Returns 0 with *out set, or -1 with the reasons in diag->errors. Warnings are added
 * in both cases. `meta` may be NULL (everything unknown). */
int cw_config_load(const char *const *paths, size_t n_paths, const struct cw_config_meta *meta,
                   struct cw_config **out, struct cw_config_diag *diag);

/* The same from in-memory documents (names are used in messages), e.g. CW_CONFIG_CONTENT. */
int cw_config_load_buffers(const char *const *names, const char *const *texts, size_t n,
                           const struct cw_config_meta *meta, struct cw_config **out,
                           struct cw_config_diag *diag);

void cw_config_free(struct cw_config *c);
void cw_config_diag_free(struct cw_config_diag *d);

/* The effective configuration (defaults applied, placeholders resolved) as indented JSON;
 * the caller frees the string. NULL on allocation failure. */
char *cw_config_to_json(const struct cw_config *c);

#endif
