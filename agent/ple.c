#include "agent/ple.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Each event is encoded once, when it is added: `json` holds ",{"timestamp":..,"message":..}"
 * fragments back to back, so the request body is the header, these bytes (without the first
 * comma) and "]}" — no second pass over the messages and no copy of them in between. */
#define PLE_JSON_MAX (8u << 20) /* 1 MiB of messages, escaped (worst case \u00XX) */

struct ple_entry {
    int64_t ts;
    uint64_t cookie;
    size_t off; /* of its fragment in json */
    size_t len;
};

struct ple_batch {
    struct ple_entry *ev;
    size_t n;
    size_t cap;
    struct cw_buf json; /* the encoded events, each with a leading comma */
    size_t api_bytes;
    int64_t min_ts;
    int64_t max_ts;
    int unsorted; /* added out of time order: encode sorts */
    int moved;    /* sorted: entries no longer follow json's order */
};

struct ple_batch *ple_batch_new(void)
{
    struct ple_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    cw_buf_init(&b->json, PLE_JSON_MAX);
    return b;
}

void ple_batch_free(struct ple_batch *b)
{
    if (!b)
        return;
    cw_buf_free(&b->json);
    free(b->ev);
    free(b);
}

void ple_batch_reset(struct ple_batch *b)
{
    b->n = 0;
    b->api_bytes = 0;
    b->unsorted = 0;
    b->moved = 0;
    cw_buf_reset(&b->json);
}

void ple_batch_release(struct ple_batch *b)
{
    ple_batch_reset(b);
    cw_buf_free(&b->json);
    cw_buf_init(&b->json, PLE_JSON_MAX);
    free(b->ev);
    b->ev = NULL;
    b->cap = 0;
}

size_t ple_batch_count(const struct ple_batch *b)
{
    return b->n;
}

size_t ple_batch_bytes(const struct ple_batch *b)
{
    return b->api_bytes;
}

/* Would adding an event at ts make the batch span more than 24 hours? */
static int breaks_span(const struct ple_batch *b, int64_t ts)
{
    if (b->n == 0)
        return 0;
    int64_t lo = ts < b->min_ts ? ts : b->min_ts;
    int64_t hi = ts > b->max_ts ? ts : b->max_ts;
    return hi - lo > PLE_MAX_SPAN_MS;
}

static int grow_entries(struct ple_batch *b)
{
    if (b->n < b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap * 2 : 16; /* many quiet streams stay small */
    if (ncap > PLE_MAX_EVENTS)
        ncap = PLE_MAX_EVENTS;
    struct ple_entry *p = realloc(b->ev, ncap * sizeof *p);
    if (!p)
        return -1;
    b->ev = p;
    b->cap = ncap;
    return 0;
}

/* Stable merge sort by timestamp (qsort is not stable; lines of equal time keep file order). */
static void merge_sort(struct ple_entry *a, struct ple_entry *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j].ts < a[i].ts ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int sort_events(struct ple_batch *b)
{
    if (!b->unsorted)
        return 0;
    struct ple_entry *tmp = malloc(b->n * sizeof *tmp);
    if (!tmp)
        return -1;
    merge_sort(b->ev, tmp, b->n);
    free(tmp);
    b->unsorted = 0;
    b->moved = 1;
    return 0;
}

/* SWAR test of 8 bytes at once: non-zero when any byte is < 0x20, '"' or '\\' (Mycroft's
 * has-zero/has-less tricks; bytes >= 0x80 of UTF-8 never match). */
static uint64_t needs_escape8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t lt20 = (w - ones * 0x20) & ~w;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b;
    return (lt20 | zq | zb) & highs;
}

/* Length of the prefix of s[0..len) that needs no escaping. */
static size_t plain_run(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (needs_escape8(w))
            break;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\')
            break;
    }
    return i;
}

int ple_json_string(struct cw_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (cw_buf_append_char(out, '"') != 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        size_t run = plain_run(s + i, len - i);
        if (cw_buf_append(out, s + i, run) != 0)
            return -1;
        i += run;
        if (i == len)
            break;
        unsigned char c = (unsigned char)s[i++];
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (cw_buf_append(out, esc, elen) != 0)
            return -1;
    }
    return cw_buf_append_char(out, '"');
}

/* `[,]{"timestamp":<ts>,"message":` without printf: formatting the number with cw_buf_printf
 * was ~15% of the agent's CPU when shipping 200-byte lines (bench/bench_logs.py profile). */
static int append_event_head(struct cw_buf *out, int comma, int64_t ts)
{
    static const char head[] = ",{\"timestamp\":";
    static const char tail[] = ",\"message\":";
    char num[24];
    size_t n = sizeof num;
    uint64_t v = ts < 0 ? (uint64_t)0 - (uint64_t)ts : (uint64_t)ts;
    do {
        num[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (ts < 0)
        num[--n] = '-';
    if (cw_buf_append(out, head + !comma, sizeof head - 1 - !comma) != 0 ||
        cw_buf_append(out, num + n, sizeof num - n) != 0)
        return -1;
    return cw_buf_append(out, tail, sizeof tail - 1);
}

/* `,{"timestamp":<ts>,"message":"<escaped msg>"}` appended to out. */
static int append_event(struct cw_buf *out, int64_t ts, const char *msg, size_t len)
{
    if (append_event_head(out, 1, ts) != 0 || ple_json_string(out, msg, len) != 0)
        return -1;
    return cw_buf_append_char(out, '}');
}

enum ple_add_result ple_batch_add(struct ple_batch *b, int64_t ts_ms, const char *msg, size_t len,
                                  uint64_t cookie, int64_t now_ms)
{
    if (len == 0)
        return PLE_EMPTY;
    if (len > PLE_MAX_EVENT_MSG)
        return PLE_TOO_BIG;
    if (ts_ms < now_ms - PLE_MAX_AGE_MS)
        return PLE_TOO_OLD;
    if (ts_ms > now_ms + PLE_MAX_FUTURE_MS)
        return PLE_TOO_NEW;
    if (b->n >= PLE_MAX_EVENTS || b->api_bytes + len + PLE_EVENT_OVERHEAD > PLE_MAX_BYTES ||
        breaks_span(b, ts_ms))
        return PLE_FULL;
    if (grow_entries(b) != 0)
        return PLE_ENOMEM;
    size_t off = b->json.len;
    if (append_event(&b->json, ts_ms, msg, len) != 0) {
        b->json.len = off; /* drop the partial fragment */
        return PLE_ENOMEM;
    }
    if (b->n > 0 && ts_ms < b->ev[b->n - 1].ts)
        b->unsorted = 1;
    b->ev[b->n++] = (struct ple_entry){ts_ms, cookie, off, b->json.len - off};
    b->api_bytes += len + PLE_EVENT_OVERHEAD;
    if (b->n == 1 || ts_ms < b->min_ts)
        b->min_ts = ts_ms;
    if (b->n == 1 || ts_ms > b->max_ts)
        b->max_ts = ts_ms;
    return PLE_ADDED;
}

int ple_batch_encode(struct ple_batch *b, const char *group, const char *stream, struct cw_buf *out)
{
    if (sort_events(b) != 0)
        return -1;
    /* one allocation for the whole body (names escaped at worst 6x) */
    if (cw_buf_reserve(out, 64 + 6 * (strlen(group) + strlen(stream)) + b->json.len) != 0 &&
        cw_buf_reserve(out, b->json.len) != 0)
        return -1;
    if (cw_buf_append_str(out, "{\"logGroupName\":") != 0 ||
        ple_json_string(out, group, strlen(group)) != 0 ||
        cw_buf_append_str(out, ",\"logStreamName\":") != 0 ||
        ple_json_string(out, stream, strlen(stream)) != 0 ||
        cw_buf_append_str(out, ",\"logEvents\":[") != 0)
        return -1;
    if (b->n && !b->moved) { /* in the order added: one copy */
        if (cw_buf_append(out, b->json.data + 1, b->json.len - 1) != 0)
            return -1;
    } else {
        for (size_t i = 0; i < b->n; i++) {
            const struct ple_entry *e = &b->ev[i];
            size_t skip = i == 0; /* the first event has no comma before it */
            if (cw_buf_append(out, b->json.data + e->off + skip, e->len - skip) != 0)
                return -1;
        }
    }
    return cw_buf_append_str(out, "]}");
}

uint64_t ple_batch_cookie(const struct ple_batch *b, size_t i)
{
    return i < b->n ? b->ev[i].cookie : 0;
}

int64_t ple_batch_timestamp(const struct ple_batch *b, size_t i)
{
    return i < b->n ? b->ev[i].ts : 0;
}

static long index_field(json_t *info, const char *key)
{
    json_t *v = json_object_get(info, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

int ple_parse_response(const char *body, size_t len, struct ple_rejected *out)
{
    out->too_new_start = out->too_old_end = out->expired_end = -1;
    if (len == 0)
        return 0;
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_t *info = json_object_get(root, "rejectedLogEventsInfo");
    if (json_is_object(info)) {
        out->too_new_start = index_field(info, "tooNewLogEventStartIndex");
        out->too_old_end = index_field(info, "tooOldLogEventEndIndex");
        out->expired_end = index_field(info, "expiredLogEventEndIndex");
    }
    json_decref(root);
    return 0;
}

size_t ple_rejected_count(const struct ple_rejected *r, size_t nevents)
{
    size_t old_end = 0;
    if (r->too_old_end > 0)
        old_end = (size_t)r->too_old_end;
    if (r->expired_end > 0 && (size_t)r->expired_end > old_end)
        old_end = (size_t)r->expired_end;
    if (old_end > nevents)
        old_end = nevents;
    size_t new_start = nevents;
    if (r->too_new_start >= 0 && (size_t)r->too_new_start < nevents)
        new_start = (size_t)r->too_new_start;
    if (new_start < old_end)
        new_start = old_end;
    return old_end + (nevents - new_start);
}
