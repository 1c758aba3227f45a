#include "common/http.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

const char *cw_http_response_header(const struct cw_http_response *resp, const char *name,
                                    char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    if (!resp->headers || outlen == 0)
        return NULL;
    for (size_t i = 0; i < resp->nheaders && resp->headers[i]; i++) {
        const char *h = resp->headers[i];
        if (strncasecmp(h, name, nlen) != 0 || h[nlen] != ':')
            continue;
        const char *v = h + nlen + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vlen = strlen(v);
        while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t' || v[vlen - 1] == '\r' ||
                        v[vlen - 1] == '\n'))
            vlen--;
        if (vlen >= outlen)
            vlen = outlen - 1;
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return out;
    }
    return NULL;
}

int cw_http_url_cleartext_remote(const char *url)
{
    if (!url || strncasecmp(url, "http://", 7) != 0)
        return 0;
    const char *h = url + 7;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n); /* userinfo */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    char host[256];
    if (h[0] == '[') {
        const char *end = memchr(h, ']', n);
        n = end ? (size_t)(end - h) + 1 : n;
    } else {
        const char *colon = memchr(h, ':', n);
        n = colon ? (size_t)(colon - h) : n;
    }
    if (n == 0 || n >= sizeof host)
        return 1;
    memcpy(host, h, n);
    host[n] = '\0';
    struct in_addr a4;
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
        (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127))
        return 0;
    return 1;
}
