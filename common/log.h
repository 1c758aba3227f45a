/* log — the agent's own log lines, in the reference agent's format:
 *   2024-04-17T01:07:02Z I! [component] message
 *
 * One process-wide logger, configured explicitly by main() (level and sink); modules only call
 * cw_log. Messages must never contain secrets: callers pass redacted values (see
 * cw_log_redact). The default sink is stderr (journald under systemd).
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdio.h>

enum cw_log_level { CW_LOG_DEBUG = 0, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR, CW_LOG_OFF };

/* A sink receives one complete, newline-terminated line. */
typedef void (*cw_log_sink_fn)(void *ud, enum cw_log_level level, const char *line, size_t len);

void cw_log_set_level(enum cw_log_level level);
enum cw_log_level cw_log_get_level(void);
/* NULL sink restores the default (stderr). */
void cw_log_set_sink(cw_log_sink_fn fn, void *ud);
/* Parses "debug", "info", "warn", "error", "off" (case-insensitive); -1 when unknown. */
int cw_log_parse_level(const char *s, enum cw_log_level *out);

void cw_log(enum cw_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define cw_debug(comp, ...) cw_log(CW_LOG_DEBUG, comp, __VA_ARGS__)
#define cw_info(comp, ...)  cw_log(CW_LOG_INFO, comp, __VA_ARGS__)
#define cw_warn(comp, ...)  cw_log(CW_LOG_WARN, comp, __VA_ARGS__)
#define cw_error(comp, ...) cw_log(CW_LOG_ERROR, comp, __VA_ARGS__)

/* Writes a printable form of an access key id into out (e.g. "AKID****MPLE"): never a secret. */
void cw_log_redact_key(const char *key_id, char *out, size_t outlen);

#endif
