/* proxy — which HTTP proxy, if any, a request goes through.
 *
 * Settings come from common-config.toml's [proxy] (config/commonconfig.h), else from the
 * standard environment variables as the AWS SDKs read them: HTTPS_PROXY / https_proxy for
 * https:// URLs, HTTP_PROXY / http_proxy for http:// URLs, NO_PROXY / no_proxy (upper case
 * first; ALL_PROXY is not read). A proxy without a scheme is http://.
 *
 * NO_PROXY: entries separated by commas or blanks; "*" bypasses every host; a name matches
 * that host and every host below it ("example.com" and ".example.com" both match
 * "a.example.com" and "example.com"); an IP address matches itself; a CIDR block
 * ("10.0.0.0/8", "fd00::/8") matches addresses inside it; "host:port" matches that port only.
 *
 * Never proxied, whatever the settings say: the instance metadata service (169.254.169.254,
 * fd00:ec2::254), the ECS and EKS credentials endpoints (169.254.170.2, 169.254.170.23,
 * fd00:ec2::23) and loopback ("localhost", 127.0.0.0/8, ::1) — a proxy must never see an
 * IMDS token or role credentials. */
#ifndef CW_PROXY_H
#define CW_PROXY_H

#include <stddef.h>

struct cw_proxy_settings {
    const char *http_proxy;  /* for http:// URLs; NULL or "" = direct */
    const char *https_proxy; /* for https:// URLs */
    const char *no_proxy;    /* NULL = none */
};

/* Fills `out` (borrowing from `envp`, "NAME=value" strings, NULL-terminated) for the variables
 * that are set and non-empty; members already set are kept (the file wins over the
 * environment). */
void cw_proxy_from_env(struct cw_proxy_settings *out, const char *const *envp);

/* The proxy `url` goes through (borrowed from `s`), or NULL for a direct connection. */
const char *cw_proxy_for_url(const struct cw_proxy_settings *s, const char *url);

/* 1 when `host` (a name or an IP literal, IPv6 with or without brackets) is never proxied:
 * metadata and container-credentials endpoints, and loopback. */
int cw_proxy_host_exempt(const char *host);

/* 1 when `host`:`port` matches the NO_PROXY list `no_proxy` (port 0 = unknown). */
int cw_proxy_no_proxy_match(const char *no_proxy, const char *host, unsigned port);

/* Copies `proxy` into out with its user:password replaced by "***" (for log lines). */
void cw_proxy_redact(const char *proxy, char *out, size_t outlen);

#endif
