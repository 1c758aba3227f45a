/* creds_http — the cancellable HTTP call, URL splitting, form encoding and the STS response
 * parser shared by the network providers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"
#include "sigv4/xml.h"

struct creds_http_call {
    creds_http_cb cb;
    void *owner;
    int cancelled;
};

static void call_done(void *ud, const struct cw_http_response *resp)
{
    struct creds_http_call *call = ud;
    if (!call->cancelled)
        call->cb(call->owner, resp);
    free(call);
}

struct creds_http_call *creds_http_start(const struct cw_http_transport *http,
                                         const struct cw_http_request *req, creds_http_cb cb,
                                         void *owner)
{
    struct creds_http_call *call = calloc(1, sizeof *call);
    if (!call || !http || !http->submit)
        goto fail;
    call->cb = cb;
    call->owner = owner;
    struct cw_http_request r = *req;
    r.secret = 1; /* tokens and credentials: the transport wipes what it received */
    if (http->submit(http->impl, &r, call_done, call) != 0)
        goto fail;
    return call;
fail:
    free(call);
    return NULL;
}

void creds_http_cancel(struct creds_http_call *call)
{
    if (call)
        call->cancelled = 1;
}

int creds_http_transient(const struct cw_http_response *resp)
{
    switch (resp->error) {
    case CW_HTTP_OK:
        return resp->status >= 500;
    case CW_HTTP_ETIMEDOUT:
    case CW_HTTP_ECONNECT:
    case CW_HTTP_ECONNRESET:
        return 1;
    default:
        return 0;
    }
}

int creds_url_parse(const char *url, struct creds_url *out)
{
    memset(out, 0, sizeof *out);
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || (size_t)(sep - url) >= sizeof out->scheme)
        return -1;
    memcpy(out->scheme, url, (size_t)(sep - url));
    const char *h = sep + 3, *hend;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend)
            return -1;
        h++;
    } else {
        hend = h + strcspn(h, ":/?#");
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= sizeof out->host)
        return -1;
    memcpy(out->host, h, hl);
    const char *p = *hend == ']' ? hend + 1 : hend;
    if (*p == ':') {
        long port = 0;
        for (p++; *p >= '0' && *p <= '9' && port <= 65535; p++)
            port = port * 10 + (*p - '0');
        if (port <= 0 || port > 65535)
            return -1;
        out->port = (int)port;
    }
    if (*p && *p != '/' && *p != '?')
        return -1;
    out->path = *p ? p : "/";
    return 0;
}

int creds_form_append(struct cw_buf *b, const char *key, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    if (b->len && cw_buf_append_char(b, '&') != 0)
        return -1;
    if (cw_buf_append_str(b, key) != 0 || cw_buf_append_char(b, '=') != 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (cw_buf_append(b, plain ? (const char *)p : enc, plain ? 1 : 3) != 0)
            return -1;
    }
    return 0;
}

void creds_sts_endpoint(const struct creds_ctx *ctx, char *url, size_t urllen, char *region,
                        size_t regionlen)
{
    const char *r = ctx->region;
    if (!r || !*r)
        r = creds_getenv(ctx, "AWS_REGION");
    if (!r)
        r = creds_getenv(ctx, "AWS_DEFAULT_REGION");
    if (!r)
        r = "us-east-1";
    snprintf(region, regionlen, "%s", r);
    if (ctx->sts_endpoint && *ctx->sts_endpoint) {
        snprintf(url, urllen, "%s", ctx->sts_endpoint);
        size_t n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
            url[--n] = '\0';
    } else {
        snprintf(url, urllen, "https://sts.%s.amazonaws.com%s", r,
                 strncmp(r, "cn-", 3) == 0 ? ".cn" : "");
    }
}

/* Copies one element's text into a fresh heap string (sized to the element). */
static char *xml_dup(const char *doc, size_t len, const char *name)
{
    const char *c;
    size_t n;
    if (xml_find(doc, len, name, &c, &n) != 0)
        return NULL;
    char *out = malloc(n + 1);
    if (out && xml_text(c, n, out, n + 1) != 0) {
        explicit_bzero(out, n + 1);
        free(out);
        return NULL;
    }
    return out;
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static void sts_error(const struct cw_http_response *resp, char *err, size_t errlen)
{
    char code[96] = "", msg[200] = "", line[160];
    if (resp->error != CW_HTTP_OK) {
        creds_fmt(err, errlen, "STS request failed: %s",
                  resp->error_msg ? resp->error_msg : "transport error");
        return;
    }
    const char *b = resp->body ? resp->body : "";
    xml_get(b, resp->body_len, "Code", code, sizeof code);
    xml_get(b, resp->body_len, "Message", msg, sizeof msg);
    creds_first_line(msg, strlen(msg), line, sizeof line);
    if (*code)
        creds_fmt(err, errlen, "STS HTTP %ld %s: %s", resp->status, code, line);
    else
        creds_fmt(err, errlen, "STS HTTP %ld (no error document)", resp->status);
}

struct creds *creds_sts_parse(const struct cw_http_response *resp, const char *provider, char *err,
                              size_t errlen)
{
    if (resp->error != CW_HTTP_OK || resp->status != 200) {
        sts_error(resp, err, errlen);
        return NULL;
    }
    if (resp->body_len > CREDS_MAX_STS_BODY) {
        creds_fmt(err, errlen, "STS response larger than %d bytes", CREDS_MAX_STS_BODY);
        return NULL;
    }
    const char *cred;
    size_t clen;
    if (!resp->body || xml_find(resp->body, resp->body_len, "Credentials", &cred, &clen) != 0) {
        creds_fmt(err, errlen, "STS response has no complete <Credentials> element");
        return NULL;
    }
    char *akid = xml_dup(cred, clen, "AccessKeyId");
    char *secret = xml_dup(cred, clen, "SecretAccessKey");
    char *token = xml_dup(cred, clen, "SessionToken");
    char *exp = xml_dup(cred, clen, "Expiration");
    double expiration = 0;
    struct creds *c = NULL;
    if (!akid || !*akid || !secret || !*secret || !token || !*token || !exp)
        creds_fmt(err, errlen, "STS <Credentials> lacks %s",
                  !akid || !*akid       ? "AccessKeyId"
                  : !secret || !*secret ? "SecretAccessKey"
                  : !token || !*token   ? "SessionToken"
                                        : "Expiration");
    else if (creds_parse_time(exp, &expiration) != 0)
        creds_fmt(err, errlen, "STS returned an unparseable Expiration \"%.40s\"", exp);
    else if (!(c = creds_new(akid, secret, token, expiration, provider)))
        creds_fmt(err, errlen, "out of memory");
    free_secret(akid);
    free_secret(secret);
    free_secret(token);
    free(exp);
    return c;
}
