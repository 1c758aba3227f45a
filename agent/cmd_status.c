/* cmd_status — `cwagent status`: asks the running agent (over its status socket in the state
 * directory) how it is doing, and prints the JSON it answers. When no agent answers, prints the
 * reference ctl's stopped document. */
#include "agent/commands.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/status.h"
#include "agent/version.h"

#define DEFAULT_STATE_DIR  "/var/lib/cwagent"
#define DEFAULT_CONFIG_DIR "/etc/cwagent/cwagent.d"

/* "configured" when the configuration directory (or file) holds something. */
static const char *config_status(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return access(dir, R_OK) == 0 ? "configured" : "not configured";
    const char *res = "not configured";
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            res = "configured";
    closedir(d);
    return res;
}

int cmd_status(int argc, char **argv)
{
    const char *state = DEFAULT_STATE_DIR, *config = DEFAULT_CONFIG_DIR;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: cwagent status [--state-dir DIR] [--config-dir DIR]\n\n"
                   "Prints the running agent's status as JSON: status, starttime, configstatus,\n"
                   "version (as amazon-cloudwatch-agent-ctl), plus credentials, metrics, logs\n"
                   "(per-file offsets and lag) and API counters.\n");
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "cwagent status: unknown option or missing value '%s'\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--state-dir") == 0)
            state = argv[++i];
        else if (strcmp(argv[i], "--config-dir") == 0)
            config = argv[++i];
        else {
            fprintf(stderr, "cwagent status: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    char path[4096], *doc = NULL;
    snprintf(path, sizeof path, "%s/%s", state, STATUS_SOCKET_NAME);
    if (status_query(path, 3000, &doc) == 0) {
        fputs(doc, stdout);
        fputc('\n', stdout);
        free(doc);
        return 0;
    }
    if (errno == EACCES) { /* it may well be running: do not say "stopped" */
        fprintf(stderr,
                "cwagent status: permission denied on %s (run as root or the agent's "
                "user)\n",
                path);
        printf("{\n  \"status\": \"unknown\",\n  \"starttime\": \"\",\n  \"configstatus\": "
               "\"%s\",\n  \"version\": \"%s\"\n}\n",
               config_status(config), CWAGENT_VERSION);
        return 1;
    }
    printf("{\n  \"status\": \"stopped\",\n  \"starttime\": \"\",\n  \"configstatus\": \"%s\",\n"
           "  \"version\": \"%s\"\n}\n",
           config_status(config), CWAGENT_VERSION);
    return 0;
}
