/* clock — the wall clock as the agent's modules take it (an injectable function). */
#ifndef CW_CLOCK_H
#define CW_CLOCK_H

#include <stdint.h>

/* CLOCK_REALTIME in milliseconds since the epoch; `ud` is ignored. The default for every
 * `int64_t (*wall_ms)(void *ud)` seam. */
int64_t cw_wall_ms(void *ud);

#endif
