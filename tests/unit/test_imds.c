/* Unit tests for the IMDS client: IMDSv2 token handling, the IMDSv1 fallback rules, retries,
 * and the identity fetch, against the scripted fake transport. */
#include "sigv4/imds.h"
#include "tests/unit/fake_http.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>

struct got {
    int calls;
    long status;
    char body[4096];
    char err[512];
};

static void got_cb(void *ud, long status, const char *body, size_t len, const char *err)
{
    struct got *g = ud;
    g->calls++;
    g->status = status;
    snprintf(g->body, sizeof g->body, "%.*s", body ? (int)len : 0, body ? body : "");
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

struct fx {
    struct fake_http f;
    struct fake_clock clk;
    struct imds_options o;
    struct imds_client *c;
};

static void fx_init(struct fx *x, int v1_disabled)
{
    memset(x, 0, sizeof *x);
    fake_http_init(&x->f);
    x->clk.t = 1787227200.0;
    x->o.http = &x->f.t;
    x->o.now = fake_clock_now;
    x->o.now_ud = &x->clk;
    x->o.v1_disabled = v1_disabled;
    x->c = imds_client_new(&x->o);
}

static void fx_free(struct fx *x)
{
    imds_client_free(x->c);
    fake_http_free(&x->f);
}

static size_t count_method(const struct fake_http *f, const char *m)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nreqs; i++)
        n += strcmp(f->reqs[i].method, m) == 0;
    return n;
}

TEST(v2_token_then_get)
{
    struct fx x;
    struct got g = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", "/latest/api/token", 200, "AQAEAtoken==\n");
    fake_http_on(&x.f, "GET", "/latest/meta-data/instance-id", 200, "i-0abc");
    fake_http_on(&x.f, "GET", "/latest/meta-data/instance-type", 200, "t3.micro");
    imds_get(x.c, "meta-data/instance-id", got_cb, &g);
    T_EQ_INT(g.calls, 0); /* never inside the call */
    fake_http_run(&x.f);
    T_EQ_INT(g.calls, 1);
    T_EQ_STR(g.body, "i-0abc");
    T_EQ_STR(g.err, "");
    T_EQ_STR(x.f.reqs[0].url, "http://169.254.169.254/latest/api/token");
    T_EQ_STR(fake_req_header(&x.f, 1, "X-aws-ec2-metadata-token"), "AQAEAtoken==");
    /* The token is cached: a second GET needs no PUT. */
    imds_get(x.c, "meta-data/instance-type", got_cb, &g);
    fake_http_run(&x.f);
    T_EQ_STR(g.body, "t3.micro");
    T_EQ_INT(count_method(&x.f, "PUT"), 1);
    /* Near the end of its TTL it is renewed. */
    x.clk.t += IMDS_TOKEN_TTL_SECONDS;
    fake_http_on(&x.f, "PUT", NULL, 200, "NEWTOKEN");
    fake_http_on(&x.f, "GET", NULL, 200, "again");
    imds_get(x.c, "meta-data/instance-id", got_cb, &g);
    fake_http_run(&x.f);
    T_EQ_INT(count_method(&x.f, "PUT"), 2);
    T_EQ_STR(fake_req_header(&x.f, x.f.nreqs - 1, "X-aws-ec2-metadata-token"), "NEWTOKEN");
    fx_free(&x);
}

TEST(concurrent_gets_share_one_token_request)
{
    struct fx x;
    struct got g1 = {0}, g2 = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", NULL, 200, "TOK");
    fake_http_on(&x.f, "GET", "/a", 200, "A");
    fake_http_on(&x.f, "GET", "/b", 200, "B");
    imds_get(x.c, "meta-data/a", got_cb, &g1);
    imds_get(x.c, "meta-data/b", got_cb, &g2);
    fake_http_run(&x.f);
    T_EQ_STR(g1.body, "A");
    T_EQ_STR(g2.body, "B");
    T_EQ_INT(count_method(&x.f, "PUT"), 1);
    fx_free(&x);
}

/* The fallback table: how the token PUT ends -> is there a token-less GET? */
TEST(v1_fallback_rules)
{
    static const struct {
        long status;
        enum cw_http_error error;
        int v1_disabled;
        int want_v1;
        const char *want_err;
    } cases[] = {
        {403, CW_HTTP_OK, 0, 1, NULL},
        {404, CW_HTTP_OK, 0, 1, NULL},
        {405, CW_HTTP_OK, 0, 1, NULL},
        {0, CW_HTTP_ETIMEDOUT, 0, 1, NULL},
        {400, CW_HTTP_OK, 0, 0, "HTTP 400"},
        {401, CW_HTTP_OK, 0, 0, "HTTP 401"},
        {500, CW_HTTP_OK, 0, 0, "HTTP 500"},
        {0, CW_HTTP_ECONNECT, 0, 0, "token request failed"},
        {403, CW_HTTP_OK, 1, 0, "IMDSv1 is disabled"},
        {405, CW_HTTP_OK, 1, 0, "IMDSv1 is disabled"},
        {0, CW_HTTP_ETIMEDOUT, 1, 0, "timed out and IMDSv1 is disabled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx x;
        struct got g = {0};
        struct fake_log log;
        fx_init(&x, cases[i].v1_disabled);
        struct fake_rule *r = fake_http_on(&x.f, "PUT", NULL, cases[i].status, "no");
        r->error = cases[i].error;
        r->repeat = 1; /* the retry of a 5xx / refused connection sees the same */
        fake_http_on(&x.f, "GET", NULL, 200, "i-v1");
        fake_log_start(&log);
        imds_get(x.c, "meta-data/instance-id", got_cb, &g);
        fake_http_run(&x.f);
        fake_log_stop();
        int gets = (int)count_method(&x.f, "GET");
        int ok = g.calls == 1 && gets == cases[i].want_v1 &&
                 (cases[i].want_v1 ? strcmp(g.body, "i-v1") == 0 && !*g.err
                                   : strstr(g.err, cases[i].want_err) != NULL);
        if (!ok)
            t_fail_at(__FILE__, __LINE__,
                      "case %zu (status %ld error %d v1_disabled %d): expected v1=%d err~\"%s\", "
                      "got calls=%d gets=%d body=\"%s\" err=\"%s\"",
                      i, cases[i].status, cases[i].error, cases[i].v1_disabled, cases[i].want_v1,
                      cases[i].want_err ? cases[i].want_err : "", g.calls, gets, g.body, g.err);
        if (gets && fake_req_header(&x.f, x.f.nreqs - 1, "X-aws-ec2-metadata-token"))
            t_fail_at(__FILE__, __LINE__, "case %zu: the v1 GET carried a token", i);
        int hint = strstr(log.text, "set the instance metadata hop limit to 2") != NULL;
        if (hint != (cases[i].error == CW_HTTP_ETIMEDOUT))
            t_fail_at(__FILE__, __LINE__, "case %zu: hop-limit hint logged=%d", i, hint);
        fx_free(&x);
    }
}

TEST(disabled_never_calls_out)
{
    struct fx x;
    struct got g = {0};
    fx_init(&x, 0);
    imds_client_free(x.c);
    x.o.disabled = 1;
    x.c = imds_client_new(&x.o);
    imds_get(x.c, "meta-data/instance-id", got_cb, &g);
    T_EQ_INT(g.calls, 1);
    T_CHECK(strstr(g.err, "AWS_EC2_METADATA_DISABLED") != NULL);
    T_EQ_INT(x.f.nreqs, 0);
    fx_free(&x);
}

TEST(options_from_env)
{
    const char *env[] = {"AWS_EC2_METADATA_DISABLED=TRUE", "AWS_EC2_METADATA_V1_DISABLED=true",
                         "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1338", NULL};
    const char *env2[] = {"AWS_EC2_METADATA_DISABLED=false", NULL};
    struct imds_options o;
    memset(&o, 0, sizeof o);
    imds_options_from_env(&o, env);
    T_EQ_INT(o.disabled, 1);
    T_EQ_INT(o.v1_disabled, 1);
    T_EQ_STR(o.endpoint, "http://127.0.0.1:1338");
    memset(&o, 0, sizeof o);
    imds_options_from_env(&o, env2);
    T_EQ_INT(o.disabled, 0);
    T_EQ_INT(o.v1_disabled, 0);
    T_CHECK(o.endpoint == NULL);
    imds_options_from_env(&o, NULL);
    T_EQ_INT(o.disabled, 0);
}

TEST(retries_once_and_reauths_on_401)
{
    struct fx x;
    struct got g = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", NULL, 200, "TOK1");
    fake_http_on_error(&x.f, "GET", NULL, CW_HTTP_ECONNRESET);
    fake_http_on(&x.f, "GET", NULL, 200, "second try");
    imds_get(x.c, "meta-data/x", got_cb, &g);
    fake_http_run(&x.f);
    T_EQ_STR(g.body, "second try");
    /* Two failures: the error is reported. */
    fake_http_on(&x.f, "GET", NULL, 503, "");
    fake_http_on(&x.f, "GET", NULL, 503, "");
    fake_http_on(&x.f, "GET", NULL, 200, "too late");
    imds_get(x.c, "meta-data/x", got_cb, &g);
    fake_http_run(&x.f);
    T_CHECK(strstr(g.err, "HTTP 503") != NULL);
    T_EQ_INT(g.status, 503);
    /* 401 on a GET: a new token, then one more try. */
    x.f.nrules = 0;
    fake_http_on(&x.f, "GET", NULL, 401, "");
    fake_http_on(&x.f, "PUT", NULL, 200, "TOK2");
    fake_http_on(&x.f, "GET", NULL, 200, "with new token");
    imds_get(x.c, "meta-data/x", got_cb, &g);
    fake_http_run(&x.f);
    T_EQ_STR(g.body, "with new token");
    T_EQ_STR(fake_req_header(&x.f, x.f.nreqs - 1, "X-aws-ec2-metadata-token"), "TOK2");
    /* 404 is not retried. */
    size_t before = x.f.nreqs;
    fake_http_on(&x.f, "GET", NULL, 404, "");
    imds_get(x.c, "meta-data/none", got_cb, &g);
    fake_http_run(&x.f);
    T_EQ_INT(g.status, 404);
    T_EQ_INT(x.f.nreqs - before, 1);
    fx_free(&x);
}

TEST(free_with_requests_in_flight)
{
    struct fx x;
    struct got g = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, NULL, NULL, 200, "x")->repeat = 1;
    imds_get(x.c, "meta-data/a", got_cb, &g);
    imds_get(x.c, "meta-data/b", got_cb, &g);
    imds_client_free(x.c);
    x.c = NULL;
    fake_http_run(&x.f);
    T_EQ_INT(g.calls, 0);
    fx_free(&x);
}

/* ---- identity ---- */

static const char DOC[] =
    "{\"availabilityZone\":\"us-west-2a\",\"devpayProductCodes\":null,\"marketplaceProductCodes\":"
    "null,\"version\":\"2017-09-30\",\"instanceId\":\"i-01ed50f7e2607f09e\",\"billingProducts\":"
    "[\"bp-6ba54002\"],\"instanceType\":\"t2.small\",\"pendingTime\":\"2018-03-07T16:26:04Z\","
    "\"imageId\":\"ami-b2e756ca\",\"privateIp\":\"10.0.0.171\",\"accountId\":\"111122223333\","
    "\"architecture\":\"x86_64\",\"kernelId\":null,\"ramdiskId\":null,\"region\":\"us-west-2\"}";

struct idgot {
    int calls;
    struct imds_identity id;
    char err[512];
};

static void id_cb(void *ud, const struct imds_identity *id, const char *err)
{
    struct idgot *g = ud;
    g->calls++;
    if (id) {
        g->id = *id;
        g->id.tags = NULL; /* the tags are borrowed: check them here */
        g->id.ntags = id->ntags;
        if (id->ntags == 2 && strcmp(id->tags[0].key, "Name") == 0 &&
            strcmp(id->tags[0].value, "web-1") == 0 && strcmp(id->tags[1].key, "aws:team") == 0 &&
            strcmp(id->tags[1].value, "blue") == 0)
            g->id.ntags = 1000; /* marker: tags as expected */
    }
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

TEST(identity_with_tags)
{
    struct fx x;
    struct idgot g = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", NULL, 200, "T");
    fake_http_on(&x.f, "GET", "/dynamic/instance-identity/document", 200, DOC);
    fake_http_on(&x.f, "GET", "/meta-data/hostname", 200,
                 "ip-10-0-0-171.us-west-2.compute.internal");
    fake_http_on(&x.f, "GET", "/meta-data/local-hostname", 200, "ip-10-0-0-171.local\n");
    fake_http_on(&x.f, "GET", "/meta-data/tags/instance/Name", 200, "web-1");
    fake_http_on(&x.f, "GET", "/meta-data/tags/instance/aws:team", 200, "blue");
    fake_http_on(&x.f, "GET", "/meta-data/tags/instance", 200, "Name\naws:team\nbad key\n");
    T_EQ_INT(imds_identity_fetch(x.c, 1, id_cb, &g), 0);
    T_EQ_INT(imds_identity_fetch(x.c, 1, id_cb, &g), -1); /* one at a time */
    fake_http_run(&x.f);
    T_EQ_INT(g.calls, 1);
    T_EQ_STR(g.err, "");
    T_EQ_STR(g.id.instance_id, "i-01ed50f7e2607f09e");
    T_EQ_STR(g.id.instance_type, "t2.small");
    T_EQ_STR(g.id.image_id, "ami-b2e756ca");
    T_EQ_STR(g.id.region, "us-west-2");
    T_EQ_STR(g.id.availability_zone, "us-west-2a");
    T_EQ_STR(g.id.private_ip, "10.0.0.171");
    T_EQ_STR(g.id.account_id, "111122223333");
    T_EQ_STR(g.id.hostname, "ip-10-0-0-171.us-west-2.compute.internal");
    T_EQ_STR(g.id.local_hostname, "ip-10-0-0-171.local");
    T_EQ_INT(g.id.ntags, 1000);
    fx_free(&x);
}

TEST(identity_without_tags_and_optional_parts)
{
    struct fx x;
    struct idgot g = {0};
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", NULL, 200, "T");
    fake_http_on(&x.f, "GET", "/dynamic/instance-identity/document", 200, DOC);
    fake_http_on(&x.f, "GET", "/meta-data/hostname", 404, "");
    fake_http_on(&x.f, "GET", "/meta-data/local-hostname", 200, "lh");
    fake_http_on(&x.f, "GET", "/meta-data/tags/instance", 404, "");
    imds_identity_fetch(x.c, 1, id_cb, &g);
    fake_http_run(&x.f);
    T_EQ_STR(g.err, "");
    T_EQ_STR(g.id.hostname, "");
    T_EQ_STR(g.id.local_hostname, "lh");
    T_EQ_INT(g.id.ntags, 0);
    /* Without tags no tag request is made. */
    size_t before = x.f.nreqs;
    fake_http_on(&x.f, "GET", "/dynamic/instance-identity/document", 200, DOC);
    fake_http_on(&x.f, "GET", "/meta-data/", 200, "h")->repeat = 1;
    imds_identity_fetch(x.c, 0, id_cb, &g);
    fake_http_run(&x.f);
    T_EQ_INT(g.calls, 2);
    T_EQ_INT(x.f.nreqs - before, 3);
    fx_free(&x);
}

TEST(identity_document_errors)
{
    static const struct {
        long status;
        const char *body;
        const char *want;
    } cases[] = {
        {200, "{\"instanceId\":\"i-1\",\"region\":", "malformed JSON"},
        {200, "", "malformed JSON"},
        {200, "[1]", "not an object"},
        {200, "{\"region\":\"us-east-1\"}", "lacks instanceId"},
        {200, "{\"instanceId\":\"i-1\"}", "lacks region"},
        {404, "", "HTTP 404"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx x;
        struct idgot g = {0};
        fx_init(&x, 0);
        fake_http_on(&x.f, "PUT", NULL, 200, "T");
        fake_http_on(&x.f, "GET", NULL, cases[i].status, cases[i].body)->repeat = 1;
        imds_identity_fetch(x.c, 1, id_cb, &g);
        fake_http_run(&x.f);
        if (g.calls != 1 || !strstr(g.err, cases[i].want) || !strstr(g.err, "identity document"))
            t_fail_at(__FILE__, __LINE__, "case %zu: expected \"%s\", got calls=%d \"%s\"", i,
                      cases[i].want, g.calls, g.err);
        fx_free(&x);
    }
    /* An oversized body is cut by the transport cap. */
    struct fx x;
    struct idgot g = {0};
    static char big[IMDS_MAX_BODY + 10];
    memset(big, 'x', sizeof big - 1);
    fx_init(&x, 0);
    fake_http_on(&x.f, "PUT", NULL, 200, "T");
    fake_http_on(&x.f, "GET", NULL, 200, big)->repeat = 1;
    imds_identity_fetch(x.c, 0, id_cb, &g);
    fake_http_run(&x.f);
    T_CHECK(g.calls == 1 && strstr(g.err, "too large"));
    fx_free(&x);
}

T_MAIN("imds", T_CASE(v2_token_then_get), T_CASE(concurrent_gets_share_one_token_request),
       T_CASE(v1_fallback_rules), T_CASE(disabled_never_calls_out), T_CASE(options_from_env),
       T_CASE(retries_once_and_reauths_on_401), T_CASE(free_with_requests_in_flight),
       T_CASE(identity_with_tags), T_CASE(identity_without_tags_and_optional_parts),
       T_CASE(identity_document_errors))
