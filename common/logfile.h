/* logfile — the agent's own log written to a file (agent.logfile), rotated by size as the
 * reference agent rotates its log (lumberjack: 100 MB, 5 backups): when a line would take the
 * file past max_bytes, FILE becomes FILE.1, FILE.1 becomes FILE.2, ..., the oldest is removed.
 * Plugs into common/log.h as a sink. */
#ifndef CW_LOGFILE_H
#define CW_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define CW_LOGFILE_MAX_BYTES (100ull << 20) /* reference: 100 MB */
#define CW_LOGFILE_BACKUPS   5              /* reference: 5 backups */

struct cw_logfile;

/* Opens (appending, mode 0640) `path`. max_bytes 0 = CW_LOGFILE_MAX_BYTES, backups 0 =
 * CW_LOGFILE_BACKUPS. NULL on failure (errno set). */
struct cw_logfile *cw_logfile_open(const char *path, uint64_t max_bytes, unsigned backups);
void cw_logfile_close(struct cw_logfile *lf);
/* The sink for cw_log_set_sink (ud = the logfile). A write failure falls back to stderr. */
void cw_logfile_sink(void *ud, enum cw_log_level level, const char *line, size_t len);

#endif
