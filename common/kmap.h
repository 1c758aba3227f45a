/* kmap — a hash map from byte-string keys to caller pointers (open addressing, linear probing).
 *
 * The map copies each key once when it is inserted and owns that copy; the values are the
 * caller's (kmap_free calls `free_val` on each). The number of keys is capped at creation so
 * that input we do not control (one series per distinct StatsD name) cannot grow it without
 * bound: kmap_put fails when the cap is reached. One thread; no hidden state.
 */
#ifndef CW_KMAP_H
#define CW_KMAP_H

#include <stddef.h>
#include <stdint.h>

struct kmap;

/* Returns an empty map holding at most max_keys keys, or NULL (out of memory). */
struct kmap *kmap_new(size_t max_keys);
/* Frees the map and its keys; calls free_val(val) for each value when free_val is not NULL. */
void kmap_free(struct kmap *m, void (*free_val)(void *val));

uint64_t kmap_hash(const void *key, size_t klen);

/* The value stored under the key, or NULL. */
void *kmap_get(const struct kmap *m, const void *key, size_t klen);
/* Stores `val` under a new key. Returns 0, 1 when the key exists (nothing changed), or -1 when
 * the map is full or memory is exhausted. */
int kmap_put(struct kmap *m, const void *key, size_t klen, void *val)
    __attribute__((warn_unused_result));
size_t kmap_len(const struct kmap *m);

/* Calls fn for every entry, in no particular order. fn must not insert. When fn returns
 * non-zero the entry is removed (the caller frees its value in fn). */
void kmap_each(struct kmap *m, int (*fn)(void *ud, const char *key, size_t klen, void *val),
               void *ud);

#endif
