/* libFuzzer target: the shared config/credentials file parser (sigv4/ini.c). */
#include "sigv4/ini.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 200000)
        return 0;
    char *b = malloc(size + 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    b[size] = '\0';
    struct ini *ini = ini_parse(b, size);
    if (ini) {
        (void)ini_get(ini, "default", "aws_access_key_id");
        (void)ini_get(ini, "profile x", "role_arn");
        (void)ini_get(ini, "x", "credential_process");
        (void)ini_has_section(ini, "default");
        (void)ini_bad_lines(ini);
        ini_free(ini);
    }
    free(b);
    return 0;
}
