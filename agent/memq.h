/* memq — a bounded in-memory FIFO of PutMetricData bodies: the fallback when the on-disk spool
 * cannot take a batch (full or failing disk). The spool is for durability across restarts, not
 * a gate: a batch CloudWatch could take now must not be lost because the disk is full.
 *
 * Bounded by max_bytes (body sizes): a push that does not fit drops the OLDEST batches, and a
 * body larger than the whole queue is refused; every dropped datum is counted in
 * dropped_datums. Nothing here survives a restart.
 */
#ifndef CW_MEMQ_H
#define CW_MEMQ_H

#include "agent/spool.h"

#include <stddef.h>
#include <stdint.h>

struct memq_item {
    struct memq_item *next;
    char *body; /* owned */
    size_t len;
    uint32_t ndatums;
    uint32_t flags; /* SPOOL_F_* */
    int64_t oldest_ms, newest_ms;
    uint64_t seq;
};

struct memq {
    struct memq_item *head, *tail;
    size_t n;
    uint64_t bytes, max_bytes;
    uint64_t next_seq;
    uint64_t dropped_datums; /* datums of batches dropped to make room or too big */
};

void memq_init(struct memq *q, uint64_t max_bytes);
/* Stores a copy of body. 0, or -1 when it cannot be kept (too big, memory): then its datums
 * are counted as dropped. meta's ndatums, flags and times are kept (not its namespace). Older
 * batches may be dropped (counted) to make room. */
int memq_push(struct memq *q, const void *body, size_t len, const struct spool_meta *meta);
/* The oldest batch (borrowed until memq_pop or memq_free), or NULL. */
const struct memq_item *memq_head(const struct memq *q);
void memq_pop(struct memq *q);
void memq_free(struct memq *q);

#endif
