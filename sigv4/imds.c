/* imds — the EC2 instance metadata client: IMDSv2 token handling, v1 fallback rules, retries,
 * and the identity fetch. See sigv4/imds.h for the contract. */
#include "sigv4/imds.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "sigv4/creds_internal.h"

#define IMDS_TOKEN_MAX    4096
#define IMDS_TOKEN_SLACK  60  /* renew the token a minute before the service drops it */
#define IMDS_V1_RECHECK   300 /* after a fallback, try for a token again 5 minutes later */
#define IMDS_MAX_ATTEMPTS 2   /* one retry (opt.retries 0) */
#define IMDS_MAX_TAGS     50  /* EC2: at most 50 tags per resource */
#define IMDS_TOKEN_HINT                                                                            \
    "IMDS token request timed out; if this runs in a container, set the instance metadata hop "    \
    "limit to 2"

struct imds_op {
    struct imds_client *client;
    char path[512];
    imds_get_fn done;
    void *ud;
    int attempts;   /* GETs sent */
    int reauth;     /* a 401 already made us fetch a new token */
    int with_token; /* the GET in flight carries a token */
    struct creds_http_call *call;
    struct imds_op *next;          /* in the waiting-for-token queue */
    struct imds_op *lprev, *lnext; /* in the list of live ops */
};

struct ident_state {
    int active, with_tags, step;
    struct imds_identity id;
    char **keys;
    size_t nkeys, key_idx;
    imds_identity_fn done;
    void *ud;
};

struct imds_client {
    struct imds_options opt;
    char endpoint[256];
    char *token;
    double token_expiry;
    double v1_until; /* while now < v1_until, GETs go without a token */
    int token_attempts;
    int hint_logged;
    struct creds_http_call *token_call;
    struct imds_op *waiting; /* queue of ops waiting for the token */
    struct imds_op *live;
    struct ident_state ident;
};

static double client_now(const struct imds_client *c)
{
    struct creds_ctx ctx = {0};
    ctx.now = c->opt.now;
    ctx.now_ud = c->opt.now_ud;
    return creds_now(&ctx);
}

void imds_options_from_env(struct imds_options *opts, const char *const *envp)
{
    struct creds_ctx ctx = {0};
    ctx.envp = envp;
    opts->disabled = creds_env_true(creds_getenv(&ctx, "AWS_EC2_METADATA_DISABLED"));
    opts->v1_disabled = creds_env_true(creds_getenv(&ctx, "AWS_EC2_METADATA_V1_DISABLED"));
    const char *ep = creds_getenv(&ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (ep)
        opts->endpoint = ep;
}

static int max_attempts(const struct imds_client *c)
{
    if (c->opt.retries == IMDS_RETRIES_NONE)
        return 1;
    return c->opt.retries > 0 ? c->opt.retries + 1 : IMDS_MAX_ATTEMPTS;
}

struct imds_client *imds_client_new(const struct imds_options *opts)
{
    if (!opts || !opts->http)
        return NULL;
    struct imds_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->opt = *opts;
    snprintf(c->endpoint, sizeof c->endpoint, "%s",
             opts->endpoint ? opts->endpoint : IMDS_DEFAULT_ENDPOINT);
    size_t n = strlen(c->endpoint);
    while (n > 0 && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = '\0';
    c->opt.endpoint = NULL;
    return c;
}

static void drop_token(struct imds_client *c)
{
    if (c->token) {
        explicit_bzero(c->token, strlen(c->token));
        free(c->token);
        c->token = NULL;
    }
}

static void op_unlink(struct imds_op *op)
{
    struct imds_client *c = op->client;
    if (op->lprev)
        op->lprev->lnext = op->lnext;
    else
        c->live = op->lnext;
    if (op->lnext)
        op->lnext->lprev = op->lprev;
}

void imds_identity_clear(struct imds_identity *id)
{
    for (size_t i = 0; i < id->ntags; i++) {
        free(id->tags[i].key);
        free(id->tags[i].value);
    }
    free(id->tags);
    memset(id, 0, sizeof *id);
}

static void ident_reset(struct ident_state *st)
{
    for (size_t i = 0; i < st->nkeys; i++)
        free(st->keys[i]);
    free(st->keys);
    imds_identity_clear(&st->id);
    memset(st, 0, sizeof *st);
}

void imds_client_free(struct imds_client *c)
{
    if (!c)
        return;
    creds_http_cancel(c->token_call);
    while (c->live) {
        struct imds_op *op = c->live;
        creds_http_cancel(op->call);
        op_unlink(op);
        free(op);
    }
    ident_reset(&c->ident);
    drop_token(c);
    free(c);
}

/* Ends an op: unlinks and frees it, then reports (last: the callback may start new work). */
static void op_finish(struct imds_op *op, long status, const char *body, size_t len,
                      const char *err)
{
    imds_get_fn done = op->done;
    void *ud = op->ud;
    op_unlink(op);
    free(op);
    done(ud, status, body, len, err);
}

static void op_fail(struct imds_op *op, long status, const char *fmt, const char *detail)
{
    char err[CREDS_ERR_MAX];
    creds_fmt(err, sizeof err, fmt, op->path, detail);
    op_finish(op, status, NULL, 0, err);
}

static void get_done(void *owner, const struct cw_http_response *resp);
static void token_start(struct imds_client *c);

/* Sends the op's GET (with the token when there is one). On submit failure reports the error. */
static void op_send(struct imds_op *op)
{
    struct imds_client *c = op->client;
    char url[1024], tokhdr[IMDS_TOKEN_MAX + 40];
    const char *hdr[] = {NULL, NULL};
    creds_fmt(url, sizeof url, "%s/latest/%s", c->endpoint, op->path);
    op->with_token = c->token != NULL;
    if (c->token)
        hdr[0] = creds_fmt(tokhdr, sizeof tokhdr, "X-aws-ec2-metadata-token: %s", c->token);
    struct cw_http_request req = {.method = "GET",
                                  .url = url,
                                  .headers = hdr,
                                  .timeout_ms = c->opt.timeout_ms ? c->opt.timeout_ms : 2000,
                                  .connect_timeout_ms =
                                      c->opt.connect_timeout_ms ? c->opt.connect_timeout_ms : 1000,
                                  .max_response = IMDS_MAX_BODY,
                                  .secret = 1};
    op->attempts++;
    op->call = creds_http_start(c->opt.http, &req, get_done, op);
    explicit_bzero(tokhdr, sizeof tokhdr);
    if (!op->call)
        op_fail(op, 0, "GET /latest/%s: %s", "cannot submit the request");
}

/* Routes an op: straight to a GET when a token (or v1 mode) is at hand, else to the queue. */
static void op_dispatch(struct imds_op *op)
{
    struct imds_client *c = op->client;
    double now = client_now(c);
    if (c->token && now >= c->token_expiry)
        drop_token(c);
    if (c->token || (!c->opt.v1_disabled && now < c->v1_until)) {
        op_send(op);
        return;
    }
    op->next = c->waiting;
    c->waiting = op;
    if (!c->token_call) {
        c->token_attempts = 0;
        token_start(c);
    }
}

static void get_done(void *owner, const struct cw_http_response *resp)
{
    struct imds_op *op = owner;
    struct imds_client *c = op->client;
    char detail[200];
    op->call = NULL;
    int transient = creds_http_transient(resp);
    if (transient && op->attempts < max_attempts(c)) {
        op_send(op);
        return;
    }
    if (resp->error == CW_HTTP_OK && resp->status == 401 && !op->reauth) {
        /* The token expired or v1 is refused: get a (new) token and try once more. */
        op->reauth = 1;
        drop_token(c);
        c->v1_until = 0;
        op_dispatch(op);
        return;
    }
    if (resp->error != CW_HTTP_OK) {
        op_fail(op, 0, "GET /latest/%s: %s", resp->error_msg ? resp->error_msg : "transport error");
        return;
    }
    if (resp->status != 200) {
        /* A 401 to a tokenless GET: v1 was tried because no token came, and v1 is refused. */
        op_fail(op, resp->status, "GET /latest/%s: HTTP %s",
                creds_fmt(detail, sizeof detail, "%ld%s", resp->status,
                          resp->status == 401 && !op->with_token
                              ? " to an IMDSv1 request (no IMDSv2 token could be obtained, and "
                                "the instance requires one)"
                              : ""));
        return;
    }
    op_finish(op, 200, resp->body ? resp->body : "", resp->body_len, NULL);
}

/* Takes the queue, in arrival order. */
static struct imds_op *take_waiting(struct imds_client *c)
{
    struct imds_op *rev = NULL, *op = c->waiting;
    c->waiting = NULL;
    while (op) {
        struct imds_op *next = op->next;
        op->next = rev;
        rev = op;
        op = next;
    }
    return rev;
}

static void release_waiting(struct imds_client *c, const char *err)
{
    struct imds_op *op = take_waiting(c);
    while (op) {
        struct imds_op *next = op->next;
        if (err)
            op_fail(op, 0, "GET /latest/%s: %s", err);
        else
            op_send(op);
        op = next;
    }
}

static int token_status_falls_back(const struct cw_http_response *resp)
{
    if (resp->error == CW_HTTP_ETIMEDOUT)
        return 1;
    return resp->error == CW_HTTP_OK &&
           (resp->status == 403 || resp->status == 404 || resp->status == 405);
}

static void token_fallback(struct imds_client *c, const struct cw_http_response *resp)
{
    char err[200];
    if (resp->error == CW_HTTP_ETIMEDOUT && !c->hint_logged) {
        c->hint_logged = 1;
        cw_warn("imds", IMDS_TOKEN_HINT);
    }
    if (c->opt.v1_disabled) {
        creds_fmt(err, sizeof err, "IMDSv2 token request %s and IMDSv1 is disabled",
                  resp->error == CW_HTTP_ETIMEDOUT ? "timed out" : "was refused");
        release_waiting(c, err);
        return;
    }
    cw_debug("imds", "no IMDSv2 token (HTTP %ld); falling back to IMDSv1", resp->status);
    c->v1_until = client_now(c) + IMDS_V1_RECHECK;
    release_waiting(c, NULL);
}

static int token_store(struct imds_client *c, const struct cw_http_response *resp)
{
    size_t n = resp->body_len;
    while (n &&
           (resp->body[n - 1] == '\n' || resp->body[n - 1] == '\r' || resp->body[n - 1] == ' '))
        n--;
    if (n == 0 || n >= IMDS_TOKEN_MAX || memchr(resp->body, '\n', n) || memchr(resp->body, '\r', n))
        return -1;
    c->token = strndup(resp->body, n);
    if (!c->token)
        return -1;
    c->token_expiry = client_now(c) + IMDS_TOKEN_TTL_SECONDS - IMDS_TOKEN_SLACK;
    return 0;
}

static void token_done(void *owner, const struct cw_http_response *resp)
{
    struct imds_client *c = owner;
    char err[200];
    c->token_call = NULL;
    if (resp->error == CW_HTTP_OK && resp->status == 200) {
        release_waiting(c, token_store(c, resp) == 0 ? NULL : "IMDS returned an unusable token");
        return;
    }
    if (token_status_falls_back(resp)) {
        token_fallback(c, resp);
        return;
    }
    int transient = creds_http_transient(resp);
    if (transient && c->token_attempts < max_attempts(c)) {
        token_start(c);
        return;
    }
    if (resp->error != CW_HTTP_OK)
        creds_fmt(err, sizeof err, "IMDSv2 token request failed: %s",
                  resp->error_msg ? resp->error_msg : "transport error");
    else
        creds_fmt(err, sizeof err, "IMDSv2 token request failed: HTTP %ld", resp->status);
    release_waiting(c, err);
}

static void token_start(struct imds_client *c)
{
    char url[512], ttl[64];
    creds_fmt(url, sizeof url, "%s/latest/api/token", c->endpoint);
    creds_fmt(ttl, sizeof ttl, "X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_SECONDS);
    const char *hdr[] = {ttl, NULL};
    struct cw_http_request req = {.method = "PUT",
                                  .url = url,
                                  .headers = hdr,
                                  .timeout_ms = c->opt.timeout_ms ? c->opt.timeout_ms : 2000,
                                  .connect_timeout_ms =
                                      c->opt.connect_timeout_ms ? c->opt.connect_timeout_ms : 1000,
                                  .max_response = IMDS_TOKEN_MAX,
                                  .secret = 1};
    c->token_attempts++;
    c->token_call = creds_http_start(c->opt.http, &req, token_done, c);
    if (!c->token_call)
        release_waiting(c, "cannot submit the IMDSv2 token request");
}

int imds_get(struct imds_client *c, const char *path, imds_get_fn done, void *ud)
{
    char err[CREDS_ERR_MAX];
    if (c->opt.disabled) {
        done(ud, 0, NULL, 0,
             creds_fmt(err, sizeof err, "IMDS is disabled (AWS_EC2_METADATA_DISABLED=true)"));
        return 0;
    }
    struct imds_op *op = calloc(1, sizeof *op);
    if (!op || strlen(path) >= sizeof op->path) {
        free(op);
        done(ud, 0, NULL, 0, op ? "IMDS path too long" : "out of memory");
        return 0;
    }
    op->client = c;
    snprintf(op->path, sizeof op->path, "%s", path);
    op->done = done;
    op->ud = ud;
    op->lnext = c->live;
    if (c->live)
        c->live->lprev = op;
    c->live = op;
    op_dispatch(op);
    return 0;
}

/* ---- the identity fetch ---- */

enum { IDENT_DOC, IDENT_HOSTNAME, IDENT_LOCAL_HOSTNAME, IDENT_TAG_KEYS, IDENT_TAG_VALUES };

static void ident_next(struct imds_client *c);

static void ident_finish(struct imds_client *c, const char *err)
{
    struct ident_state *st = &c->ident;
    struct imds_identity id = st->id;
    imds_identity_fn done = st->done;
    void *ud = st->ud;
    memset(&st->id, 0, sizeof st->id);
    ident_reset(st);
    done(ud, err ? NULL : &id, err);
    imds_identity_clear(&id);
}

static void copy_json_str(json_t *o, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
}

static int ident_parse_doc(struct imds_identity *id, const char *body, size_t len, char *err,
                           size_t el)
{
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(o)) {
        creds_fmt(err, el, "identity document: malformed JSON: %.100s",
                  o ? "not an object" : jerr.text);
        json_decref(o);
        return -1;
    }
    copy_json_str(o, "instanceId", id->instance_id, sizeof id->instance_id);
    copy_json_str(o, "instanceType", id->instance_type, sizeof id->instance_type);
    copy_json_str(o, "imageId", id->image_id, sizeof id->image_id);
    copy_json_str(o, "region", id->region, sizeof id->region);
    copy_json_str(o, "availabilityZone", id->availability_zone, sizeof id->availability_zone);
    copy_json_str(o, "privateIp", id->private_ip, sizeof id->private_ip);
    copy_json_str(o, "accountId", id->account_id, sizeof id->account_id);
    json_decref(o);
    if (!*id->instance_id || !*id->region) {
        creds_fmt(err, el, "identity document lacks %s",
                  *id->instance_id ? "region" : "instanceId");
        return -1;
    }
    return 0;
}

static void copy_line(char *out, size_t outlen, const char *body, size_t len)
{
    creds_first_line(body, len, out, outlen);
}

static int tag_key_ok(const char *k, size_t n)
{
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("+-=._:@", ch)))
            return 0;
    }
    return 1;
}

static int ident_parse_keys(struct ident_state *st, const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    while (p < end && st->nkeys < IMDS_MAX_TAGS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t k = n;
        while (k && p[k - 1] == '\r')
            k--;
        if (tag_key_ok(p, k)) {
            if (!st->keys && !(st->keys = calloc(IMDS_MAX_TAGS, sizeof *st->keys)))
                return -1;
            if (!(st->keys[st->nkeys] = strndup(p, k)))
                return -1;
            st->nkeys++;
        } else if (k) {
            cw_debug("imds", "skipping instance tag key with unusual characters");
        }
        p += n + 1;
    }
    return 0;
}

static int ident_add_tag(struct ident_state *st, const char *body, size_t len)
{
    struct imds_identity *id = &st->id;
    if (!id->tags && !(id->tags = calloc(IMDS_MAX_TAGS, sizeof *id->tags)))
        return -1;
    char *key = strdup(st->keys[st->key_idx]);
    char *val = strndup(body, len);
    if (!key || !val) {
        free(key);
        free(val);
        return -1;
    }
    id->tags[id->ntags].key = key;
    id->tags[id->ntags].value = val;
    id->ntags++;
    return 0;
}

static void ident_got(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct imds_client *c = ud;
    struct ident_state *st = &c->ident;
    char why[CREDS_ERR_MAX];
    int rc = 0;
    switch (st->step) {
    case IDENT_DOC:
        if (err) {
            ident_finish(c, creds_fmt(why, sizeof why, "identity document: %s", err));
            return;
        }
        if (ident_parse_doc(&st->id, body, len, why, sizeof why) != 0) {
            ident_finish(c, why);
            return;
        }
        break;
    case IDENT_HOSTNAME:
        if (!err)
            copy_line(st->id.hostname, sizeof st->id.hostname, body, len);
        break;
    case IDENT_LOCAL_HOSTNAME:
        if (!err)
            copy_line(st->id.local_hostname, sizeof st->id.local_hostname, body, len);
        break;
    case IDENT_TAG_KEYS:
        if (err && status != 404)
            cw_warn("imds", "instance tags: %s", err);
        rc = err ? 0 : ident_parse_keys(st, body, len);
        break;
    default:
        if (!err)
            rc = ident_add_tag(st, body, len);
        st->key_idx++;
        break;
    }
    if (rc != 0) {
        ident_finish(c, "out of memory");
        return;
    }
    if (st->step < IDENT_TAG_VALUES)
        st->step++;
    ident_next(c);
}

static void ident_next(struct imds_client *c)
{
    struct ident_state *st = &c->ident;
    char path[256];
    switch (st->step) {
    case IDENT_DOC:
        imds_get(c, "dynamic/instance-identity/document", ident_got, c);
        return;
    case IDENT_HOSTNAME:
        imds_get(c, "meta-data/hostname", ident_got, c);
        return;
    case IDENT_LOCAL_HOSTNAME:
        imds_get(c, "meta-data/local-hostname", ident_got, c);
        return;
    case IDENT_TAG_KEYS:
        if (st->with_tags) {
            imds_get(c, "meta-data/tags/instance", ident_got, c);
            return;
        }
        break;
    default:
        if (st->key_idx < st->nkeys) {
            creds_fmt(path, sizeof path, "meta-data/tags/instance/%s", st->keys[st->key_idx]);
            imds_get(c, path, ident_got, c);
            return;
        }
        break;
    }
    ident_finish(c, NULL);
}

int imds_identity_fetch(struct imds_client *c, int with_tags, imds_identity_fn done, void *ud)
{
    if (c->ident.active)
        return -1;
    c->ident.active = 1;
    c->ident.with_tags = with_tags;
    c->ident.done = done;
    c->ident.ud = ud;
    c->ident.step = IDENT_DOC;
    ident_next(c);
    return 0;
}
