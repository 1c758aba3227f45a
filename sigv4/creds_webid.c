/* creds_webid — web identity (IRSA and friends): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE ->
 * STS AssumeRoleWithWebIdentity, unsigned. The token file is re-read on every fetch because
 * Kubernetes rotates it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4/creds_internal.h"

#define WEBID_MAX_TOKEN 20000 /* M-STS: WebIdentityToken is 4..20000 characters */

struct webid_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    char *role, *file, *session; /* from a profile; NULL = the environment variables */
    int busy;
    struct creds_http_call *call;
    creds_done_fn done;
    void *ud;
};

static void webid_finish(struct webid_provider *p, struct creds *c, const char *err)
{
    creds_done_fn done = p->done;
    void *ud = p->ud;
    p->busy = 0;
    p->call = NULL;
    done(ud, c, err);
}

static void webid_http_done(void *owner, const struct cw_http_response *resp)
{
    struct webid_provider *p = owner;
    char err[CREDS_ERR_MAX], line[CREDS_ERR_MAX + 40];
    p->call = NULL;
    struct creds *c = creds_sts_parse(resp, "web_identity", err, sizeof err);
    if (!c)
        creds_fmt(line, sizeof line, "AssumeRoleWithWebIdentity: %s", err);
    webid_finish(p, c, c ? NULL : line);
}

/* Reads and trims the token; NULL with err set when unusable. */
static char *read_token(const char *path, char *err, size_t el)
{
    size_t len = 0;
    char *tok = creds_read_file(path, WEBID_MAX_TOKEN + 2, &len, err, el);
    if (!tok)
        return NULL;
    while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
        tok[--len] = '\0';
    if (len < 4 || len > WEBID_MAX_TOKEN) {
        creds_fmt(err, el, "token in %s has %zu characters (4..%d allowed)", path, len,
                  WEBID_MAX_TOKEN);
        explicit_bzero(tok, len);
        free(tok);
        return NULL;
    }
    return tok;
}

static int webid_body(struct webid_provider *p, const char *role, const char *tok, struct cw_buf *b)
{
    const char *sess = p->session ? p->session : creds_getenv(&p->ctx, "AWS_ROLE_SESSION_NAME");
    char defsess[64];
    snprintf(defsess, sizeof defsess, "cwagent-%lld", (long long)creds_now(&p->ctx));
    return creds_form_append(b, "Action", "AssumeRoleWithWebIdentity") != 0 ||
                   creds_form_append(b, "Version", "2011-06-15") != 0 ||
                   creds_form_append(b, "RoleArn", role) != 0 ||
                   creds_form_append(b, "RoleSessionName", sess ? sess : defsess) != 0 ||
                   creds_form_append(b, "WebIdentityToken", tok) != 0
               ? -1
               : 0;
}

static void webid_start(struct webid_provider *p, const char *role, const char *file)
{
    char err[CREDS_ERR_MAX], line[CREDS_ERR_MAX + 40];
    struct cw_buf b;
    cw_buf_init(&b, WEBID_MAX_TOKEN * 3 + 4096);
    char *tok = read_token(file, err, sizeof err);
    if (!tok) {
        creds_fmt(line, sizeof line, "web identity token: %s", err);
        goto fail;
    }
    if (webid_body(p, role, tok, &b) != 0) {
        creds_fmt(line, sizeof line, "AssumeRoleWithWebIdentity request too large");
        goto fail;
    }
    p->call = creds_sts_submit(&p->ctx, b.data, b.len, NULL, webid_http_done, p, err, sizeof err);
    if (!p->call) {
        creds_fmt(line, sizeof line, "AssumeRoleWithWebIdentity: %s", err);
        goto fail;
    }
    explicit_bzero(tok, strlen(tok));
    free(tok);
    cw_buf_free_secret(&b);
    return;
fail:
    if (tok) {
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    cw_buf_free_secret(&b);
    webid_finish(p, NULL, line);
}

static void webid_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct webid_provider *p = (struct webid_provider *)self;
    const char *role = p->role ? p->role : creds_getenv(&p->ctx, "AWS_ROLE_ARN");
    const char *file = p->file ? p->file : creds_getenv(&p->ctx, "AWS_WEB_IDENTITY_TOKEN_FILE");
    if (p->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    if (!role || !file) {
        done(ud, NULL,
             !role && !file ? "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not set"
             : !role        ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"
                            : "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not");
        return;
    }
    p->busy = 1;
    p->done = done;
    p->ud = ud;
    webid_start(p, role, file);
}

static void webid_free(struct creds_provider *self)
{
    struct webid_provider *p = (struct webid_provider *)self;
    creds_http_cancel(p->call);
    free(p->role);
    free(p->file);
    free(p->session);
    free(p);
}

struct creds_provider *creds_webid_provider_new(const struct creds_ctx *ctx)
{
    struct webid_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base.name = "web_identity";
    p->base.fetch = webid_fetch;
    p->base.free = webid_free;
    p->ctx = *ctx;
    return &p->base;
}

struct creds_provider *creds_webid_provider_profile(const struct creds_ctx *ctx, const char *role,
                                                    const char *file, const char *session)
{
    struct creds_provider *base = creds_webid_provider_new(ctx);
    struct webid_provider *p = (struct webid_provider *)base;
    if (!p)
        return NULL;
    p->role = strdup(role);
    p->file = strdup(file);
    p->session = session ? strdup(session) : NULL;
    if (!p->role || !p->file || (session && !p->session)) {
        webid_free(base);
        return NULL;
    }
    return base;
}
