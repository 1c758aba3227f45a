/* endpoint — where each AWS service is reached: an explicit override (config
 * endpoint_override), else the SDKs' AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL environment
 * variables, else the service's endpoint in the region's partition as the SDKs' endpoint rules
 * resolve it (aws-api-contract.md §9; botocore's endpoint-rule-set-1.json is the judge in
 * tests/e2e/test_net_endpoints.py):
 *
 *   partition    region          DNS suffix           dual-stack suffix
 *   aws          (all others)    amazonaws.com        api.aws
 *   aws-cn       cn-*            amazonaws.com.cn     api.amazonwebservices.com.cn
 *   aws-us-gov   us-gov-*        amazonaws.com        api.aws
 *   aws-iso      us-iso-*        c2s.ic.gov           (none)
 *   aws-iso-b    us-isob-*       sc2s.sgov.gov        (none)
 *
 *   standard   https://<prefix>.<region>.<suffix>
 *   FIPS       https://<prefix>-fips.<region>.<suffix>; in aws-us-gov, where the regional
 *              endpoints of these five services are FIPS endpoints, https://<prefix>.<region>...
 *   dual-stack https://<prefix>[-fips].<region>.<dual-stack suffix>
 *
 * FIPS: AWS_USE_FIPS_ENDPOINT=true. Dual-stack: AWS_USE_DUALSTACK_ENDPOINT=true or the config's
 * agent.use_dualstack_endpoint. An override (config or AWS_ENDPOINT_URL*) always wins. */
#ifndef CW_ENDPOINT_H
#define CW_ENDPOINT_H

#include <stddef.h>

struct cw_endpoint_opts {
    int fips;
    int dualstack;
};

/* Sets fips / dualstack from AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT ("true", any
 * case) in the process environment; members already set stay set. */
void cw_endpoint_opts_from_env(struct cw_endpoint_opts *o);

/* The partition name of `region` ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"). */
const char *cw_endpoint_partition(const char *region);

/* `prefix` is the endpoint prefix ("monitoring", "logs", "sts", "ec2", "ssm"); `env_name` the
 * SDK's service id for the environment variable ("CLOUDWATCH", "CLOUDWATCH_LOGS", "STS",
 * "EC2", "SSM"). `override` may be NULL; `o` NULL means cw_endpoint_opts_from_env. Writes the
 * base URL (no trailing slash) into out. Returns 0, or -1 when it does not fit, the region is
 * missing, or dual-stack is asked for in a partition without it; `err` (may be NULL) says
 * which. */
int cw_endpoint_resolve(const char *prefix, const char *env_name, const char *region,
                        const char *override, const struct cw_endpoint_opts *o, char *out,
                        size_t outlen, char *err, size_t errlen);

/* cw_endpoint_resolve with the options from the environment and no error text. */
int cw_endpoint_for(const char *prefix, const char *env_name, const char *region,
                    const char *override, char *out, size_t outlen);
/* 1 when region looks like an AWS region name ([a-z0-9-]{1,64}), else 0. */
int cw_region_valid(const char *region);
/* Logs a warning when url is plain http:// to a host that is not loopback (from the config or
 * AWS_ENDPOINT_URL*): signed requests and session tokens would travel in clear text. */
void cw_endpoint_warn_cleartext(const char *what, const char *url);

#endif
