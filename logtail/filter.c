/* filter — PCRE2 regexes with RE2/Go semantics, and include/exclude filters.
 *
 * User patterns are written for Go's RE2. PCRE2 accepts nearly all of RE2's syntax
 * ((?P<name>…), \z, \Q…\E, \pL, (?i) …). Semantics that differ are aligned with options:
 * `$` matches only at the very end (PCRE2_DOLLAR_ENDONLY, as Go without (?m)).
 *
 * RE2 never backtracks; PCRE2 can, exponentially. Every match first runs the (JIT) backtracking
 * matcher under a small match limit; when the limit is hit the line is matched again by PCRE2's
 * DFA matcher, which does not backtrack (work bounded by line length times pattern size, as
 * RE2) and accepts the RE2 subset of the syntax. So a pathological pattern costs a bounded
 * amount per line and still gets RE2's answer. If the DFA cannot answer either (a feature it
 * lacks, its workspace), the result is "unknown": filters then drop the line (an exclude
 * filter never lets through a line it could not check), and the regex warns once and counts.
 */
#include "logtail/lt_int.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backtracking steps before the DFA takes over (PCRE2's default is 10,000,000). */
#define LT_RE_MATCH_LIMIT 10000
/* The DFA's own limits: internal recursion (assertions only) and workspace ints. */
#define LT_RE_DFA_LIMIT  1000000
#define LT_RE_DFA_WSSIZE 4096

/* Compiles pattern into re (JIT when available). 0, or -1 with a message in err. */
int lt_re_compile(struct lt_re *re, const char *pattern, char *err, size_t errlen)
{
    memset(re, 0, sizeof *re);
    if (strcmp(pattern, "^[\\S]") == 0 || strcmp(pattern, "^\\S") == 0) {
        re->fast_nonspace = true;
        return 0;
    }
    int ec;
    PCRE2_SIZE eoff;
    re->code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                      PCRE2_DOLLAR_ENDONLY | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eoff, NULL);
    if (!re->code) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        if (err)
            snprintf(err, errlen, "invalid regex \"%s\" at offset %zu: %s", pattern, (size_t)eoff,
                     (char *)msg);
        return -1;
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
    re->mctx = pcre2_match_context_create(NULL);
    if (!re->md || !re->mctx) {
        lt_re_free(re);
        if (err)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    pcre2_set_match_limit(re->mctx, LT_RE_MATCH_LIMIT);
    pcre2_set_depth_limit(re->mctx, LT_RE_MATCH_LIMIT);
    re->pattern = strdup(pattern);
    if (!re->pattern) {
        lt_re_free(re);
        if (err)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* The DFA's answer after the backtracking matcher gave up: 1, 0, or -1 (unknown). */
static int dfa_match(struct lt_re *re, const char *s, size_t n)
{
    int ws[LT_RE_DFA_WSSIZE];
    pcre2_match_context *dctx = pcre2_match_context_copy(re->mctx);
    if (!dctx)
        return -1;
    pcre2_set_match_limit(dctx, LT_RE_DFA_LIMIT);
    pcre2_set_depth_limit(dctx, LT_RE_DFA_LIMIT);
    int rc = pcre2_dfa_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, dctx, ws, LT_RE_DFA_WSSIZE);
    pcre2_match_context_free(dctx);
    if (rc >= 0)
        return 1;
    return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void limit_hit(struct lt_re *re, int rc, bool resolved)
{
    re->limit_hits++;
    if (!resolved)
        re->unknown++;
    if (re->warned)
        return;
    re->warned = true;
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(rc, msg, sizeof msg);
    cw_warn(LT_COMP,
            "the regex \"%s\" needs heavy backtracking on some lines (%s); %s (warned once, "
            "counted in status as regex_limit_hits)",
            re->pattern, (char *)msg,
            resolved ? "they are matched without backtracking instead (slower)"
                     : "some could not be checked: filters drop such lines");
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int lt_re_exec(struct lt_re *re, const char *s, size_t n, size_t *so, size_t *eo)
{
    if (re->fast_nonspace) {
        if (n == 0 || is_space((unsigned char)s[0]))
            return 0;
        if (so)
            *so = 0;
        if (eo)
            *eo = 1;
        return 1;
    }
    if (!re->code)
        return 0;
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, re->mctx);
    if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL)
        return 0;
    if (rc < 0) {
        int d = dfa_match(re, s, n);
        limit_hit(re, rc, d >= 0);
        if (d <= 0)
            return d;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    if (so)
        *so = ov[0];
    if (eo)
        *eo = ov[1];
    return 1;
}

int lt_re_match(struct lt_re *re, const char *s, size_t n, size_t *so, size_t *eo)
{
    return lt_re_exec(re, s, n, so, eo) > 0;
}

void lt_re_free(struct lt_re *re)
{
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
    free(re->pattern);
    memset(re, 0, sizeof *re);
}

/* Compiles the filters (copied semantics: include must match, exclude must not). */
int lt_filters_init(struct lt_filters *f, const struct lt_filter *in, size_t n, char *err,
                    size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (n == 0)
        return 0;
    f->re = calloc(n, sizeof *f->re);
    f->exclude = calloc(n, sizeof *f->exclude);
    if (!f->re || !f->exclude) {
        lt_filters_free(f);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!in[i].expression || lt_re_compile(&f->re[i], in[i].expression, err, errlen) != 0) {
            if (!in[i].expression && err)
                snprintf(err, errlen, "filter %zu has no expression", i);
            lt_filters_free(f);
            return -1;
        }
        f->n = i + 1;
        f->exclude[i] = in[i].type == LT_FILTER_EXCLUDE;
    }
    return 0;
}

/* True when the message passes every filter, evaluated in order. A line a filter could not
 * check (lt_re_exec -1) does not pass: an exclude filter fails closed. */
bool lt_filters_pass(struct lt_filters *f, const char *s, size_t n)
{
    for (size_t i = 0; i < f->n; i++) {
        int m = lt_re_exec(&f->re[i], s, n, NULL, NULL);
        if (m < 0 || m == f->exclude[i])
            return false;
    }
    return true;
}

uint64_t lt_filters_limit_hits(const struct lt_filters *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i < f->n; i++)
        n += f->re[i].limit_hits;
    return n;
}

void lt_filters_free(struct lt_filters *f)
{
    for (size_t i = 0; i < f->n; i++)
        lt_re_free(&f->re[i]);
    free(f->re);
    free(f->exclude);
    memset(f, 0, sizeof *f);
}
