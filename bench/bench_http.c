/* bench_http — requests per second through the libcurl-multi transport to the loopback
 * tests/lib/httpsink.py, with 1 and 8 requests in flight, plus the client's own CPU per request.
 * The Python sink is usually the bottleneck: the CPU figure is the one that describes us.
 * Prints figures; asserts nothing. */
#include "agent/http_curl.h"
#include "agent/loop.h"
#include "tests/unit/httpsink.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

struct run {
    struct cw_http_transport t;
    struct cw_http_request req;
    int to_start, running, finished, errors;
    int all_done;
};

static void on_done(void *ud, const struct cw_http_response *resp)
{
    struct run *r = ud;
    r->running--;
    r->finished++;
    if (resp->error != CW_HTTP_OK || resp->status != 200)
        r->errors++;
    if (r->to_start > 0 && r->t.submit(r->t.impl, &r->req, on_done, r) == 0) {
        r->to_start--;
        r->running++;
    }
    if (r->running == 0)
        r->all_done = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void bench(int port, unsigned inflight, int total, size_t body_len)
{
    static char body[65536];
    memset(body, 'b', sizeof body);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/status/200", port);
    struct cw_loop *loop = cw_loop_new();
    struct cw_http_curl_options o = {.max_concurrent = inflight};
    struct cw_http_curl *h = loop ? cw_http_curl_new(loop, &o) : NULL;
    if (!h) {
        printf("   cannot create the transport\n");
        cw_loop_free(loop);
        return;
    }
    struct run r = {.t = cw_http_curl_transport(h), .to_start = total};
    r.req =
        (struct cw_http_request){.method = "POST", .url = url, .body = body, .body_len = body_len};
    double t0 = now_s(), c0 = cpu_s();
    for (unsigned i = 0; i < inflight && r.to_start > 0; i++)
        if (r.t.submit(r.t.impl, &r.req, on_done, &r) == 0) {
            r.to_start--;
            r.running++;
        }
    cw_loop_run_until(loop, &r.all_done, 120000);
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("   %u in flight, %zu-byte POST: %d requests in %.2f s = %.0f req/s; client CPU "
           "%.1f us/request; %lu connection(s); %d errors\n",
           inflight, body_len, r.finished, dt, r.finished / dt, dc * 1e6 / r.finished,
           cw_http_curl_connections_opened(h), r.errors);
    cw_http_curl_free(h);
    cw_loop_free(loop);
}

int main(void)
{
    struct httpsink s;
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    if (httpsink_start(&s) != 0) {
        printf("   cannot start tests/lib/httpsink.py\n");
        return 0;
    }
    bench(s.port, 1, 2000, 200);
    bench(s.port, 8, 4000, 200);
    bench(s.port, 8, 1000, 65536);
    httpsink_stop(&s);
    return 0;
}
