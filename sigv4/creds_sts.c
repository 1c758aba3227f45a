/* creds_sts — STS requests (signed AssumeRole, unsigned AssumeRoleWithWebIdentity) and the
 * assume-role provider that stacks a role on top of another provider. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"

#define STS_TIMEOUT_MS          10000
#define STS_DEFAULT_DURATION    900 /* the reference agent: stscreds.DefaultDuration, 15 min */
#define STS_MAX_REQUEST         65536
#define STS_CONTENT_TYPE        "application/x-www-form-urlencoded; charset=utf-8"
#define STS_CONTENT_TYPE_HEADER "Content-Type: " STS_CONTENT_TYPE

/* Signs the POST and fills the header lines (heap strings in hdr[1..]). */
static int sts_sign(const struct creds_ctx *ctx, const struct creds_url *u, const char *region,
                    const char *body, size_t len, const struct creds *c, char **hdr, char *err,
                    size_t el)
{
    char host[300], port[16] = "";
    int v6 = strchr(u->host, ':') != NULL; /* an IPv6 literal goes back into brackets */
    if (u->port)
        creds_fmt(port, sizeof port, ":%d", u->port);
    creds_fmt(host, sizeof host, "%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "", port);
    struct sigv4_header h[] = {{"Host", host}, {"Content-Type", STS_CONTENT_TYPE}};
    struct sigv4_request req = {"POST", u->path, NULL, h, 2, body, len, NULL};
    struct sigv4_params params = {0};
    params.service = "sts";
    params.region = region;
    params.now = (time_t)creds_now(ctx);
    params.sign_session_token = 1;
    params.normalize_path = 1;
    struct sigv4_credentials sc = creds_for_signing(c);
    struct sigv4_result res;
    memset(&res, 0, sizeof res);
    if (!ctx->sign || !ctx->sign_free) {
        creds_fmt(err, el, "no SigV4 signer configured for STS");
        return -1;
    }
    if (ctx->sign(&req, &sc, &params, NULL, &res) != 0 || !res.authorization || !res.amz_date) {
        ctx->sign_free(&res);
        creds_fmt(err, el, "signing the STS request failed");
        return -1;
    }
    size_t n = 0;
    hdr[n++] = strdup(STS_CONTENT_TYPE_HEADER);
    hdr[n] = malloc(strlen(res.amz_date) + 16);
    if (hdr[n])
        snprintf(hdr[n], strlen(res.amz_date) + 16, "X-Amz-Date: %s", res.amz_date);
    n++;
    hdr[n] = malloc(strlen(res.authorization) + 20);
    if (hdr[n])
        snprintf(hdr[n], strlen(res.authorization) + 20, "Authorization: %s", res.authorization);
    n++;
    if (res.security_token) {
        size_t tl = strlen(res.security_token) + 32;
        hdr[n] = malloc(tl);
        if (hdr[n])
            snprintf(hdr[n], tl, "X-Amz-Security-Token: %s", res.security_token);
        n++;
    }
    ctx->sign_free(&res);
    for (size_t i = 0; i < n; i++)
        if (!hdr[i]) {
            creds_fmt(err, el, "out of memory");
            return -1;
        }
    return 0;
}

static void free_headers(char **hdr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (hdr[i]) {
            explicit_bzero(hdr[i], strlen(hdr[i]));
            free(hdr[i]);
        }
    }
}

struct creds_http_call *creds_sts_submit(const struct creds_ctx *ctx, const char *body, size_t len,
                                         const struct creds *sign_with, creds_http_cb cb,
                                         void *owner, char *err, size_t el)
{
    char url[512], region[64];
    struct creds_url u;
    char *hdr[5] = {NULL, NULL, NULL, NULL, NULL};
    struct creds_http_call *call = NULL;
    creds_sts_endpoint(ctx, url, sizeof url, region, sizeof region);
    if (creds_url_parse(url, &u) != 0) {
        creds_fmt(err, el, "bad STS endpoint \"%.100s\"", url);
        return NULL;
    }
    if (sign_with) {
        if (sts_sign(ctx, &u, region, body, len, sign_with, hdr, err, el) != 0)
            goto out;
    } else if (!(hdr[0] = strdup(STS_CONTENT_TYPE_HEADER))) {
        creds_fmt(err, el, "out of memory");
        goto out;
    }
    struct cw_http_request req = {.method = "POST",
                                  .url = url,
                                  .headers = (const char *const *)hdr,
                                  .body = body,
                                  .body_len = len,
                                  .timeout_ms = STS_TIMEOUT_MS,
                                  .max_response = CREDS_MAX_STS_BODY,
                                  .secret = 1};
    call = creds_http_start(ctx->http, &req, cb, owner);
    if (!call)
        creds_fmt(err, el, "cannot submit the STS request to %s", url);
out:
    free_headers(hdr, 4);
    return call;
}

/* ---- the assume-role provider ---- */

struct assume_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    struct creds_provider *inner;
    char *role_arn, *session_name, *external_id;
    int duration;
    int busy;
    int global_tried;  /* RegionDisabledException already sent us to the global region */
    struct creds *src; /* the inner provider's credentials, held during the fetch */
    struct creds_http_call *call;
    creds_done_fn done;
    void *ud;
};

/* Ends the fetch: clears the state, then calls back (last, as the callee may free us). */
static void assume_finish(struct assume_provider *p, struct creds *c, const char *err)
{
    creds_done_fn done = p->done;
    void *ud = p->ud;
    p->busy = 0;
    p->call = NULL;
    creds_release(p->src);
    p->src = NULL;
    done(ud, c, err);
}

static int assume_body(struct assume_provider *p, struct cw_buf *b)
{
    char dur[16], sess[64];
    snprintf(dur, sizeof dur, "%d", p->duration);
    if (p->session_name)
        snprintf(sess, sizeof sess, "%s", p->session_name);
    else
        snprintf(sess, sizeof sess, "cwagent-%lld", (long long)creds_now(&p->ctx));
    if (creds_form_append(b, "Action", "AssumeRole") != 0 ||
        creds_form_append(b, "Version", "2011-06-15") != 0 ||
        creds_form_append(b, "RoleArn", p->role_arn) != 0 ||
        creds_form_append(b, "RoleSessionName", sess) != 0 ||
        creds_form_append(b, "DurationSeconds", dur) != 0)
        return -1;
    if (p->external_id && creds_form_append(b, "ExternalId", p->external_id) != 0)
        return -1;
    return 0;
}

static void assume_http_done(void *owner, const struct cw_http_response *resp);

/* Sends AssumeRole with p->src through `ctx`; returns 0, or -1 with line set. */
static int assume_send(struct assume_provider *p, const struct creds_ctx *ctx, char *line,
                       size_t ll)
{
    char err[CREDS_ERR_MAX];
    struct cw_buf b;
    cw_buf_init(&b, STS_MAX_REQUEST);
    int rc = 0;
    if (assume_body(p, &b) != 0) {
        creds_fmt(line, ll, "AssumeRole request too large");
        rc = -1;
    } else if (!(p->call = creds_sts_submit(ctx, b.data, b.len, p->src, assume_http_done, p, err,
                                            sizeof err))) {
        creds_fmt(line, ll, "AssumeRole %s: %s", p->role_arn, err);
        rc = -1;
    }
    cw_buf_free(&b);
    return rc;
}

/* The partition's global STS region: the reference agent retries there when the regional
 * endpoint answers RegionDisabledException. */
static const char *global_region(const struct creds_ctx *ctx)
{
    char url[512], region[64];
    creds_sts_endpoint(ctx, url, sizeof url, region, sizeof region);
    if (strncmp(region, "cn-", 3) == 0)
        return "cn-north-1";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "us-gov-west-1";
    return "us-east-1";
}

static void assume_http_done(void *owner, const struct cw_http_response *resp)
{
    struct assume_provider *p = owner;
    char err[CREDS_ERR_MAX], line[CREDS_ERR_MAX + 200];
    p->call = NULL;
    struct creds *c = creds_sts_parse(resp, "assume_role", err, sizeof err);
    if (!c && !p->global_tried && !p->ctx.sts_endpoint && strstr(err, "RegionDisabledException")) {
        struct creds_ctx g = p->ctx;
        g.region = global_region(&p->ctx);
        p->global_tried = 1;
        cw_warn("creds", "STS is disabled in the configured region; retrying in %s", g.region);
        if (assume_send(p, &g, line, sizeof line) == 0)
            return;
        assume_finish(p, NULL, line);
        return;
    }
    if (!c)
        creds_fmt(line, sizeof line, "AssumeRole %s: %s", p->role_arn, err);
    assume_finish(p, c, c ? NULL : line);
}

static void assume_inner_done(void *ud, struct creds *src, const char *inner_err)
{
    struct assume_provider *p = ud;
    char line[CREDS_ERR_MAX + 200];
    if (!src) {
        creds_fmt(line, sizeof line, "source credentials for %s: %s", p->role_arn, inner_err);
        assume_finish(p, NULL, line);
        return;
    }
    p->src = src;
    p->global_tried = 0;
    if (assume_send(p, &p->ctx, line, sizeof line) != 0)
        assume_finish(p, NULL, line);
}

static void assume_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct assume_provider *p = (struct assume_provider *)self;
    if (p->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    p->busy = 1;
    p->done = done;
    p->ud = ud;
    creds_provider_fetch(p->inner, assume_inner_done, p);
}

static void assume_free(struct creds_provider *self)
{
    struct assume_provider *p = (struct assume_provider *)self;
    creds_http_cancel(p->call);
    creds_provider_free(p->inner);
    creds_release(p->src);
    free(p->role_arn);
    free(p->session_name);
    free(p->external_id);
    free(p);
}

static char *dup_opt(const char *s, int *oom)
{
    char *d = s && *s ? strdup(s) : NULL;
    if (s && *s && !d)
        *oom = 1;
    return d;
}

struct creds_provider *creds_assume_role_provider_new(const struct creds_ctx *ctx,
                                                      struct creds_provider *inner,
                                                      const struct creds_assume_role_options *opt)
{
    struct assume_provider *p = NULL;
    int oom = 0;
    if (!inner || !opt || !opt->role_arn || !*opt->role_arn || !(p = calloc(1, sizeof *p)))
        goto fail;
    p->role_arn = dup_opt(opt->role_arn, &oom);
    p->session_name = dup_opt(opt->session_name, &oom);
    p->external_id = dup_opt(opt->external_id, &oom);
    if (oom) {
        free(p->role_arn);
        free(p->session_name);
        free(p->external_id);
        goto fail;
    }
    p->base.name = "assume_role";
    p->base.fetch = assume_fetch;
    p->base.free = assume_free;
    p->ctx = *ctx;
    p->inner = inner;
    p->duration = opt->duration_seconds > 0 ? opt->duration_seconds : STS_DEFAULT_DURATION;
    return &p->base;
fail:
    free(p);
    creds_provider_free(inner);
    return NULL;
}
