/* libFuzzer target: the small XML reader (sigv4/xml.c) and the STS AssumeRole* responses it
 * parses. Input: byte 0 selects (even: xml_get/xml_find/xml_text, odd: creds_sts_parse). The
 * content span found must lie inside the document. */
#include "common/http.h"
#include "sigv4/creds.h"
#include "sigv4/creds_internal.h"
#include "sigv4/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 200000)
        return 0;
    unsigned sel = data[0];
    data++, size--;
    char *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    b[size] = '\0';
    char out[256], err[512];
    if (sel % 2 == 0) {
        (void)xml_get(b, size, "Code", out, sizeof out);
        const char *c;
        size_t cl;
        if (xml_find(b, size, "Credentials", &c, &cl) == 0) {
            if (c < b || c + cl > b + size)
                __builtin_trap();
            (void)xml_text(c, cl, out, sizeof out);
        }
    } else {
        struct cw_http_response r;
        memset(&r, 0, sizeof r);
        r.status = sel & 2 ? 403 : 200;
        r.body = b;
        r.body_len = size;
        creds_release(creds_sts_parse(&r, "sts", err, sizeof err));
    }
    free(b);
    return 0;
}
