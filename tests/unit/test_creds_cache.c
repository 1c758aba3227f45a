/* Unit tests for the credentials cache: refresh timing with an injected clock, failure handling
 * with backoff, invalidation, status, cancellation. A scripted provider stands in for the chain. */
#include "sigv4/creds.h"
#include "tests/unit/creds_fixture.h"
#include "tests/unit/fake_http.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>

#define T0 1787227200.0

/* A provider that answers with credentials living `lifetime` seconds (0 = static), or fails;
 * synchronously, or later when `async` (tp_complete answers). */
struct tprov {
    struct creds_provider base;
    struct fake_clock *clk;
    double lifetime;
    int fail, async, fetches, serial;
    creds_done_fn pending;
    void *pending_ud;
};

static void tp_answer(struct tprov *p, creds_done_fn done, void *ud)
{
    char akid[32];
    if (p->fail) {
        done(ud, NULL, "scripted failure");
        return;
    }
    snprintf(akid, sizeof akid, "ASIATEST%08d", ++p->serial);
    done(ud,
         creds_new(akid, "secret", "tok", p->lifetime ? p->clk->t + p->lifetime : 0, "scripted"),
         NULL);
}

static void tp_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct tprov *p = (struct tprov *)self;
    p->fetches++;
    if (p->async) {
        p->pending = done;
        p->pending_ud = ud;
        return;
    }
    tp_answer(p, done, ud);
}

static void tp_complete(struct tprov *p)
{
    creds_done_fn done = p->pending;
    p->pending = NULL;
    if (done)
        tp_answer(p, done, p->pending_ud);
}

static void tp_free(struct creds_provider *self)
{
    (void)self; /* owned by the test */
}

static void tp_init(struct tprov *p, struct fake_clock *clk, double lifetime)
{
    memset(p, 0, sizeof *p);
    p->base.name = "scripted";
    p->base.fetch = tp_fetch;
    p->base.free = tp_free;
    p->clk = clk;
    p->lifetime = lifetime;
}

struct updates {
    int n, failures;
    char last_key[32];
};

static void on_update(void *ud, const struct creds *c)
{
    struct updates *u = ud;
    if (!c) {
        u->failures++;
        return;
    }
    u->n++;
    snprintf(u->last_key, sizeof u->last_key, "%s", c->access_key_id);
}

static struct creds_cache *cache_for(struct tprov *p, struct fake_clock *clk, struct updates *u)
{
    struct creds_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.now = fake_clock_now;
    ctx.now_ud = clk;
    return creds_cache_new(&p->base, &ctx, on_update, u);
}

/* Advances the clock in `step` increments up to `until`, ticking when a deadline passes. */
static void run_until(struct creds_cache *c, struct fake_clock *clk, double until, double step)
{
    while (clk->t < until) {
        clk->t += step;
        if (clk->t >= creds_cache_next_deadline(c))
            creds_cache_tick(c);
    }
}

TEST(refresh_at_rule)
{
    T_EQ_DBL(creds_refresh_at(0, 30), 15, 1e-9);
    T_EQ_DBL(creds_refresh_at(100, 100 + 600), 400, 1e-9);
    T_EQ_DBL(creds_refresh_at(0, 900), 600, 1e-9);
    T_EQ_DBL(creds_refresh_at(0, 3600), 3300, 1e-9);
    T_EQ_DBL(creds_refresh_at(0, 21600), 21300, 1e-9);
    T_EQ_DBL(creds_refresh_at(50, 40), 50, 1e-9);
}

TEST(nothing_until_first_tick_then_ready)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct creds *c = NULL;
    tp_init(&p, &clk, 3600);
    p.async = 1;
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    T_EQ_INT(creds_cache_get(cache, &c), -1);
    T_CHECK(c == NULL);
    T_EQ_DBL(creds_cache_next_deadline(cache), 0, 0);
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 1);
    T_EQ_INT(creds_cache_get(cache, &c), -1); /* still in flight */
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 1); /* no second fetch while one is in flight */
    tp_complete(&p);
    T_EQ_INT(u.n, 1);
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    T_ASSERT(c != NULL);
    T_EQ_STR(c->access_key_id, "ASIATEST00000001");
    creds_release(c);
    T_EQ_DBL(creds_cache_next_deadline(cache), T0 + 3300, 1e-6);
    creds_cache_free(cache);
}

TEST(short_lived_credentials_refresh_early_and_never_expire_in_hand)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    tp_init(&p, &clk, 30);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 1);
    T_EQ_DBL(creds_cache_next_deadline(cache), T0 + 15, 1e-6);
    run_until(cache, &clk, T0 + 14.5, 0.5);
    T_EQ_INT(p.fetches, 1);
    run_until(cache, &clk, T0 + 15, 0.5);
    T_EQ_INT(p.fetches, 2); /* 15 s before expiry */
    /* Over ten minutes, every handed-out set is unexpired, and refreshes keep up. */
    for (int i = 0; i < 1200; i++) {
        run_until(cache, &clk, clk.t + 0.5, 0.5);
        struct creds *c = NULL;
        T_ASSERT(creds_cache_get(cache, &c) == 0);
        if (c->expiration <= clk.t)
            t_fail_at(__FILE__, __LINE__, "handed out expired credentials at %f", clk.t);
        creds_release(c);
    }
    T_CHECK(p.fetches >= 40 && p.fetches <= 42);
    creds_cache_free(cache);
}

TEST(failed_refresh_keeps_valid_creds_and_backs_off)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct fake_log log;
    struct creds *c = NULL;
    tp_init(&p, &clk, 3600);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    p.fail = 1;
    clk.t = T0 + 3300;
    fake_log_start(&log);
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 2);
    T_EQ_INT(creds_cache_get(cache, &c), 0); /* still valid: still handed out */
    T_EQ_STR(c->access_key_id, "ASIATEST00000001");
    creds_release(c);
    /* Retries at +1, +2, +4, +8, +16, +32, +60, +60 ... */
    double expect[] = {1, 2, 4, 8, 16, 32, 60, 60};
    for (size_t i = 0; i < 8; i++) {
        double d = creds_cache_next_deadline(cache) - clk.t;
        if (d != expect[i])
            t_fail_at(__FILE__, __LINE__, "retry %zu: expected %g s, got %g s", i, expect[i], d);
        clk.t = creds_cache_next_deadline(cache);
        creds_cache_tick(cache);
    }
    fake_log_stop();
    T_EQ_INT(p.fetches, 10);
    T_EQ_INT(u.failures, 9); /* every failed refresh is reported, so the loop re-arms */
    T_CHECK(strstr(log.text, "still using scripted credentials") != NULL);
    struct creds_cache_status st;
    creds_cache_status(cache, &st);
    T_EQ_INT(st.failures, 9);
    T_EQ_STR(st.last_error, "scripted failure");
    /* Past expiry: nothing is handed out. */
    clk.t = T0 + 3600;
    T_EQ_INT(creds_cache_get(cache, &c), -1);
    /* Recovery resets the backoff. */
    p.fail = 0;
    clk.t = creds_cache_next_deadline(cache);
    creds_cache_tick(cache);
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    T_EQ_STR(c->access_key_id, "ASIATEST00000002");
    creds_release(c);
    creds_cache_status(cache, &st);
    T_EQ_INT(st.failures, 0);
    T_EQ_STR(st.last_error, "");
    T_EQ_DBL(creds_cache_next_deadline(cache), clk.t + 3300, 1e-6);
    creds_cache_free(cache);
}

TEST(invalidate_forces_exactly_one_refresh)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct creds *c = NULL;
    tp_init(&p, &clk, 3600);
    p.async = 1;
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    tp_complete(&p);
    T_EQ_INT(p.fetches, 1);
    creds_cache_invalidate(cache);
    creds_cache_invalidate(cache); /* e.g. three requests failed with ExpiredToken at once */
    creds_cache_invalidate(cache);
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 2);
    /* The refused set is held back meanwhile: a retry signed with it would be refused again
     * (and the retry policy takes a second auth refusal as final: the batch would be lost). */
    T_EQ_INT(creds_cache_get(cache, &c), -1);
    T_CHECK(c == NULL);
    tp_complete(&p);
    T_EQ_INT(u.n, 2);
    T_EQ_STR(u.last_key, "ASIATEST00000002");
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    T_EQ_STR(c->access_key_id, "ASIATEST00000002");
    creds_release(c);
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 2); /* and nothing more */
    creds_cache_free(cache);
}

TEST(refused_set_stays_held_back_until_a_refresh_succeeds)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct creds *c = NULL;
    tp_init(&p, &clk, 3600);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    creds_release(c);
    p.fail = 1;
    creds_cache_invalidate(cache); /* the refresh fails at once */
    T_EQ_INT(p.fetches, 2);
    T_EQ_INT(creds_cache_get(cache, &c), -1); /* not the refused set, though it is unexpired */
    T_EQ_DBL(creds_cache_next_deadline(cache), T0 + 1, 1e-6); /* retried with the backoff */
    clk.t += 1;
    p.fail = 0;
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 3);
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    T_EQ_STR(c->access_key_id, "ASIATEST00000002");
    creds_release(c);
    creds_cache_free(cache);
}

TEST(invalidate_with_a_synchronous_provider_serves_the_new_set_at_once)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct creds *c = NULL;
    tp_init(&p, &clk, 0); /* static keys, e.g. a rotated key in the credentials file */
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    creds_cache_invalidate(cache);
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    T_EQ_STR(c->access_key_id, "ASIATEST00000002");
    creds_release(c);
    creds_cache_free(cache);
}

TEST(static_credentials_are_never_refreshed)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    tp_init(&p, &clk, 0);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    T_CHECK(creds_cache_next_deadline(cache) > T0 + 1e9);
    clk.t += 86400 * 365;
    creds_cache_tick(cache);
    T_EQ_INT(p.fetches, 1);
    struct creds *c = NULL;
    T_EQ_INT(creds_cache_get(cache, &c), 0);
    creds_release(c);
    creds_cache_free(cache);
}

TEST(expired_on_arrival_counts_as_failure)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    struct creds *c = NULL;
    tp_init(&p, &clk, -5);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    creds_cache_tick(cache);
    T_EQ_INT(creds_cache_get(cache, &c), -1);
    T_EQ_INT(u.n, 0);
    struct creds_cache_status st;
    creds_cache_status(cache, &st);
    T_CHECK(strstr(st.last_error, "expired") != NULL);
    T_EQ_DBL(creds_cache_next_deadline(cache), T0 + 1, 1e-6);
    creds_cache_free(cache);
}

TEST(status_reports_source_and_expiry_without_secrets)
{
    struct fake_clock clk = {T0};
    struct tprov p;
    struct updates u = {0};
    tp_init(&p, &clk, 900);
    struct creds_cache *cache = cache_for(&p, &clk, &u);
    struct creds_cache_status st;
    creds_cache_status(cache, &st);
    T_EQ_INT(st.have, 0);
    creds_cache_tick(cache);
    creds_cache_status(cache, &st);
    T_EQ_INT(st.have, 1);
    T_EQ_STR(st.source, "scripted");
    T_EQ_DBL(st.expiration, T0 + 900, 0);
    T_EQ_DBL(st.last_refresh, T0, 0);
    T_EQ_STR(st.access_key_id, "ASIA****0001");
    creds_cache_free(cache);
}

TEST(free_during_refresh_with_real_provider)
{
    struct fake_http f;
    struct fake_clock clk = {T0};
    struct creds_ctx ctx;
    struct updates u = {0};
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/c", NULL};
    fake_http_init(&f);
    ctx_init(&ctx, &f, &clk, env);
    fake_http_on(&f, "GET", NULL, 200,
                 "{\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
                 "\"Expiration\":\"2026-08-20T13:00:00Z\"}");
    struct creds_cache *cache = creds_cache_new(creds_ecs_provider_new(&ctx), &ctx, on_update, &u);
    creds_cache_tick(cache);
    fake_http_run(&f);
    T_EQ_INT(u.n, 1);
    T_EQ_DBL(creds_cache_next_deadline(cache), T0 + 3300, 1e-6);
    clk.t = T0 + 3300;
    creds_cache_tick(cache);
    T_EQ_INT(fake_http_pending(&f), 1);
    creds_cache_free(cache);
    fake_http_free(&f); /* answers the orphaned request: no callback, no leak */
    T_EQ_INT(u.n, 1);
}

TEST(error_codes_that_want_a_refresh)
{
    T_CHECK(creds_error_wants_refresh("ExpiredToken"));
    T_CHECK(creds_error_wants_refresh("ExpiredTokenException"));
    T_CHECK(creds_error_wants_refresh("InvalidClientTokenId"));
    T_CHECK(creds_error_wants_refresh("UnrecognizedClientException"));
    T_CHECK(!creds_error_wants_refresh("SignatureDoesNotMatch"));
    T_CHECK(!creds_error_wants_refresh("Throttling"));
    T_CHECK(!creds_error_wants_refresh("RequestExpired"));
    T_CHECK(!creds_error_wants_refresh(NULL));
}

T_MAIN("creds_cache", T_CASE(error_codes_that_want_a_refresh), T_CASE(refresh_at_rule),
       T_CASE(nothing_until_first_tick_then_ready),
       T_CASE(short_lived_credentials_refresh_early_and_never_expire_in_hand),
       T_CASE(failed_refresh_keeps_valid_creds_and_backs_off),
       T_CASE(invalidate_forces_exactly_one_refresh),
       T_CASE(refused_set_stays_held_back_until_a_refresh_succeeds),
       T_CASE(invalidate_with_a_synchronous_provider_serves_the_new_set_at_once),
       T_CASE(static_credentials_are_never_refreshed), T_CASE(expired_on_arrival_counts_as_failure),
       T_CASE(status_reports_source_and_expiry_without_secrets),
       T_CASE(free_during_refresh_with_real_provider))
