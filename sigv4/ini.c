#include "sigv4/ini.h"

#include <stdlib.h>
#include <string.h>

struct ini_entry {
    char *section;
    char *key; /* NULL for a bare section marker */
    char *value;
};

struct ini {
    struct ini_entry *e;
    size_t n, cap;
    size_t bad;
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *dup_trim(const char *s, size_t n)
{
    while (n && is_blank(*s))
        s++, n--;
    while (n && is_blank(s[n - 1]))
        n--;
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static int add(struct ini *ini, const char *section, char *key, char *value)
{
    char *sec = section ? strdup(section) : NULL;
    if (!sec || ini->n >= INI_MAX_ENTRIES)
        goto fail;
    if (ini->n == ini->cap) {
        size_t ncap = ini->cap ? ini->cap * 2 : 16;
        struct ini_entry *ne = realloc(ini->e, ncap * sizeof *ne);
        if (!ne)
            goto fail;
        ini->e = ne;
        ini->cap = ncap;
    }
    ini->e[ini->n++] = (struct ini_entry){sec, key, value};
    return 0;
fail:
    free(sec);
    wipe_free(key);
    wipe_free(value);
    return -1;
}

/* Handles one line; *section is the current section (owned by the caller's entries). */
static int parse_line(struct ini *ini, const char *line, size_t n, char **section, int *in_key)
{
    if (n && is_blank(line[0]) && *in_key)
        return 0; /* nested sub-property */
    while (n && is_blank(*line))
        line++, n--;
    while (n && is_blank(line[n - 1]))
        n--;
    if (n == 0 || line[0] == '#' || line[0] == ';')
        return 0;
    if (line[0] == '[') {
        *in_key = 0;
        if (line[n - 1] != ']') {
            ini->bad++;
            free(*section);
            *section = NULL;
            return 0;
        }
        free(*section);
        *section = dup_trim(line + 1, n - 2);
        return *section ? add(ini, *section, NULL, NULL) : -1;
    }
    const char *eq = memchr(line, '=', n);
    if (!eq || eq == line || !*section) {
        ini->bad++;
        return 0;
    }
    *in_key = 1;
    char *key = dup_trim(line, (size_t)(eq - line));
    char *val = dup_trim(eq + 1, n - (size_t)(eq + 1 - line));
    if (!key || !val) {
        wipe_free(key);
        wipe_free(val);
        return -1;
    }
    return add(ini, *section, key, val);
}

struct ini *ini_parse(const char *text, size_t len)
{
    struct ini *ini = calloc(1, sizeof *ini);
    char *section = NULL;
    int in_key = 0;
    const char *p = text, *end = text + len;
    while (ini && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (parse_line(ini, p, n, &section, &in_key) != 0) {
            ini_free(ini);
            ini = NULL;
        }
        p += n + 1;
    }
    free(section);
    return ini;
}

void ini_free(struct ini *ini)
{
    if (!ini)
        return;
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->e[i].section);
        wipe_free(ini->e[i].key);
        wipe_free(ini->e[i].value);
    }
    free(ini->e);
    free(ini);
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
    for (size_t i = ini ? ini->n : 0; i-- > 0;) {
        const struct ini_entry *e = &ini->e[i];
        if (e->key && strcmp(e->key, key) == 0 && strcmp(e->section, section) == 0)
            return e->value;
    }
    return NULL;
}

int ini_has_section(const struct ini *ini, const char *section)
{
    for (size_t i = 0; ini && i < ini->n; i++)
        if (strcmp(ini->e[i].section, section) == 0)
            return 1;
    return 0;
}

size_t ini_bad_lines(const struct ini *ini)
{
    return ini ? ini->bad : 0;
}
