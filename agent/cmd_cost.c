/* cmd_cost — `cwagent cost -c CONFIG`: the series this configuration publishes on this host, the
 * PutMetricData traffic and the monthly estimate at a price list (agent/cost). */
#include "agent/commands.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cost.h"
#include "agent/plan.h"

#define CMD              "cwagent cost"
#define PRICES_INSTALLED "/usr/share/cwagent/cloudwatch-prices.json"
#define PRICES_SOURCE    "packaging/cloudwatch-prices.json" /* beside build/ in a source tree */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cwagent cost -c CONFIG [options]\n\n"
            "Series, PutMetricData calls and the monthly ESTIMATE of a configuration on this "
            "host.\n"
            "%s"
            "  --prices FILE           price list (default " PRICES_INSTALLED ",\n"
            "                          else " PRICES_SOURCE " next to the build directory)\n"
            "  --log-gb-per-month N    log volume, for the ingestion estimate\n"
            "  --list-series           also list every series (plugin, name, dimensions)\n"
            "  --json                  machine-readable output\n",
            plan_common_help);
}

/* The installed price file, else the source tree's (the binary's ../packaging/). */
static int default_prices(char *out, size_t n)
{
    if (access(PRICES_INSTALLED, R_OK) == 0) {
        snprintf(out, n, "%s", PRICES_INSTALLED);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return -1;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s/../%s", exe, PRICES_SOURCE);
    return access(out, R_OK) == 0 ? 0 : -1;
}

int cmd_cost(int argc, char **argv)
{
    struct plan_args pa = {0};
    const char *prices = NULL;
    double log_gb = -1;
    int json = 0, list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = plan_parse_common(&pa, argc, argv, &i, CMD);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--list-series") == 0) {
            list = 1;
        } else if (strcmp(a, "--prices") == 0 && v) {
            prices = argv[++i];
        } else if (strcmp(a, "--log-gb-per-month") == 0 && v) {
            char *end;
            log_gb = strtod(v, &end);
            if (*end || !isfinite(log_gb) || log_gb < 0) {
                fprintf(stderr, "%s: --log-gb-per-month: expected a number >= 0, got '%s'\n", CMD,
                        v);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "%s: unknown option or missing value: '%s'\n", CMD, a);
            usage(stderr);
            return 2;
        }
    }
    char path[PATH_MAX + 64], err[512];
    if (!prices && default_prices(path, sizeof path) != 0) {
        fprintf(stderr, "%s: no price list at " PRICES_INSTALLED "; pass --prices FILE\n", CMD);
        return 2;
    }
    struct cost_prices p;
    if (cost_prices_load(prices ? prices : path, &p, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", CMD, err);
        return 2;
    }
    struct plan_env e;
    int rc = plan_env_open(&e, &pa, 1, CMD);
    if (rc == 0) {
        struct cost_inputs in = {e.series, e.cfg->metrics.force_flush_interval, log_gb, list,
                                 e.cfg->metrics.statsd.enabled || e.cfg->metrics.collectd.enabled};
        char *out = cost_report(&in, &p, json);
        if (out)
            fputs(out, stdout);
        else
            fprintf(stderr, "%s: out of memory\n", CMD);
        rc = out ? 0 : 1;
        free(out);
    }
    plan_env_close(&e);
    cost_prices_free(&p);
    return rc;
}
