/* prom_exporter — cwagent's node_exporter-compatible `GET /metrics` (agent.cwagent.prometheus).
 *
 * One collection round per interval (collectors/node.h reads /proc, /sys, statfs and uname once)
 * is rendered into a page (prom_text.h) and kept; every scrape is served that latest page, so a
 * scrape never reads /proc and any number of scrapes cost one round per interval. The page
 * carries the round's time in node_time_seconds.
 *
 * The HTTP/1.1 server runs on the agent's event loop, non-blocking throughout:
 *  - at most PROM_MAX_CONNS connections at once; when all are taken, the one that has been
 *    sending its request the longest is closed to make room (evicted), so idle or slow
 *    clients cannot lock scrapers out; when every slot is busy answering, the new connection
 *    is closed at accept (conns_refused);
 *  - a request head is at most PROM_MAX_REQUEST bytes (431 and close beyond);
 *  - each connection has PROM_CONN_TIMEOUT_MS for the whole exchange (slowloris, or a reader
 *    that never drains the page): then it is closed and counted (timeouts);
 *  - `GET /metrics` (and HEAD) -> 200 with PROM_CONTENT_TYPE; another path -> 404; another
 *    method -> 405; a malformed request line -> 400. Every response closes the connection.
 * A page being sent is reference-counted, so a new round never changes bytes on the wire.
 *
 * Ownership: borrows the loop (outlives the exporter); copies the options it keeps.
 */
#ifndef CW_PROM_EXPORTER_H
#define CW_PROM_EXPORTER_H

#include <stdint.h>

#include "agent/loop.h"
#include "collectors/collectors.h"

#define PROM_MAX_CONNS       64
#define PROM_MAX_REQUEST     8192
#define PROM_CONN_TIMEOUT_MS 10000
#define PROM_MAX_PAGE        (16u << 20) /* a bigger page is cut and counted (render_failures) */

struct prom_exporter_options {
    struct cw_loop *loop;
    const char *listen;           /* "host:port", "[v6]:port" or ":port" (all interfaces) */
    const char *root;             /* /proc and /sys root; NULL = "/" */
    long interval_ms;             /* one collection round per interval */
    int64_t (*wall_ms)(void *ud); /* NULL = the real clock */
    void *wall_ud;
    collectors_statfs_fn statfs_fn; /* NULL = statfs(2) (the seam of collectors.h) */
    void *statfs_ud;
};

struct prom_exporter_stats {
    uint64_t rounds, scrapes, bad_requests, not_found, conns_refused, evicted, timeouts;
    uint64_t render_failures;
    uint64_t page_bytes, series;
    uint64_t round_us; /* wall time of the last round (read + render), microseconds */
};

struct prom_exporter;

/* Binds the listen address, runs a first round and starts the interval timer. Returns NULL
 * with a message in err (bad address, port in use, no memory). */
struct prom_exporter *prom_exporter_new(const struct prom_exporter_options *o, char *err,
                                        size_t errlen);
/* Closes the listener and every connection. NULL is a no-op. */
void prom_exporter_free(struct prom_exporter *e);
void prom_exporter_stats(const struct prom_exporter *e, struct prom_exporter_stats *out);
/* The bound port (useful when listening on port 0). */
int prom_exporter_port(const struct prom_exporter *e);

#endif
