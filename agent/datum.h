/* datum — the CloudWatch metric datum model shared by roll-ups, the PutMetricData encoder and the
 * metrics pipeline.
 *
 * A datum is one MetricData member: a name, a CloudWatch unit string, up to 30 ordered
 * dimensions, a timestamp in milliseconds, a storage resolution (1 or 60) and either one Value
 * or Values/Counts arrays (up to 150), optionally with StatisticValues.
 *
 * Memory: datums live in a datum_list, which owns a bump arena. Every string and array a datum
 * points at is either copied into that arena (datum_list_strdup/_alloc) or borrowed from memory
 * the caller keeps alive at least as long as the list (e.g. static unit strings). Clearing the
 * list keeps the arena's first block and the datum vector, so a steady-state flush does no malloc.
 */
#ifndef CW_DATUM_H
#define CW_DATUM_H

#include <stddef.h>
#include <stdint.h>

#define DATUM_MAX_DIMS      30  /* API: MetricDatum.Dimensions max 30 (service-2.json) */
#define DATUM_MAX_VALUES    150 /* API: up to 150 unique values per Values array */
#define DATUM_MAX_NAME      255 /* API: MetricName 1..255 */
#define DATUM_MAX_DIM_NAME  255
#define DATUM_MAX_DIM_VALUE 1024

struct datum_dim {
    const char *name;
    const char *value;
};

/* StatisticValues: all four members are required by the API when present. */
struct datum_stats {
    double sample_count;
    double sum;
    double min;
    double max;
};

struct datum {
    const char *name;
    const char *unit;             /* CloudWatch unit string ("Percent", "None"); NULL = omitted */
    const struct datum_dim *dims; /* ndims entries, in wire order */
    const double *values;         /* nvalues entries when nvalues > 0; else `value` is used */
    const double *counts;         /* NULL, or nvalues entries */
    int64_t ts_ms;                /* milliseconds since the epoch; < 0 = Timestamp omitted */
    double value;
    struct datum_stats stats;
    uint16_t nvalues;
    uint8_t ndims;
    uint8_t has_stats;
    uint8_t storage_res; /* 1 or 60; 0 = StorageResolution omitted */
};

struct datum_list;

/* Creates an empty list that holds at most max_datums datums and max_bytes of arena memory.
 * Returns NULL when out of memory. The caller frees it with datum_list_free. */
struct datum_list *datum_list_new(size_t max_datums, size_t max_bytes);
void datum_list_free(struct datum_list *l);
/* Forgets every datum and arena allocation; keeps the first arena block and the vector. */
void datum_list_clear(struct datum_list *l);

size_t datum_list_len(const struct datum_list *l);
/* Borrowed view of the datums (valid until the next add/clear/free). */
const struct datum *datum_list_items(const struct datum_list *l);

/* Appends a zeroed datum and returns it for the caller to fill in, or NULL when the list is
 * full. The pointer is valid until the next add/clear/free. */
struct datum *datum_list_add(struct datum_list *l);
/* Drops the last datum (used to undo a partly built one). */
void datum_list_pop(struct datum_list *l);

/* Arena allocations owned by the list (freed by clear/free); NULL when the arena cap is hit. */
void *datum_list_alloc(struct datum_list *l, size_t n);
const char *datum_list_strdup(struct datum_list *l, const char *s);
/* Arena bytes in use (for status and tests). */
size_t datum_list_arena_used(const struct datum_list *l);

#endif
