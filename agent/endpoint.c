#include "agent/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cw_endpoint_for(const char *prefix, const char *env_name, const char *region,
                    const char *override, char *out, size_t outlen)
{
    if (override && *override)
        return put(out, outlen, override);
    char var[64];
    snprintf(var, sizeof var, "AWS_ENDPOINT_URL_%s", env_name);
    const char *env = getenv(var);
    if (!env || !*env)
        env = getenv("AWS_ENDPOINT_URL");
    if (env && *env)
        return put(out, outlen, env);
    if (!region || !*region)
        return -1;
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    int n = snprintf(out, outlen, "https://%s.%s.%s", prefix, region, suffix);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
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
