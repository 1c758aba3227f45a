/* Unit tests for agent/http_curl against tests/lib/httpsink.py on 127.0.0.1: bodies, headers,
 * concurrency, keep-alive reuse, error mapping, response caps, shutdown with transfers in flight,
 * and the blocking helper. Loopback only. */
#include "agent/http_curl.h"
#include "agent/loop.h"
#include "agent/version.h"
#include "tests/unit/httpsink.h"
#include "tests/unit/t.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

static struct httpsink g_sink = {-1, 0};
static int g_sink_failed;

static void stop_sink(void)
{
    httpsink_stop(&g_sink);
}

/* Starts the shared sink on first use; returns 0, or -1 (the case is then skipped). */
static int sink_up(void)
{
    if (g_sink.pid > 0)
        return 0;
    if (g_sink_failed || httpsink_start(&g_sink) != 0) {
        g_sink_failed = 1;
        t_skip("cannot start tests/lib/httpsink.py");
        return -1;
    }
    atexit(stop_sink);
    return 0;
}

static void url_for(char *out, size_t n, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", g_sink.port, path);
}

/* What one `done` call delivered (copied). */
struct result {
    int calls;
    int in_submit_violation;
    long status;
    enum cw_http_error error;
    char *body;
    size_t body_len;
    char conn[16];
    char echo_len[32];
    size_t nheaders;
    char msg[128];
};

struct ctx {
    int in_submit;
    int pending;
    int all_done;
    struct result *res;
};

struct call {
    struct ctx *ctx;
    struct result *r;
};

static void on_done(void *ud, const struct cw_http_response *resp)
{
    struct call *c = ud;
    struct result *r = c->r;
    if (c->ctx->in_submit)
        r->in_submit_violation = 1;
    r->calls++;
    r->status = resp->status;
    r->error = resp->error;
    free(r->body);
    r->body = malloc(resp->body_len + 1);
    memcpy(r->body, resp->body, resp->body_len + 1);
    r->body_len = resp->body_len;
    r->nheaders = resp->nheaders;
    r->conn[0] = r->echo_len[0] = '\0';
    cw_http_response_header(resp, "X-Conn", r->conn, sizeof r->conn);
    cw_http_response_header(resp, "X-Echo-Len", r->echo_len, sizeof r->echo_len);
    snprintf(r->msg, sizeof r->msg, "%s", resp->error_msg ? resp->error_msg : "(null)");
    if (--c->ctx->pending == 0)
        c->ctx->all_done = 1;
}

struct fixture {
    struct cw_loop *loop;
    struct cw_http_curl *h;
    struct cw_http_transport t;
};

static int fixture_up(struct fixture *f, unsigned max_concurrent)
{
    struct cw_http_curl_options o = {.max_concurrent = max_concurrent};
    setenv("NO_PROXY", "127.0.0.1,localhost", 1); /* a CI proxy must not see loopback tests */
    f->loop = cw_loop_new();
    f->h = f->loop ? cw_http_curl_new(f->loop, &o) : NULL;
    if (!f->h)
        return -1;
    f->t = cw_http_curl_transport(f->h);
    return 0;
}

static void fixture_down(struct fixture *f)
{
    cw_http_curl_free(f->h);
    cw_loop_free(f->loop);
}

/* Submits one request and runs the loop until its done ran (bounded). */
static int run_one(struct fixture *f, const struct cw_http_request *req, struct result *r)
{
    struct ctx c = {0, 1, 0, r};
    struct call call = {&c, r};
    c.in_submit = 1;
    int rc = f->t.submit(f->t.impl, req, on_done, &call);
    c.in_submit = 0;
    if (rc != 0)
        return -1;
    return cw_loop_run_until(f->loop, &c.all_done, 20000);
}

static struct cw_http_request get_req(const char *url)
{
    struct cw_http_request q = {.method = "GET", .url = url};
    return q;
}

TEST(get_returns_status_body_and_headers)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/status/201?body=hello");
    struct cw_http_request q = get_req(url);
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.calls, 1);
    T_EQ_INT(r.in_submit_violation, 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_EQ_INT(r.status, 201);
    T_EQ_STR(r.body, "hello");
    T_EQ_INT(r.body_len, 5);
    T_CHECK(r.conn[0] != '\0');
    T_CHECK(r.nheaders >= 3); /* Server, Date, Content-Length, X-Conn ... */
    /* 4xx/5xx are responses, not transport errors. */
    url_for(url, sizeof url, "/status/503");
    q = get_req(url);
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_EQ_INT(r.status, 503);
    T_EQ_STR(r.body, "status 503");
    free(r.body);
    fixture_down(&f);
}

TEST(post_and_put_bodies_of_1mb_arrive_intact)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    size_t n = 1 << 20;
    unsigned char *body = malloc(n);
    T_ASSERT(body);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (unsigned char)(x >> 16); /* binary, with NUL bytes */
    }
    char url[128];
    url_for(url, sizeof url, "/echo");
    const char *methods[] = {"POST", "PUT"};
    for (int m = 0; m < 2; m++) {
        struct cw_http_request q = {
            .method = methods[m], .url = url, .body = body, .body_len = n, .max_response = 2 << 20};
        struct result r = {0};
        T_ASSERT(run_one(&f, &q, &r) == 0);
        T_EQ_INT(r.error, CW_HTTP_OK);
        T_EQ_INT(r.status, 200);
        T_EQ_STR(r.echo_len, "1048576");
        T_EQ_INT(r.body_len, n);
        T_CHECK(r.body && memcmp(r.body, body, n) == 0);
        free(r.body);
    }
    free(body);
    fixture_down(&f);
}

TEST(request_headers_user_agent_and_no_expect)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/echoheaders");
    const char *hdrs[] = {"X-Amz-Target: Logs_20140328.PutLogEvents",
                          "Content-Type: application/x-amz-json-1.1", NULL};
    char big[4000];
    memset(big, 'a', sizeof big);
    struct cw_http_request q = {
        .method = "POST", .url = url, .headers = hdrs, .body = big, .body_len = sizeof big};
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.status, 200);
    T_CHECK(r.body && strstr(r.body, "X-Amz-Target: Logs_20140328.PutLogEvents\n"));
    T_CHECK(r.body && strstr(r.body, "Content-Type: application/x-amz-json-1.1\n"));
    T_CHECK(r.body && strstr(r.body, "User-Agent: cwagent/" CWAGENT_VERSION "\n"));
    T_CHECK(r.body && !strstr(r.body, "Expect"));
    /* A PUT without a Content-Type gets none (no curl form default). */
    q = (struct cw_http_request){.method = "PUT", .url = url, .body = "x", .body_len = 1};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_CHECK(r.body && !strstr(r.body, "Content-Type"));
    T_CHECK(r.body && strstr(r.body, "Content-Length: 1\n"));
    free(r.body);
    fixture_down(&f);
}

TEST(hundred_concurrent_requests_complete_once_each)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 16) == 0);
    enum { N = 100 };
    static struct result res[N];
    static struct call calls[N];
    static char bodies[N][32];
    memset(res, 0, sizeof res);
    struct ctx c = {0, N, 0, res};
    char url[128];
    url_for(url, sizeof url, "/echo");
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "request-%d", i);
        struct cw_http_request q = {
            .method = "POST", .url = url, .body = bodies[i], .body_len = strlen(bodies[i])};
        calls[i] = (struct call){&c, &res[i]};
        c.in_submit = 1;
        T_ASSERT(f.t.submit(f.t.impl, &q, on_done, &calls[i]) == 0);
        c.in_submit = 0;
    }
    T_EQ_INT(cw_http_curl_in_flight(f.h), N);
    T_EQ_INT(cw_loop_run_until(f.loop, &c.all_done, 30000), 0);
    int ok = 0;
    for (int i = 0; i < N; i++) {
        T_EQ_INT(res[i].calls, 1);
        T_EQ_INT(res[i].in_submit_violation, 0);
        if (res[i].error == CW_HTTP_OK && res[i].status == 200 && res[i].body &&
            strcmp(res[i].body, bodies[i]) == 0)
            ok++;
        free(res[i].body);
    }
    T_EQ_INT(ok, N);
    T_EQ_INT(cw_http_curl_in_flight(f.h), 0);
    T_CHECK(cw_http_curl_connections_opened(f.h) <= 16); /* capped, then reused */
    fixture_down(&f);
}

/* Chains sequential requests: each done submits the next. */
struct chain {
    struct fixture *f;
    const char *url;
    int left;
    int finished;
    int same_conn;
    char first_conn[16];
    struct result r;
    struct call call;
    struct ctx c;
};

static void chain_next(void *ud, const struct cw_http_response *resp)
{
    struct chain *ch = ud;
    char conn[16] = "";
    cw_http_response_header(resp, "X-Conn", conn, sizeof conn);
    if (!ch->first_conn[0])
        snprintf(ch->first_conn, sizeof ch->first_conn, "%s", conn);
    else if (strcmp(conn, ch->first_conn) != 0)
        ch->same_conn = 0;
    if (resp->error != CW_HTTP_OK || --ch->left == 0) {
        ch->finished = 1;
        return;
    }
    struct cw_http_request q = get_req(ch->url);
    if (ch->f->t.submit(ch->f->t.impl, &q, chain_next, ch) != 0)
        ch->finished = 1;
}

TEST(keep_alive_connection_is_reused)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 1) == 0);
    char url[128];
    url_for(url, sizeof url, "/status/200");
    struct chain ch = {.f = &f, .url = url, .left = 20, .same_conn = 1};
    struct cw_http_request q = get_req(url);
    T_ASSERT(f.t.submit(f.t.impl, &q, chain_next, &ch) == 0);
    T_EQ_INT(cw_loop_run_until(f.loop, &ch.finished, 20000), 0);
    T_EQ_INT(ch.left, 0);
    T_CHECK(ch.first_conn[0] != '\0');
    T_EQ_INT(ch.same_conn, 1);
    T_EQ_INT(cw_http_curl_connections_opened(f.h), 1);
    /* Idle with a cached connection: no busy polling (few callbacks, if any, in 300 ms). */
    int callbacks = 0, iterations = 0;
    for (int64_t end = cw_loop_now_ms(f.loop) + 300; cw_loop_now_ms(f.loop) < end; iterations++) {
        int n = cw_loop_run_once(f.loop, 50);
        T_ASSERT(n >= 0);
        callbacks += n;
    }
    T_CHECK(callbacks <= 3);
    T_CHECK(iterations <= 10);
    fixture_down(&f);
}

TEST(timeout_maps_to_etimedout)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/delay/3000");
    struct cw_http_request q = {.method = "GET", .url = url, .timeout_ms = 200};
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.calls, 1);
    T_EQ_INT(r.error, CW_HTTP_ETIMEDOUT);
    T_EQ_INT(r.status, 0);
    T_CHECK(r.msg[0] != '\0');
    free(r.body);
    fixture_down(&f);
}

/* A loopback port with nothing listening: bound, never listened on, then closed. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

TEST(refused_port_maps_to_econnect)
{
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    int port = closed_port();
    T_ASSERT(port > 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    struct cw_http_request q = get_req(url);
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.calls, 1);
    T_EQ_INT(r.in_submit_violation, 0);
    T_EQ_INT(r.error, CW_HTTP_ECONNECT);
    free(r.body);
    fixture_down(&f);
}

TEST(dropped_and_truncated_responses_map_to_econnreset)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    const char *paths[] = {"/drop", "/partial"};
    for (int i = 0; i < 2; i++) {
        char url[128];
        url_for(url, sizeof url, paths[i]);
        struct cw_http_request q = {.method = "POST", .url = url, .body = "abc", .body_len = 3};
        struct result r = {0};
        T_ASSERT(run_one(&f, &q, &r) == 0);
        T_EQ_INT(r.calls, 1);
        T_EQ_INT(r.error, CW_HTTP_ECONNRESET);
        free(r.body);
    }
    fixture_down(&f);
}

TEST(oversized_response_maps_to_etoobig)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    const char *paths[] = {"/huge/300000", "/hugechunked/300000", "/huge/100000"};
    enum cw_http_error want[] = {CW_HTTP_ETOOBIG, CW_HTTP_ETOOBIG, CW_HTTP_OK};
    for (int i = 0; i < 3; i++) {
        char url[128];
        url_for(url, sizeof url, paths[i]);
        struct cw_http_request q = {.method = "GET", .url = url, .max_response = 100000};
        struct result r = {0};
        T_ASSERT(run_one(&f, &q, &r) == 0);
        T_EQ_INT(r.error, want[i]);
        if (want[i] == CW_HTTP_OK)
            T_EQ_INT(r.body_len, 100000); /* exactly at the cap is fine */
        else
            T_CHECK(r.body_len <= 100000);
        free(r.body);
    }
    fixture_down(&f);
}

TEST(response_headers_are_capped)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/headers/300");
    struct cw_http_request q = get_req(url);
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_EQ_STR(r.body, "ok");
    T_EQ_INT(r.nheaders, CW_HTTP_CURL_MAX_HEADERS);
    free(r.body);
    fixture_down(&f);
}

struct cancel_rec {
    struct fixture *f;
    int calls;
    int cancelled;
    int resubmit_refused;
};

static void on_cancel_done(void *ud, const struct cw_http_response *resp)
{
    struct cancel_rec *c = ud;
    c->calls++;
    if (resp->error == CW_HTTP_EOTHER && resp->error_msg &&
        strcmp(resp->error_msg, "cancelled") == 0)
        c->cancelled++;
    struct cw_http_request q = get_req("http://127.0.0.1:1/");
    if (c->f->t.submit(c->f->t.impl, &q, on_cancel_done, c) != 0)
        c->resubmit_refused++;
}

TEST(free_with_transfers_in_flight_calls_done_with_cancelled)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/delay/3000");
    struct cancel_rec c = {&f, 0, 0, 0};
    for (int i = 0; i < 6; i++) { /* 4 running, 2 queued inside curl */
        struct cw_http_request q = {.method = "POST", .url = url, .body = "b", .body_len = 1};
        T_ASSERT(f.t.submit(f.t.impl, &q, on_cancel_done, &c) == 0);
    }
    int never = 0;
    cw_loop_run_until(f.loop, &never, 150); /* connections open, requests sent */
    T_EQ_INT(c.calls, 0);
    T_EQ_INT(cw_http_curl_in_flight(f.h), 6);
    cw_http_curl_free(f.h);
    T_EQ_INT(c.calls, 6);
    T_EQ_INT(c.cancelled, 6);
    T_EQ_INT(c.resubmit_refused, 6);
    /* The loop holds no watch or timer of the freed transport. */
    T_EQ_INT(cw_loop_timer_count(f.loop), 0);
    T_EQ_INT(cw_loop_run_once(f.loop, 0), 0);
    cw_loop_free(f.loop);
}

TEST(fetch_sync_copies_the_response_out)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/echo");
    struct cw_http_request q = {.method = "PUT", .url = url, .body = "token", .body_len = 5};
    struct cw_http_sync_response out;
    T_EQ_INT(cw_http_fetch_sync(f.loop, &f.t, &q, &out), 0);
    T_EQ_INT(out.status, 200);
    T_EQ_STR(out.body, "token");
    T_EQ_INT(out.body_len, 5);
    int found = 0;
    for (size_t i = 0; i < out.nheaders; i++)
        if (strcmp(out.headers[i], "X-Echo-Method: PUT") == 0)
            found = 1;
    T_CHECK(found);
    T_CHECK(out.headers[out.nheaders] == NULL);
    cw_http_sync_response_free(&out);
    /* A transport error: -1 with the cause. */
    char bad[64];
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/", closed_port());
    q = get_req(bad);
    T_EQ_INT(cw_http_fetch_sync(f.loop, &f.t, &q, &out), -1);
    T_EQ_INT(out.error, CW_HTTP_ECONNECT);
    T_CHECK(out.error_msg[0] != '\0');
    cw_http_sync_response_free(&out);
    /* A request curl cannot even start fails synchronously, and done is never called. */
    struct cw_http_request nomethod = {.method = NULL, .url = url};
    T_EQ_INT(cw_http_fetch_sync(f.loop, &f.t, &nomethod, &out), -1);
    cw_http_sync_response_free(&out);
    fixture_down(&f);
}

TEST(head_request_has_no_body)
{
    if (sink_up())
        return;
    struct fixture f;
    T_ASSERT(fixture_up(&f, 4) == 0);
    char url[128];
    url_for(url, sizeof url, "/huge/5000");
    struct cw_http_request q = {.method = "HEAD", .url = url};
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_EQ_INT(r.status, 200);
    T_EQ_INT(r.body_len, 0);
    free(r.body);
    fixture_down(&f);
}

/* The proxy comes from the options only: curl's own environment handling (http_proxy,
 * ALL_PROXY) is off, and loopback is never proxied even when a proxy is configured. */
TEST(proxy_comes_from_the_options_and_loopback_is_never_proxied)
{
    if (sink_up())
        return;
    setenv("http_proxy", "http://127.0.0.1:1", 1);
    setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
    struct fixture f = {0};
    struct cw_http_curl_options o = {.max_concurrent = 2};
    o.proxy.http_proxy = "http://127.0.0.1:1";
    f.loop = cw_loop_new();
    f.h = f.loop ? cw_http_curl_new(f.loop, &o) : NULL;
    T_ASSERT(f.h);
    f.t = cw_http_curl_transport(f.h);
    char url[128];
    url_for(url, sizeof url, "/status/200?body=direct");
    struct cw_http_request q = get_req(url);
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_EQ_INT(r.status, 200);
    free(r.body);
    fixture_down(&f);

    /* A name goes through the configured proxy: here the sink, which answers whatever it is
     * asked (the name itself is never resolved by the agent). */
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", g_sink.port);
    o.proxy.http_proxy = proxy;
    f.loop = cw_loop_new();
    f.h = f.loop ? cw_http_curl_new(f.loop, &o) : NULL;
    T_ASSERT(f.h);
    f.t = cw_http_curl_transport(f.h);
    q = get_req("http://proxied.cwagent-test.invalid/status/200?body=via");
    memset(&r, 0, sizeof r);
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_OK);
    T_CHECK(r.status > 0);
    free(r.body);
    fixture_down(&f);
    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");
}

TEST(a_refused_proxy_is_named_without_its_password)
{
    struct fixture f = {0};
    struct cw_http_curl_options o = {.max_concurrent = 2};
    o.proxy.https_proxy = "http://alice:s3cretpw@127.0.0.1:1";
    f.loop = cw_loop_new();
    f.h = f.loop ? cw_http_curl_new(f.loop, &o) : NULL;
    T_ASSERT(f.h);
    f.t = cw_http_curl_transport(f.h);
    struct cw_http_request q = get_req("https://logs.us-east-1.amazonaws.com/");
    struct result r = {0};
    T_ASSERT(run_one(&f, &q, &r) == 0);
    T_EQ_INT(r.error, CW_HTTP_ECONNECT);
    T_CHECK(strstr(r.msg, "(through proxy http://***@127.0.0.1:1)") != NULL);
    T_CHECK(strstr(r.msg, "s3cretpw") == NULL);
    if (!strstr(r.msg, "through proxy"))
        t_fail_at(__FILE__, __LINE__, "message: %s", r.msg);
    free(r.body);
    fixture_down(&f);
}

T_MAIN("http_curl", T_CASE(get_returns_status_body_and_headers),
       T_CASE(post_and_put_bodies_of_1mb_arrive_intact),
       T_CASE(request_headers_user_agent_and_no_expect),
       T_CASE(hundred_concurrent_requests_complete_once_each),
       T_CASE(keep_alive_connection_is_reused), T_CASE(timeout_maps_to_etimedout),
       T_CASE(refused_port_maps_to_econnect),
       T_CASE(dropped_and_truncated_responses_map_to_econnreset),
       T_CASE(oversized_response_maps_to_etoobig), T_CASE(response_headers_are_capped),
       T_CASE(free_with_transfers_in_flight_calls_done_with_cancelled),
       T_CASE(fetch_sync_copies_the_response_out), T_CASE(head_request_has_no_body),
       T_CASE(proxy_comes_from_the_options_and_loopback_is_never_proxied),
       T_CASE(a_refused_proxy_is_named_without_its_password))
