/* cmd_status — `cwagent status`: asks the running agent (over its status socket in the state
 * directory) how it is doing and prints a summary for people (agent/status_text.h); with --json
 * it prints the JSON the agent answers, unchanged. When no agent answers, the reference ctl's
 * stopped document (as text, or as JSON with --json). */
#include "agent/commands.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/status.h"
#include "agent/status_text.h"
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

/* Prints `doc` as it is (--json) or as the summary for people. */
static void print_doc(const char *doc, int as_json)
{
    char *text = as_json ? NULL : status_text(doc, (double)time(NULL));
    fputs(text ? text : doc, stdout);
    if (!text)
        fputc('\n', stdout);
    free(text);
}

int cmd_status(int argc, char **argv)
{
    const char *state = DEFAULT_STATE_DIR, *config = DEFAULT_CONFIG_DIR;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: cwagent status [--json] [--state-dir DIR] [--config-dir DIR]\n\n"
                   "Says whether the agent is running and shipping: since when, the credentials,\n"
                   "per destination (metrics, logs) what was sent, queued, refused or dropped and\n"
                   "the last error, per followed file how far behind it is.\n"
                   "--json prints the agent's JSON document instead: status, starttime,\n"
                   "configstatus, version (as amazon-cloudwatch-agent-ctl) and every counter.\n");
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
            continue;
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
        print_doc(doc, as_json);
        free(doc);
        return 0;
    }
    const char *state_word = "stopped";
    int rc = 0;
    if (errno == EACCES) { /* it may well be running: do not say "stopped" */
        fprintf(stderr,
                "cwagent status: permission denied on %s (run as root or the agent's "
                "user)\n",
                path);
        state_word = "unknown";
        rc = 1;
    }
    char stopped[512];
    snprintf(stopped, sizeof stopped,
             "{\n  \"status\": \"%s\",\n  \"starttime\": \"\",\n  \"configstatus\": "
             "\"%s\",\n  \"version\": \"%s\"\n}",
             state_word, config_status(config), CWAGENT_VERSION);
    print_doc(stopped, as_json);
    return rc;
}
