/* libFuzzer target: credential documents (credential_process output, IMDS and ECS bodies:
 * creds_from_json) and their Expiration times (creds_parse_time). Byte 0: bit 0 selects
 * creds_parse_time, bits 1-2 the provider's requirements. Invariant: no part of the input after
 * "SecretAccessKey" ever shows in the error message (it may be a secret). */
#include "sigv4/creds.h"
#include "sigv4/creds_internal.h"

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
    if (sel & 1) {
        double t;
        (void)creds_parse_time(b, &t);
    } else {
        char err[512] = "";
        creds_release(
            creds_from_json(b, size, "process", (sel & 2) != 0, (sel & 4) != 0, err, sizeof err));
    }
    free(b);
    return 0;
}
