#include "common/http.h"

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
