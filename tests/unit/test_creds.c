/* Unit tests for sigv4 credentials: the object, time parsing, INI and XML helpers, the
 * environment, shared-file and credential_process providers, and the chain. */
#include "sigv4/creds.h"
#include "sigv4/ini.h"
#include "sigv4/xml.h"
#include "tests/unit/creds_fixture.h"
#include "tests/unit/fake_http.h"
#include "tests/unit/t.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"

TEST(parse_time_valid_forms)
{
    double t = 0;
    T_EQ_INT(creds_parse_time("2026-08-20T12:00:00Z", &t), 0);
    T_EQ_DBL(t, 1787227200.0, 0);
    T_EQ_INT(creds_parse_time("2020-11-05T02:02:26Z", &t), 0);
    T_EQ_DBL(t, 1604541746.0, 0);
    T_EQ_INT(creds_parse_time("2024-02-29T23:59:59.250Z", &t), 0);
    T_EQ_DBL(t, 1709251199.25, 1e-6);
    T_EQ_INT(creds_parse_time("2026-08-20T14:00:00+02:00", &t), 0);
    T_EQ_DBL(t, 1787227200.0, 0);
    T_EQ_INT(creds_parse_time("2026-08-20T07:00:00-0500", &t), 0);
    T_EQ_DBL(t, 1787227200.0, 0);
    T_EQ_INT(creds_parse_time("1970-01-01T00:00:00Z", &t), 0);
    T_EQ_DBL(t, 0, 0);
}

TEST(parse_time_rejects_garbage)
{
    static const char *bad[] = {"",
                                "garbage",
                                "2026-08-20",
                                "2026-08-20T12:00:00",
                                "2026-08-20T12:00:00ZZ",
                                "2026-02-30T00:00:00Z",
                                "2025-02-29T00:00:00Z",
                                "2026-13-01T00:00:00Z",
                                "2026-08-20T24:00:00Z",
                                "2026-08-20T12:60:00Z",
                                "2026-08-20T12:00:00.Z",
                                "2026-8-20T12:00:00Z",
                                "20260820T120000Z",
                                "1969-12-31T23:59:59Z",
                                "2026-08-20T12:00:00+25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double t = -1;
        if (creds_parse_time(bad[i], &t) != -1)
            t_fail_at(__FILE__, __LINE__, "accepted \"%s\" as %f", bad[i], t);
    }
    T_EQ_INT(creds_parse_time(NULL, NULL), -1);
}

TEST(creds_object_refs_and_validation)
{
    T_CHECK(creds_new("", "s", NULL, 0, "x") == NULL);
    T_CHECK(creds_new("AKID", NULL, NULL, 0, "x") == NULL);
    struct creds *c = creds_new("AKIDEXAMPLE", SECRET, "", 0, "unit");
    T_ASSERT(c != NULL);
    T_CHECK(c->session_token == NULL);
    T_EQ_STR(c->provider, "unit");
    struct creds *r = creds_ref(c);
    T_CHECK(r == c && c->refs == 2);
    creds_release(c);
    struct sigv4_credentials s = creds_for_signing(r);
    T_EQ_STR(s.secret_access_key, SECRET);
    creds_release(r);
    creds_release(NULL);
}

TEST(env_provider)
{
    const char *good[] = {"HOME=/nonexistent", "AWS_ACCESS_KEY_ID=AKIDENV",
                          "AWS_SECRET_ACCESS_KEY=" SECRET, "AWS_SESSION_TOKEN=tok", NULL};
    const char *none[] = {"AWS_ACCESS_KEY_ID=", NULL};
    const char *half[] = {"AWS_SECRET_ACCESS_KEY=" SECRET, NULL};
    struct creds_ctx ctx = {0};
    struct result r = {0};
    ctx.envp = good;
    struct creds_provider *p = creds_env_provider_new(&ctx);
    creds_provider_fetch(p, result_cb, &r);
    T_EQ_INT(r.calls, 1);
    T_ASSERT(r.c != NULL);
    T_EQ_STR(r.c->access_key_id, "AKIDENV");
    T_EQ_STR(r.c->session_token, "tok");
    T_EQ_STR(r.c->provider, "environment");
    T_EQ_DBL(r.c->expiration, 0, 0);
    creds_provider_free(p);
    result_clear(&r);

    ctx.envp = none;
    p = creds_env_provider_new(&ctx);
    creds_provider_fetch(p, result_cb, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "not set"));
    creds_provider_free(p);
    result_clear(&r);

    ctx.envp = half;
    p = creds_env_provider_new(&ctx);
    creds_provider_fetch(p, result_cb, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "AWS_ACCESS_KEY_ID is not"));
    T_CHECK(strstr(r.err, SECRET) == NULL);
    creds_provider_free(p);
    result_clear(&r);
}

TEST(ini_parses_the_aws_dialect)
{
    const char *text = "# comment\n"
                       "[default]\n"
                       "aws_access_key_id = AKID1 \n"
                       "; other comment\n"
                       "s3 =\n"
                       "  max_concurrent_requests = 20\n"
                       "region=us-east-1\r\n"
                       "garbage line\n"
                       "[profile dev]\n"
                       "region = eu-west-1\n"
                       "[unterminated\n"
                       "key = lost\n"
                       "[default]\n"
                       "region = us-west-2\n"
                       "[empty]";
    struct ini *ini = ini_parse(text, strlen(text));
    T_ASSERT(ini != NULL);
    T_EQ_STR(ini_get(ini, "default", "aws_access_key_id"), "AKID1");
    T_EQ_STR(ini_get(ini, "default", "region"), "us-west-2");
    T_CHECK(ini_get(ini, "default", "max_concurrent_requests") == NULL);
    T_EQ_STR(ini_get(ini, "profile dev", "region"), "eu-west-1");
    T_CHECK(ini_get(ini, "unterminated", "key") == NULL);
    T_CHECK(ini_has_section(ini, "empty"));
    T_CHECK(!ini_has_section(ini, "dev"));
    T_EQ_INT(ini_bad_lines(ini), 3);
    ini_free(ini);
}

TEST(xml_extracts_and_refuses_truncation)
{
    const char *doc = "<?xml version=\"1.0\"?><a:Resp xmlns:a=\"x\"><a:Result><Credentials>"
                      "<AccessKeyId>AK</AccessKeyId><Secret>a&amp;b&lt;&#65;&#x42;</Secret>"
                      "<Empty/><Token><![CDATA[<raw>]]></Token></Credentials></a:Result>"
                      "<Cut>open";
    char out[64];
    const char *c;
    size_t n;
    T_EQ_INT(xml_find(doc, strlen(doc), "Credentials", &c, &n), 0);
    T_EQ_INT(xml_get(c, n, "AccessKeyId", out, sizeof out), 0);
    T_EQ_STR(out, "AK");
    T_EQ_INT(xml_get(doc, strlen(doc), "Secret", out, sizeof out), 0);
    T_EQ_STR(out, "a&b<AB");
    T_EQ_INT(xml_get(doc, strlen(doc), "Empty", out, sizeof out), 0);
    T_EQ_STR(out, "");
    T_EQ_INT(xml_get(doc, strlen(doc), "Token", out, sizeof out), 0);
    T_EQ_STR(out, "<raw>");
    T_EQ_INT(xml_get(doc, strlen(doc), "Result", out, sizeof out), -1); /* has children */
    T_EQ_INT(xml_get(doc, strlen(doc), "Cut", out, sizeof out), -1);
    T_EQ_INT(xml_get(doc, strlen(doc), "Missing", out, sizeof out), -1);
    T_EQ_INT(xml_get(doc, strlen(doc), "AccessKeyId", out, 2), -1); /* too small */
    /* Truncating anywhere inside the element makes it absent, never a read past the end. */
    const char *one = "<X><AccessKeyId>ABCDEF</AccessKeyId></X>";
    for (size_t k = 0; k < strlen(one) - 4; k++) {
        if (xml_get(one, k, "AccessKeyId", out, sizeof out) == 0)
            t_fail_at(__FILE__, __LINE__, "truncated at %zu still found \"%s\"", k, out);
    }
}

/* ---- shared files ---- */

static void fetch_once(struct creds_provider *p, struct result *r)
{
    result_clear(r);
    creds_provider_fetch(p, result_cb, r);
}

TEST(profile_static_keys_and_selection)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *cred = tmpdir_file(&d, "credentials",
                                   "[default]\naws_access_key_id = AKIDDEFAULT\n"
                                   "aws_secret_access_key = " SECRET "\n"
                                   "[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=s2\n"
                                   "aws_session_token = tokdev\n",
                                   0600);
    const char *conf = tmpdir_file(&d, "config",
                                   "[profile cfgonly]\naws_access_key_id=AKIDCFG\n"
                                   "aws_secret_access_key=s3\n"
                                   "[profile dev]\naws_access_key_id=AKIDIGNORED\n"
                                   "[dev]\naws_access_key_id=AKIDWRONGSECTION\n",
                                   0600);
    char ce[300], co[300];
    snprintf(ce, sizeof ce, "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
    snprintf(co, sizeof co, "AWS_CONFIG_FILE=%s", conf);
    const char *env[] = {ce, co, NULL, NULL};
    struct creds_ctx ctx = {0};
    struct result r = {0};
    ctx.envp = env;
    struct creds_provider *p = creds_profile_provider_new(&ctx, NULL);
    fetch_once(p, &r);
    T_ASSERT(r.c != NULL);
    T_EQ_STR(r.c->access_key_id, "AKIDDEFAULT");
    T_EQ_STR(r.c->provider, "profile");
    env[2] = "AWS_PROFILE=dev";
    fetch_once(p, &r);
    T_ASSERT(r.c != NULL);
    T_EQ_STR(r.c->access_key_id, "AKIDDEV"); /* credentials file wins over config */
    T_EQ_STR(r.c->session_token, "tokdev");
    env[2] = "AWS_PROFILE=cfgonly";
    fetch_once(p, &r);
    T_ASSERT(r.c != NULL);
    T_EQ_STR(r.c->access_key_id, "AKIDCFG");
    env[2] = "AWS_PROFILE=nope";
    fetch_once(p, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "profile nope not found") && strstr(r.err, cred));
    creds_provider_free(p);
    /* Explicit files beat the environment. */
    env[0] = "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c";
    env[2] = NULL;
    p = creds_profile_provider_new_files(&ctx, "cfgonly", "/nonexistent/x", conf);
    fetch_once(p, &r);
    T_CHECK(r.c && strcmp(r.c->access_key_id, "AKIDCFG") == 0);
    creds_provider_free(p);
    p = creds_profile_provider_new_files(&ctx, NULL, cred, NULL);
    fetch_once(p, &r);
    T_CHECK(r.c && strcmp(r.c->access_key_id, "AKIDDEFAULT") == 0);
    creds_provider_free(p);
    /* An explicit profile beats AWS_PROFILE. */
    env[0] = ce;
    env[2] = "AWS_PROFILE=nope";
    p = creds_profile_provider_new(&ctx, "dev");
    fetch_once(p, &r);
    T_CHECK(r.c && strcmp(r.c->access_key_id, "AKIDDEV") == 0);
    creds_provider_free(p);
    result_clear(&r);
    tmpdir_remove(&d);
}

TEST(profile_warns_once_on_readable_file)
{
    struct tmpdir d;
    struct fake_log log;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *cred = tmpdir_file(&d, "credentials",
                                   "[default]\naws_access_key_id=AKIDEXAMPLE1\n"
                                   "aws_secret_access_key=" SECRET "\n",
                                   0644);
    char ce[300];
    snprintf(ce, sizeof ce, "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
    const char *env[] = {ce, "AWS_CONFIG_FILE=/nonexistent/config", NULL};
    struct creds_ctx ctx = {0};
    struct result r = {0};
    ctx.envp = env;
    struct creds_provider *p = creds_profile_provider_new(&ctx, NULL);
    fake_log_start(&log);
    fetch_once(p, &r);
    fetch_once(p, &r);
    fake_log_stop();
    T_CHECK(r.c != NULL);
    const char *w = strstr(log.text, "W! [creds]");
    T_CHECK(w && strstr(w, "chmod 600"));
    T_CHECK(w && strstr(w + 1, "W! [creds]") == NULL); /* once */
    T_CHECK(strstr(log.text, SECRET) == NULL);
    creds_provider_free(p);
    result_clear(&r);
    tmpdir_remove(&d);
}

TEST(profile_unreadable_and_incomplete)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *cred =
        tmpdir_file(&d, "credentials", "[default]\naws_secret_access_key=" SECRET "\n", 0600);
    const char *locked = tmpdir_file(&d, "locked", "[default]\n", 0000);
    char ce[300], cl[300], cd[300];
    snprintf(cd, sizeof cd, "AWS_SHARED_CREDENTIALS_FILE=%s", d.path);
    snprintf(ce, sizeof ce, "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
    snprintf(cl, sizeof cl, "AWS_SHARED_CREDENTIALS_FILE=%s", locked);
    const char *env[] = {ce, "AWS_CONFIG_FILE=/nonexistent/config", NULL};
    struct creds_ctx ctx = {0};
    struct result r = {0};
    ctx.envp = env;
    struct creds_provider *p = creds_profile_provider_new(&ctx, NULL);
    fetch_once(p, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "has aws_secret_access_key but not aws_access_key_id"));
    T_CHECK(strstr(r.err, SECRET) == NULL);
    env[0] = cl;
    fetch_once(p, &r);
    if (geteuid() != 0) /* root reads a mode-000 file anyway; the directory case covers it */
        T_CHECK(r.c == NULL && strstr(r.err, "cannot open") && strstr(r.err, "ermission denied"));
    env[0] = cd;
    fetch_once(p, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "cannot read") && strstr(r.err, "directory"));
    /* A file over the 1 MiB cap is refused, not read. */
    char *huge = malloc(1100000);
    T_ASSERT(huge != NULL);
    memset(huge, '#', 1099999);
    huge[1099999] = '\0';
    const char *hp = tmpdir_file(&d, "huge", huge, 0600);
    free(huge);
    char ch[300];
    snprintf(ch, sizeof ch, "AWS_SHARED_CREDENTIALS_FILE=%s", hp);
    env[0] = ch;
    fetch_once(p, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "larger than 1048576 bytes"));
    creds_provider_free(p);
    result_clear(&r);
    tmpdir_remove(&d);
}

/* ---- credential_process ---- */

static void run_process(const char *cmd, double timeout, struct result *r)
{
    const char *env[] = {"PATH=/usr/bin:/bin", NULL};
    struct creds_ctx ctx = {0};
    ctx.envp = env;
    ctx.process_timeout = timeout;
    struct creds_provider *p = creds_process_provider_new(&ctx, cmd);
    result_clear(r);
    creds_provider_fetch(p, result_cb, r);
    creds_provider_free(p);
}

TEST(process_good_output)
{
    struct result r = {0};
    run_process("printf '%s' '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                "\"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"t\", "
                "\"Expiration\": \"2026-08-20T12:00:00Z\"}'",
                5, &r);
    T_EQ_INT(r.calls, 1);
    T_ASSERT(r.c != NULL);
    T_EQ_STR(r.c->access_key_id, "AKIDPROC");
    T_EQ_STR(r.c->session_token, "t");
    T_EQ_DBL(r.c->expiration, 1787227200.0, 0);
    T_EQ_STR(r.c->provider, "process");
    run_process("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'", 5,
                &r);
    T_CHECK(r.c && r.c->expiration == 0 && r.c->session_token == NULL);
    result_clear(&r);
}

TEST(process_failures)
{
    static const struct {
        const char *cmd;
        const char *want;
    } cases[] = {
        {"echo 'first problem' >&2; echo second >&2; exit 3",
         "exited with status 3: first problem"},
        {"echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}'",
         "\"Version\" must be 1"},
        {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\"'", "malformed JSON"},
        {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", "lacks SecretAccessKey"},
        {"echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\", "
         "\"Expiration\": \"tomorrow\"}'",
         "unparseable Expiration"},
        {"head -c 100000 /dev/zero | tr '\\0' x", "larger than"},
        {"/nonexistent/helper", "exited with status 127"},
        {"kill -9 $$", "killed by signal 9"},
    };
    struct result r = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_process(cases[i].cmd, 5, &r);
        if (r.c || !strstr(r.err, cases[i].want))
            t_fail_at(__FILE__, __LINE__, "case %zu: expected error containing \"%s\", got \"%s\"",
                      i, cases[i].want, r.err);
    }
    result_clear(&r);
}

TEST(process_timeout_kills_the_group)
{
    struct result r = {0};
    char cmd[200];
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    /* The grandchild would write a marker after 2 s if it survived the kill. */
    snprintf(cmd, sizeof cmd, "(sleep 2; touch %s/alive) & sleep 30", d.path);
    run_process(cmd, 0.3, &r);
    T_CHECK(r.c == NULL && strstr(r.err, "timed out after 0.3 s"));
    sleep(3);
    char marker[128];
    snprintf(marker, sizeof marker, "%s/alive", d.path);
    T_CHECK(access(marker, F_OK) != 0);
    unlink(marker);
    tmpdir_remove(&d);
    result_clear(&r);
}

TEST(profile_credential_process)
{
    struct tmpdir d;
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *conf = tmpdir_file(&d, "config",
                                   "[profile proc]\ncredential_process = echo '{\"Version\": 1, "
                                   "\"AccessKeyId\": \"AKIDFROMPROC\", \"SecretAccessKey\": "
                                   "\"s\"}'\n",
                                   0600);
    char co[300];
    snprintf(co, sizeof co, "AWS_CONFIG_FILE=%s", conf);
    const char *env[] = {co, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c", "PATH=/bin:/usr/bin",
                         NULL};
    struct creds_ctx ctx = {0};
    struct result r = {0};
    ctx.envp = env;
    struct creds_provider *p = creds_profile_provider_new(&ctx, "proc");
    fetch_once(p, &r);
    T_CHECK(r.c && strcmp(r.c->access_key_id, "AKIDFROMPROC") == 0);
    creds_provider_free(p);
    result_clear(&r);
    tmpdir_remove(&d);
}

/* ---- the chain ---- */

TEST(chain_lists_every_provider_and_hides_secrets)
{
    struct tmpdir d;
    struct fake_http f;
    struct fake_clock clk = {1787227200.0};
    struct fake_log log;
    struct creds_ctx ctx;
    struct result r = {0};
    T_ASSERT(tmpdir_make(&d) == 0);
    const char *cred =
        tmpdir_file(&d, "credentials", "[default]\naws_secret_access_key=" SECRET "\n", 0600);
    char ce[300];
    snprintf(ce, sizeof ce, "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
    const char *env[] = {"AWS_SECRET_ACCESS_KEY=" SECRET, ce, "AWS_CONFIG_FILE=/nonexistent/x",
                         "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9", NULL};
    fake_http_init(&f);
    ctx_init(&ctx, &f, &clk, env);
    fake_http_on(&f, "PUT", "/latest/api/token", 500, "oops")->repeat = 1;
    struct creds_provider *chain = creds_default_chain_new(&ctx, NULL);
    T_ASSERT(chain != NULL);
    fake_log_start(&log);
    creds_provider_fetch(chain, result_cb, &r);
    fake_http_run(&f);
    fake_log_stop();
    T_EQ_INT(r.calls, 1);
    T_CHECK(r.c == NULL);
    static const char *names[] = {
        "environment: ", "profile: ", "web_identity: ", "ecs: ", "imds: "};
    for (size_t i = 0; i < 5; i++) {
        if (!strstr(r.err, names[i]))
            t_fail_at(__FILE__, __LINE__, "chain error lacks \"%s\": %s", names[i], r.err);
        if (!strstr(log.text, names[i]))
            t_fail_at(__FILE__, __LINE__, "log lacks \"%s\": %s", names[i], log.text);
    }
    T_CHECK(strstr(r.err, "HTTP 500") != NULL);
    T_CHECK(strstr(r.err, SECRET) == NULL);
    T_CHECK(strstr(log.text, SECRET) == NULL);
    T_CHECK(strstr(log.text, "wJalrXUtnFEMI") == NULL);
    creds_provider_free(chain);
    fake_http_free(&f);
    result_clear(&r);
    tmpdir_remove(&d);
}

TEST(chain_moves_on_to_the_first_good_provider)
{
    struct fake_http f;
    struct fake_clock clk = {1787227200.0};
    struct creds_ctx ctx;
    struct result r = {0};
    const char *env[] = {"AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=x",
                         "AWS_EC2_METADATA_DISABLED=true", NULL};
    const char *env2[] = {"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c", "AWS_CONFIG_FILE=/none",
                          "AWS_EC2_METADATA_DISABLED=true", NULL};
    fake_http_init(&f);
    ctx_init(&ctx, &f, &clk, env);
    struct creds_provider *chain = creds_default_chain_new(&ctx, NULL);
    creds_provider_fetch(chain, result_cb, &r);
    T_CHECK(r.c && strcmp(r.c->provider, "environment") == 0);
    creds_provider_free(chain);
    /* Static provider after failing ones. */
    ctx.envp = env2;
    struct creds_provider *list[] = {
        creds_env_provider_new(&ctx), creds_profile_provider_new(&ctx, NULL),
        creds_imds_provider_new(&ctx), creds_static_provider_new("AKIDSTATIC", "s", NULL)};
    chain = creds_chain_new(list, 4);
    result_clear(&r);
    creds_provider_fetch(chain, result_cb, &r);
    T_CHECK(r.c && strcmp(r.c->access_key_id, "AKIDSTATIC") == 0);
    T_EQ_INT(f.nreqs, 0); /* IMDS disabled: no request */
    creds_provider_free(chain);
    fake_http_free(&f);
    result_clear(&r);
}

T_MAIN("creds", T_CASE(parse_time_valid_forms), T_CASE(parse_time_rejects_garbage),
       T_CASE(creds_object_refs_and_validation), T_CASE(env_provider),
       T_CASE(ini_parses_the_aws_dialect), T_CASE(xml_extracts_and_refuses_truncation),
       T_CASE(profile_static_keys_and_selection), T_CASE(profile_warns_once_on_readable_file),
       T_CASE(profile_unreadable_and_incomplete), T_CASE(process_good_output),
       T_CASE(process_failures), T_CASE(process_timeout_kills_the_group),
       T_CASE(profile_credential_process), T_CASE(chain_lists_every_provider_and_hides_secrets),
       T_CASE(chain_moves_on_to_the_first_good_provider))
