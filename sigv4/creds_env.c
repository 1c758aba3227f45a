/* creds_env — the environment provider and the static-keys provider. Both answer at once. */
#include <stdlib.h>
#include <string.h>

#include "sigv4/creds_internal.h"

struct env_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
};

static void env_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct env_provider *p = (struct env_provider *)self;
    const char *akid = creds_getenv(&p->ctx, "AWS_ACCESS_KEY_ID");
    const char *secret = creds_getenv(&p->ctx, "AWS_SECRET_ACCESS_KEY");
    const char *token = creds_getenv(&p->ctx, "AWS_SESSION_TOKEN");
    if (!akid && !secret) {
        done(ud, NULL, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
        return;
    }
    if (!akid || !secret) {
        done(ud, NULL,
             akid ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                  : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
        return;
    }
    struct creds *c = creds_new(akid, secret, token, 0, "environment");
    if (c)
        done(ud, c, NULL);
    else
        done(ud, NULL, "out of memory");
}

static void env_free(struct creds_provider *self)
{
    free(self);
}

struct creds_provider *creds_env_provider_new(const struct creds_ctx *ctx)
{
    struct env_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base.name = "environment";
    p->base.fetch = env_fetch;
    p->base.free = env_free;
    p->ctx = *ctx;
    return &p->base;
}

struct static_provider {
    struct creds_provider base;
    struct creds *c;
};

static void static_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct static_provider *p = (struct static_provider *)self;
    done(ud, creds_ref(p->c), NULL);
}

static void static_free(struct creds_provider *self)
{
    struct static_provider *p = (struct static_provider *)self;
    creds_release(p->c);
    free(p);
}

struct creds_provider *creds_static_provider_new(const char *access_key_id, const char *secret,
                                                 const char *token)
{
    return creds_static_provider_named(access_key_id, secret, token, "static");
}

struct creds_provider *creds_static_provider_named(const char *access_key_id, const char *secret,
                                                   const char *token, const char *name)
{
    struct static_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->c = creds_new(access_key_id, secret, token, 0, name);
    if (!p->c) {
        free(p);
        return NULL;
    }
    p->base.name = "static";
    p->base.fetch = static_fetch;
    p->base.free = static_free;
    return &p->base;
}
