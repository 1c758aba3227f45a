/* libFuzzer target: timestamp formats and lines — lt_ts_init (format -> ops + PCRE2 regex),
 * lt_ts_parse, lt_ts_parse_exact. Input: byte 0 (bit 0: UTC), then FORMAT '\n' SUBJECT.
 * Invariant: a parsed timestamp's span lies inside the subject. */
#include "logtail/lt_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536)
        return 0;
    int utc = data[0] & 1;
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t flen = nl ? (size_t)(nl - data) : size;
    size_t slen = nl ? size - flen - 1 : 0;
    char *fmt = malloc(flen + 1), *s = malloc(slen + 1);
    if (!fmt || !s)
        goto out;
    memcpy(fmt, data, flen);
    fmt[flen] = '\0';
    if (nl)
        memcpy(s, nl + 1, slen);
    s[slen] = '\0';
    int64_t now = 1796200000000LL, ms = 0;
    size_t so = 0, eo = 0;
    struct lt_ts ts;
    char err[256];
    if (lt_ts_init(&ts, fmt, utc, err, sizeof err) == 0) {
        if (lt_ts_parse(&ts, s, slen, now, &ms, &so, &eo) == 0 && (so > eo || eo > slen))
            __builtin_trap();
        lt_ts_free(&ts);
    }
    (void)lt_ts_parse_exact(fmt, utc, s, slen, now, &ms);
out:
    free(s);
    free(fmt);
    return 0;
}
