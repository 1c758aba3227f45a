#include "agent/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HOST 256

static const char *env_get(const char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=' && envp[i][n + 1])
            return envp[i] + n + 1;
    return NULL;
}

static void pick(const char **slot, const char *const *envp, const char *upper, const char *lower)
{
    if (*slot && **slot)
        return;
    const char *v = env_get(envp, upper);
    *slot = v ? v : env_get(envp, lower);
}

void cw_proxy_from_env(struct cw_proxy_settings *out, const char *const *envp)
{
    pick(&out->https_proxy, envp, "HTTPS_PROXY", "https_proxy");
    pick(&out->http_proxy, envp, "HTTP_PROXY", "http_proxy");
    pick(&out->no_proxy, envp, "NO_PROXY", "no_proxy");
}

/* Splits scheme://[user@]host[:port]/... ; host without brackets. 0 or -1. */
static int parse_url(const char *url, char *scheme, size_t slen, char *host, unsigned *port)
{
    const char *sep = strstr(url, "://");
    if (!sep || (size_t)(sep - url) >= slen)
        return -1;
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    const char *a = sep + 3, *end = a + strcspn(a, "/?#");
    const char *at = NULL;
    for (const char *q = a; q < end; q++)
        if (*q == '@')
            at = q;
    if (at)
        a = at + 1;
    const char *hend, *rest;
    if (*a == '[') {
        hend = memchr(a, ']', (size_t)(end - a));
        if (!hend)
            return -1;
        a++;
        rest = hend + 1;
    } else {
        hend = memchr(a, ':', (size_t)(end - a));
        if (!hend)
            hend = end;
        rest = hend;
    }
    if (hend <= a || (size_t)(hend - a) >= MAX_HOST)
        return -1;
    memcpy(host, a, (size_t)(hend - a));
    host[hend - a] = '\0';
    *port = strcasecmp(scheme, "https") == 0 ? 443 : 80;
    if (rest < end && *rest == ':' && rest + 1 < end) {
        char *e;
        unsigned long p = strtoul(rest + 1, &e, 10);
        if (e != end || p == 0 || p > 65535)
            return -1;
        *port = (unsigned)p;
    }
    return 0;
}

/* Parses an IP literal (IPv6 with or without brackets) into 16 bytes; *v6 says which family.
 * 0 or -1 (not an IP literal). */
static int parse_ip(const char *s, unsigned char addr[16], int *v6)
{
    char buf[MAX_HOST];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return -1;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        memcpy(buf, s, n + 1);
    }
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *v6 = 0;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *v6 = 1;
        return 0;
    }
    return -1;
}

int cw_proxy_host_exempt(const char *host)
{
    static const char *const fixed[] = {"169.254.169.254", "fd00:ec2::254", "169.254.170.2",
                                        "169.254.170.23", "fd00:ec2::23"};
    unsigned char a[16], b[16];
    int v6, v6b;
    size_t n = strlen(host);
    while (n && host[n - 1] == '.')
        n--;
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        return 1;
    if (n > 10 && strncasecmp(host + n - 10, ".localhost", 10) == 0)
        return 1;
    if (parse_ip(host, a, &v6) != 0)
        return 0;
    if (!v6 && a[0] == 127)
        return 1;
    static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (v6 && memcmp(a, loop6, 16) == 0)
        return 1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (parse_ip(fixed[i], b, &v6b) == 0 && v6 == v6b && memcmp(a, b, v6 ? 16 : 4) == 0)
            return 1;
    return 0;
}

static int cidr_match(const char *entry, const unsigned char ip[16], int ip6)
{
    char net[MAX_HOST];
    const char *slash = strchr(entry, '/');
    size_t n = (size_t)(slash - entry);
    if (n >= sizeof net)
        return 0;
    memcpy(net, entry, n);
    net[n] = '\0';
    unsigned char a[16];
    int v6;
    char *e;
    unsigned long bits = strtoul(slash + 1, &e, 10);
    if (*e || parse_ip(net, a, &v6) != 0 || v6 != ip6 || bits > (v6 ? 128u : 32u))
        return 0;
    for (unsigned i = 0; i < bits; i++) {
        unsigned char m = (unsigned char)(0x80 >> (i % 8));
        if ((a[i / 8] & m) != (ip[i / 8] & m))
            return 0;
    }
    return 1;
}

/* One NO_PROXY entry (already trimmed, without a leading dot) against host/port. */
static int entry_match(const char *entry, const char *host, unsigned port)
{
    char name[MAX_HOST];
    unsigned eport = 0;
    unsigned char ip[16], eip[16];
    int ip6 = 0, e6;
    int is_ip = parse_ip(host, ip, &ip6) == 0;
    if (strchr(entry, '/'))
        return is_ip && cidr_match(entry, ip, ip6);
    snprintf(name, sizeof name, "%s", entry);
    if (name[0] == '[') { /* [v6]:port or [v6] */
        char *rb = strchr(name, ']');
        if (rb && rb[1] == ':')
            eport = (unsigned)strtoul(rb + 2, NULL, 10);
        if (rb)
            rb[1] = '\0';
    } else if (strchr(name, ':') == strrchr(name, ':') && strchr(name, ':')) {
        char *c = strchr(name, ':'); /* one colon: host:port (more: a bare IPv6 address) */
        eport = (unsigned)strtoul(c + 1, NULL, 10);
        *c = '\0';
    }
    if (eport && port && eport != port)
        return 0;
    if (parse_ip(name, eip, &e6) == 0)
        return is_ip && e6 == ip6 && memcmp(eip, ip, ip6 ? 16 : 4) == 0;
    if (is_ip)
        return 0;
    size_t hn = strlen(host), en = strlen(name);
    while (hn && host[hn - 1] == '.')
        hn--;
    while (en && name[en - 1] == '.')
        en--;
    if (en == 0 || en > hn)
        return 0;
    if (strncasecmp(host + hn - en, name, en) != 0)
        return 0;
    return hn == en || host[hn - en - 1] == '.';
}

int cw_proxy_no_proxy_match(const char *no_proxy, const char *host, unsigned port)
{
    if (!no_proxy)
        return 0;
    const char *p = no_proxy;
    while (*p) {
        p += strspn(p, ", \t");
        size_t n = strcspn(p, ", \t");
        if (n == 0)
            break;
        char entry[MAX_HOST];
        if (n < sizeof entry) {
            memcpy(entry, p, n);
            entry[n] = '\0';
            const char *e = entry;
            if (strcmp(e, "*") == 0)
                return 1;
            while (*e == '.' || *e == '*')
                e++; /* ".example.com" and "*.example.com" as "example.com" */
            if (*e && entry_match(e, host, port))
                return 1;
        }
        p += n;
    }
    return 0;
}

const char *cw_proxy_for_url(const struct cw_proxy_settings *s, const char *url)
{
    char scheme[16], host[MAX_HOST];
    unsigned port = 0;
    if (!s || !url || parse_url(url, scheme, sizeof scheme, host, &port) != 0)
        return NULL;
    const char *proxy = strcasecmp(scheme, "https") == 0  ? s->https_proxy
                        : strcasecmp(scheme, "http") == 0 ? s->http_proxy
                                                          : NULL;
    if (!proxy || !*proxy || cw_proxy_host_exempt(host) ||
        cw_proxy_no_proxy_match(s->no_proxy, host, port))
        return NULL;
    return proxy;
}

void cw_proxy_redact(const char *proxy, char *out, size_t outlen)
{
    const char *sep = strstr(proxy, "://");
    const char *a = sep ? sep + 3 : proxy;
    const char *end = a + strcspn(a, "/?#");
    const char *at = NULL;
    for (const char *q = a; q < end; q++)
        if (*q == '@')
            at = q;
    if (!at) {
        snprintf(out, outlen, "%s", proxy);
        return;
    }
    snprintf(out, outlen, "%.*s***%s", (int)(a - proxy), proxy, at);
}
