/* Unit tests for the network credential providers (ECS, web identity, STS AssumeRole, the EC2
 * instance role), all against the scripted fake transport. */
#include "sigv4/creds.h"
#include "tests/unit/creds_fixture.h"
#include "tests/unit/fake_http.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>

#define SECRET      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
#define NOW         1787227200.0 /* 2026-08-20T12:00:00Z */
#define CW_TEST_BIG 70000        /* over the 64 KiB JSON cap */

static const char GOOD_JSON[] = "{\"AccessKeyId\":\"ASIAGOOD\",\"SecretAccessKey\":\"" SECRET
                                "\",\"Token\":\"tok\",\"Expiration\":\"2026-08-20T18:00:00Z\","
                                "\"RoleArn\":\"arn:aws:iam::1:role/x\"}";

static const char STS_OK[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <Credentials><AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>stssecret"
    "</SecretAccessKey>\n      <SessionToken>FwoG&amp;token</SessionToken>"
    "<Expiration>2026-08-20T12:15:00Z</Expiration></Credentials>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn>"
    "</AssumedRoleUser>\n  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static const char STS_ERR[] = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                              "<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User "
                              "is not authorized to perform: sts:AssumeRole</Message></Error>"
                              "<RequestId>r2</RequestId></ErrorResponse>";

struct env_ctx {
    struct fake_http f;
    struct fake_clock clk;
    struct creds_ctx ctx;
    struct result r;
};

static void setup(struct env_ctx *e, const char *const *envp)
{
    memset(e, 0, sizeof *e);
    fake_http_init(&e->f);
    e->clk.t = NOW;
    ctx_init(&e->ctx, &e->f, &e->clk, envp);
}

static void teardown(struct env_ctx *e)
{
    fake_http_free(&e->f);
    result_clear(&e->r);
}

/* Fetches once and answers every request. */
static void fetch_run(struct env_ctx *e, struct creds_provider *p)
{
    result_clear(&e->r);
    creds_provider_fetch(p, result_cb, &e->r);
    fake_http_run(&e->f);
}

/* ---- ECS ---- */

TEST(ecs_relative_uri)
{
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/abc",
                         "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1/ignored",
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN=Basic abc", NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, "GET", "/v2/credentials/abc", 200, GOOD_JSON);
    struct creds_provider *p = creds_ecs_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_EQ_INT(e.r.calls, 1);
    T_ASSERT(e.r.c != NULL);
    T_EQ_STR(e.r.c->access_key_id, "ASIAGOOD");
    T_EQ_STR(e.r.c->session_token, "tok");
    T_EQ_DBL(e.r.c->expiration, NOW + 6 * 3600, 0);
    T_EQ_STR(e.r.c->provider, "ecs");
    T_EQ_INT(e.f.nreqs, 1);
    T_EQ_STR(e.f.reqs[0].url, "http://169.254.170.2/v2/credentials/abc");
    T_EQ_STR(fake_req_header(&e.f, 0, "Authorization"), "Basic abc");
    creds_provider_free(p);
    teardown(&e);
}

TEST(ecs_full_uri_host_rules)
{
    static const struct {
        const char *uri;
        int allowed;
    } cases[] = {
        {"https://creds.example.com/x", 1},
        {"http://127.0.0.1:8080/creds", 1},
        {"http://127.3.4.5/creds", 1},
        {"http://localhost:51679/creds", 1},
        {"http://[::1]:8080/creds", 1},
        {"http://169.254.170.2/creds", 1},
        {"http://169.254.170.23/v1/credentials", 1},
        {"http://[fd00:ec2::23]/v1/c", 1},
        {"http://example.com/creds", 0},
        {"http://10.0.0.1/creds", 0},
        {"http://169.254.169.254/creds", 0},
        {"http://128.0.0.1/creds", 0},
        {"ftp://127.0.0.1/creds", 0},
        {"not a url", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char full[200];
        snprintf(full, sizeof full, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s", cases[i].uri);
        const char *env[] = {full, NULL};
        struct env_ctx e;
        setup(&e, env);
        fake_http_on(&e.f, "GET", NULL, 200, GOOD_JSON);
        struct creds_provider *p = creds_ecs_provider_new(&e.ctx);
        fetch_run(&e, p);
        int got = e.r.c != NULL;
        if (got != cases[i].allowed || (size_t)cases[i].allowed != e.f.nreqs)
            t_fail_at(__FILE__, __LINE__, "%s: expected allowed=%d, got creds=%d requests=%zu (%s)",
                      cases[i].uri, cases[i].allowed, got, e.f.nreqs, e.r.err);
        if (!cases[i].allowed && !strstr(e.r.err, "AWS_CONTAINER_CREDENTIALS_FULL_URI"))
            t_fail_at(__FILE__, __LINE__, "%s: unclear error \"%s\"", cases[i].uri, e.r.err);
        creds_provider_free(p);
        teardown(&e);
    }
}

TEST(ecs_token_file_wins)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *tok = tmpdir_file(&d, "token", "eks-pod-identity-token\n", 0600);
    char tf[300];
    snprintf(tf, sizeof tf, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", tok);
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials",
                         "AWS_CONTAINER_AUTHORIZATION_TOKEN=from-env", tf, NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, "GET", NULL, 200, GOOD_JSON);
    struct creds_provider *p = creds_ecs_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_CHECK(e.r.c != NULL);
    T_EQ_STR(fake_req_header(&e.f, 0, "Authorization"), "eks-pod-identity-token");
    /* A token with a line break would inject a header: refused. */
    tmpdir_file(&d, "token", "abc\r\nX-Evil: 1", 0600);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "line break"));
    T_EQ_INT(e.f.nreqs, 1);
    creds_provider_free(p);
    teardown(&e);
    tmpdir_remove(&d);
}

TEST(ecs_bad_answers)
{
    static char big[CW_TEST_BIG];
    memset(big, ' ', sizeof big - 1);
    static const struct {
        long status;
        const char *body;
        const char *want;
    } cases[] = {
        {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"", "malformed JSON"},
        {200, "", "malformed JSON"},
        {200, "[1,2]", "not an object"},
        {200, "{\"SecretAccessKey\":\"S\"}", "lacks AccessKeyId"},
        {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"soon\"}",
         "unparseable Expiration"},
        {200, "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":12}",
         "Expiration is not a string"},
        {403, "{\"code\":\"AccessDenied\",\"message\":\"no\"}", "HTTP 403"},
        {200, "{\"code\":\"InvalidToken\",\"message\":\"bad token\"}", "InvalidToken: bad token"},
        {200, big, "too large"},
    };
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/c", NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env_ctx e;
        setup(&e, env);
        fake_http_on(&e.f, "GET", NULL, cases[i].status, cases[i].body);
        struct creds_provider *p = creds_ecs_provider_new(&e.ctx);
        fetch_run(&e, p);
        if (e.r.c || !strstr(e.r.err, cases[i].want))
            t_fail_at(__FILE__, __LINE__, "case %zu: expected \"%s\", got \"%s\"", i, cases[i].want,
                      e.r.err);
        creds_provider_free(p);
        teardown(&e);
    }
}

TEST(ecs_retries_once_on_5xx)
{
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/c", NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, "GET", NULL, 503, "busy");
    fake_http_on(&e.f, "GET", NULL, 200, GOOD_JSON);
    struct creds_provider *p = creds_ecs_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_CHECK(e.r.c != NULL);
    T_EQ_INT(e.f.nreqs, 2);
    fake_http_on(&e.f, "GET", NULL, 500, "a");
    fake_http_on(&e.f, "GET", NULL, 500, "b");
    fake_http_on(&e.f, "GET", NULL, 200, GOOD_JSON);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "HTTP 500 b"));
    T_EQ_INT(e.f.nreqs, 4);
    creds_provider_free(p);
    teardown(&e);
}

/* ---- STS ---- */

struct sign_record {
    int calls;
    char service[16], region[32], akid[64], host[128], path[64];
    int had_token;
    size_t body_len;
};
static struct sign_record g_sign;

static int fake_sign(const struct sigv4_request *req, const struct sigv4_credentials *c,
                     const struct sigv4_params *params, struct sigv4_key_cache *cache,
                     struct sigv4_result *out)
{
    (void)cache;
    memset(out, 0, sizeof *out);
    g_sign.calls++;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcmp(req->headers[i].name, "Host") == 0)
            snprintf(g_sign.host, sizeof g_sign.host, "%s", req->headers[i].value);
    snprintf(g_sign.path, sizeof g_sign.path, "%s", req->path);
    g_sign.body_len = req->body_len;
    snprintf(g_sign.service, sizeof g_sign.service, "%s", params->service);
    snprintf(g_sign.region, sizeof g_sign.region, "%s", params->region);
    snprintf(g_sign.akid, sizeof g_sign.akid, "%s", c->access_key_id);
    g_sign.had_token = c->session_token != NULL;
    out->authorization = strdup("AWS4-HMAC-SHA256 Credential=fake, SignedHeaders=host, "
                                "Signature=0000");
    out->amz_date = strdup("20260820T120000Z");
    if (c->session_token)
        out->security_token = strdup(c->session_token);
    return 0;
}

static void fake_sign_free(struct sigv4_result *res)
{
    free(res->authorization);
    free(res->amz_date);
    free(res->security_token);
    memset(res, 0, sizeof *res);
}

TEST(assume_role_signs_and_parses)
{
    const char *env[] = {"AWS_REGION=eu-west-1", NULL};
    struct env_ctx e;
    setup(&e, env);
    e.ctx.sign = fake_sign;
    e.ctx.sign_free = fake_sign_free;
    memset(&g_sign, 0, sizeof g_sign);
    fake_http_on(&e.f, "POST", "https://sts.eu-west-1.amazonaws.com", 200, STS_OK);
    struct creds_assume_role_options o = {"arn:aws:iam::123456789012:role/demo", "sess-1", "ext",
                                          0};
    struct creds_provider *p = creds_assume_role_provider_new(
        &e.ctx, creds_static_provider_new("AKIDSOURCE", "srcsecret", "srctok"), &o);
    T_ASSERT(p != NULL);
    fetch_run(&e, p);
    T_ASSERT(e.r.c != NULL);
    T_EQ_STR(e.r.c->access_key_id, "ASIASTS");
    T_EQ_STR(e.r.c->session_token, "FwoG&token");
    T_EQ_DBL(e.r.c->expiration, NOW + 900, 0);
    T_EQ_STR(e.r.c->provider, "assume_role");
    T_EQ_INT(g_sign.calls, 1);
    T_EQ_STR(g_sign.service, "sts");
    T_EQ_STR(g_sign.region, "eu-west-1");
    T_EQ_STR(g_sign.akid, "AKIDSOURCE");
    T_EQ_STR(g_sign.host, "sts.eu-west-1.amazonaws.com");
    T_EQ_STR(g_sign.path, "/");
    T_ASSERT(e.f.nreqs == 1);
    T_EQ_INT(g_sign.body_len, e.f.reqs[0].body_len);
    T_EQ_STR(e.f.reqs[0].url, "https://sts.eu-west-1.amazonaws.com");
    T_CHECK(fake_req_header(&e.f, 0, "Authorization") != NULL);
    T_EQ_STR(fake_req_header(&e.f, 0, "X-Amz-Security-Token"), "srctok");
    T_EQ_STR(e.f.reqs[0].body,
             "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3A"
             "role%2Fdemo&RoleSessionName=sess-1&DurationSeconds=900&ExternalId=ext");
    creds_provider_free(p);
    teardown(&e);
}

TEST(assume_role_region_disabled_falls_back_to_global_region)
{
    const char *env[] = {"AWS_REGION=ap-east-1", NULL};
    struct env_ctx e;
    setup(&e, env);
    e.ctx.sign = fake_sign;
    e.ctx.sign_free = fake_sign_free;
    memset(&g_sign, 0, sizeof g_sign);
    fake_http_on(&e.f, "POST", "https://sts.ap-east-1.amazonaws.com", 403,
                 "<ErrorResponse><Error><Code>RegionDisabledException</Code><Message>STS is not "
                 "activated in this region</Message></Error></ErrorResponse>");
    fake_http_on(&e.f, "POST", "https://sts.us-east-1.amazonaws.com", 200, STS_OK);
    struct creds_assume_role_options o = {"arn:aws:iam::1:role/r", NULL, NULL, 0};
    struct creds_provider *p = creds_assume_role_provider_new(
        &e.ctx, creds_static_provider_new("AKIDSOURCE", "s", NULL), &o);
    fetch_run(&e, p);
    T_CHECK(e.r.c && strcmp(e.r.c->access_key_id, "ASIASTS") == 0);
    T_EQ_INT(e.f.nreqs, 2);
    T_EQ_INT(g_sign.calls, 2);
    T_EQ_STR(g_sign.region, "us-east-1");
    /* Only once: a second RegionDisabledException is reported. */
    fake_http_on(&e.f, "POST", NULL, 403,
                 "<ErrorResponse><Error><Code>RegionDisabledException</Code></Error>"
                 "</ErrorResponse>")
        ->repeat = 1;
    e.f.rules[1].used = 1;
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "RegionDisabledException"));
    T_EQ_INT(e.f.nreqs, 4);
    creds_provider_free(p);
    teardown(&e);
}

TEST(assume_role_errors)
{
    static const struct {
        long status;
        const char *body;
        const char *want;
    } cases[] = {
        {403, STS_ERR, "HTTP 403 AccessDenied: User is not authorized"},
        {200, "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>",
         "no complete <Credentials>"},
        {200,
         "<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
         "<SessionToken>T</SessionToken><Expiration>never</Expiration></Credentials></R>",
         "unparseable Expiration"},
        {200,
         "<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
         "<Expiration>2026-08-20T13:00:00Z</Expiration></Credentials></R>",
         "lacks SessionToken"},
        {500, "", "HTTP 500 (no error document)"},
        {200, NULL, "too large"}, /* body filled in below: over the 64 KiB cap */
    };
    static char big[CW_TEST_BIG];
    memset(big, ' ', sizeof big - 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env_ctx e;
        setup(&e, NULL);
        e.ctx.sign = fake_sign;
        e.ctx.sign_free = fake_sign_free;
        e.ctx.sts_endpoint = "http://127.0.0.1:4566/";
        fake_http_on(&e.f, "POST", "http://127.0.0.1:4566", cases[i].status,
                     cases[i].body ? cases[i].body : big);
        struct creds_assume_role_options o = {"arn:aws:iam::1:role/r", NULL, NULL, 3600};
        struct creds_provider *p = creds_assume_role_provider_new(
            &e.ctx, creds_static_provider_new("AKIDSOURCE", "s", NULL), &o);
        fetch_run(&e, p);
        if (e.r.c || !strstr(e.r.err, cases[i].want) || !strstr(e.r.err, "arn:aws:iam::1:role/r"))
            t_fail_at(__FILE__, __LINE__, "case %zu: expected \"%s\", got \"%s\"", i, cases[i].want,
                      e.r.err);
        T_CHECK(strstr(e.f.reqs[0].body, "DurationSeconds=3600&") == NULL &&
                strstr(e.f.reqs[0].body, "DurationSeconds=3600"));
        creds_provider_free(p);
        teardown(&e);
    }
    /* An endpoint override with an IPv6 literal and a port: the signed Host matches the URL. */
    {
        struct env_ctx e6;
        setup(&e6, NULL);
        e6.ctx.sign = fake_sign;
        e6.ctx.sign_free = fake_sign_free;
        e6.ctx.sts_endpoint = "http://[::1]:4566";
        fake_http_on(&e6.f, "POST", "http://[::1]:4566", 200, STS_OK);
        struct creds_assume_role_options o6 = {"arn:aws:iam::1:role/r", NULL, NULL, 0};
        struct creds_provider *p6 = creds_assume_role_provider_new(
            &e6.ctx, creds_static_provider_new("AKIDSOURCE", "s", NULL), &o6);
        fetch_run(&e6, p6);
        T_CHECK(e6.r.c != NULL);
        T_EQ_STR(g_sign.host, "[::1]:4566");
        creds_provider_free(p6);
        teardown(&e6);
    }
    /* No signer wired: a clear error, no request. */
    struct env_ctx e;
    setup(&e, NULL);
    struct creds_assume_role_options o = {"arn:aws:iam::1:role/r", NULL, NULL, 0};
    struct creds_provider *p = creds_assume_role_provider_new(
        &e.ctx, creds_static_provider_new("AKIDSOURCE", "s", NULL), &o);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "no SigV4 signer"));
    T_EQ_INT(e.f.nreqs, 0);
    creds_provider_free(p);
    /* Inner failure is reported with the role. */
    const char *noenv[] = {NULL};
    e.ctx.envp = noenv;
    e.ctx.sign = fake_sign;
    e.ctx.sign_free = fake_sign_free;
    p = creds_assume_role_provider_new(&e.ctx, creds_env_provider_new(&e.ctx), &o);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "source credentials for arn:aws:iam::1:role/r"));
    creds_provider_free(p);
    teardown(&e);
}

TEST(profile_role_with_source_profile_and_credential_source)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *conf = tmpdir_file(&d, "config",
                                   "[profile app]\nrole_arn = arn:aws:iam::1:role/app\n"
                                   "source_profile = base\nregion = ap-south-1\n"
                                   "role_session_name = mysess\n"
                                   "[profile envsrc]\nrole_arn = arn:aws:iam::1:role/e\n"
                                   "credential_source = Environment\n"
                                   "[profile both]\nrole_arn = arn:aws:iam::1:role/b\n"
                                   "credential_source = Environment\nsource_profile = base\n"
                                   "[profile weird]\nrole_arn = arn:aws:iam::1:role/w\n"
                                   "credential_source = Moon\n"
                                   "[profile loop]\nrole_arn = arn:aws:iam::1:role/l\n"
                                   "source_profile = loop2\n"
                                   "[profile loop2]\nrole_arn = arn:aws:iam::1:role/l2\n"
                                   "source_profile = loop\n",
                                   0600);
    const char *cred = tmpdir_file(&d, "credentials",
                                   "[base]\naws_access_key_id = AKIDBASE\n"
                                   "aws_secret_access_key = basesecret\n",
                                   0600);
    char co[300], ce[300];
    snprintf(co, sizeof co, "AWS_CONFIG_FILE=%s", conf);
    snprintf(ce, sizeof ce, "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
    const char *env[] = {co, ce, "AWS_ACCESS_KEY_ID=AKIDENVSRC", "AWS_SECRET_ACCESS_KEY=x", NULL};
    struct env_ctx e;
    setup(&e, env);
    e.ctx.sign = fake_sign;
    e.ctx.sign_free = fake_sign_free;
    fake_http_on(&e.f, "POST", "https://sts.ap-south-1.amazonaws.com", 200, STS_OK);
    fake_http_on(&e.f, "POST", "https://sts.us-east-1.amazonaws.com", 200, STS_OK);
    memset(&g_sign, 0, sizeof g_sign);
    struct creds_provider *p = creds_profile_provider_new(&e.ctx, "app");
    fetch_run(&e, p);
    T_CHECK(e.r.c && strcmp(e.r.c->access_key_id, "ASIASTS") == 0);
    T_EQ_STR(g_sign.akid, "AKIDBASE");
    T_CHECK(e.f.nreqs == 1 && strstr(e.f.reqs[0].body, "RoleSessionName=mysess"));
    creds_provider_free(p);
    p = creds_profile_provider_new(&e.ctx, "envsrc");
    fetch_run(&e, p);
    T_CHECK(e.r.c && strcmp(e.r.c->access_key_id, "ASIASTS") == 0);
    T_EQ_STR(g_sign.akid, "AKIDENVSRC");
    creds_provider_free(p);
    static const struct {
        const char *profile, *want;
    } bad[] = {{"both", "both source_profile and credential_source"},
               {"weird", "credential_source \"Moon\""},
               {"loop", "deeper than"}};
    for (size_t i = 0; i < 3; i++) {
        p = creds_profile_provider_new(&e.ctx, bad[i].profile);
        fetch_run(&e, p);
        if (e.r.c || !strstr(e.r.err, bad[i].want))
            t_fail_at(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", bad[i].profile,
                      bad[i].want, e.r.err);
        creds_provider_free(p);
    }
    teardown(&e);
    tmpdir_remove(&d);
}

TEST(web_identity)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *tok = tmpdir_file(&d, "token", "eyJhbGciOiJSUzI1NiJ9.jwt.sig\n", 0600);
    char tf[300];
    snprintf(tf, sizeof tf, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", tok);
    const char *env[] = {"AWS_ROLE_ARN=arn:aws:iam::1:role/irsa", tf, "AWS_ROLE_SESSION_NAME=pod-1",
                         "AWS_REGION=us-west-2", NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, "POST", "https://sts.us-west-2.amazonaws.com", 200, STS_OK);
    struct creds_provider *p = creds_webid_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_ASSERT(e.r.c != NULL);
    T_EQ_STR(e.r.c->access_key_id, "ASIASTS");
    T_EQ_STR(e.r.c->provider, "web_identity");
    T_CHECK(fake_req_header(&e.f, 0, "Authorization") == NULL); /* unsigned */
    T_EQ_STR(e.f.reqs[0].body,
             "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1"
             "%3Arole%2Firsa&RoleSessionName=pod-1&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.jwt.sig");
    /* STS error, truncated XML, missing token file. */
    fake_http_on(&e.f, "POST", NULL, 400,
                 "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>expired"
                 "</Message></Error></ErrorResponse>");
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "InvalidIdentityToken: expired"));
    fake_http_on(&e.f, "POST", NULL, 200, "<AssumeRoleWithWebIdentityResponse><Credentials>");
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "no complete <Credentials>"));
    tmpdir_remove(&d);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "web identity token: cannot open"));
    creds_provider_free(p);
    /* The same from a profile (role_arn + web_identity_token_file). */
    struct tmpdir d2;
    T_ASSERT(tmpdir_make(&d2) == 0);
    const char *tok2 = tmpdir_file(&d2, "tok", "profile-jwt-token", 0600);
    char confs[600], co[300];
    snprintf(confs, sizeof confs,
             "[profile wi]\nrole_arn = arn:aws:iam::1:role/wi\nweb_identity_token_file = %s\n"
             "role_session_name = wisess\n",
             tok2);
    const char *conf = tmpdir_file(&d2, "config", confs, 0600);
    snprintf(co, sizeof co, "AWS_CONFIG_FILE=%s", conf);
    const char *penv[] = {co, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c", NULL};
    e.ctx.envp = penv;
    fake_http_on(&e.f, "POST", "https://sts.us-east-1.amazonaws.com", 200, STS_OK);
    p = creds_profile_provider_new(&e.ctx, "wi");
    fetch_run(&e, p);
    T_CHECK(e.r.c && strcmp(e.r.c->provider, "web_identity") == 0);
    T_CHECK(strstr(e.f.reqs[e.f.nreqs - 1].body,
                   "RoleSessionName=wisess&WebIdentityToken=profile-jwt-token") != NULL);
    creds_provider_free(p);
    tmpdir_remove(&d2);
    const char *half[] = {"AWS_ROLE_ARN=arn:aws:iam::1:role/irsa", NULL};
    e.ctx.envp = half;
    p = creds_webid_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "AWS_WEB_IDENTITY_TOKEN_FILE is not"));
    creds_provider_free(p);
    teardown(&e);
}

/* ---- the EC2 instance role ---- */

static const char IMDS_CREDS[] =
    "{\"Code\":\"Success\",\"LastUpdated\":\"2026-08-20T11:00:00Z\",\"Type\":\"AWS-HMAC\","
    "\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"imdstok\","
    "\"Expiration\":\"2026-08-20T18:00:00Z\"}";

TEST(imds_instance_role)
{
    const char *env[] = {"AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:1338/", NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, "PUT", "/latest/api/token", 200, "TOKEN123");
    fake_http_on(&e.f, "GET", "/iam/security-credentials/", 200, "my-role\n");
    fake_http_on(&e.f, "GET", "/iam/security-credentials/my-role", 200, IMDS_CREDS);
    struct creds_provider *p = creds_imds_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_ASSERT(e.r.c != NULL);
    T_EQ_STR(e.r.c->access_key_id, "ASIAIMDS");
    T_EQ_STR(e.r.c->provider, "imds");
    T_EQ_DBL(e.r.c->expiration, NOW + 6 * 3600, 0);
    T_ASSERT(e.f.nreqs == 3);
    T_EQ_STR(e.f.reqs[0].method, "PUT");
    T_EQ_STR(e.f.reqs[0].url, "http://127.0.0.1:1338/latest/api/token");
    T_EQ_STR(fake_req_header(&e.f, 0, "X-aws-ec2-metadata-token-ttl-seconds"), "21600");
    T_EQ_STR(e.f.reqs[1].url, "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/");
    T_EQ_STR(fake_req_header(&e.f, 1, "X-aws-ec2-metadata-token"), "TOKEN123");
    T_EQ_STR(e.f.reqs[2].url,
             "http://127.0.0.1:1338/latest/meta-data/iam/security-credentials/my-role");
    T_EQ_STR(fake_req_header(&e.f, 2, "X-aws-ec2-metadata-token"), "TOKEN123");
    T_CHECK(e.f.reqs[0].timeout_ms <= 2000);
    creds_provider_free(p);
    teardown(&e);
}

TEST(imds_instance_role_failures)
{
    static const struct {
        long role_status;
        const char *creds_body;
        const char *want;
    } cases[] = {
        {404, NULL, "no IAM role is attached"},
        {200, "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume\"}",
         "AssumeRoleUnauthorizedAccess: EC2 cannot assume"},
        {200, "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}",
         "lacks Expiration"},
        {200, "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",",
         "malformed"},
    };
    const char *env[] = {NULL};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct env_ctx e;
        setup(&e, env);
        fake_http_on(&e.f, "PUT", NULL, 200, "T");
        fake_http_on(&e.f, "GET", "/iam/security-credentials/role", 200, cases[i].creds_body);
        fake_http_on(&e.f, "GET", "/iam/security-credentials/", cases[i].role_status, "role");
        struct creds_provider *p = creds_imds_provider_new(&e.ctx);
        fetch_run(&e, p);
        if (e.r.c || !strstr(e.r.err, cases[i].want))
            t_fail_at(__FILE__, __LINE__, "case %zu: expected \"%s\", got \"%s\"", i, cases[i].want,
                      e.r.err);
        T_CHECK(strstr(e.r.err, SECRET) == NULL);
        creds_provider_free(p);
        teardown(&e);
    }
    const char *off[] = {"AWS_EC2_METADATA_DISABLED=true", NULL};
    struct env_ctx e;
    setup(&e, off);
    struct creds_provider *p = creds_imds_provider_new(&e.ctx);
    fetch_run(&e, p);
    T_CHECK(e.r.c == NULL && strstr(e.r.err, "AWS_EC2_METADATA_DISABLED"));
    T_EQ_INT(e.f.nreqs, 0);
    creds_provider_free(p);
    teardown(&e);
}

TEST(free_cancels_a_fetch_in_flight)
{
    const char *env[] = {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/c", NULL};
    struct env_ctx e;
    setup(&e, env);
    fake_http_on(&e.f, NULL, NULL, 200, GOOD_JSON)->repeat = 1;
    struct creds_provider *p[] = {creds_ecs_provider_new(&e.ctx), creds_imds_provider_new(&e.ctx),
                                  creds_default_chain_new(&e.ctx, NULL)};
    for (size_t i = 0; i < 3; i++) {
        result_clear(&e.r);
        creds_provider_fetch(p[i], result_cb, &e.r);
        T_CHECK(fake_http_pending(&e.f) == 1);
        creds_provider_free(p[i]);
        fake_http_run(&e.f);
        T_EQ_INT(e.r.calls, 0);
    }
    teardown(&e);
}

T_MAIN("creds_net", T_CASE(ecs_relative_uri), T_CASE(ecs_full_uri_host_rules),
       T_CASE(ecs_token_file_wins), T_CASE(ecs_bad_answers), T_CASE(ecs_retries_once_on_5xx),
       T_CASE(assume_role_signs_and_parses),
       T_CASE(assume_role_region_disabled_falls_back_to_global_region), T_CASE(assume_role_errors),
       T_CASE(profile_role_with_source_profile_and_credential_source), T_CASE(web_identity),
       T_CASE(imds_instance_role), T_CASE(imds_instance_role_failures),
       T_CASE(free_cancels_a_fetch_in_flight))
