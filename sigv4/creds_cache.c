/* creds_cache — hands out the current credentials without blocking and refreshes them ahead of
 * expiry from one provider (usually the default chain).
 *
 * Timing: temporary credentials obtained at t with lifetime L are refreshed at
 * t + L - min(300, L/2): five minutes early for anything that lives at least ten minutes, at
 * half-life for shorter ones. A failed refresh keeps the current set while it is valid and is
 * retried after 1, 2, 4 ... CACHE_MAX_BACKOFF seconds. get() never returns a set that has
 * expired (CACHE_EXPIRY_SLACK seconds of margin), nor one the service refused (invalidate) until
 * a refresh has succeeded: a retry signed with the refused set would only be refused again, and
 * the senders' retry policy counts that second refusal as final.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"

#define CACHE_REFRESH_EARLY 300.0 /* aws-c-auth: REFRESH_CREDENTIALS_EARLY_DURATION_SECONDS */
#define CACHE_MAX_BACKOFF   60.0
#define CACHE_EXPIRY_SLACK  1.0
#define CACHE_NEVER         1e18

struct creds_cache {
    struct creds_provider *provider;
    struct creds_ctx ctx;
    creds_update_fn on_update;
    void *ud;
    struct creds *cur;
    double obtained, refresh_at, retry_at;
    int refreshing, failures;
    int rejected; /* the service refused c->cur: held back until a refresh succeeds */
    char last_error[512];
};

double creds_refresh_at(double obtained, double expiration)
{
    double life = expiration - obtained;
    if (life <= 0)
        return obtained;
    double margin = life / 2 < CACHE_REFRESH_EARLY ? life / 2 : CACHE_REFRESH_EARLY;
    return expiration - margin;
}

struct creds_cache *creds_cache_new(struct creds_provider *provider, const struct creds_ctx *ctx,
                                    creds_update_fn on_update, void *ud)
{
    struct creds_cache *c = provider ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        creds_provider_free(provider);
        return NULL;
    }
    c->provider = provider;
    c->ctx = *ctx;
    c->on_update = on_update;
    c->ud = ud;
    return c;
}

void creds_cache_free(struct creds_cache *c)
{
    if (!c)
        return;
    creds_provider_free(c->provider);
    creds_release(c->cur);
    free(c);
}

static int usable(const struct creds_cache *c, double now)
{
    const struct creds *cr = c->cur;
    return cr && !c->rejected && (cr->expiration == 0 || now < cr->expiration - CACHE_EXPIRY_SLACK);
}

int creds_cache_get(struct creds_cache *c, struct creds **out)
{
    *out = NULL;
    if (!usable(c, creds_now(&c->ctx)))
        return -1;
    *out = creds_ref(c->cur);
    return 0;
}

static void fmt_time(double t, char *out, size_t outlen)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "%.0f", t);
}

static void install(struct creds_cache *c, struct creds *cr, double now)
{
    char key[32], when[32] = "never";
    /* Info when the source changes (or on the first set); routine rotations at debug. */
    int changed = !c->cur || strcmp(c->cur->provider, cr->provider) != 0;
    creds_release(c->cur);
    c->cur = cr;
    c->obtained = now;
    c->refresh_at = cr->expiration ? creds_refresh_at(now, cr->expiration) : CACHE_NEVER;
    c->failures = 0;
    c->rejected = 0;
    c->last_error[0] = '\0';
    cw_log_redact_key(cr->access_key_id, key, sizeof key);
    if (cr->expiration)
        fmt_time(cr->expiration, when, sizeof when);
    cw_log(changed ? CW_LOG_INFO : CW_LOG_DEBUG, "creds", "credentials from %s (key %s, expire %s)",
           cr->provider, key, when);
    if (c->on_update)
        c->on_update(c->ud, c->cur);
}

static void failed(struct creds_cache *c, const char *err, double now)
{
    char when[32];
    double backoff = ldexp(1.0, c->failures < 7 ? c->failures : 7);
    if (backoff > CACHE_MAX_BACKOFF)
        backoff = CACHE_MAX_BACKOFF;
    c->failures++;
    c->retry_at = now + backoff;
    snprintf(c->last_error, sizeof c->last_error, "%s", err ? err : "failed");
    if (usable(c, now)) {
        fmt_time(c->cur->expiration, when, sizeof when);
        cw_warn("creds",
                "refreshing credentials failed (%d in a row), retrying in %.0f s; still "
                "using %s credentials valid until %s",
                c->failures, backoff, c->cur->provider, c->cur->expiration ? when : "revoked");
    } else {
        cw_warn("creds", "no usable credentials (%d failures in a row), retrying in %.0f s",
                c->failures, backoff);
    }
}

static void cache_done(void *ud, struct creds *cr, const char *err)
{
    struct creds_cache *c = ud;
    double now = creds_now(&c->ctx);
    char why[160];
    c->refreshing = 0;
    if (cr && cr->expiration != 0 && cr->expiration <= now + CACHE_EXPIRY_SLACK) {
        creds_fmt(why, sizeof why, "%s returned credentials that expired %.0f s ago", cr->provider,
                  now - cr->expiration);
        creds_release(cr);
        cr = NULL;
        err = why;
    }
    if (cr) {
        install(c, cr, now);
        return;
    }
    failed(c, err, now);
    if (c->on_update)
        c->on_update(c->ud, NULL);
}

int creds_error_wants_refresh(const char *code)
{
    static const char *const codes[] = {"ExpiredToken",         "ExpiredTokenException",
                                        "InvalidClientTokenId", "UnrecognizedClientException",
                                        "InvalidToken",         "TokenRefreshRequired"};
    for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static void start_refresh(struct creds_cache *c)
{
    c->refreshing = 1;
    creds_provider_fetch(c->provider, cache_done, c);
}

double creds_cache_next_deadline(const struct creds_cache *c)
{
    if (c->refreshing)
        return CACHE_NEVER;
    if (c->failures)
        return c->retry_at;
    if (!c->cur)
        return 0;
    return c->refresh_at;
}

void creds_cache_tick(struct creds_cache *c)
{
    if (!c->refreshing && creds_now(&c->ctx) >= creds_cache_next_deadline(c))
        start_refresh(c);
}

void creds_cache_invalidate(struct creds_cache *c)
{
    c->rejected = c->cur != NULL;
    if (!c->refreshing)
        start_refresh(c);
}

void creds_cache_status(const struct creds_cache *c, struct creds_cache_status *out)
{
    memset(out, 0, sizeof *out);
    out->have = c->cur != NULL;
    out->refreshing = c->refreshing;
    out->failures = c->failures;
    snprintf(out->last_error, sizeof out->last_error, "%s", c->last_error);
    if (c->cur) {
        snprintf(out->source, sizeof out->source, "%s", c->cur->provider);
        out->expiration = c->cur->expiration;
        out->last_refresh = c->obtained;
        cw_log_redact_key(c->cur->access_key_id, out->access_key_id, sizeof out->access_key_id);
    }
}
