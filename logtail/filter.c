/* filter — PCRE2 regexes with RE2/Go semantics, and include/exclude filters.
 *
 * User patterns are written for Go's RE2. PCRE2 accepts nearly all of RE2's syntax
 * ((?P<name>…), \z, \Q…\E, \pL, (?i) …). Semantics that differ are aligned with options:
 * `$` matches only at the very end (PCRE2_DOLLAR_ENDONLY, as Go without (?m)). RE2 never
 * backtracks exponentially; PCRE2 can, so a match limit turns a runaway match into "no match".
 */
#include "logtail/lt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_RE_MATCH_LIMIT 200000 /* backtracking steps before a match counts as failed */

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
    return 0;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* 1 on match (group 0 span in so, eo when given), 0 otherwise (also on match-limit). */
int lt_re_match(struct lt_re *re, const char *s, size_t n, size_t *so, size_t *eo)
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
    if (rc < 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
    if (so)
        *so = ov[0];
    if (eo)
        *eo = ov[1];
    return 1;
}

void lt_re_free(struct lt_re *re)
{
    pcre2_match_data_free(re->md);
    pcre2_match_context_free(re->mctx);
    pcre2_code_free(re->code);
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

/* True when the message passes every filter, evaluated in order. */
bool lt_filters_pass(struct lt_filters *f, const char *s, size_t n)
{
    for (size_t i = 0; i < f->n; i++) {
        int m = lt_re_match(&f->re[i], s, n, NULL, NULL);
        if (m == f->exclude[i])
            return false;
    }
    return true;
}

void lt_filters_free(struct lt_filters *f)
{
    for (size_t i = 0; i < f->n; i++)
        lt_re_free(&f->re[i]);
    free(f->re);
    free(f->exclude);
    memset(f, 0, sizeof *f);
}
