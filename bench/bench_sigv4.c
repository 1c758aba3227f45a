/* bench_sigv4 — SigV4 signatures per second for a typical PutLogEvents-shaped request with an
 * empty body and a 1 MiB body, with and without the signing-key cache. Prints figures only. */
#include "sigv4/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUN_SECONDS 0.4 /* per figure */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Signs repeatedly for RUN_SECONDS; returns signatures per second, or -1 on a signing error. */
static double measure(const struct sigv4_request *req, const struct sigv4_credentials *cr,
                      const struct sigv4_params *p, struct sigv4_key_cache *cache)
{
    double start = now_s(), elapsed = 0;
    long n = 0;
    do {
        for (int i = 0; i < 16; i++, n++) {
            struct sigv4_result r;
            if (sigv4_sign(req, cr, p, cache, &r) != 0)
                return -1;
            sigv4_result_free(&r);
        }
        elapsed = now_s() - start;
    } while (elapsed < RUN_SECONDS);
    return (double)n / elapsed;
}

int main(void)
{
    const size_t big = 1 << 20;
    char *body = malloc(big);
    if (!body)
        return 1;
    for (size_t i = 0; i < big; i++)
        body[i] = (char)('a' + i % 26);
    struct sigv4_header h[] = {
        {"Host", "logs.us-east-1.amazonaws.com"},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", "Logs_20140328.PutLogEvents"},
        {"User-Agent", "cwagent/0.1"},
    };
    struct sigv4_request req = {"POST", "/", NULL, h, 4, "", 0, NULL};
    struct sigv4_credentials cr = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                   "SESSIONTOKENEXAMPLE"};
    struct sigv4_params p = {"logs", "us-east-1", 1440938160, 1, 0, 1, 0};
    struct sigv4_key_cache *cache = sigv4_key_cache_new();
    if (!cache)
        return 1;
    static const struct {
        const char *label;
        size_t len;
        int cached;
    } runs[] = {
        {"empty body, no key cache ", 0, 0},
        {"empty body, key cache    ", 0, 1},
        {"1 MiB body, no key cache ", 1 << 20, 0},
        {"1 MiB body, key cache    ", 1 << 20, 1},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        req.body = runs[i].len ? body : "";
        req.body_len = runs[i].len;
        double rate = measure(&req, &cr, &p, runs[i].cached ? cache : NULL);
        if (rate < 0) {
            printf("sigv4 %s: signing failed\n", runs[i].label);
            continue;
        }
        double mbs = rate * (double)runs[i].len / 1e6;
        printf("sigv4 %s: %10.0f signatures/s (%.2f us each%s", runs[i].label, rate, 1e6 / rate,
               runs[i].len ? "" : ")\n");
        if (runs[i].len)
            printf(", %.0f MB/s hashed)\n", mbs);
    }
    sigv4_key_cache_free(cache);
    free(body);
    return 0;
}
