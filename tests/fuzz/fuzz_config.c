/* libFuzzer target: configuration JSON — cw_config_load_buffers (parse, merge, schema, model,
 * placeholders) and cw_config_to_json. Input: one JSON document. */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fake_env(const char *name)
{
    (void)name;
    return "ENVVAL";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *names[] = {"fuzz.json"};
    const char *texts[] = {text};
    struct cw_config_meta meta;
    memset(&meta, 0, sizeof meta);
    meta.instance_id = "i-0123456789abcdef0";
    meta.local_hostname = "host";
    meta.region = "us-east-1";
    meta.asg_name = "asg";
    meta.on_ec2 = 1;
    meta.now = 1700000000;
    meta.getenv_fn = fake_env;
    struct cw_config *cfg = NULL;
    struct cw_config_diag diag;
    memset(&diag, 0, sizeof diag);
    if (cw_config_load_buffers(names, texts, 1, &meta, &cfg, &diag) == 0 && cfg) {
        free(cw_config_to_json(cfg));
        cw_config_free(cfg);
    }
    cw_config_diag_free(&diag);
    free(text);
    return 0;
}
