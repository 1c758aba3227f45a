#include "tests/unit/t.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    int failed;
    int skipped;
    char reason[4096];
    size_t reason_len;
} g_t;

void t_fail_at(const char *file, int line, const char *fmt, ...)
{
    g_t.failed = 1;
    if (g_t.reason_len >= sizeof g_t.reason - 64)
        return;
    int n = snprintf(g_t.reason + g_t.reason_len, sizeof g_t.reason - g_t.reason_len,
                     "%s%s:%d: ", g_t.reason_len ? " | " : "", file, line);
    if (n > 0)
        g_t.reason_len += (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(g_t.reason + g_t.reason_len, sizeof g_t.reason - g_t.reason_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        g_t.reason_len += (size_t)n;
    if (g_t.reason_len >= sizeof g_t.reason)
        g_t.reason_len = sizeof g_t.reason - 1;
}

void t_skip(const char *fmt, ...)
{
    g_t.skipped = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_t.reason, sizeof g_t.reason, fmt, ap);
    va_end(ap);
}

int t_failed(void)
{
    return g_t.failed;
}

static char *join_env(const char *var, const char *fallback, const char *rel)
{
    const char *base = getenv(var);
    if (!base || !*base)
        base = fallback;
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", base, rel);
    return p;
}

char *t_reference_path(const char *rel)
{
    char *dir = t_repo_path("tests/fixtures");
    if (!dir)
        return NULL;
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, rel);
    free(dir);
    return p;
}

char *t_repo_path(const char *rel)
{
    return join_env("CW_REPO", ".", rel);
}

char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int t_run(const char *suite, const struct t_case *cases, size_t n, int argc, char **argv)
{
    int any_failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && !strstr(cases[i].name, argv[1]))
            continue;
        g_t.failed = 0;
        g_t.skipped = 0;
        g_t.reason_len = 0;
        g_t.reason[0] = '\0';
        cases[i].fn();
        if (g_t.failed) {
            any_failed = 1;
            for (char *c = g_t.reason; *c; c++)
                if (*c == '\n' || *c == '\r')
                    *c = ' ';
            printf("FAIL %s.%s: %s\n", suite, cases[i].name, g_t.reason);
        } else if (g_t.skipped) {
            printf("SKIP %s.%s: %s\n", suite, cases[i].name, g_t.reason);
        } else {
            printf("PASS %s.%s\n", suite, cases[i].name);
        }
    }
    return any_failed ? 1 : 0;
}
