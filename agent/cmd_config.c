/* cmd_config — `cwagent config validate|show|endpoints -c FILE|DIR [-c ...]`.
 *   validate: errors on stderr and exit 2, or the warnings then "configuration valid" on
 *             stdout and exit 0; with --json one object {"valid","errors","warnings"} on
 *             stdout (same exit codes).
 *   show:     the effective configuration as JSON on stdout (warnings on stderr), exit 0;
 *             errors exit 2.
 *   endpoints: "<service> <URL>" for monitoring, logs, sts, ec2 and ssm as `cwagent run` would
 *             reach them (overrides, FIPS, dual-stack, partition; agent/endpoint.h): the hosts
 *             a firewall or proxy must allow. --region R, else agent.region, else AWS_REGION /
 *             AWS_DEFAULT_REGION; -c is optional here. Exit 2 when one cannot be resolved.
 * Without -c, the JSON in $CW_CONFIG_CONTENT is used when set (as the reference does in
 * containers). Placeholders are resolved with the OS hostname; instance metadata is unknown
 * here (i-UNKNOWN, ...). */
#include "agent/commands.h"
#include "agent/endpoint.h"
#include "config/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CONFIG_ARGS 256

static void config_usage(FILE *out)
{
    fprintf(out, "usage: cwagent config validate [--json] -c FILE|DIR [-c FILE|DIR ...]\n"
                 "       cwagent config show -c FILE|DIR [-c FILE|DIR ...]\n"
                 "       cwagent config endpoints [--region R] [-c FILE|DIR ...]\n"
                 "A DIR contributes its *.json files and the amazon-cloudwatch-agent.d names\n"
                 "(default, file_*, ssm_*), in name order. Without -c, $CW_CONFIG_CONTENT is\n"
                 "read. Exit status: 0 valid, 2 usage or configuration error.\n");
}

static void print_lines(FILE *out, const char *prefix, char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s%s\n", prefix, lines[i]);
}

static json_t *lines_json(char **lines, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(lines[i]));
    return a;
}

/* validate --json: {"valid": bool, "errors": [...], "warnings": [...]} on stdout. */
static void print_json_verdict(int valid, const struct cw_config_diag *d)
{
    json_t *o =
        json_pack("{s:b,s:o,s:o}", "valid", valid, "errors", lines_json(d->errors, d->n_errors),
                  "warnings", lines_json(d->warnings, d->n_warnings));
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

static int load(const char **paths, size_t n, struct cw_config **cfg, struct cw_config_diag *d)
{
    char host[256] = "";
    struct cw_config_meta meta = {0};
    if (gethostname(host, sizeof host - 1) == 0)
        meta.local_hostname = host;
    if (n > 0)
        return cw_config_load(paths, n, &meta, cfg, d);
    const char *content = getenv("CW_CONFIG_CONTENT");
    const char *name = "CW_CONFIG_CONTENT";
    return cw_config_load_buffers(&name, &content, 1, &meta, cfg, d);
}

/* One line per service; 0, or 2 when an endpoint cannot be resolved. */
static int print_endpoints(const struct cw_config *cfg, const char *region)
{
    static const struct {
        const char *prefix, *env;
        int section; /* 1 metrics, 2 logs: its endpoint_override applies */
    } svc[] = {{"monitoring", "CLOUDWATCH", 1},
               {"logs", "CLOUDWATCH_LOGS", 2},
               {"sts", "STS", 0},
               {"ec2", "EC2", 0},
               {"ssm", "SSM", 0}};
    struct cw_endpoint_opts eo = {0};
    if (!region && cfg)
        region = cfg->agent.region;
    if (!region || !*region)
        region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    eo.dualstack = cfg && cfg->agent.use_dualstack_endpoint;
    cw_endpoint_opts_from_env(&eo);
    int rc = 0;
    for (size_t i = 0; i < sizeof svc / sizeof svc[0]; i++) {
        const char *ov = !cfg                  ? NULL
                         : svc[i].section == 1 ? cfg->metrics.endpoint_override
                         : svc[i].section == 2 ? cfg->logs.endpoint_override
                                               : NULL;
        char url[512], err[256];
        if (cw_endpoint_resolve(svc[i].prefix, svc[i].env, region, ov, &eo, url, sizeof url, err,
                                sizeof err) != 0) {
            fprintf(stderr, "cwagent config endpoints: %s\n", err);
            rc = 2;
            continue;
        }
        printf("%-10s %s\n", svc[i].prefix, url);
    }
    return rc;
}

static int cmd_endpoints(int argc, char **argv)
{
    const char *paths[MAX_CONFIG_ARGS], *region = NULL;
    size_t n = 0;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc &&
            n < MAX_CONFIG_ARGS) {
            paths[n++] = argv[++i];
        } else if ((strcmp(argv[i], "--region") == 0 || strcmp(argv[i], "-r") == 0) &&
                   i + 1 < argc) {
            region = argv[++i];
        } else {
            fprintf(stderr, "cwagent config endpoints: unexpected argument '%s'\n", argv[i]);
            config_usage(stderr);
            return 2;
        }
    }
    struct cw_config *cfg = NULL;
    struct cw_config_diag d = {0};
    if ((n > 0 || getenv("CW_CONFIG_CONTENT")) && load(paths, n, &cfg, &d) != 0) {
        print_lines(stderr, "error: ", d.errors, d.n_errors);
        cw_config_diag_free(&d);
        return 2;
    }
    int rc = print_endpoints(cfg, region);
    cw_config_free(cfg);
    cw_config_diag_free(&d);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    const char *paths[MAX_CONFIG_ARGS];
    size_t n = 0;
    int as_json = 0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        config_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "endpoints") == 0)
        return cmd_endpoints(argc, argv);
    int show = strcmp(verb, "show") == 0;
    if (!show && strcmp(verb, "validate") != 0) {
        fprintf(stderr, "cwagent config: unknown subcommand '%s'\n", verb);
        config_usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc &&
            n < MAX_CONFIG_ARGS) {
            paths[n++] = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && !show) {
            as_json = 1;
        } else {
            fprintf(stderr, "cwagent config %s: unexpected argument '%s'\n", verb, argv[i]);
            config_usage(stderr);
            return 2;
        }
    }
    if (n == 0 && !getenv("CW_CONFIG_CONTENT")) {
        fprintf(stderr, "cwagent config %s: no configuration given (-c FILE|DIR)\n", verb);
        return 2;
    }
    struct cw_config *cfg = NULL;
    struct cw_config_diag d = {0};
    int rc = load(paths, n, &cfg, &d);
    if (as_json) {
        print_json_verdict(rc == 0, &d);
        cw_config_free(cfg);
        cw_config_diag_free(&d);
        return rc == 0 ? 0 : 2;
    }
    print_lines(show ? stderr : stdout, "warning: ", d.warnings, d.n_warnings);
    if (rc < 0) {
        print_lines(stderr, "error: ", d.errors, d.n_errors);
        fprintf(stderr, "configuration invalid: %zu error(s)\n", d.n_errors);
        cw_config_diag_free(&d);
        return 2;
    }
    if (show) {
        char *json = cw_config_to_json(cfg);
        if (json)
            printf("%s\n", json);
        free(json);
    } else {
        printf("configuration valid\n");
    }
    cw_config_free(cfg);
    cw_config_diag_free(&d);
    return 0;
}
