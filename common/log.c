#include "common/log.h"

#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Process-wide logger state, set only by main() through the setters above. */
static struct {
    enum cw_log_level level;
    cw_log_sink_fn sink;
    void *ud;
} g_log = {CW_LOG_INFO, NULL, NULL};

void cw_log_set_level(enum cw_log_level level)
{
    g_log.level = level;
}

enum cw_log_level cw_log_get_level(void)
{
    return g_log.level;
}

void cw_log_set_sink(cw_log_sink_fn fn, void *ud)
{
    g_log.sink = fn;
    g_log.ud = ud;
}

int cw_log_parse_level(const char *s, enum cw_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i <= CW_LOG_OFF; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum cw_log_level)i;
            return 0;
        }
    }
    return -1;
}

/* Appends s to line[n..cap) with control bytes escaped, so that text from the network or a
 * file name cannot forge a log line or move the terminal: "\n", "\r", "\t", "\x1b"...
 * Returns the new length. */
static size_t escape_into(char *line, size_t n, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s && n < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f) {
            line[n++] = (char)c;
            continue;
        }
        char e = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 0;
        size_t need = e ? 2 : 4;
        if (n + need > cap)
            break;
        line[n++] = '\\';
        if (e) {
            line[n++] = e;
        } else {
            line[n++] = 'x';
            line[n++] = hex[c >> 4];
            line[n++] = hex[c & 15];
        }
    }
    return n;
}

void cw_log(enum cw_log_level level, const char *component, const char *fmt, ...)
{
    static const char letters[] = "DIWE";
    if (level < g_log.level || level >= CW_LOG_OFF)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    int k = snprintf(line + n, sizeof line - n, "%c! [%s] ", letters[level], component);
    if (k > 0)
        n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
    char msg[sizeof line];
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k > 0)
        n = escape_into(line, n, sizeof line - 1, msg);
    if (n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    line[n] = '\0';
    if (g_log.sink)
        g_log.sink(g_log.ud, level, line, n);
    else
        fwrite(line, 1, n, stderr);
}

void cw_log_redact_key(const char *key_id, char *out, size_t outlen)
{
    size_t n = key_id ? strlen(key_id) : 0;
    if (outlen == 0)
        return;
    if (n < 8) {
        snprintf(out, outlen, "****");
        return;
    }
    snprintf(out, outlen, "%.4s****%s", key_id, key_id + n - 4);
}
