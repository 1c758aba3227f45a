/* plan — what `cwagent alarms`, `dashboard` and `cost` share: their common options, the
 * instance identity (flags, else IMDSv2 and ec2:DescribeTags as `cwagent run` learns it), the
 * configuration loaded with that identity, the series it publishes on this host (agent/series),
 * and blocking signed AWS calls (agent/aws_client over libcurl, the standard credentials chain).
 *
 * Ownership: a plan_env owns everything it opens; plan_env_close frees it.
 */
#ifndef CW_PLAN_H
#define CW_PLAN_H

#include <stddef.h>

#include "agent/aws_client.h"
#include "agent/datum.h"
#include "agent/http_curl.h"
#include "agent/loop.h"
#include "agent/series.h"
#include "config/config.h"
#include "sigv4/creds.h"

#define PLAN_MAX_SOURCES 32

struct plan_args {
    const char *paths[PLAN_MAX_SOURCES];
    size_t npaths;
    const char *instance_id, *instance_type, *image_id, *asg, *region, *root, *host;
    int no_imds;
};

/* Help text for the common options (one line each). */
extern const char plan_common_help[];

/* When argv[*i] is a common option, consumes it (and its value: *i advances) and returns 1;
 * returns 0 when it is not one, -1 (message printed, prefixed with `cmd`) when its value is
 * missing. */
int plan_parse_common(struct plan_args *a, int argc, char **argv, int *i, const char *cmd);

struct plan_env {
    const char *cmd; /* "cwagent alarms", for messages */
    struct cw_config *cfg;
    char host[256]; /* the host dimension value ("" with omit_hostname) */
    char region[64];
    char instance_id[64], instance_type[64], image_id[64], asg[256], account_id[32];
    int have_id;             /* identity from IMDS or --instance-id */
    struct datum_dim ec2[4]; /* global EC2 dimensions the agent adds */
    size_t nec2;
    struct series_set *series; /* NULL until plan_env_open with want_series */
    struct cw_loop *loop;
    struct cw_http_curl *curl;
    struct cw_http_transport http;
    struct creds_ctx cctx;
    struct creds_cache *creds;
    struct cw_clock_skew skew;
    char sts[512];
};

/* Learns the identity, loads the configuration and (want_series) collects the series. Returns
 * the exit status: 0, 1 (runtime failure) or 2 (configuration or usage error), messages on
 * stderr. plan_env_close must be called either way. */
int plan_env_open(struct plan_env *e, const struct plan_args *a, int want_series, const char *cmd);
void plan_env_close(struct plan_env *e);

/* An id for names: the instance id when known, else the host name, else "host". */
const char *plan_env_id(const struct plan_env *e);

/* A client for `service` (signing name) at its endpoint (`env_name` for AWS_ENDPOINT_URL_<X>,
 * `override` from the configuration); sets up credentials on first use. NULL on failure
 * (message printed). Free with aws_client_free before plan_env_close. */
struct aws_client *plan_client(struct plan_env *e, const char *service, const char *env_name,
                               const char *override);

/* The outcome of one blocking call; body is malloc'd (NUL-terminated). */
struct plan_result {
    int ok;
    long status;
    char code[96];
    char message[512];
    char *body;
    size_t body_len;
};

/* Runs one call to completion (retries per the client's policy). `target` is the X-Amz-Target
 * for JSON 1.0, NULL for the query protocol. Returns 0 when the call got an answer (look at
 * r->ok), -1 when it could not be started or timed out. Free r with plan_result_free. */
int plan_call(struct plan_env *e, struct aws_client *c, const char *target, const char *body,
              struct plan_result *r);
void plan_result_free(struct plan_result *r);

#endif
