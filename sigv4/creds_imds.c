/* creds_imds — the EC2 instance role: GET meta-data/iam/security-credentials/ for the role name,
 * then .../<role> for the JSON credentials, through the shared IMDS client (token and fallback
 * rules live there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/creds_internal.h"
#include "sigv4/imds.h"

#define IMDS_CREDS_PATH "meta-data/iam/security-credentials/"

struct imds_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    struct imds_client *client;
    int disabled;
    int busy;
    char role[256];
    creds_done_fn done;
    void *ud;
};

static void imdsp_finish(struct imds_provider *p, struct creds *c, const char *err)
{
    creds_done_fn done = p->done;
    void *ud = p->ud;
    p->busy = 0;
    done(ud, c, err);
}

static void got_creds(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct imds_provider *p = ud;
    char why[CREDS_ERR_MAX], line[CREDS_ERR_MAX + 300];
    (void)status;
    if (err) {
        imdsp_finish(p, NULL, err);
        return;
    }
    struct creds *c = creds_from_json(body, len, "imds", 0, 1, why, sizeof why);
    if (!c)
        creds_fmt(line, sizeof line, "instance role %s: %s", p->role, why);
    imdsp_finish(p, c, c ? NULL : line);
}

static void got_role(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct imds_provider *p = ud;
    char path[512];
    if (err) {
        imdsp_finish(p, NULL, status == 404 ? "no IAM role is attached to this instance" : err);
        return;
    }
    creds_first_line(body, len, p->role, sizeof p->role);
    if (!*p->role || strpbrk(p->role, "/?#% ")) {
        imdsp_finish(p, NULL, "IMDS returned no usable role name");
        return;
    }
    creds_fmt(path, sizeof path, "%s%s", IMDS_CREDS_PATH, p->role);
    imds_get(p->client, path, got_creds, p);
}

static void imdsp_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct imds_provider *p = (struct imds_provider *)self;
    if (p->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    if (p->disabled) {
        done(ud, NULL, "disabled by AWS_EC2_METADATA_DISABLED=true");
        return;
    }
    p->busy = 1;
    p->done = done;
    p->ud = ud;
    p->role[0] = '\0';
    imds_get(p->client, IMDS_CREDS_PATH, got_role, p);
}

static void imdsp_free(struct creds_provider *self)
{
    struct imds_provider *p = (struct imds_provider *)self;
    imds_client_free(p->client);
    free(p);
}

struct creds_provider *creds_imds_provider_new(const struct creds_ctx *ctx)
{
    struct imds_provider *p = calloc(1, sizeof *p);
    struct imds_options o;
    memset(&o, 0, sizeof o);
    if (!p)
        return NULL;
    o.http = ctx->http;
    o.now = ctx->now;
    o.now_ud = ctx->now_ud;
    imds_options_from_env(&o, ctx->envp);
    p->disabled = o.disabled;
    if (!ctx->http || !(p->client = imds_client_new(&o))) {
        free(p);
        return NULL;
    }
    p->base.name = "imds";
    p->base.fetch = imdsp_fetch;
    p->base.free = imdsp_free;
    p->ctx = *ctx;
    return &p->base;
}
