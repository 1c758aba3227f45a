#include "common/kmap.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    uint64_t hash; /* 0 = empty */
    char *key;
    size_t klen;
    void *val;
};

struct kmap {
    struct slot *s;
    size_t mask;
    size_t len;
    size_t max;
};

uint64_t kmap_hash(const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    h ^= h >> 29;
    return h ? h : 1;
}

struct kmap *kmap_new(size_t max_keys)
{
    struct kmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->s = calloc(16, sizeof *m->s);
    if (!m->s) {
        free(m);
        return NULL;
    }
    m->mask = 15;
    m->max = max_keys;
    return m;
}

void kmap_free(struct kmap *m, void (*free_val)(void *val))
{
    if (!m)
        return;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->s[i].hash)
            continue;
        free(m->s[i].key);
        if (free_val)
            free_val(m->s[i].val);
    }
    free(m->s);
    free(m);
}

size_t kmap_len(const struct kmap *m)
{
    return m->len;
}

static struct slot *find(const struct kmap *m, uint64_t h, const void *key, size_t klen)
{
    for (size_t i = (size_t)h & m->mask;; i = (i + 1) & m->mask) {
        struct slot *s = &m->s[i];
        if (!s->hash)
            return s;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
}

void *kmap_get(const struct kmap *m, const void *key, size_t klen)
{
    struct slot *s = find(m, kmap_hash(key, klen), key, klen);
    return s->hash ? s->val : NULL;
}

static int grow(struct kmap *m)
{
    size_t n = (m->mask + 1) * 2;
    struct slot *ns = calloc(n, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->s[i].hash)
            continue;
        size_t j = (size_t)m->s[i].hash & (n - 1);
        while (ns[j].hash)
            j = (j + 1) & (n - 1);
        ns[j] = m->s[i];
    }
    free(m->s);
    m->s = ns;
    m->mask = n - 1;
    return 0;
}

int kmap_put(struct kmap *m, const void *key, size_t klen, void *val)
{
    uint64_t h = kmap_hash(key, klen);
    struct slot *s = find(m, h, key, klen);
    if (s->hash)
        return 1;
    if (m->len >= m->max)
        return -1;
    if ((m->len + 1) * 4 > (m->mask + 1) * 3) {
        if (grow(m) != 0)
            return -1;
        s = find(m, h, key, klen);
    }
    char *k = malloc(klen ? klen : 1);
    if (!k)
        return -1;
    memcpy(k, key, klen);
    *s = (struct slot){h, k, klen, val};
    m->len++;
    return 0;
}

/* Backward-shift deletion keeps every probe chain intact without tombstones. */
static void remove_at(struct kmap *m, size_t i)
{
    free(m->s[i].key);
    m->s[i].hash = 0;
    m->len--;
    for (size_t j = (i + 1) & m->mask; m->s[j].hash; j = (j + 1) & m->mask) {
        size_t home = (size_t)m->s[j].hash & m->mask;
        /* slot j may move to the hole at i when i lies cyclically in [home, j) */
        if (((j - home) & m->mask) >= ((j - i) & m->mask)) {
            m->s[i] = m->s[j];
            m->s[j].hash = 0;
            i = j;
        }
    }
}

void kmap_each(struct kmap *m, int (*fn)(void *ud, const char *key, size_t klen, void *val),
               void *ud)
{
    /* Start just after an empty slot (the load factor keeps one) and go once around: every run
     * of full slots is then visited from its start, and a backward shift only moves entries not
     * yet visited into the hole, so each entry is seen exactly once. */
    size_t start = 0;
    while (m->s[start].hash)
        start++;
    for (size_t k = 1; k <= m->mask + 1;) {
        size_t i = (start + k) & m->mask;
        struct slot *s = &m->s[i];
        if (s->hash && fn(ud, s->key, s->klen, s->val)) {
            remove_at(m, i); /* a later entry may have moved into i: look at it again */
            continue;
        }
        k++;
    }
}
