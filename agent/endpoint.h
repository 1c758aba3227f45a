/* endpoint — where each AWS service is reached: an explicit override (config
 * endpoint_override), else the SDKs' AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL environment
 * variables, else the regional endpoint of the partition (aws-api-contract.md §9). */
#ifndef CW_ENDPOINT_H
#define CW_ENDPOINT_H

#include <stddef.h>

/* `prefix` is the endpoint prefix ("monitoring", "logs", "sts", "ec2", "ssm"); `env_name` the
 * SDK's service id for the environment variable ("CLOUDWATCH", "CLOUDWATCH_LOGS", "STS",
 * "EC2", "SSM"). `override` may be NULL. Writes the base URL (no trailing slash) into out.
 * Returns 0, or -1 when it does not fit or the region is missing. */
int cw_endpoint_for(const char *prefix, const char *env_name, const char *region,
                    const char *override, char *out, size_t outlen);
/* 1 when region looks like an AWS region name ([a-z0-9-]{1,64}), else 0. */
int cw_region_valid(const char *region);
/* Logs a warning when url is plain http:// to a host that is not loopback (from the config or
 * AWS_ENDPOINT_URL*): signed requests and session tokens would travel in clear text. */
void cw_endpoint_warn_cleartext(const char *what, const char *url);

#endif
