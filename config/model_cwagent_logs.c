/* model_cwagent_logs — cwagent-only logs settings under agent.cwagent (the reference schema lets
 * agentDefinition hold extra keys and the reference agent ignores them):
 *   agent.cwagent.logs_compression  "auto" (default): gzip PutLogEvents bodies while the
 *                                   compressor is faster than the wire (agent/zpolicy.h);
 *                                   "gzip": always; "none": never. */
#include "config/model.h"

#include <stdlib.h>
#include <string.h>

static const struct mb_keyspec cwagent_logs_keys[] = {
    {"logs_compression", MB_OK},
    {NULL, MB_OK},
};

void cw_model_cwagent_logs(struct mb *m, const json_t *agent, struct cw_agent_config *out)
{
    static const char *const modes[] = {"auto", "gzip", "none"};
    out->logs_compression = CW_LOGS_COMPRESSION_AUTO;
    const json_t *c = agent ? json_object_get(agent, "cwagent") : NULL;
    if (!c)
        return;
    if (!json_is_object(c)) {
        mb_error(m, "agent.cwagent", "expected an object");
        return;
    }
    mb_check_keys(m, c, "agent.cwagent", cwagent_logs_keys);
    const json_t *v = json_object_get(c, "logs_compression");
    if (!v)
        return;
    for (int i = 0; json_is_string(v) && i < 3; i++) {
        if (strcmp(json_string_value(v), modes[i]) == 0) {
            out->logs_compression = i;
            return;
        }
    }
    mb_error(m, "agent.cwagent.logs_compression", "expected \"auto\", \"gzip\" or \"none\"");
}
