/* cmd_run — `cwagent run`: the daemon. Loads the configuration, learns the instance's identity
 * from IMDS, finds credentials, and runs the metrics job on one event loop until SIGTERM/SIGINT
 * (flush, then leave the rest in the spool); SIGHUP reloads the configuration without losing
 * anything queued. */
#include "agent/commands.h"

#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/aws_client.h"
#include "agent/endpoint.h"
#include "agent/http_curl.h"
#include "agent/logs_pipe.h"
#include "agent/loop.h"
#include "agent/listeners.h"
#include "agent/metrics_pipe.h"
#include "agent/netconf.h"
#include "agent/prom_exporter.h"
#include "agent/runas.h"
#include "agent/sdnotify.h"
#include "agent/spool.h"
#include "agent/status.h"
#include "agent/version.h"
#include "common/log.h"
#include "common/logfile.h"
#include "config/config.h"
#include "sigv4/creds.h"
#include "sigv4/imds.h"
#include "logtail/logtail.h"

extern char **environ;

#define MAX_SOURCES       32
#define IMDS_WAIT_MS      6000
#define ASG_WAIT_MS       10000
#define SHUTDOWN_DRAIN_MS 5000
#define RELOAD_WAIT_MS    35000 /* a request on the wire ends within the client's 30 s timeout */
#define DEFAULT_STATE_DIR "/var/lib/cwagent"
#define DEFAULT_SPOOL_MB  64
/* The credentials timer wakes at the caches' next deadline (refresh ahead of expiry, backoff after
 * a failure), at least CREDS_TICK_MIN_MS later (the resolution the deadlines need) and at most
 * CREDS_TICK_MAX_MS later (deadlines are wall-clock times: a clock step or a resumed VM is noticed
 * within a minute). With static keys it wakes once a minute, not once a second. */
#define CREDS_TICK_MIN_MS 1000
#define CREDS_TICK_MAX_MS 60000

struct run {
    const char *paths[MAX_SOURCES];
    size_t npaths;
    const char *state_dir;
    const char *root;
    const char *common_path; /* common-config.toml */
    struct cw_netconf net;
    int pack;
    uint64_t spool_max;
    struct cw_loop *loop;
    struct cw_http_curl *curl;
    struct cw_http_transport http;
    struct imds_client *imds;
    struct imds_identity id;
    int have_id;
    char os_host[256];
    char asg[256];
    char region[64];
    struct cw_config *cfg;
    struct creds_ctx cctx;
    char sts[512];
    struct creds_cache *creds; /* the chain, with agent.credentials.role_arn if set */
    struct role_cache {
        char *role;
        struct creds_cache *cache;
    } roles[4]; /* per-section role_arn on top of the chain */
    size_t nroles;
    struct aws_client *cw;
    struct spool *spool;
    struct metrics_pipe *mp;
    struct prom_exporter *prom; /* agent.cwagent.prometheus; NULL = off */
    struct aws_client *logs;
    struct logs_pipe *lp;
    uint64_t creds_timer;
    struct status_server *status;
    struct cw_logfile *logfile; /* agent.logfile; NULL = stderr */
    struct cw_config *next_cfg; /* SIGHUP: applied once no request is on the wire */
    uint64_t reload_timer;
    uint64_t heap_timer;
    int64_t reload_deadline;
    char starttime[32];
    int stopping;
    int done_flag;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent run -c FILE|DIR [-c ...] [--state-dir DIR] [--spool-mb N]\n"
            "                   [--pack-values] [--root DIR] [--common-config FILE]\n\n"
            "Runs the agent in the foreground with an amazon-cloudwatch-agent JSON config.\n"
            "  -c, --config PATH  a config file or a directory of them (repeatable)\n"
            "  --state-dir DIR    spool and checkpoints (default " DEFAULT_STATE_DIR ")\n"
            "  --spool-mb N       bound of the on-disk metrics spool (default %d MB)\n"
            "  --pack-values      pack a series' samples of one flush into Values/Counts\n"
            "  --root DIR         read /proc and /sys below DIR (containers: /hostfs)\n"
            "  --common-config FILE  proxy, CA bundle, shared credentials, IMDS retries\n"
            "                     (default " CW_COMMON_CONFIG_PATH "; a missing file is fine)\n"
            "Environment: AWS credentials chain variables, AWS_REGION,\n"
            "AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL[_<SERVICE>],\n"
            "HTTPS_PROXY, HTTP_PROXY, NO_PROXY, AWS_CA_BUNDLE.\n"
            "Signals: SIGTERM/SIGINT stop (queued data stays in the spool), SIGHUP reloads.\n",
            DEFAULT_SPOOL_MB);
}

static int parse_args(struct run *r, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--pack-values") == 0) {
            r->pack = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "cwagent run: %s needs a value\n", a);
            return -1;
        }
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && r->npaths < MAX_SOURCES) {
            r->paths[r->npaths++] = strncmp(v, "file:", 5) == 0 ? v + 5 : v;
        } else if (strcmp(a, "--state-dir") == 0) {
            r->state_dir = v;
        } else if (strcmp(a, "--root") == 0) {
            r->root = v;
        } else if (strcmp(a, "--common-config") == 0) {
            r->common_path = v;
        } else if (strcmp(a, "--spool-mb") == 0) {
            char *end;
            unsigned long mb = strtoul(v, &end, 10);
            if (*end || mb == 0 || mb > 1024 * 1024) {
                fprintf(stderr, "cwagent run: --spool-mb: expected 1..1048576, got '%s'\n", v);
                return -1;
            }
            r->spool_max = (uint64_t)mb << 20;
        } else {
            fprintf(stderr, "cwagent run: unknown option '%s'\n", a);
            return -1;
        }
        i++;
    }
    if (r->npaths == 0) {
        fprintf(stderr, "cwagent run: a configuration is required (-c FILE|DIR)\n");
        return -1;
    }
    return 0;
}

/* ---- instance identity ----------------------------------------------------------------------- */

static void on_identity(void *ud, const struct imds_identity *id, const char *err)
{
    struct run *r = ud;
    r->done_flag = 1;
    if (err) {
        cw_warn("agent", "instance metadata unavailable (%s); publishing without EC2 dimensions",
                err);
        return;
    }
    r->have_id = 1;
    r->id = *id;
    r->id.tags = NULL; /* tags are borrowed: keep only the ASG name */
    r->id.ntags = 0;
    for (size_t i = 0; i < id->ntags; i++)
        if (strcmp(id->tags[i].key, "aws:autoscaling:groupName") == 0)
            snprintf(r->asg, sizeof r->asg, "%s", id->tags[i].value);
}

static void fetch_identity(struct run *r)
{
    struct imds_options io = {0};
    io.http = &r->http;
    imds_options_from_env(&io, (const char *const *)environ);
    if (r->net.file.imds_retries >= 0)
        io.retries = r->net.file.imds_retries ? r->net.file.imds_retries : IMDS_RETRIES_NONE;
    if (io.disabled)
        return;
    r->imds = imds_client_new(&io);
    r->done_flag = 0;
    if (!r->imds || imds_identity_fetch(r->imds, 1, on_identity, r) != 0)
        return;
    if (cw_loop_run_until(r->loop, &r->done_flag, IMDS_WAIT_MS) != 0)
        cw_warn("agent",
                "instance metadata did not answer within %d ms; publishing without EC2 "
                "dimensions",
                IMDS_WAIT_MS);
    imds_client_free(r->imds);
    r->imds = NULL;
}

/* ---- configuration --------------------------------------------------------------------------- */

/* Loads the configuration; warnings are logged unless `quiet` (a second load of the same
 * files, e.g. once the AutoScalingGroupName is known). */
static int load_config(struct run *r, struct cw_config **out, int quiet)
{
    struct cw_config_meta meta = {0};
    meta.local_hostname = r->os_host;
    if (r->have_id) {
        meta.instance_id = r->id.instance_id;
        meta.hostname = r->id.hostname[0] ? r->id.hostname : NULL;
        meta.ip_address = r->id.private_ip[0] ? r->id.private_ip : NULL;
        meta.region = r->id.region[0] ? r->id.region : NULL;
        meta.account_id = r->id.account_id;
        meta.instance_type = r->id.instance_type;
        meta.image_id = r->id.image_id;
        meta.on_ec2 = 1;
    }
    meta.asg_name = r->asg[0] ? r->asg : NULL;
    struct cw_config_diag diag = {0};
    int rc = cw_config_load(r->paths, r->npaths, &meta, out, &diag);
    for (size_t i = 0; !quiet && i < diag.n_warnings; i++)
        cw_warn("config", "%s", diag.warnings[i]);
    for (size_t i = 0; i < diag.n_errors; i++)
        fprintf(stderr, "%s\n", diag.errors[i]);
    cw_config_diag_free(&diag);
    return rc;
}

/* agent.logfile: the agent's own log goes there (rotated at 100 MB, 5 backups) from now on;
 * set at start-up only. When it cannot be opened the log stays on stderr. */
static void open_logfile(struct run *r)
{
    const char *path = r->cfg->agent.logfile;
    if (!path || !*path)
        return;
    r->logfile = cw_logfile_open(path, 0, 0);
    if (!r->logfile) {
        cw_warn("agent", "cannot open agent.logfile %s (%s); logging to stderr", path,
                strerror(errno));
        return;
    }
    cw_info("agent", "logging to %s", path);
    cw_log_set_sink(cw_logfile_sink, r->logfile);
}

static int pick_region(struct run *r)
{
    const char *reg = r->cfg->agent.region;
    if (!reg || !*reg)
        reg = getenv("AWS_REGION");
    if (!reg || !*reg)
        reg = getenv("AWS_DEFAULT_REGION");
    if (!reg || !*reg) {
        fprintf(stderr, "cwagent run: the region is unknown: set agent.region in the "
                        "configuration or AWS_REGION (instance metadata was not available)\n");
        return -1;
    }
    if (!cw_region_valid(reg)) {
        fprintf(stderr,
                "cwagent run: the region \"%.64s\" is not a region name (letters a-z, "
                "digits and dashes, such as us-east-1)\n",
                reg);
        return -1;
    }
    snprintf(r->region, sizeof r->region, "%s", reg);
    return 0;
}

/* The endpoint of a service: the override, else FIPS / dual-stack as the environment and
 * agent.use_dualstack_endpoint ask, in the region's partition (agent/endpoint.h). */
static int endpoint(struct run *r, const char *prefix, const char *env_name, const char *override,
                    char *out, size_t outlen)
{
    struct cw_endpoint_opts eo = {0};
    char err[256];
    eo.dualstack = r->cfg->agent.use_dualstack_endpoint;
    cw_endpoint_opts_from_env(&eo);
    if (cw_endpoint_resolve(prefix, env_name, r->region, override, &eo, out, outlen, err,
                            sizeof err) == 0)
        return 0;
    cw_error("agent", "no endpoint for %s: %s", prefix, err);
    return -1;
}

/* ---- credentials ----------------------------------------------------------------------------- */

static void tick_cache(struct run *r, struct creds_cache *c)
{
    if (c && creds_now(&r->cctx) >= creds_cache_next_deadline(c))
        creds_cache_tick(c);
}

static void on_creds_tick(struct cw_loop *loop, void *ud);

/* (Re)arms the one-shot credentials timer for the earliest deadline of the caches. */
static void arm_creds_timer(struct run *r)
{
    double next = r->creds ? creds_cache_next_deadline(r->creds) : 1e300;
    for (size_t i = 0; i < r->nroles; i++) {
        double d = creds_cache_next_deadline(r->roles[i].cache);
        if (d < next)
            next = d;
    }
    double wait_ms = (next - creds_now(&r->cctx)) * 1000.0;
    long delay = wait_ms >= CREDS_TICK_MAX_MS   ? CREDS_TICK_MAX_MS
                 : wait_ms <= CREDS_TICK_MIN_MS ? CREDS_TICK_MIN_MS
                                                : (long)wait_ms;
    cw_loop_timer_cancel(r->loop, r->creds_timer);
    r->creds_timer = cw_loop_timer_add(r->loop, delay, on_creds_tick, r);
    if (!r->creds_timer) /* out of memory: the senders still tick the cache when it is empty */
        cw_warn("agent", "cannot arm the credentials timer; credentials refresh on demand only");
}

static void on_creds_tick(struct cw_loop *loop, void *ud)
{
    (void)loop;
    struct run *r = ud;
    r->creds_timer = 0; /* fired */
    tick_cache(r, r->creds);
    for (size_t i = 0; i < r->nroles; i++)
        tick_cache(r, r->roles[i].cache);
    arm_creds_timer(r);
}

/* A refresh ended (well or not): the deadlines moved. */
static void on_creds_update(void *ud, const struct creds *c)
{
    (void)c;
    struct run *r = ud;
    if (r->creds_timer) /* not while the caches are being built or torn down */
        arm_creds_timer(r);
}

/* The root of every credentials chain: common-config.toml's [credentials] profile and file
 * when set (as the reference: the shared file only), else the SDK default chain. */
static struct creds_provider *root_provider(struct run *r)
{
    const struct cw_common_config *f = &r->net.file;
    if (f->credential_profile || f->credential_file)
        return creds_profile_provider_new_files(&r->cctx, f->credential_profile, f->credential_file,
                                                NULL);
    return creds_default_chain_new(&r->cctx, NULL);
}

static struct creds_provider *with_role(struct run *r, struct creds_provider *p, const char *role)
{
    if (!p || !role)
        return p;
    struct creds_assume_role_options ar = {0};
    ar.role_arn = role;
    return creds_assume_role_provider_new(&r->cctx, p, &ar);
}

/* The credentials for a section: the agent's chain, or that chain assuming `role` when the
 * section names a role of its own. */
static struct creds_cache *creds_for(struct run *r, const char *role)
{
    if (!role || (r->cfg->agent.role_arn && strcmp(role, r->cfg->agent.role_arn) == 0))
        return r->creds;
    for (size_t i = 0; i < r->nroles; i++)
        if (strcmp(r->roles[i].role, role) == 0)
            return r->roles[i].cache;
    if (r->nroles == sizeof r->roles / sizeof r->roles[0])
        return r->creds;
    struct creds_provider *p = with_role(r, root_provider(r), role);
    struct creds_cache *c = p ? creds_cache_new(p, &r->cctx, on_creds_update, r) : NULL;
    char *copy = strdup(role);
    if (!c || !copy) {
        creds_cache_free(c);
        free(copy);
        return r->creds;
    }
    r->roles[r->nroles++] = (struct role_cache){copy, c};
    creds_cache_tick(c);
    if (r->creds_timer)
        arm_creds_timer(r);
    return c;
}

static int setup_creds(struct run *r)
{
    r->cctx.http = &r->http;
    r->cctx.envp = (const char *const *)environ;
    r->cctx.sign = sigv4_sign;
    r->cctx.sign_free = sigv4_result_free;
    r->cctx.region = r->region;
    if (endpoint(r, "sts", "STS", NULL, r->sts, sizeof r->sts) == 0)
        r->cctx.sts_endpoint = r->sts;
    struct creds_provider *p = with_role(r, root_provider(r), r->cfg->agent.role_arn);
    r->creds = p ? creds_cache_new(p, &r->cctx, on_creds_update, r) : NULL;
    if (!r->creds)
        return -1;
    creds_cache_tick(r->creds);
    arm_creds_timer(r);
    return 0;
}

static void free_creds(struct run *r)
{
    for (size_t i = 0; i < r->nroles; i++) {
        creds_cache_free(r->roles[i].cache);
        free(r->roles[i].role);
    }
    r->nroles = 0;
    creds_cache_free(r->creds);
    r->creds = NULL;
}

static struct aws_client *new_client(struct run *r, const char *service, const char *url,
                                     struct creds_cache *creds)
{
    struct aws_client_options ao = {0};
    ao.loop = r->loop;
    ao.http = &r->http;
    ao.creds = creds;
    ao.skew = NULL; /* one per endpoint: a hostile endpoint cannot move another's clock */
    ao.service = service;
    ao.region = r->region;
    ao.endpoint = url;
    cw_retry_policy_init(&ao.policy);
    return aws_client_new(&ao);
}

/* ---- AutoScalingGroupName (ec2:DescribeTags when IMDS tags are not enabled) ------------------ */

static int need_asg(const struct run *r)
{
    return (r->cfg->metrics.global_dims & CW_DIM_ASG_NAME) && r->have_id && !r->asg[0];
}

/* Finds <value>...</value> of the first <item> of a DescribeTags response. */
static void parse_asg(struct run *r, const char *body, size_t len)
{
    const char *item = memmem(body, len, "<item>", 6);
    if (!item)
        return;
    const char *end = body + len;
    const char *v = memmem(item, (size_t)(end - item), "<value>", 7);
    const char *e = v ? memmem(v, (size_t)(end - v), "</value>", 8) : NULL;
    if (v && e && e - (v + 7) < (long)sizeof r->asg)
        snprintf(r->asg, sizeof r->asg, "%.*s", (int)(e - (v + 7)), v + 7);
}

static void on_tags(void *ud, const struct aws_result *res)
{
    struct run *r = ud;
    r->done_flag = 1;
    if (res->ok)
        parse_asg(r, res->body, res->body_len);
    else
        cw_warn("agent", "ec2:DescribeTags failed (%s: %s); AutoScalingGroupName is not added",
                res->code[0] ? res->code : "error", res->message);
}

static int fetch_asg(struct run *r)
{
    char url[512], body[512];
    if (endpoint(r, "ec2", "EC2", NULL, url, sizeof url) != 0)
        return -1;
    snprintf(body, sizeof body,
             "Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=%s"
             "&Filter.2.Name=key&Filter.2.Value.1=aws%%3Aautoscaling%%3AgroupName",
             r->id.instance_id);
    struct aws_client *ec2 = new_client(r, "ec2", url, r->creds);
    struct aws_call call = {0};
    call.max_attempts = 3;
    call.body = body;
    call.body_len = strlen(body);
    r->done_flag = 0;
    if (!ec2 || aws_client_call(ec2, &call, on_tags, r) != 0) {
        aws_client_free(ec2);
        return -1;
    }
    if (cw_loop_run_until(r->loop, &r->done_flag, ASG_WAIT_MS) != 0)
        cw_warn("agent", "ec2:DescribeTags did not answer within %d ms", ASG_WAIT_MS);
    aws_client_free(ec2);
    if (r->asg[0])
        cw_info("agent", "AutoScalingGroupName: %s", r->asg);
    return r->asg[0] ? 0 : -1;
}

/* ---- the metrics job ------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t ec2_dims(const struct run *r, struct datum_dim *d)
{
    unsigned want = r->cfg->metrics.global_dims;
    size_t n = 0;
    if (!r->have_id)
        return 0;
    if ((want & CW_DIM_INSTANCE_ID) && r->id.instance_id[0])
        d[n++] = (struct datum_dim){"InstanceId", r->id.instance_id};
    if ((want & CW_DIM_INSTANCE_TYPE) && r->id.instance_type[0])
        d[n++] = (struct datum_dim){"InstanceType", r->id.instance_type};
    if ((want & CW_DIM_IMAGE_ID) && r->id.image_id[0])
        d[n++] = (struct datum_dim){"ImageId", r->id.image_id};
    if ((want & CW_DIM_ASG_NAME) && r->asg[0])
        d[n++] = (struct datum_dim){"AutoScalingGroupName", r->asg};
    return n;
}

static int start_metrics(struct run *r)
{
    const struct cw_metrics_config *mc = &r->cfg->metrics;
    if (!mc->present)
        return 0;
    char url[512];
    if (endpoint(r, "monitoring", "CLOUDWATCH", mc->endpoint_override, url, sizeof url) != 0)
        return -1;
    cw_endpoint_warn_cleartext("metrics", url);
    r->cw = new_client(r, "monitoring", url, creds_for(r, mc->role_arn));
    if (!r->cw)
        return -1;
    struct datum_dim dims[4];
    struct metrics_pipe_options mo = {0};
    mo.loop = r->loop;
    mo.cfg = r->cfg;
    mo.host = r->cfg->agent.omit_hostname ? NULL
              : r->cfg->agent.hostname    ? r->cfg->agent.hostname
                                          : r->os_host;
    mo.ec2 = dims;
    mo.nec2 = ec2_dims(r, dims);
    mo.client = r->cw;
    mo.spool = r->spool;
    mo.root = r->root;
    mo.pack_values = r->pack;
    mo.jitter = fnv1a(r->have_id ? r->id.instance_id : r->os_host);
    char err[512];
    r->mp = metrics_pipe_new(&mo, err, sizeof err);
    if (!r->mp) {
        fprintf(stderr, "cwagent run: %s\n", err);
        return -1;
    }
    cw_info("agent", "publishing metrics to %s (namespace %s, region %s)", url,
            mc->namespace ? mc->namespace : CW_DEFAULT_NAMESPACE, r->region);
    return 0;
}

/* agent.cwagent.prometheus: node_exporter-compatible /metrics (off when listen is unset). */
static int start_prom(struct run *r)
{
    if (!r->cfg->agent.prom_listen)
        return 0;
    struct prom_exporter_options po = {0};
    po.loop = r->loop;
    po.listen = r->cfg->agent.prom_listen;
    po.root = r->root;
    po.interval_ms = (long)(r->cfg->agent.metrics_collection_interval > 0
                                ? r->cfg->agent.metrics_collection_interval
                                : CW_DEFAULT_INTERVAL) *
                     1000;
    char err[512];
    r->prom = prom_exporter_new(&po, err, sizeof err);
    if (!r->prom) {
        fprintf(stderr, "cwagent run: %s\n", err);
        return -1;
    }
    return 0;
}

static json_t *prom_json(const struct run *r)
{
    struct prom_exporter_stats st;
    prom_exporter_stats(r->prom, &st);
    const struct {
        const char *key;
        uint64_t v;
    } f[] = {{"rounds", st.rounds},
             {"scrapes", st.scrapes},
             {"series", st.series},
             {"page_bytes", st.page_bytes},
             {"round_us", st.round_us},
             {"bad_requests", st.bad_requests},
             {"not_found", st.not_found},
             {"conns_refused", st.conns_refused},
             {"evicted", st.evicted},
             {"timeouts", st.timeouts},
             {"render_failures", st.render_failures}};
    json_t *o = json_object();
    json_object_set_new(o, "listen", json_string(r->cfg->agent.prom_listen));
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        json_object_set_new(o, f[i].key, json_integer((json_int_t)f[i].v));
    return o;
}

static void stop_metrics(struct run *r)
{
    prom_exporter_free(r->prom);
    r->prom = NULL;
    metrics_pipe_free(r->mp);
    r->mp = NULL;
    aws_client_free(r->cw);
    r->cw = NULL;
}

/* ---- the logs job ---------------------------------------------------------------------------- */

static int start_logs(struct run *r)
{
    const struct cw_logs_config *lc = &r->cfg->logs;
    if (!lc->present || (lc->n_files == 0 && lc->n_journald == 0 && !lc->emf.present))
        return 0;
    char url[512];
    if (endpoint(r, "logs", "CLOUDWATCH_LOGS", lc->endpoint_override, url, sizeof url) != 0)
        return -1;
    cw_endpoint_warn_cleartext("logs", url);
    r->logs = new_client(r, "logs", url, creds_for(r, lc->role_arn));
    if (!r->logs)
        return -1;
    struct logs_pipe_options lo = {0};
    lo.loop = r->loop;
    lo.cfg = r->cfg;
    lo.client = r->logs;
    lo.state_dir = r->state_dir;
    char err[512];
    r->lp = logs_pipe_new(&lo, err, sizeof err);
    if (!r->lp) {
        fprintf(stderr, "cwagent run: %s\n", err);
        return -1;
    }
    cw_info("agent", "shipping logs to %s (%zu file entries)", url, lc->n_files);
    return 0;
}

static void stop_logs(struct run *r)
{
    logs_pipe_free(r->lp);
    r->lp = NULL;
    aws_client_free(r->logs);
    r->logs = NULL;
}

static int busy(const struct run *r)
{
    return (r->mp && metrics_pipe_busy(r->mp)) || (r->lp && logs_pipe_busy(r->lp));
}

/* ---- status ------------------------------------------------------------------------------------
 */

static json_t *client_json(const struct aws_client *c)
{
    struct aws_client_stats st;
    aws_client_stats(c, &st);
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "calls", (json_int_t)st.calls,
                          "attempts", (json_int_t)st.attempts, "retries", (json_int_t)st.retries,
                          "throttled", (json_int_t)st.throttled, "failures",
                          (json_int_t)st.failures, "credential_refreshes",
                          (json_int_t)st.cred_refreshes, "last_error", st.last_error);
    /* seconds since the epoch; 0 = never / not failing (cwagent status turns them into ages) */
    json_object_set_new(o, "last_success", json_real((double)st.last_success_ms / 1000.0));
    json_object_set_new(o, "failing_since", json_real((double)st.failing_since_ms / 1000.0));
    json_object_set_new(o, "failing_attempts", json_integer((json_int_t)st.failing_attempts));
    return o;
}

static json_t *creds_json(const struct creds_cache *c)
{
    struct creds_cache_status cs;
    creds_cache_status(c, &cs);
    return json_pack("{s:s,s:s,s:f,s:i,s:s}", "source", cs.source, "access_key_id",
                     cs.access_key_id, "expiration", cs.expiration, "failures", cs.failures,
                     "last_error", cs.last_error);
}

/* Counters of a StatsD or collectd listener: everything received, refused and dropped. */
static json_t *listener_json(const struct listener_stats *l)
{
    return json_pack("{s:b,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "listening", l->listening,
                     "port", l->port, "rcvbuf", l->rcvbuf, "datagrams", (json_int_t)l->datagrams,
                     "received", (json_int_t)l->items, "refused", (json_int_t)l->refused,
                     "insecure", (json_int_t)l->insecure, "kernel_drops",
                     (json_int_t)l->kernel_drops, "truncated", (json_int_t)l->truncated,
                     "series_dropped", (json_int_t)l->series_dropped, "datums_failed",
                     (json_int_t)l->datums_failed);
}

static json_t *metrics_json(const struct run *r)
{
    struct metrics_pipe_stats st;
    struct spool_stats ss;
    metrics_pipe_stats(r->mp, &st);
    spool_get_stats(r->spool, &ss);
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I}}", "datums_sent",
                          (json_int_t)st.datums_sent, "datums_queued", (json_int_t)st.datums_queued,
                          "datums_rejected", (json_int_t)st.datums_rejected, "datums_dropped",
                          (json_int_t)st.datums_dropped, "flushes", (json_int_t)st.flushes, "spool",
                          "entries", (json_int_t)ss.entries, "bytes", (json_int_t)ss.bytes,
                          "dropped_full", (json_int_t)ss.dropped_full, "dropped_expired",
                          (json_int_t)ss.dropped_expired, "corrupt", (json_int_t)ss.corrupt);
    json_object_set_new(o, "datums_in_memory", json_integer((json_int_t)st.datums_in_memory));
    json_t *sp = json_object_get(o, "spool");
    json_object_set_new(sp, "dropped_datums", json_integer((json_int_t)ss.dropped_datums));
    json_object_set_new(sp, "write_failures", json_integer((json_int_t)ss.write_failures));
    json_object_set_new(o, "api", client_json(r->cw));
    struct listeners_stats ls;
    metrics_pipe_listener_stats(r->mp, &ls);
    if (ls.statsd.enabled)
        json_object_set_new(o, "statsd", listener_json(&ls.statsd));
    if (ls.collectd.enabled)
        json_object_set_new(o, "collectd", listener_json(&ls.collectd));
    return o;
}

static void file_json(void *ud, const struct lt_file_status *f)
{
    json_array_append_new(ud, json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "path", f->path, "committed",
                                        (json_int_t)f->committed, "read", (json_int_t)f->read,
                                        "size", (json_int_t)f->size, "lag_bytes",
                                        (json_int_t)(f->size - f->committed), "open", f->open));
}

static json_t *logs_json(const struct run *r)
{
    struct logs_pipe_stats st;
    logs_pipe_stats(r->lp, &st);
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i}", "events_read", (json_int_t)st.events_read,
        "events_sent", (json_int_t)st.events_sent, "bytes_sent", (json_int_t)st.bytes_sent,
        "rejected_too_old", (json_int_t)st.rejected_too_old, "rejected_too_new",
        (json_int_t)st.rejected_too_new, "rejected_by_service", (json_int_t)st.rejected_by_service,
        "dropped_invalid", (json_int_t)st.dropped_invalid, "groups_created",
        (json_int_t)st.groups_created, "destinations", (int)st.destinations);
    json_object_set_new(o, "truncated_unread_bytes",
                        json_integer((json_int_t)st.truncated_unread_bytes));
    json_t *files = json_array();
    logs_pipe_files(r->lp, file_json, files);
    json_object_set_new(o, "files", files);
    logs_pipe_sources_status(r->lp, o);
    struct lt_stats ts;
    logs_pipe_tail_stats(r->lp, &ts);
    json_object_set_new(o, "tail",
                        json_pack("{s:I,s:I,s:I,s:I}", "filtered", (json_int_t)ts.filtered,
                                  "links_refused", (json_int_t)ts.links_refused, "regex_limit_hits",
                                  (json_int_t)ts.regex_limit_hits, "checkpoint_failures",
                                  (json_int_t)ts.ckpt_failures));
    json_object_set_new(o, "api", client_json(r->logs));
    return o;
}

/* The reference's status fields, then what operators need (see README "Status"). */
static char *render_status(void *ud)
{
    struct run *r = ud;
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:i}", "status", "running", "starttime", r->starttime,
                  "configstatus", "configured", "version", CWAGENT_VERSION, "pid", (int)getpid());
    json_object_set_new(o, "region", json_string(r->region));
    json_object_set_new(o, "credentials", creds_json(r->creds));
    if (r->mp)
        json_object_set_new(o, "metrics", metrics_json(r));
    if (r->lp)
        json_object_set_new(o, "logs", logs_json(r));
    if (r->prom)
        json_object_set_new(o, "prometheus", prom_json(r));
    char *doc = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return doc;
}

static void start_status(struct run *r)
{
    char path[4096];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(r->starttime, sizeof r->starttime, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(path, sizeof path, "%s/%s", r->state_dir, STATUS_SOCKET_NAME);
    r->status = status_server_new(r->loop, path, render_status, r);
    if (!r->status)
        cw_warn("agent", "cwagent status will not be available");
}

/* ---- signals and shutdown -------------------------------------------------------------------- */

static void cancel_reload(struct run *r);

/* Stops collection and flushes what is queued; safe to call again once more jobs exist. */
static void stop_jobs(struct run *r)
{
    cancel_reload(r);
    if (r->mp)
        metrics_pipe_stop(r->mp);
    if (r->lp)
        logs_pipe_flush(r->lp);
}

static void on_stop(struct cw_loop *loop, int signo, void *ud)
{
    struct run *r = ud;
    cw_info("agent", "received %s: flushing", signo == SIGTERM ? "SIGTERM" : "SIGINT");
    r->stopping = 1;
    cw_sd_notify("STOPPING=1");
    stop_jobs(r);
    cw_loop_stop(loop);
}

/* Applies r->next_cfg: stops both jobs, rebuilds credentials if the agent role changed, starts
 * the jobs again. Pending datums are in the spool and uncommitted log lines are re-read from
 * the checkpoints, so nothing queued is lost. */
static void apply_config(struct run *r)
{
    struct cw_config *ncfg = r->next_cfg;
    r->next_cfg = NULL;
    stop_metrics(r);
    stop_logs(r);
    const char *old_role = r->cfg->agent.role_arn, *new_role = ncfg->agent.role_arn;
    int role_changed =
        (old_role || new_role) && (!old_role || !new_role || strcmp(old_role, new_role) != 0);
    cw_config_free(r->cfg);
    r->cfg = ncfg;
    if (role_changed) { /* the senders are stopped: build the credentials chain again */
        cw_loop_timer_cancel(r->loop, r->creds_timer);
        r->creds_timer = 0;
        free_creds(r);
        if (setup_creds(r) != 0)
            cw_error("agent", "SIGHUP: could not set up credentials for the new role");
    }
    if (start_metrics(r) != 0 || start_prom(r) != 0 || start_logs(r) != 0)
        cw_error("agent", "SIGHUP: could not start with the new configuration");
    else
        cw_info("agent", "configuration reloaded");
    cw_sd_notify("READY=1");
}

static unsigned on_wire(const struct run *r)
{
    return (r->cw ? aws_client_on_wire(r->cw) : 0) + (r->logs ? aws_client_on_wire(r->logs) : 0);
}

/* Waits until no request is on the wire (an answered batch must leave the spool / commit its
 * offsets, or the new jobs would send it again), then applies the new configuration. */
static void on_reload_tick(struct cw_loop *loop, void *ud)
{
    struct run *r = ud;
    if (on_wire(r) && cw_loop_now_ms(loop) < r->reload_deadline)
        return;
    cw_loop_timer_cancel(loop, r->reload_timer);
    r->reload_timer = 0;
    apply_config(r);
}

static void cancel_reload(struct run *r)
{
    if (!r->reload_timer)
        return;
    cw_loop_timer_cancel(r->loop, r->reload_timer);
    r->reload_timer = 0;
    cw_config_free(r->next_cfg);
    r->next_cfg = NULL;
    if (r->mp)
        metrics_pipe_hold(r->mp, 0);
}

static void on_reload(struct cw_loop *loop, int signo, void *ud)
{
    (void)signo;
    struct run *r = ud;
    struct cw_config *ncfg = NULL;
    cw_sd_notify("RELOADING=1");
    if (load_config(r, &ncfg, 0) != 0) {
        cw_sd_notify("READY=1");
        cw_error("agent", "SIGHUP: the new configuration is invalid; keeping the running one");
        return;
    }
    cw_config_free(r->next_cfg); /* SIGHUP again while waiting: the newest file wins */
    r->next_cfg = ncfg;
    if (r->reload_timer)
        return;
    if (r->mp) {
        metrics_pipe_stop(r->mp);    /* pending datums go to the spool first */
        metrics_pipe_hold(r->mp, 1); /* no new call: the next job replays the spool */
    }
    if (r->lp)
        logs_pipe_flush(r->lp); /* checkpoints of what was delivered */
    r->reload_deadline = cw_loop_now_ms(loop) + RELOAD_WAIT_MS;
    r->reload_timer = cw_loop_timer_every(loop, 20, on_reload_tick, r);
}

static void drain(struct run *r)
{
    int64_t deadline = cw_loop_now_ms(r->loop) + SHUTDOWN_DRAIN_MS;
    while (busy(r) && cw_loop_now_ms(r->loop) < deadline)
        cw_loop_run_once(r->loop, 100);
    if (r->lp) { /* what is still unsent is read again at the next start */
        struct logs_pipe_stats ls;
        logs_pipe_stats(r->lp, &ls);
        cw_info("agent", "stopped: %llu log events sent, %llu refused, %llu too old/new not sent",
                (unsigned long long)ls.events_sent,
                (unsigned long long)(ls.rejected_by_service + ls.dropped_invalid),
                (unsigned long long)(ls.rejected_too_old + ls.rejected_too_new));
    }
    if (r->mp) {
        struct metrics_pipe_stats st;
        metrics_pipe_stats(r->mp, &st);
        struct spool_stats ss;
        spool_get_stats(r->spool, &ss);
        cw_info("agent", "stopped: %llu datums sent, %llu rejected, %zu batches left in the spool",
                (unsigned long long)st.datums_sent, (unsigned long long)st.datums_rejected,
                ss.entries);
    }
}

static int open_state(struct run *r)
{
    char dir[4096];
    if (mkdir(r->state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cwagent run: cannot create the state directory %s: %s\n", r->state_dir,
                strerror(errno));
        return -1;
    }
    snprintf(dir, sizeof dir, "%s/spool", r->state_dir);
    r->spool = spool_open(dir, r->spool_max, NULL, NULL);
    return r->spool ? 0 : -1;
}

static void cleanup(struct run *r)
{
    cancel_reload(r);
    status_server_free(r->status);
    stop_metrics(r);
    stop_logs(r);
    if (r->creds_timer)
        cw_loop_timer_cancel(r->loop, r->creds_timer);
    if (r->heap_timer)
        cw_loop_timer_cancel(r->loop, r->heap_timer);
    free_creds(r);
    spool_close(r->spool);
    cw_config_free(r->cfg);
    cw_http_curl_free(r->curl);
    cw_loop_free(r->loop);
    cw_netconf_free(&r->net);
    if (r->logfile) {
        cw_log_set_sink(NULL, NULL);
        cw_logfile_close(r->logfile);
    }
}

/* Request bodies (up to ~1.2 MB, several in flight with logs.concurrency) come from the heap
 * and are reused: above glibc's adaptive mmap threshold each one was mmapped, faulted in page
 * by page and unmapped (15,000 page faults and half the speed for 300 MB with concurrency 2).
 * Freed heap above 4 MiB is still given back. */
#define HEAP_MMAP_THRESHOLD (4 << 20)
#define HEAP_TRIM_THRESHOLD (4 << 20)
/* ... and what stays free below that threshold, or between chunks in use, is given back every
 * HEAP_TRIM_EVERY_MS when it adds up to HEAP_TRIM_MIN_FREE: 100 tailed files left ~3.9 MB of
 * free heap resident (RSS 19.5 -> 15.6 MB after a trim). A trim costs a few page faults at the
 * next large body, not the 15,000 of mmapped bodies. */
#define HEAP_TRIM_EVERY_MS 30000
#define HEAP_TRIM_MIN_FREE (1 << 20)

static void on_heap_timer(struct cw_loop *loop, void *ud)
{
    (void)loop;
    (void)ud;
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks >= HEAP_TRIM_MIN_FREE)
        (void)malloc_trim(0);
}

static int start(struct run *r)
{
    (void)mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD); /* a hint: glibc's default stays */
    (void)mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
    if (gethostname(r->os_host, sizeof r->os_host - 1) != 0)
        snprintf(r->os_host, sizeof r->os_host, "localhost");
    char err[1024];
    if (cw_netconf_load(&r->net, r->common_path, (const char *const *)environ, err, sizeof err) !=
        0) {
        fprintf(stderr, "cwagent run: %s\n", err);
        return 2;
    }
    struct cw_http_curl_options ho = {0};
    cw_netconf_curl_options(&r->net, &ho);
    r->loop = cw_loop_new();
    r->curl = r->loop ? cw_http_curl_new(r->loop, &ho) : NULL;
    if (!r->curl)
        return 1;
    /* A stop asked for while starting (IMDS, credentials) is taken once the jobs exist, not
     * left to the default action that would kill the process without its orderly exit. */
    if (cw_loop_on_signal(r->loop, SIGTERM, on_stop, r) != 0 ||
        cw_loop_on_signal(r->loop, SIGINT, on_stop, r) != 0)
        return 1;
    r->http = cw_http_curl_transport(r->curl);
    fetch_identity(r);
    if (load_config(r, &r->cfg, 0) != 0 || pick_region(r) != 0)
        return 2;
    if (r->cfg->agent.debug)
        cw_log_set_level(CW_LOG_DEBUG);
    if (cw_run_as_user(r->cfg->agent.run_as_user, r->state_dir, r->cfg->agent.logfile, err,
                       sizeof err) != 0) {
        fprintf(stderr, "cwagent run: %s\n", err);
        return 2;
    }
    open_logfile(r);
    cw_netconf_log(&r->net);
    if (setup_creds(r) != 0 || open_state(r) != 0)
        return 1;
    if (need_asg(r) && fetch_asg(r) == 0) {
        struct cw_config *ncfg = NULL;
        if (load_config(r, &ncfg, 1) == 0) {
            cw_config_free(r->cfg);
            r->cfg = ncfg;
        }
    }
    if (start_metrics(r) != 0 || start_prom(r) != 0 || start_logs(r) != 0)
        return 2;
    start_status(r);
    if (cw_loop_on_signal(r->loop, SIGHUP, on_reload, r) != 0)
        return 1;
    r->heap_timer = cw_loop_timer_every(r->loop, HEAP_TRIM_EVERY_MS, on_heap_timer, r);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct run r = {0};
    r.state_dir = DEFAULT_STATE_DIR;
    r.spool_max = (uint64_t)DEFAULT_SPOOL_MB << 20;
    r.common_path = CW_COMMON_CONFIG_PATH;
    int rc = parse_args(&r, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    cw_info("agent", "cwagent %s starting", CWAGENT_VERSION);
    /* no core dumps or ptrace by the same uid: memory holds credentials (README "Security") */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        cw_warn("agent", "prctl(PR_SET_DUMPABLE, 0) failed: %s", strerror(errno));
    rc = start(&r);
    if (rc == 0) {
        cw_info("agent", "running");
        cw_sd_notify("READY=1"); /* systemd Type=notify; a no-op elsewhere */
        if (r.stopping) /* SIGTERM/SIGINT came while starting: stop the jobs started since */
            stop_jobs(&r);
        else
            cw_loop_run(r.loop);
        drain(&r);
    }
    cleanup(&r);
    return rc;
}
