/* memq — the bounded in-memory fallback for batches the spool cannot take: FIFO order, the
 * byte cap (oldest dropped first), and every dropped datum counted. */
#include "agent/memq.h"
#include "tests/unit/t.h"

static struct spool_meta meta(uint32_t ndatums)
{
    struct spool_meta m = {"ns", 1, 2, ndatums, SPOOL_F_GZIP};
    return m;
}

TEST(fifo_and_cap_drop_oldest_counted)
{
    struct memq q;
    memq_init(&q, 100);
    char body[60] = "batch-a";
    struct spool_meta m = meta(10);
    T_EQ_INT(memq_push(&q, body, 40, &m), 0);
    body[6] = 'b';
    m = meta(20);
    T_EQ_INT(memq_push(&q, body, 40, &m), 0);
    T_EQ_INT(q.n, 2);
    T_EQ_INT(q.dropped_datums, 0);
    body[6] = 'c';
    m = meta(30);
    T_EQ_INT(memq_push(&q, body, 40, &m), 0); /* 120 > 100: "a" goes */
    T_EQ_INT(q.n, 2);
    T_EQ_INT(q.bytes, 80);
    T_EQ_INT(q.dropped_datums, 10);
    const struct memq_item *h = memq_head(&q);
    T_ASSERT(h);
    T_CHECK(memcmp(h->body, "batch-b", 7) == 0);
    T_EQ_INT(h->ndatums, 20);
    T_EQ_INT(h->flags, SPOOL_F_GZIP);
    T_EQ_INT(h->newest_ms, 2);
    memq_pop(&q);
    h = memq_head(&q);
    T_ASSERT(h);
    T_CHECK(memcmp(h->body, "batch-c", 7) == 0);
    m = meta(7);
    T_EQ_INT(memq_push(&q, body, 101, &m), -1); /* larger than the whole queue */
    T_EQ_INT(q.dropped_datums, 17);
    T_EQ_INT(q.n, 1);
    memq_free(&q);
    T_EQ_INT(q.n, 0);
    T_CHECK(memq_head(&q) == NULL);
}

T_MAIN("memq", T_CASE(fifo_and_cap_drop_oldest_counted))
