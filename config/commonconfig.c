#include "config/commonconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME   64 /* table and key names longer than this are refused */
#define MAX_TABLES 32 /* table headers remembered for the duplicate check */

enum vtype { V_STR, V_INT, V_BOOL };

static const char *const vtype_name[] = {"a string", "an integer", "a boolean"};

/* Every key of the reference's cfg/commonconfig structs. */
static const struct key_def {
    const char *table;
    const char *key;
    enum vtype type;
    size_t off; /* offset of the char * or int member */
} keys[] = {
    {"credentials", "shared_credential_profile", V_STR,
     offsetof(struct cw_common_config, credential_profile)},
    {"credentials", "shared_credential_file", V_STR,
     offsetof(struct cw_common_config, credential_file)},
    {"proxy", "http_proxy", V_STR, offsetof(struct cw_common_config, http_proxy)},
    {"proxy", "https_proxy", V_STR, offsetof(struct cw_common_config, https_proxy)},
    {"proxy", "no_proxy", V_STR, offsetof(struct cw_common_config, no_proxy)},
    {"ssl", "ca_bundle_path", V_STR, offsetof(struct cw_common_config, ca_bundle_path)},
    {"imds", "imds_retries", V_INT, offsetof(struct cw_common_config, imds_retries)},
};
#define NKEYS (sizeof keys / sizeof keys[0])

#define IMDS_RETRIES_MAX 100

struct value {
    enum vtype type;
    char *s;
    long long i;
    int b;
};

struct parser {
    const char *p, *end;
    const char *name;
    int line;
    char table[MAX_NAME + 1];
    int table_known;
    char *tables[MAX_TABLES];
    size_t ntables;
    unsigned seen; /* bit per keys[] entry */
    struct cw_common_config *out;
    char *err;
    size_t errlen;
    const char *key; /* the key being parsed, for messages; NULL outside a key */
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->key && ps->table[0])
        snprintf(ps->err, ps->errlen, "%s:%d: [%s] %s: %s", ps->name, ps->line, ps->table, ps->key,
                 msg);
    else if (ps->key)
        snprintf(ps->err, ps->errlen, "%s:%d: %s: %s", ps->name, ps->line, ps->key, msg);
    else
        snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->name, ps->line, msg);
    return -1;
}

static void warn(struct parser *ps, const char *what)
{
    struct cw_common_config *c = ps->out;
    char line[512];
    if (c->n_warnings == CW_COMMON_CONFIG_MAX_WARN) {
        c->n_warnings_dropped++;
        return;
    }
    snprintf(line, sizeof line, "%s:%d: %s: not read by cwagent; ignored", ps->name, ps->line,
             what);
    char *copy = strdup(line);
    if (copy)
        c->warnings[c->n_warnings++] = copy;
    else
        c->n_warnings_dropped++;
}

/* ---- lexing ---- */

static int at_eol(const struct parser *ps)
{
    return ps->p == ps->end || *ps->p == '\n' ||
           (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n');
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* After a header or a value: blanks, an optional comment, then the end of the line. */
static int end_of_line(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '#') {
        for (; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
            unsigned char ch = (unsigned char)*ps->p;
            if ((ch < 0x20 && ch != '\t' &&
                 !(ch == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')) ||
                ch == 0x7f)
                return fail(ps, "control character 0x%02x in a comment", ch);
        }
    }
    if (!at_eol(ps))
        return fail(ps, "unexpected '%c' (a line holds one key = value, a [table] or a comment)",
                    *ps->p);
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end)
        ps->p++; /* the newline */
    ps->line++;
    return 0;
}

static int is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int parse_basic_string(struct parser *ps, char *buf, size_t cap, size_t *len);
static int parse_literal_string(struct parser *ps, char *buf, size_t cap, size_t *len);

/* A bare or quoted key (table names too) into out; dotted keys are refused. */
static int parse_key(struct parser *ps, char out[MAX_NAME + 1])
{
    size_t n = 0;
    if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
        int rc = *ps->p == '"' ? parse_basic_string(ps, out, MAX_NAME + 1, &n)
                               : parse_literal_string(ps, out, MAX_NAME + 1, &n);
        if (rc != 0)
            return -1;
        if (memchr(out, '\0', n))
            return fail(ps, "a key holds a NUL character");
    } else {
        while (ps->p < ps->end && is_bare(*ps->p)) {
            if (n == MAX_NAME)
                return fail(ps, "a name longer than %d characters", MAX_NAME);
            out[n++] = *ps->p++;
        }
        out[n] = '\0';
        if (n == 0 && ps->p < ps->end && !at_eol(ps))
            return fail(ps, "unexpected '%c' where a name belongs", *ps->p);
        if (n == 0)
            return fail(ps, "a name is missing");
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '.')
        return fail(ps, "dotted names ('%s.') are not supported in common-config.toml", out);
    return 0;
}

/* ---- strings ---- */

static int put_char(struct parser *ps, char *buf, size_t cap, size_t *len, char c)
{
    if (*len + 1 >= cap)
        return fail(ps, "a string longer than %zu bytes", cap - 1);
    buf[(*len)++] = c;
    buf[*len] = '\0';
    return 0;
}

static int put_utf8(struct parser *ps, char *buf, size_t cap, size_t *len, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return fail(ps, "\\u escape U+%04X is not a Unicode scalar value", (unsigned)cp);
    if (cp == 0)
        return fail(ps, "a string holds a NUL character");
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    for (size_t i = 0; i < n; i++)
        if (put_char(ps, buf, cap, len, u[i]) != 0)
            return -1;
    return 0;
}

static int hex_escape(struct parser *ps, int digits, uint32_t *cp)
{
    *cp = 0;
    for (int i = 0; i < digits; i++) {
        if (ps->p >= ps->end)
            return fail(ps, "unterminated string");
        char c = *ps->p++;
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (v < 0)
            return fail(ps, "\\%c escape needs %d hex digits", digits == 4 ? 'u' : 'U', digits);
        *cp = *cp * 16 + (uint32_t)v;
    }
    return 0;
}

static int escape(struct parser *ps, char *buf, size_t cap, size_t *len)
{
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string");
    char c = *ps->p++;
    uint32_t cp;
    switch (c) {
    case 'b':
        return put_char(ps, buf, cap, len, '\b');
    case 't':
        return put_char(ps, buf, cap, len, '\t');
    case 'n':
        return put_char(ps, buf, cap, len, '\n');
    case 'f':
        return put_char(ps, buf, cap, len, '\f');
    case 'r':
        return put_char(ps, buf, cap, len, '\r');
    case '"':
    case '\\':
        return put_char(ps, buf, cap, len, c);
    case 'u':
    case 'U':
        if (hex_escape(ps, c == 'u' ? 4 : 8, &cp) != 0)
            return -1;
        return put_utf8(ps, buf, cap, len, cp);
    default:
        return fail(ps, "invalid escape '\\%c' in a string (Windows paths: use '...' or \\\\)", c);
    }
}

static int string_char_ok(struct parser *ps, unsigned char ch)
{
    if (ch == '\n' || ch == '\r')
        return fail(ps, "unterminated string (strings end on the same line)");
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
        return fail(ps, "control character 0x%02x in a string", ch);
    return 0;
}

static int parse_basic_string(struct parser *ps, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    buf[0] = '\0';
    ps->p++; /* the opening quote */
    if (ps->end - ps->p >= 2 && ps->p[0] == '"' && ps->p[1] == '"')
        return fail(ps, "multi-line strings (\"\"\") are not supported in common-config.toml");
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char ch = (unsigned char)*ps->p;
        if (ch == '\\') {
            ps->p++;
            if (escape(ps, buf, cap, len) != 0)
                return -1;
            continue;
        }
        if (string_char_ok(ps, ch) != 0 || put_char(ps, buf, cap, len, (char)ch) != 0)
            return -1;
        ps->p++;
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string");
    ps->p++;
    return 0;
}

static int parse_literal_string(struct parser *ps, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    buf[0] = '\0';
    ps->p++;
    if (ps->end - ps->p >= 2 && ps->p[0] == '\'' && ps->p[1] == '\'')
        return fail(ps, "multi-line strings (''') are not supported in common-config.toml");
    while (ps->p < ps->end && *ps->p != '\'') {
        unsigned char ch = (unsigned char)*ps->p;
        if (string_char_ok(ps, ch) != 0 || put_char(ps, buf, cap, len, (char)ch) != 0)
            return -1;
        ps->p++;
    }
    if (ps->p >= ps->end)
        return fail(ps, "unterminated string");
    ps->p++;
    return 0;
}

/* ---- values ---- */

static int is_delim(const struct parser *ps)
{
    return at_eol(ps) || *ps->p == ' ' || *ps->p == '\t' || *ps->p == '#';
}

static int parse_int(struct parser *ps, struct value *v)
{
    int neg = 0, digits = 0, prev_us = 0;
    unsigned long long acc = 0;
    const char *start = ps->p;
    if (*ps->p == '+' || *ps->p == '-')
        neg = *ps->p++ == '-';
    if (ps->end - ps->p >= 2 && ps->p[0] == '0' && ps->p[1] != '_' && is_bare(ps->p[1]) &&
        !(ps->p[1] >= '0' && ps->p[1] <= '9'))
        return fail(ps, "only decimal integers are supported");
    if (ps->p < ps->end && *ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
        ps->p[1] <= '9')
        return fail(ps, "leading zeros are not allowed in an integer");
    for (; ps->p < ps->end && !is_delim(ps); ps->p++) {
        char c = *ps->p;
        if (c == '_' && digits && !prev_us) {
            prev_us = 1;
            continue;
        }
        if (c < '0' || c > '9') {
            while (ps->p < ps->end && !is_delim(ps))
                ps->p++;
            int n = (int)(ps->p - start);
            return fail(ps, "'%.*s' is not a decimal integer (floats and dates are not supported)",
                        n > 60 ? 60 : n, start);
        }
        if (acc > (unsigned long long)INT64_MAX / 10)
            return fail(ps, "integer out of range");
        acc = acc * 10 + (unsigned long long)(c - '0');
        if (acc > (unsigned long long)INT64_MAX)
            return fail(ps, "integer out of range");
        digits++;
        prev_us = 0;
    }
    if (!digits || prev_us)
        return fail(ps, "'%.*s' is not a decimal integer", (int)(ps->p - start), start);
    v->type = V_INT;
    v->i = neg ? -(long long)acc : (long long)acc;
    return 0;
}

static int parse_word(struct parser *ps, struct value *v)
{
    const char *start = ps->p;
    while (ps->p < ps->end && !is_delim(ps))
        ps->p++;
    size_t n = (size_t)(ps->p - start);
    if ((n == 4 && memcmp(start, "true", 4) == 0) || (n == 5 && memcmp(start, "false", 5) == 0)) {
        v->type = V_BOOL;
        v->b = n == 4;
        return 0;
    }
    if (n == 0)
        return fail(ps, "a value is missing after '='");
    return fail(ps, "'%.*s' is not a value (strings need quotes: \"...\")", (int)(n > 60 ? 60 : n),
                start);
}

static int parse_value(struct parser *ps, struct value *v)
{
    char buf[4096];
    size_t len = 0;
    memset(v, 0, sizeof *v);
    if (ps->p >= ps->end || at_eol(ps))
        return fail(ps, "a value is missing after '='");
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        int rc = c == '"' ? parse_basic_string(ps, buf, sizeof buf, &len)
                          : parse_literal_string(ps, buf, sizeof buf, &len);
        if (rc != 0)
            return -1;
        if (memchr(buf, '\0', len))
            return fail(ps, "a string holds a NUL character");
        v->type = V_STR;
        v->s = strdup(buf);
        return v->s ? 0 : fail(ps, "out of memory");
    }
    if (c == '[')
        return fail(ps, "arrays are not supported in common-config.toml");
    if (c == '{')
        return fail(ps, "inline tables are not supported in common-config.toml");
    if (c == '+' || c == '-' || (c >= '0' && c <= '9'))
        return parse_int(ps, v);
    return parse_word(ps, v);
}

/* ---- tables and keys ---- */

static int table_is_known(const char *t)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].table, t) == 0)
            return 1;
    return 0;
}

static int parse_table(struct parser *ps)
{
    char name[MAX_NAME + 1];
    ps->p++;
    if (ps->p < ps->end && *ps->p == '[')
        return fail(ps, "arrays of tables ([[...]]) are not supported in common-config.toml");
    skip_ws(ps);
    if (parse_key(ps, name) != 0)
        return -1;
    if (ps->p >= ps->end || *ps->p != ']')
        return fail(ps, "a table header ends with ']'");
    ps->p++;
    for (size_t i = 0; i < ps->ntables; i++)
        if (strcmp(ps->tables[i], name) == 0)
            return fail(ps, "table [%s] is defined twice", name);
    if (ps->ntables == MAX_TABLES)
        return fail(ps, "more than %d tables", MAX_TABLES);
    if (!(ps->tables[ps->ntables] = strdup(name)))
        return fail(ps, "out of memory");
    ps->ntables++;
    snprintf(ps->table, sizeof ps->table, "%s", name);
    ps->table_known = table_is_known(name);
    if (!ps->table_known) {
        char what[MAX_NAME + 3];
        snprintf(what, sizeof what, "[%s]", name);
        warn(ps, what);
    }
    return end_of_line(ps);
}

static int assign(struct parser *ps, struct value *v)
{
    for (size_t i = 0; i < NKEYS; i++) {
        const struct key_def *k = &keys[i];
        if (strcmp(k->table, ps->table) != 0 || strcmp(k->key, ps->key) != 0)
            continue;
        if (ps->seen & (1u << i))
            return fail(ps, "defined twice");
        if (v->type != k->type)
            return fail(ps, "expected %s, got %s", vtype_name[k->type], vtype_name[v->type]);
        ps->seen |= 1u << i;
        if (k->type == V_INT) {
            if (v->i < 0 || v->i > IMDS_RETRIES_MAX)
                return fail(ps, "expected 0..%d, got %lld", IMDS_RETRIES_MAX, v->i);
            *(int *)(void *)((char *)ps->out + k->off) = (int)v->i;
        } else if (v->s[0]) { /* "" counts as absent, as in the reference */
            *(char **)(void *)((char *)ps->out + k->off) = v->s;
            v->s = NULL;
        }
        return 0;
    }
    if (ps->table_known || !ps->table[0]) { /* unknown tables were reported at their header */
        char what[2 * MAX_NAME + 8];
        if (ps->table[0])
            snprintf(what, sizeof what, "[%s] %s", ps->table, ps->key);
        else
            snprintf(what, sizeof what, "%s", ps->key);
        warn(ps, what);
    }
    return 0;
}

static int parse_keyval(struct parser *ps)
{
    char key[MAX_NAME + 1];
    struct value v;
    if (parse_key(ps, key) != 0)
        return -1;
    ps->key = key;
    int rc = -1;
    memset(&v, 0, sizeof v);
    if (ps->p >= ps->end || *ps->p != '=') {
        fail(ps, "expected '=' after the key");
        goto out;
    }
    ps->p++;
    skip_ws(ps);
    if (parse_value(ps, &v) != 0 || assign(ps, &v) != 0)
        goto out;
    rc = end_of_line(ps);
out:
    free(v.s);
    ps->key = NULL;
    return rc;
}

static int parse_line(struct parser *ps)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '[')
        return parse_table(ps);
    if (ps->p < ps->end && *ps->p != '#' && !at_eol(ps))
        return parse_keyval(ps);
    return end_of_line(ps);
}

/* ---- API ---- */

void cw_common_config_init(struct cw_common_config *c)
{
    memset(c, 0, sizeof *c);
    c->imds_retries = -1;
}

void cw_common_config_free(struct cw_common_config *c)
{
    if (!c)
        return;
    free(c->credential_profile);
    free(c->credential_file);
    free(c->http_proxy);
    free(c->https_proxy);
    free(c->no_proxy);
    free(c->ca_bundle_path);
    for (size_t i = 0; i < c->n_warnings; i++)
        free(c->warnings[i]);
    cw_common_config_init(c);
}

int cw_common_config_parse(const char *text, size_t len, const char *name,
                           struct cw_common_config *out, char *err, size_t errlen)
{
    struct parser ps = {0};
    ps.p = text;
    ps.end = text + len;
    ps.name = name;
    ps.line = 1;
    ps.out = out;
    ps.err = err;
    ps.errlen = errlen;
    cw_common_config_init(out);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3; /* a UTF-8 byte order mark */
    int rc = 0;
    while (rc == 0 && ps.p < ps.end)
        rc = parse_line(&ps);
    for (size_t i = 0; i < ps.ntables; i++)
        free(ps.tables[i]);
    if (rc != 0)
        cw_common_config_free(out);
    return rc;
}

static int read_all(int fd, char **out, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    if ((uint64_t)st.st_size > CW_COMMON_CONFIG_MAX_BYTES) {
        errno = EFBIG;
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    if (!buf)
        return -1;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int cw_common_config_load(const char *path, struct cw_common_config *out, int *missing, char *err,
                          size_t errlen)
{
    cw_common_config_init(out);
    if (missing)
        *missing = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (missing)
            *missing = 1;
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    if (fd < 0 || read_all(fd, &text, &len) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path,
                 errno == EFBIG    ? "larger than 1 MiB"
                 : errno == EINVAL ? "not a regular file"
                                   : strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    int rc = cw_common_config_parse(text, len, path, out, err, errlen);
    free(text);
    return rc;
}
