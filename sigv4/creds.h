/* creds — AWS credentials: the value object, the providers of the SDKs' default chain, and the
 * refreshing cache the senders read from.
 *
 * Everything is asynchronous and driven by the event loop: a provider's fetch() starts work and
 * reports through a callback, exactly once. HTTP goes through the cw_http_transport seam; the
 * clock, the environment and the SigV4 signer (for STS AssumeRole) come in through struct
 * creds_ctx, so tests can substitute all of them.
 *
 * One synchronous exception: credential_process runs the command with a hard timeout
 * (creds_ctx.process_timeout, default 30 s) and blocks the loop while it runs. The SDKs do the
 * same; the agent calls it only at start-up and when the credentials it returned near expiry.
 *
 * Secrets: struct creds wipes its strings when the last reference goes. No function here logs a
 * secret; access key ids are logged redacted (cw_log_redact_key).
 */
#ifndef CW_CREDS_H
#define CW_CREDS_H

#include <stddef.h>

#include "common/http.h"
#include "sigv4/sigv4.h"

/* ---- the credentials object (immutable, reference-counted) ---------------------------------- */

struct creds {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    double expiration;   /* UTC epoch seconds; 0 = static (never expires) */
    char provider[32];   /* name of the provider that produced them, e.g. "imds" */
    int refs;            /* private */
};

/* Returns a new set (refs = 1) with copies of the strings, or NULL when a required string is
 * missing/empty or memory is exhausted. `token` may be NULL or "". */
struct creds *creds_new(const char *access_key_id, const char *secret, const char *token,
                        double expiration, const char *provider);
/* Takes one more reference; returns c. */
struct creds *creds_ref(struct creds *c);
/* Drops one reference; the last one wipes the secrets and frees. NULL is a no-op. */
void creds_release(struct creds *c);
/* Borrowed view for sigv4_sign; valid while c is referenced. */
struct sigv4_credentials creds_for_signing(const struct creds *c);

/* Parses an ISO-8601 UTC timestamp ("2026-08-20T12:00:00Z", optional fractional seconds,
 * "Z" or "+hh:mm"/"-hh:mm" offset) into epoch seconds without gmtime/strptime. Returns 0 or -1. */
int creds_parse_time(const char *s, double *out);

/* ---- context shared by the providers --------------------------------------------------------- */

typedef int (*creds_sign_fn)(const struct sigv4_request *req, const struct sigv4_credentials *c,
                             const struct sigv4_params *params, struct sigv4_key_cache *cache,
                             struct sigv4_result *out);
typedef void (*creds_sign_free_fn)(struct sigv4_result *res);

/* Everything here is borrowed and must outlive every provider and cache created with it. Providers
 * copy the struct itself. */
struct creds_ctx {
    const struct cw_http_transport *http; /* required by the network providers */
    const char *const *envp;              /* "NAME=value" strings, NULL-terminated; NULL = none */
    double (*now)(void *ud);              /* UTC epoch seconds; NULL = the system clock */
    void *now_ud;
    creds_sign_fn sign;           /* signer for STS AssumeRole: the lead wires sigv4_sign */
    creds_sign_free_fn sign_free; /* and sigv4_result_free */
    const char *region;           /* STS region; NULL = AWS_REGION, AWS_DEFAULT_REGION, us-east-1 */
    const char *sts_endpoint;     /* e.g. "http://127.0.0.1:4566"; NULL = https://sts.<region>... */
    const char *ecs_endpoint;     /* replaces "http://169.254.170.2" for RELATIVE_URI (tests) */
    double process_timeout;       /* credential_process hard timeout, seconds; 0 = 30 */
};

/* Value of NAME in ctx->envp, or NULL when unset. Empty values count as unset. */
const char *creds_getenv(const struct creds_ctx *ctx, const char *name);
/* ctx->now() or the system clock. */
double creds_now(const struct creds_ctx *ctx);

/* ---- providers ------------------------------------------------------------------------------- */

/* `c` is handed to the callee (who releases it) on success, NULL on failure; `err` is a one-line
 * description of why there are no credentials (borrowed, never contains a secret), NULL on
 * success. */
typedef void (*creds_done_fn)(void *ud, struct creds *c, const char *err);

/* A provider. fetch() calls `done` exactly once, possibly before fetch returns. One fetch at a
 * time per provider: a second fetch while one is in flight fails at once with an error.
 * free() cancels an in-flight fetch: its `done` is then never called. Free with
 * creds_provider_free. */
struct creds_provider {
    const char *name;
    void (*fetch)(struct creds_provider *self, creds_done_fn done, void *ud);
    void (*free)(struct creds_provider *self);
};

void creds_provider_fetch(struct creds_provider *p, creds_done_fn done, void *ud);
void creds_provider_free(struct creds_provider *p); /* NULL is a no-op */

/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) from ctx->envp. */
struct creds_provider *creds_env_provider_new(const struct creds_ctx *ctx);

/* Static keys (agent config / tests). Copies the strings. */
struct creds_provider *creds_static_provider_new(const char *access_key_id, const char *secret,
                                                 const char *token);

/* The shared files: profile `profile` (NULL = AWS_PROFILE or "default") from
 * AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config): static
 * keys, credential_process, role_arn with source_profile or credential_source (Environment,
 * Ec2InstanceMetadata, EcsContainer). Files are re-read on every fetch. Warns once per provider
 * when the credentials file is readable by group or others. */
struct creds_provider *creds_profile_provider_new(const struct creds_ctx *ctx, const char *profile);

/* The same with explicit files (the reference agent's common-config.toml
 * shared_credential_file); NULL falls back to the environment / ~/.aws. Paths are copied. */
struct creds_provider *creds_profile_provider_new_files(const struct creds_ctx *ctx,
                                                        const char *profile,
                                                        const char *credentials_file,
                                                        const char *config_file);

/* Runs `command` with /bin/sh -c and reads the Version 1 JSON from its stdout (capped at 64 KiB;
 * killed after ctx->process_timeout). Synchronous: see the header comment. */
struct creds_provider *creds_process_provider_new(const struct creds_ctx *ctx, const char *command);

/* AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (+ AWS_ROLE_SESSION_NAME) -> STS
 * AssumeRoleWithWebIdentity (unsigned). The token file is re-read on every fetch. */
struct creds_provider *creds_webid_provider_new(const struct creds_ctx *ctx);

/* AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
 */
struct creds_provider *creds_ecs_provider_new(const struct creds_ctx *ctx);

/* The EC2 instance role over IMDSv2 (IMDSv1 fallback rules in sigv4/imds.h). */
struct creds_provider *creds_imds_provider_new(const struct creds_ctx *ctx);

struct creds_assume_role_options {
    const char *role_arn;     /* required */
    const char *session_name; /* NULL = "cwagent-<epoch>" */
    const char *external_id;  /* optional */
    int duration_seconds;     /* 0 = 900 (the reference agent's stscreds default) */
};

/* STS AssumeRole signed with the credentials from `inner` (taken over: freed with this provider).
 * Endpoint: ctx->sts_endpoint or https://sts.<region>.amazonaws.com. Needs ctx->sign. On failure
 * returns NULL and frees `inner`. */
struct creds_provider *creds_assume_role_provider_new(const struct creds_ctx *ctx,
                                                      struct creds_provider *inner,
                                                      const struct creds_assume_role_options *opt);

/* Tries `providers` in order until one yields credentials; takes them over (the array itself is
 * copied). When all fail, the error lists each provider and why it failed, "; "-separated, and
 * the chain logs one warning line per provider. Returns NULL on bad input (and frees them). */
struct creds_provider *creds_chain_new(struct creds_provider **providers, size_t n);

/* The SDK default chain: environment, shared files (`profile`), web identity, ECS, IMDS.
 * ctx->http is required (NULL is returned without it). */
struct creds_provider *creds_default_chain_new(const struct creds_ctx *ctx, const char *profile);

/* ---- the cache ---------------------------------------------------------------------------------
 */

struct creds_cache;

/* Called (from the loop) each time a refresh ends: `c` (borrowed) is the new set, or NULL when
 * the refresh failed. Either way creds_cache_next_deadline() has changed: re-arm the timer. */
typedef void (*creds_update_fn)(void *ud, const struct creds *c);

struct creds_cache_status {
    int have;               /* credentials are installed (they may be expired) */
    char source[32];        /* provider name of the current set */
    double expiration;      /* 0 = static */
    double last_refresh;    /* time of the last successful refresh, 0 = never */
    int refreshing;         /* a fetch is in flight */
    int failures;           /* consecutive failed refreshes */
    char last_error[512];   /* error of the last failed refresh, "" after a success */
    char access_key_id[32]; /* redacted */
};

/* Creates the cache in front of `provider` (taken over). Nothing is fetched until the first
 * creds_cache_tick. `on_update` may be NULL; it must not free the cache. ctx->http must be set
 * when the provider uses the network. */
struct creds_cache *creds_cache_new(struct creds_provider *provider, const struct creds_ctx *ctx,
                                    creds_update_fn on_update, void *ud);
/* Cancels any refresh in flight, frees the provider, drops the cache's reference. */
void creds_cache_free(struct creds_cache *cache);

/* Never blocks. Hands out a new reference to the current, unexpired credentials (the caller
 * releases it with creds_release); returns -1 when there are none yet (or they have expired):
 * wait for on_update. */
int creds_cache_get(struct creds_cache *cache, struct creds **out);

/* Starts a refresh when one is due (first use, ahead of expiry, or the backoff after a failure
 * has elapsed). Call at creds_cache_next_deadline(). Callbacks may run before it returns. */
void creds_cache_tick(struct creds_cache *cache);

/* UTC epoch seconds at which creds_cache_tick should next run; a huge value when nothing is
 * scheduled (static credentials, or a refresh in flight). */
double creds_cache_next_deadline(const struct creds_cache *cache);

/* The service rejected the current credentials (ExpiredToken, InvalidClientTokenId...): start
 * one refresh now, unless one is already in flight. From now until a refresh succeeds get()
 * returns -1 (wait for on_update, as for the first fetch): a request signed again with the
 * refused set would only be refused again. Callbacks may run before it returns. */
void creds_cache_invalidate(struct creds_cache *cache);

/* Non-zero when an AWS error code means the credentials themselves were refused, so the
 * sender should call creds_cache_invalidate and retry once: ExpiredToken(Exception),
 * InvalidClientTokenId, UnrecognizedClientException, InvalidToken, TokenRefreshRequired. */
int creds_error_wants_refresh(const char *code);

/* Fills *out for `cwagent status`. */
void creds_cache_status(const struct creds_cache *cache, struct creds_cache_status *out);

/* When the current set should be refreshed: `margin` seconds before expiry where margin is
 * min(300, lifetime / 2) (so 30 s credentials refresh 15 s before expiry). Exposed for tests. */
double creds_refresh_at(double obtained, double expiration);

#endif
