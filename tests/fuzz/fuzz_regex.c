/* libFuzzer target: user regexes (filters, multi_line_start_pattern, blacklist) against log
 * lines — lt_re_compile, lt_re_exec (JIT under a match limit, then the DFA), lt_filters_pass.
 * Input: PATTERN '\n' LINE. Invariants: a match span lies inside the line; an exclude filter
 * passes a line only when the same regex decided "no match". */
#include "logtail/lt_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl)
        return 0;
    size_t plen = (size_t)(nl - data), slen = size - plen - 1;
    char *pat = malloc(plen + 1), *s = malloc(slen ? slen : 1);
    if (!pat || !s)
        goto out;
    memcpy(pat, data, plen);
    pat[plen] = '\0';
    memcpy(s, nl + 1, slen);
    struct lt_re re;
    char err[256];
    if (lt_re_compile(&re, pat, err, sizeof err) != 0)
        goto out;
    size_t so = 0, eo = 0;
    int m = lt_re_exec(&re, s, slen, &so, &eo);
    if (m == 1 && (so > eo || eo > slen))
        __builtin_trap();
    lt_re_free(&re);
    struct lt_filter f = {LT_FILTER_EXCLUDE, pat};
    struct lt_filters fl;
    if (lt_filters_init(&fl, &f, 1, err, sizeof err) == 0) {
        if (lt_filters_pass(&fl, s, slen) && m != 0)
            __builtin_trap();
        lt_filters_free(&fl);
    }
out:
    free(pat);
    free(s);
    return 0;
}
