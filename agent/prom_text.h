/* prom_text — writes series in the Prometheus text exposition format 0.0.4.
 *
 * A family's "# HELP" and "# TYPE" lines are written before its first series; the caller hands
 * every series of a family consecutively (collectors/node.h guarantees it). Label values are
 * escaped (backslash, double quote, newline) and HELP texts too (backslash, newline). Values
 * are written in the shortest form that reads back as the same double ("NaN", "+Inf", "-Inf"
 * for the special values), as Go's client does.
 *
 * Ownership: the writer appends to the caller's cw_buf, whose cap bounds the page; the first
 * failed append (cap or memory) makes prom_text_failed() true and later calls no-ops.
 */
#ifndef CW_PROM_TEXT_H
#define CW_PROM_TEXT_H

#include <stdbool.h>

#include "collectors/node.h"
#include "common/buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_text {
    struct cw_buf *out;
    char last_family[160]; /* family of the previous series: HELP/TYPE on change */
    bool failed;
};

/* Starts a page on `out` (not reset: the caller decides). */
void prom_text_init(struct prom_text *w, struct cw_buf *out);
/* Appends one series (and its family's HELP/TYPE when it starts a family). */
void prom_text_series(struct prom_text *w, const struct node_series *s);
/* node_emit_fn adapter: ud is a struct prom_text *. */
void prom_text_emit(void *ud, const struct node_series *s);
bool prom_text_failed(const struct prom_text *w);

/* Writes v in the shortest round-trip form into out (at least 32 bytes). */
void prom_text_value(double v, char *out, size_t outlen);

#endif
