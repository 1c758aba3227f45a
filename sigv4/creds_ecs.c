/* creds_ecs — container credentials (ECS task roles, EKS Pod Identity).
 *
 * RELATIVE_URI goes to http://169.254.170.2<uri> and wins over FULL_URI. A FULL_URI must be
 * https, or plain http to a host that cannot be anybody else's: loopback (127.0.0.0/8, ::1,
 * localhost), the ECS host 169.254.170.2 or the EKS Pod Identity hosts 169.254.170.23 and
 * fd00:ec2::23 [aws-api-contract.md section 5]. The authorization token comes from
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (preferred, re-read on every fetch) or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN and is sent verbatim as the Authorization header.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sigv4/creds_internal.h"

#define ECS_HOST         "http://169.254.170.2"
#define ECS_TIMEOUT_MS   5000
#define ECS_MAX_TOKEN    16384
#define ECS_MAX_ATTEMPTS 2

struct ecs_provider {
    struct creds_provider base;
    struct creds_ctx ctx;
    int busy, attempts;
    struct creds_http_call *call;
    char url[2048];
    char *auth_header; /* "Authorization: ..." or NULL */
    creds_done_fn done;
    void *ud;
};

static int host_allowed(const char *host)
{
    unsigned char a[16];
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127 || strcmp(host, "169.254.170.2") == 0 ||
               strcmp(host, "169.254.170.23") == 0;
    if (inet_pton(AF_INET6, host, a) == 1) {
        unsigned char lo[16] = {0}, eks[16];
        lo[15] = 1;
        inet_pton(AF_INET6, "fd00:ec2::23", eks);
        return memcmp(a, lo, 16) == 0 || memcmp(a, eks, 16) == 0;
    }
    return 0;
}

/* Resolves the URL to call into p->url; returns 0, or -1 with err set. */
static int ecs_url(struct ecs_provider *p, char *err, size_t el)
{
    const char *rel = creds_getenv(&p->ctx, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = creds_getenv(&p->ctx, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    struct creds_url u;
    if (rel) {
        const char *host = p->ctx.ecs_endpoint ? p->ctx.ecs_endpoint : ECS_HOST;
        creds_fmt(p->url, sizeof p->url, "%s%s%s", host, rel[0] == '/' ? "" : "/", rel);
        return 0;
    }
    if (!full) {
        creds_fmt(err, el, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set");
        return -1;
    }
    if (creds_url_parse(full, &u) != 0 || strlen(full) >= sizeof p->url) {
        creds_fmt(err, el, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL");
        return -1;
    }
    if (strcasecmp(u.scheme, "https") != 0 &&
        !(strcasecmp(u.scheme, "http") == 0 && host_allowed(u.host))) {
        creds_fmt(err, el,
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI host %.100s is not allowed over %s (only "
                  "https, or http to loopback, 169.254.170.2, 169.254.170.23, fd00:ec2::23)",
                  u.host, u.scheme);
        return -1;
    }
    creds_fmt(p->url, sizeof p->url, "%s", full);
    return 0;
}

/* Builds p->auth_header from the token file or variable; 0, or -1 with err set. */
static int ecs_auth(struct ecs_provider *p, char *err, size_t el)
{
    const char *file = creds_getenv(&p->ctx, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *val = creds_getenv(&p->ctx, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *tok = NULL;
    size_t len = 0;
    if (file) {
        char why[CREDS_ERR_MAX];
        if (!(tok = creds_read_file(file, ECS_MAX_TOKEN, &len, why, sizeof why))) {
            creds_fmt(err, el, "authorization token: %s", why);
            return -1;
        }
        while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' '))
            tok[--len] = '\0';
        val = tok;
    }
    int rc = 0;
    if (val && strpbrk(val, "\r\n")) {
        creds_fmt(err, el, "the container authorization token contains a line break");
        rc = -1;
    } else if (val) {
        size_t n = strlen(val) + 20;
        p->auth_header = malloc(n);
        if (p->auth_header)
            snprintf(p->auth_header, n, "Authorization: %s", val);
        else
            rc = -1;
        if (rc)
            creds_fmt(err, el, "out of memory");
    }
    if (tok) {
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    return rc;
}

static void ecs_finish(struct ecs_provider *p, struct creds *c, const char *err)
{
    creds_done_fn done = p->done;
    void *ud = p->ud;
    p->busy = 0;
    p->call = NULL;
    if (p->auth_header) {
        explicit_bzero(p->auth_header, strlen(p->auth_header));
        free(p->auth_header);
        p->auth_header = NULL;
    }
    done(ud, c, err);
}

static int ecs_submit(struct ecs_provider *p);

static void ecs_http_done(void *owner, const struct cw_http_response *resp)
{
    struct ecs_provider *p = owner;
    char err[CREDS_ERR_MAX], line[CREDS_ERR_MAX + 100], first[160];
    struct creds *c = NULL;
    p->call = NULL;
    int transient = creds_http_transient(resp);
    if (transient && p->attempts < ECS_MAX_ATTEMPTS && ecs_submit(p) == 0)
        return;
    if (resp->error != CW_HTTP_OK) {
        creds_fmt(line, sizeof line, "GET %s: %s", p->url,
                  resp->error_msg ? resp->error_msg : "transport error");
    } else if (resp->status != 200) {
        creds_first_line(resp->body ? resp->body : "", resp->body_len, first, sizeof first);
        creds_fmt(line, sizeof line, "GET %s: HTTP %ld %s", p->url, resp->status, first);
    } else if (!(c = creds_from_json(resp->body, resp->body_len, "ecs", 0, 0, err, sizeof err))) {
        creds_fmt(line, sizeof line, "GET %s: %s", p->url, err);
    }
    ecs_finish(p, c, c ? NULL : line);
}

static int ecs_submit(struct ecs_provider *p)
{
    const char *hdr[] = {"Accept: application/json", p->auth_header, NULL};
    struct cw_http_request req = {.method = "GET",
                                  .url = p->url,
                                  .headers = hdr,
                                  .timeout_ms = ECS_TIMEOUT_MS,
                                  .connect_timeout_ms = 1000,
                                  .max_response = CREDS_MAX_JSON,
                                  .secret = 1};
    p->attempts++;
    p->call = creds_http_start(p->ctx.http, &req, ecs_http_done, p);
    return p->call ? 0 : -1;
}

static void ecs_fetch(struct creds_provider *self, creds_done_fn done, void *ud)
{
    struct ecs_provider *p = (struct ecs_provider *)self;
    char err[CREDS_ERR_MAX];
    if (p->busy) {
        done(ud, NULL, "a fetch is already in flight");
        return;
    }
    p->busy = 1;
    p->done = done;
    p->ud = ud;
    p->attempts = 0;
    if (ecs_url(p, err, sizeof err) != 0 || ecs_auth(p, err, sizeof err) != 0) {
        ecs_finish(p, NULL, err);
        return;
    }
    if (ecs_submit(p) != 0)
        ecs_finish(p, NULL, creds_fmt(err, sizeof err, "cannot submit GET %s", p->url));
}

static void ecs_free(struct creds_provider *self)
{
    struct ecs_provider *p = (struct ecs_provider *)self;
    creds_http_cancel(p->call);
    if (p->auth_header) {
        explicit_bzero(p->auth_header, strlen(p->auth_header));
        free(p->auth_header);
    }
    free(p);
}

struct creds_provider *creds_ecs_provider_new(const struct creds_ctx *ctx)
{
    struct ecs_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base.name = "ecs";
    p->base.fetch = ecs_fetch;
    p->base.free = ecs_free;
    p->ctx = *ctx;
    return &p->base;
}
