#include "agent/prom_text.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prom_text_init(struct prom_text *w, struct cw_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

bool prom_text_failed(const struct prom_text *w)
{
    return w->failed;
}

void prom_text_value(double v, char *out, size_t outlen)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == (double)(int64_t)v && v > -9007199254740992.0 && v < 9007199254740992.0 &&
        outlen >= 24) { /* integers (most counters and gauges): no printf, exact */
        char tmp[24];
        int64_t i = (int64_t)v;
        uint64_t u = i < 0 ? (uint64_t)(-i) : (uint64_t)i;
        size_t n = 0;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        size_t k = 0;
        if (i < 0)
            out[k++] = '-';
        while (n)
            out[k++] = tmp[--n];
        out[k] = '\0';
        if (i != 0 || !signbit(v))
            return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* Appends s with `\`, newline and (when quoted) `"` escaped. */
static int append_escaped(struct cw_buf *b, const char *s, bool quoted)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\'            ? "\\\\"
                          : *s == '\n'          ? "\\n"
                          : quoted && *s == '"' ? "\\\""
                                                : NULL;
        if (!esc)
            continue;
        if (cw_buf_append(b, run, (size_t)(s - run)) != 0 || cw_buf_append_str(b, esc) != 0)
            return -1;
        run = s + 1;
    }
    return cw_buf_append(b, run, (size_t)(s - run));
}

static int write_header(struct prom_text *w, const struct node_series *s)
{
    struct cw_buf *b = w->out;
    if (cw_buf_printf(b, "# HELP %s ", s->family) != 0 || append_escaped(b, s->help, false) != 0 ||
        cw_buf_printf(b, "\n# TYPE %s %s\n", s->family,
                      s->type == NODE_COUNTER ? "counter" : "gauge") != 0)
        return -1;
    snprintf(w->last_family, sizeof w->last_family, "%s", s->family);
    return 0;
}

static int write_series(struct prom_text *w, const struct node_series *s)
{
    struct cw_buf *b = w->out;
    if (cw_buf_append_str(b, s->family) != 0)
        return -1;
    for (size_t i = 0; i < s->nlabels; i++) {
        if (cw_buf_append_char(b, i == 0 ? '{' : ',') != 0 ||
            cw_buf_append_str(b, s->labels[i].name) != 0 || cw_buf_append(b, "=\"", 2) != 0 ||
            append_escaped(b, s->labels[i].value, true) != 0 || cw_buf_append_char(b, '"') != 0)
            return -1;
    }
    char v[48];
    prom_text_value(s->value, v, sizeof v);
    if ((s->nlabels && cw_buf_append_char(b, '}') != 0) || cw_buf_append_char(b, ' ') != 0 ||
        cw_buf_append_str(b, v) != 0)
        return -1;
    return cw_buf_append_char(b, '\n');
}

void prom_text_series(struct prom_text *w, const struct node_series *s)
{
    if (w->failed)
        return;
    if (strcmp(w->last_family, s->family) != 0 && write_header(w, s) != 0)
        w->failed = true;
    else if (write_series(w, s) != 0)
        w->failed = true;
}

void prom_text_emit(void *ud, const struct node_series *s)
{
    prom_text_series(ud, s);
}
