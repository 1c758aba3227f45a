#include "agent/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/endpoint.h"
#include "common/log.h"
#include "sigv4/imds.h"

extern char **environ;

#define PLAN_IMDS_WAIT_MS 6000
#define PLAN_CALL_WAIT_MS 120000 /* one call with its retries */
#define PLAN_SERIES_WAIT  300    /* ms between the two collection rounds */
#define PLAN_MAX_ATTEMPTS 5      /* a command, not a daemon: like the SDKs, give up soon */
#define PLAN_BACKOFF_CAP  8000   /* ms */

const char plan_common_help[] =
    "  -c, --config PATH       the agent's configuration, file or directory (repeatable)\n"
    "  --instance-id ID        the instance (default: instance metadata)\n"
    "  --instance-type T, --image-id AMI, --asg NAME   the rest of the identity\n"
    "  --host NAME             the host dimension (default: agent.hostname, else this host)\n"
    "  --region R              default: agent.region, instance metadata, AWS_REGION\n"
    "  --no-imds               do not ask instance metadata (flags only)\n"
    "  --root DIR              read /proc and /sys below DIR\n";

int plan_parse_common(struct plan_args *a, int argc, char **argv, int *i, const char *cmd)
{
    static const struct {
        const char *flag;
        size_t off;
    } opts[] = {
        {"--instance-id", offsetof(struct plan_args, instance_id)},
        {"--instance-type", offsetof(struct plan_args, instance_type)},
        {"--image-id", offsetof(struct plan_args, image_id)},
        {"--asg", offsetof(struct plan_args, asg)},
        {"--region", offsetof(struct plan_args, region)},
        {"--root", offsetof(struct plan_args, root)},
        {"--host", offsetof(struct plan_args, host)},
    };
    const char *f = argv[*i];
    if (strcmp(f, "--no-imds") == 0) {
        a->no_imds = 1;
        return 1;
    }
    int is_c = strcmp(f, "-c") == 0 || strcmp(f, "--config") == 0;
    size_t k = 0;
    while (!is_c && k < sizeof opts / sizeof opts[0] && strcmp(f, opts[k].flag) != 0)
        k++;
    if (!is_c && k == sizeof opts / sizeof opts[0])
        return 0;
    if (*i + 1 >= argc || !argv[*i + 1][0]) {
        fprintf(stderr, "%s: %s needs a value\n", cmd, f);
        return -1;
    }
    const char *v = argv[++*i];
    if (is_c) {
        if (a->npaths == PLAN_MAX_SOURCES) {
            fprintf(stderr, "%s: at most %d -c sources\n", cmd, PLAN_MAX_SOURCES);
            return -1;
        }
        a->paths[a->npaths++] = strncmp(v, "file:", 5) == 0 ? v + 5 : v;
    } else {
        *(const char **)((char *)a + opts[k].off) = v;
    }
    return 1;
}

/* ---- identity -------------------------------------------------------------------------------- */

struct id_wait {
    struct plan_env *e;
    int done;
};

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void on_identity(void *ud, const struct imds_identity *id, const char *err)
{
    struct id_wait *w = ud;
    struct plan_env *e = w->e;
    w->done = 1;
    if (err) {
        fprintf(stderr, "%s: instance metadata unavailable (%s); use --instance-id etc.\n", e->cmd,
                err);
        return;
    }
    e->have_id = 1;
    copy(e->instance_id, sizeof e->instance_id, id->instance_id);
    copy(e->instance_type, sizeof e->instance_type, id->instance_type);
    copy(e->image_id, sizeof e->image_id, id->image_id);
    copy(e->account_id, sizeof e->account_id, id->account_id);
    if (!e->region[0])
        copy(e->region, sizeof e->region, id->region);
    for (size_t i = 0; i < id->ntags && !e->asg[0]; i++)
        if (strcmp(id->tags[i].key, "aws:autoscaling:groupName") == 0)
            copy(e->asg, sizeof e->asg, id->tags[i].value);
}

static void fetch_identity(struct plan_env *e)
{
    struct imds_options io = {0};
    io.http = &e->http;
    imds_options_from_env(&io, (const char *const *)environ);
    if (io.disabled)
        return;
    struct imds_client *c = imds_client_new(&io);
    struct id_wait w = {e, 0};
    if (c && imds_identity_fetch(c, 1, on_identity, &w) == 0 &&
        cw_loop_run_until(e->loop, &w.done, PLAN_IMDS_WAIT_MS) != 0)
        fprintf(stderr, "%s: instance metadata did not answer within %d ms\n", e->cmd,
                PLAN_IMDS_WAIT_MS);
    imds_client_free(c);
}

/* ec2:DescribeTags for aws:autoscaling:groupName, as `cwagent run` does when the configuration
 * asks for the AutoScalingGroupName dimension and IMDS tags are off. */
static void fetch_asg(struct plan_env *e)
{
    char body[512];
    snprintf(body, sizeof body,
             "Action=DescribeTags&Version=2016-11-15&Filter.1.Name=resource-id&Filter.1.Value.1=%s"
             "&Filter.2.Name=key&Filter.2.Value.1=aws%%3Aautoscaling%%3AgroupName",
             e->instance_id);
    struct aws_client *ec2 = plan_client(e, "ec2", "EC2", NULL);
    struct plan_result r = {0};
    if (ec2 && plan_call(e, ec2, NULL, body, &r) == 0 && r.ok) {
        const char *item = strstr(r.body, "<item>");
        const char *v = item ? strstr(item, "<value>") : NULL;
        const char *end = v ? strstr(v, "</value>") : NULL;
        if (end && end - (v + 7) < (long)sizeof e->asg)
            snprintf(e->asg, sizeof e->asg, "%.*s", (int)(end - (v + 7)), v + 7);
    } else if (ec2) {
        fprintf(stderr, "%s: ec2:DescribeTags failed (%s: %s); AutoScalingGroupName unknown\n",
                e->cmd, r.code, r.message);
    }
    plan_result_free(&r);
    aws_client_free(ec2);
}

/* ---- configuration --------------------------------------------------------------------------- */

static int load_config(struct plan_env *e, const struct plan_args *a, char *os_host)
{
    struct cw_config_meta meta = {0};
    meta.local_hostname = os_host;
    if (e->have_id) {
        meta.instance_id = e->instance_id;
        meta.region = e->region[0] ? e->region : NULL;
        meta.account_id = e->account_id[0] ? e->account_id : NULL;
        meta.instance_type = e->instance_type[0] ? e->instance_type : NULL;
        meta.image_id = e->image_id[0] ? e->image_id : NULL;
        meta.on_ec2 = 1;
    }
    meta.asg_name = e->asg[0] ? e->asg : NULL;
    struct cw_config_diag diag = {0};
    cw_config_free(e->cfg);
    e->cfg = NULL;
    int rc = cw_config_load(a->paths, a->npaths, &meta, &e->cfg, &diag);
    for (size_t i = 0; i < diag.n_errors; i++)
        fprintf(stderr, "%s\n", diag.errors[i]);
    cw_config_diag_free(&diag);
    return rc;
}

static void ec2_dims(struct plan_env *e)
{
    unsigned want = e->cfg->metrics.global_dims;
    e->nec2 = 0;
    if (!e->have_id)
        return;
    if ((want & CW_DIM_INSTANCE_ID) && e->instance_id[0])
        e->ec2[e->nec2++] = (struct datum_dim){"InstanceId", e->instance_id};
    if ((want & CW_DIM_INSTANCE_TYPE) && e->instance_type[0])
        e->ec2[e->nec2++] = (struct datum_dim){"InstanceType", e->instance_type};
    if ((want & CW_DIM_IMAGE_ID) && e->image_id[0])
        e->ec2[e->nec2++] = (struct datum_dim){"ImageId", e->image_id};
    if ((want & CW_DIM_ASG_NAME) && e->asg[0])
        e->ec2[e->nec2++] = (struct datum_dim){"AutoScalingGroupName", e->asg};
}

static int pick_region(struct plan_env *e, const struct plan_args *a)
{
    const char *reg = a->region;
    if (!reg || !*reg)
        reg = e->cfg->agent.region;
    if (!reg || !*reg)
        reg = getenv("AWS_REGION");
    if (!reg || !*reg)
        reg = getenv("AWS_DEFAULT_REGION");
    if (!reg || !*reg) {
        fprintf(stderr, "%s: the region is unknown: use --region, agent.region or AWS_REGION\n",
                e->cmd);
        return -1;
    }
    copy(e->region, sizeof e->region, reg);
    return 0;
}

static void identity_from_flags(struct plan_env *e, const struct plan_args *a)
{
    if (a->instance_id) {
        e->have_id = 1;
        copy(e->instance_id, sizeof e->instance_id, a->instance_id);
    }
    if (a->instance_type)
        copy(e->instance_type, sizeof e->instance_type, a->instance_type);
    if (a->image_id)
        copy(e->image_id, sizeof e->image_id, a->image_id);
    if (a->asg)
        copy(e->asg, sizeof e->asg, a->asg);
    if (a->region)
        copy(e->region, sizeof e->region, a->region);
}

int plan_env_open(struct plan_env *e, const struct plan_args *a, int want_series, const char *cmd)
{
    char os_host[256] = "";
    memset(e, 0, sizeof *e);
    e->cmd = cmd;
    if (a->npaths == 0) {
        fprintf(stderr, "%s: a configuration is required (-c FILE|DIR)\n", cmd);
        return 2;
    }
    if (gethostname(os_host, sizeof os_host - 1) != 0)
        copy(os_host, sizeof os_host, "localhost");
    e->loop = cw_loop_new();
    e->curl = e->loop ? cw_http_curl_new(e->loop, NULL) : NULL;
    if (!e->curl)
        return 1;
    e->http = cw_http_curl_transport(e->curl);
    cw_clock_skew_init(&e->skew);
    identity_from_flags(e, a);
    if (!a->no_imds && !a->instance_id)
        fetch_identity(e);
    if (load_config(e, a, os_host) != 0)
        return 2;
    if (pick_region(e, a) != 0)
        return 2;
    if ((e->cfg->metrics.global_dims & CW_DIM_ASG_NAME) && e->have_id && !e->asg[0] &&
        !a->no_imds) {
        fetch_asg(e);
        if (e->asg[0] && load_config(e, a, os_host) != 0)
            return 2;
    }
    const char *h = a->host ? a->host : e->cfg->agent.hostname ? e->cfg->agent.hostname : os_host;
    copy(e->host, sizeof e->host, e->cfg->agent.omit_hostname ? "" : h);
    ec2_dims(e);
    if (!want_series)
        return 0;
    if (!e->cfg->metrics.present) {
        fprintf(stderr, "%s: the configuration has no metrics section: no series\n", cmd);
        return 2;
    }
    struct mshape_options so = {e->cfg, e->host[0] ? e->host : NULL, e->ec2, e->nec2, a->root};
    char err[512] = "";
    if (series_collect(&so, PLAN_SERIES_WAIT, &e->series, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return 2;
    }
    return 0;
}

const char *plan_env_id(const struct plan_env *e)
{
    return e->instance_id[0] ? e->instance_id : e->host[0] ? e->host : "host";
}

void plan_env_close(struct plan_env *e)
{
    series_free(e->series);
    creds_cache_free(e->creds);
    cw_config_free(e->cfg);
    cw_http_curl_free(e->curl);
    cw_loop_free(e->loop);
    memset(e, 0, sizeof *e);
}

/* ---- calls ----------------------------------------------------------------------------------- */

static int setup_creds(struct plan_env *e)
{
    if (e->creds)
        return 0;
    e->cctx.http = &e->http;
    e->cctx.envp = (const char *const *)environ;
    e->cctx.sign = sigv4_sign;
    e->cctx.sign_free = sigv4_result_free;
    e->cctx.region = e->region;
    if (cw_endpoint_for("sts", "STS", e->region, NULL, e->sts, sizeof e->sts) == 0)
        e->cctx.sts_endpoint = e->sts;
    struct creds_provider *p = creds_default_chain_new(&e->cctx, NULL);
    if (p && e->cfg->agent.role_arn) {
        struct creds_assume_role_options ar = {0};
        ar.role_arn = e->cfg->agent.role_arn;
        p = creds_assume_role_provider_new(&e->cctx, p, &ar);
    }
    e->creds = p ? creds_cache_new(p, &e->cctx, NULL, NULL) : NULL;
    if (!e->creds) {
        fprintf(stderr, "%s: cannot set up the credentials chain\n", e->cmd);
        return -1;
    }
    creds_cache_tick(e->creds);
    return 0;
}

struct aws_client *plan_client(struct plan_env *e, const char *service, const char *env_name,
                               const char *override)
{
    char url[512];
    if (setup_creds(e) != 0)
        return NULL;
    if (cw_endpoint_for(service, env_name, e->region, override, url, sizeof url) != 0) {
        fprintf(stderr, "%s: the %s endpoint is too long\n", e->cmd, service);
        return NULL;
    }
    struct aws_client_options ao = {0};
    ao.loop = e->loop;
    ao.http = &e->http;
    ao.creds = e->creds;
    ao.skew = &e->skew;
    ao.service = service;
    ao.region = e->region;
    ao.endpoint = url;
    cw_retry_policy_init(&ao.policy);
    ao.policy.max_attempts = PLAN_MAX_ATTEMPTS;
    ao.policy.cap_ms = PLAN_BACKOFF_CAP;
    return aws_client_new(&ao);
}

/* One call's wait. Heap-allocated: when the caller stops waiting (timeout), the callback may
 * still run later from the loop; it then frees the wait instead of writing to the caller. */
struct call_wait {
    struct plan_result *r; /* NULL once abandoned */
    int done;
};

static void on_done(void *ud, const struct aws_result *res)
{
    struct call_wait *w = ud;
    struct plan_result *r = w->r;
    if (!r) {
        free(w);
        return;
    }
    w->done = 1;
    r->ok = res->ok;
    r->status = res->status;
    copy(r->code, sizeof r->code, res->code);
    copy(r->message, sizeof r->message, res->message);
    r->body = malloc(res->body_len + 1);
    if (r->body) {
        if (res->body_len)
            memcpy(r->body, res->body, res->body_len);
        r->body[res->body_len] = '\0';
        r->body_len = res->body_len;
    }
}

int plan_call(struct plan_env *e, struct aws_client *c, const char *target, const char *body,
              struct plan_result *r)
{
    memset(r, 0, sizeof *r);
    struct aws_call call = {0};
    call.target = target;
    call.content_type = target ? "application/x-amz-json-1.0" : NULL;
    call.body = body;
    call.body_len = strlen(body);
    struct call_wait *w = calloc(1, sizeof *w);
    if (w)
        w->r = r;
    if (!w || aws_client_call(c, &call, on_done, w) != 0) {
        free(w);
        copy(r->message, sizeof r->message, "the call could not be started");
        return -1;
    }
    if (cw_loop_run_until(e->loop, &w->done, PLAN_CALL_WAIT_MS) != 0) {
        w->r = NULL; /* abandoned: on_done frees it if it ever runs */
        copy(r->message, sizeof r->message, "no answer in time");
        return -1;
    }
    free(w);
    if (!r->body) {
        copy(r->message, sizeof r->message, "out of memory");
        return -1;
    }
    return 0;
}

void plan_result_free(struct plan_result *r)
{
    free(r->body);
    r->body = NULL;
}
