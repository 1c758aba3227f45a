#include "agent/memq.h"

#include <stdlib.h>
#include <string.h>

void memq_init(struct memq *q, uint64_t max_bytes)
{
    memset(q, 0, sizeof *q);
    q->max_bytes = max_bytes;
    q->next_seq = 1;
}

const struct memq_item *memq_head(const struct memq *q)
{
    return q->head;
}

void memq_pop(struct memq *q)
{
    struct memq_item *it = q->head;
    if (!it)
        return;
    q->head = it->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= it->len;
    q->n--;
    free(it->body);
    free(it);
}

int memq_push(struct memq *q, const void *body, size_t len, const struct spool_meta *meta)
{
    uint32_t ndatums = meta->ndatums;
    if (len > q->max_bytes) {
        q->dropped_datums += ndatums;
        return -1;
    }
    struct memq_item *it = calloc(1, sizeof *it);
    char *copy = malloc(len ? len : 1);
    if (!it || !copy) {
        free(it);
        free(copy);
        q->dropped_datums += ndatums;
        return -1;
    }
    while (q->head && q->bytes + len > q->max_bytes) {
        q->dropped_datums += q->head->ndatums;
        memq_pop(q);
    }
    memcpy(copy, body, len);
    it->body = copy;
    it->len = len;
    it->ndatums = ndatums;
    it->flags = meta->flags;
    it->oldest_ms = meta->oldest_ms;
    it->newest_ms = meta->newest_ms;
    it->seq = q->next_seq++;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->bytes += len;
    q->n++;
    return 0;
}

void memq_free(struct memq *q)
{
    while (q->head)
        memq_pop(q);
}
