/* imds — an asynchronous client for the EC2 instance metadata service.
 *
 * IMDSv2 first: PUT /latest/api/token (TTL 21600 s), then GETs with X-aws-ec2-metadata-token.
 * The token is cached until shortly before its TTL ends. IMDSv1 (GETs without a token) is used
 * only when the token PUT answers 403, 404 or 405 or times out, and never when v1 is disabled
 * (AWS_EC2_METADATA_V1_DISABLED=true). Any other token failure (400, 401, 5xx, connection
 * refused) fails the request. A token timeout logs the container hop-limit hint once.
 * Each HTTP exchange has short timeouts (1 s connect, 2 s total) and one retry on a transport
 * error or a 5xx; a 401 on a GET drops the token and retries once with a fresh one.
 *
 * Everything is borrowed from the options (transport, clock) and must outlive the client.
 */
#ifndef CW_IMDS_H
#define CW_IMDS_H

#include <stddef.h>

#include "common/http.h"

#define IMDS_DEFAULT_ENDPOINT  "http://169.254.169.254"
#define IMDS_TOKEN_TTL_SECONDS 21600 /* D-IMDSV2: at most six hours; the SDKs ask for 21600 */
#define IMDS_MAX_BODY          65536 /* metadata values and documents are small */

struct imds_options {
    const struct cw_http_transport *http; /* required */
    const char *endpoint;                 /* NULL = IMDS_DEFAULT_ENDPOINT; copied */
    int disabled;                         /* AWS_EC2_METADATA_DISABLED=true */
    int v1_disabled;                      /* AWS_EC2_METADATA_V1_DISABLED=true */
    double (*now)(void *ud);              /* NULL = the system clock */
    void *now_ud;
    long connect_timeout_ms; /* 0 = 1000 */
    long timeout_ms;         /* 0 = 2000 */
    int retries; /* retries of a transient failure (common-config.toml [imds] imds_retries):
                    0 = the reference's default of 1, IMDS_RETRIES_NONE = none */
};
#define IMDS_RETRIES_NONE (-1)

/* Fills opts from an environment ("NAME=value" array, NULL-terminated, may be NULL):
 * AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_V1_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT.
 * Leaves http/now/timeouts as they are. The endpoint string is borrowed from envp. */
void imds_options_from_env(struct imds_options *opts, const char *const *envp);

struct imds_client;

/* Returns NULL when opts->http is missing or memory is exhausted. */
struct imds_client *imds_client_new(const struct imds_options *opts);
/* Cancels the requests in flight: their callbacks are never called. NULL is a no-op. */
void imds_client_free(struct imds_client *client);

/* `body` (NUL-terminated, borrowed for the call) is set when err is NULL; otherwise err is a
 * one-line reason and `status` the HTTP status (0 for a transport error). */
typedef void (*imds_get_fn)(void *ud, long status, const char *body, size_t len, const char *err);

/* GETs /latest/<path> (e.g. "meta-data/instance-id"). `done` is called exactly once, later
 * (or at once, before the call returns, when the client is disabled or the request cannot be
 * submitted). Returns 0. Do not free the client from inside one of its callbacks. */
int imds_get(struct imds_client *client, const char *path, imds_get_fn done, void *ud);

/* What the agent needs for dimensions and placeholders. Strings are "" when unknown. */
struct imds_tag {
    char *key;
    char *value;
};

struct imds_identity {
    char instance_id[64];
    char instance_type[64];
    char image_id[64];
    char region[32];
    char availability_zone[32];
    char private_ip[64];
    char account_id[32];
    char hostname[256];
    char local_hostname[256];
    struct imds_tag *tags; /* owned; freed by imds_identity_clear */
    size_t ntags;
};

void imds_identity_clear(struct imds_identity *id);

/* `id` is borrowed for the call (copy what you keep); err is NULL on success. */
typedef void (*imds_identity_fn)(void *ud, const struct imds_identity *id, const char *err);

/* Reads the identity document (instance id, type, image, region, zone, private IP, account),
 * hostname and local-hostname, and, when `with_tags`, the instance tags (tags/instance listing,
 * then each key; a 404 listing means tags are not enabled and yields no tags, not an error).
 * The document is required; the other parts are optional. One fetch per client at a time.
 * Returns 0, or -1 (and `done` is not called) when a fetch is already running. */
int imds_identity_fetch(struct imds_client *client, int with_tags, imds_identity_fn done, void *ud);

#endif
