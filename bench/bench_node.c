/* bench_node — CPU cost of one /metrics round (collectors/node.c reads /proc, /sys, statfs and
 * uname; agent/prom_text.c renders the page), split into its parts: reading only (series
 * counted, not rendered) and reading + rendering. Averaged over ROUNDS rounds, measured with
 * CLOCK_PROCESS_CPUTIME_ID. Printed, never asserted (budget: <= 1 ms for the dashboard's set). */
#include "agent/prom_text.h"
#include "collectors/node.h"

#include <stdio.h>
#include <time.h>

#define ROUNDS 200

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void count(void *ud, const struct node_series *s)
{
    (void)s;
    (*(size_t *)ud)++;
}

int main(void)
{
    struct node_reader *r = node_reader_new("/", NULL, NULL);
    if (!r)
        return 1;
    size_t n = 0;
    node_reader_round(r, 0, count, &n); /* warm up */
    double t0 = cpu_us();
    for (int i = 0; i < ROUNDS; i++)
        node_reader_round(r, 0, count, &n);
    double read_us = (cpu_us() - t0) / ROUNDS;
    struct cw_buf b;
    cw_buf_init(&b, 16u << 20);
    size_t series = 0;
    t0 = cpu_us();
    for (int i = 0; i < ROUNDS; i++) {
        struct prom_text w;
        cw_buf_reset(&b);
        prom_text_init(&w, &b);
        series = node_reader_round(r, 0, prom_text_emit, &w);
    }
    double all_us = (cpu_us() - t0) / ROUNDS;
    printf("  /metrics round: %zu series, %zu bytes; read %.0f us CPU, read + render %.0f us CPU "
           "(render %.0f us)\n",
           series, b.len, read_us, all_us, all_us - read_us);
    cw_buf_free(&b);
    node_reader_free(r);
    return 0;
}
