/* status_text — the human summary `cwagent status` prints by default, made from the JSON
 * document the running agent answers (agent/cmd_run.c render_status; `cwagent status --json`
 * prints that document unchanged).
 *
 * It answers, in this order: is it running and since when; which credentials; per destination
 * (metrics, logs) whether it is shipping or failing (since when, how many attempts, the last
 * error), what was sent, what is queued, what was refused or dropped; per followed file how
 * far behind the committed offset is. */
#ifndef CW_STATUS_TEXT_H
#define CW_STATUS_TEXT_H

#include <stddef.h>

/* Renders `doc` (a NUL-terminated JSON object) as of `now` (seconds since the epoch). Returns a
 * malloc'd string the caller frees, or NULL when `doc` is not a status object. */
char *status_text(const char *doc, double now);

#endif
