#include "agent/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* botocore/data/partitions.json: the region patterns and DNS suffixes of each partition. */
static const struct partition {
    const char *name;
    const char *region_prefix; /* NULL: the default partition */
    const char *suffix;
    const char *dualstack_suffix; /* NULL: no dual-stack endpoints */
    int regional_is_fips;         /* the regional endpoints are FIPS endpoints */
} partitions[] = {
    {"aws-iso-b", "us-isob-", "sc2s.sgov.gov", NULL, 0},
    {"aws-iso", "us-iso-", "c2s.ic.gov", NULL, 0},
    {"aws-us-gov", "us-gov-", "amazonaws.com", "api.aws", 1},
    {"aws-cn", "cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn", 0},
    {"aws", NULL, "amazonaws.com", "api.aws", 0},
};

static const struct partition *partition_of(const char *region)
{
    size_t i = 0;
    for (; partitions[i].region_prefix; i++)
        if (strncmp(region, partitions[i].region_prefix, strlen(partitions[i].region_prefix)) == 0)
            break;
    return &partitions[i];
}

const char *cw_endpoint_partition(const char *region)
{
    return partition_of(region ? region : "")->name;
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcasecmp(v, "true") == 0;
}

void cw_endpoint_opts_from_env(struct cw_endpoint_opts *o)
{
    o->fips |= env_true("AWS_USE_FIPS_ENDPOINT");
    o->dualstack |= env_true("AWS_USE_DUALSTACK_ENDPOINT");
}

#include "common/http.h"
#include "common/log.h"

static int put(char *out, size_t outlen, const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, url, n);
    out[n] = '\0';
    return 0;
}

static int say(char *err, size_t errlen, const char *msg, const char *arg)
{
    if (err && errlen)
        snprintf(err, errlen, msg, arg);
    return -1;
}

int cw_endpoint_resolve(const char *prefix, const char *env_name, const char *region,
                        const char *override, const struct cw_endpoint_opts *o, char *out,
                        size_t outlen, char *err, size_t errlen)
{
    if (override && *override)
        return put(out, outlen, override) == 0 ? 0 : say(err, errlen, "%s: too long", "override");
    char var[64];
    snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", env_name);
    const char *env = getenv(var);
    if (!env || !*env)
        env = getenv("AWS_ENDPOINT_URL");
    if (env && *env)
        return put(out, outlen, env) == 0 ? 0 : say(err, errlen, "%s: too long", var);
    if (!region || !*region)
        return say(err, errlen, "%s: the region is unknown", prefix);
    if (strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(region) ||
        region[0] == '-')
        return say(err, errlen, "'%s' is not a region name (a-z, 0-9 and '-')", region);
    struct cw_endpoint_opts eo = {0};
    if (o)
        eo = *o;
    else
        cw_endpoint_opts_from_env(&eo);
    const struct partition *p = partition_of(region);
    if (eo.dualstack && !p->dualstack_suffix)
        return say(err, errlen, "dual-stack endpoints are not available in partition %s", p->name);
    const char *suffix = eo.dualstack ? p->dualstack_suffix : p->suffix;
    int fips_name = eo.fips && !(p->regional_is_fips && !eo.dualstack);
    int n = snprintf(out, outlen, "https://%s%s.%s.%s", prefix, fips_name ? "-fips" : "", region,
                     suffix);
    if (n < 0 || (size_t)n >= outlen)
        return say(err, errlen, "%s: the endpoint name is too long", prefix);
    return 0;
}

int cw_endpoint_for(const char *prefix, const char *env_name, const char *region,
                    const char *override, char *out, size_t outlen)
{
    return cw_endpoint_resolve(prefix, env_name, region, override, NULL, out, outlen, NULL, 0);
}

int cw_region_valid(const char *region)
{
    size_t n = region ? strlen(region) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = region[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

void cw_endpoint_warn_cleartext(const char *what, const char *url)
{
    if (cw_http_url_cleartext_remote(url))
        cw_warn("aws",
                "%s endpoint %s is plain http:// to a host that is not loopback: signed requests "
                "and session tokens travel unencrypted; use https://",
                what, url);
}
