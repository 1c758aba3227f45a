/* cwagent — entry point: dispatches to the subcommands in agent/commands.h. */
#include "agent/commands.h"
#include "agent/version.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"version", cmd_version, "print the version"},
    {"collect", cmd_collect, "print one round of host metrics (--once)"},
    {"config", cmd_config, "validate or show the configuration, list the endpoints"},
    {"fetch-config", cmd_fetch_config,
     "fetch, validate and install a config (file:, ssm:, default)"},
    {"run", cmd_run, "run the agent (metrics and logs) in the foreground"},
    {"status", cmd_status, "show the running agent's status (--json: every counter)"},
    {"alarms", cmd_alarms, "plan or apply alarms bound to the series this config publishes"},
    {"dashboard", cmd_dashboard, "plan or apply a CloudWatch dashboard for this host"},
    {"cost", cmd_cost, "series, API calls and the monthly estimate of a config"},
    {"sign", cmd_sign, "sign a raw HTTP request with SigV4 and show each step"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cwagent <command> [options]\n\n"
                 "A small, lossless CloudWatch metrics and logs agent, drop-in for "
                 "amazon-cloudwatch-agent.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'cwagent <command> --help' for a command's options.\n");
}

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("cwagent %s\n", CWAGENT_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "cwagent: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
