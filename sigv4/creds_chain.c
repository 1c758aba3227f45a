/* creds_chain — tries providers in order; the first that yields credentials wins.
 *
 * When all fail, the error lists every provider with its reason ("environment: ...; profile:
 * ...") and one warning per provider is logged, unless the same failure was logged last time
 * (a chain that keeps failing the same way is logged once, then at debug level). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"

#define CHAIN_MAX_PROVIDERS 16
#define CHAIN_ERR_MAX       (CHAIN_MAX_PROVIDERS * 256)

struct chain_provider {
    struct creds_provider base;
    struct creds_provider *p[CHAIN_MAX_PROVIDERS];
    size_t n, idx;
    int busy;
    struct cw_buf errors;    /* "name: reason; name: reason" */
    unsigned long last_hash; /* of the last logged failure */
    creds_done_fn done;
    void *ud;
};

static unsigned long hash_str(const char *s)
{
    unsigned long h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static void log_failure(struct chain_provider *c)
{
    unsigned long h = hash_str(c->errors.data ? c->errors.data : "");
    enum cw_log_level lvl = h == c->last_hash ? CW_LOG_DEBUG : CW_LOG_WARN;
    c->last_hash = h;
    const char *s = c->errors.data ? c->errors.data : "";
    cw_log(lvl, "creds", "no credentials from any provider:");
    while (*s) {
        const char *e = strstr(s, "; ");
        size_t n = e ? (size_t)(e - s) : strlen(s);
        cw_log(lvl, "creds", "  %.*s", (int)n, s);
        s += n + (e ? 2 : 0);
    }
}

static void chain_next(struct chain_provider *c);

static void chain_done(void *ud, struct creds *cr, const char *err)
{
    struct chain_provider *c = ud;
    const char *name = c->p[c->idx]->name;
    if (cr) {
        creds_done_fn done = c->done;
        void *dud = c->ud;
        c->busy = 0;
        c->last_hash = 0;
        cw_debug("creds", "credentials from %s", name);
        done(dud, cr, NULL);
        return;
    }
    /* A truncated list still names the earlier providers; the cap keeps it bounded. */
    if (cw_buf_printf(&c->errors, "%s%s: %s", c->errors.len ? "; " : "", name,
                      err ? err : "failed") != 0)
        cw_debug("creds", "chain error list truncated");
    c->idx++;
    chain_next(c);
}

static void chain_next(struct chain_provider *c)
{
    if (c->idx < c->n) {
        creds_provider_fetch(c->p[c->idx], chain_done, c);
        return;
    }
    log_failure(c);
    char *msg = cw_buf_detach(&c->errors, NULL);
    creds_done_fn done = c->done;
    void *ud = c->ud;
    c->busy = 0;
    done(ud, NULL, msg ? msg : "no credentials (out of memory)");
    free(msg);
}

static void chain_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct chain_provider *c = (struct chain_provider *)self;
    if (c->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    c->busy = 1;
    c->done = done;
    c->ud = ud;
    c->idx = 0;
    cw_buf_reset(&c->errors);
    chain_next(c);
}

static void chain_free(struct creds_provider *self)
{
    struct chain_provider *c = (struct chain_provider *)self;
    for (size_t i = 0; i < c->n; i++)
        creds_provider_free(c->p[i]);
    cw_buf_free(&c->errors);
    free(c);
}

struct creds_provider *creds_chain_new(struct creds_provider **providers, size_t n)
{
    struct chain_provider *c = NULL;
    int ok = providers && n > 0 && n <= CHAIN_MAX_PROVIDERS;
    for (size_t i = 0; ok && i < n; i++)
        ok = providers[i] != NULL;
    if (ok)
        c = calloc(1, sizeof *c);
    if (!c) {
        for (size_t i = 0; providers && i < n; i++)
            creds_provider_free(providers[i]);
        return NULL;
    }
    c->base.name = "chain";
    c->base.fetch = chain_fetch;
    c->base.free = chain_free;
    memcpy(c->p, providers, n * sizeof *providers);
    c->n = n;
    cw_buf_init(&c->errors, CHAIN_ERR_MAX);
    return &c->base;
}

struct creds_provider *creds_default_chain_new(const struct creds_ctx *ctx, const char *profile)
{
    struct creds_provider *p[5] = {
        creds_env_provider_new(ctx),   creds_profile_provider_new(ctx, profile),
        creds_webid_provider_new(ctx), creds_ecs_provider_new(ctx),
        creds_imds_provider_new(ctx),
    };
    return creds_chain_new(p, 5);
}
