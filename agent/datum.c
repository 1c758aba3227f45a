#include "agent/datum.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    max_align_t data[]; /* flexible storage, maximally aligned */
};

struct datum_list {
    struct datum *items;
    size_t len;
    size_t cap;
    size_t max_datums;
    struct arena_block *head; /* current block; older blocks follow via next */
    size_t arena_total;       /* bytes of all blocks */
    size_t arena_used;
    size_t max_bytes;
};

struct datum_list *datum_list_new(size_t max_datums, size_t max_bytes)
{
    struct datum_list *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->max_datums = max_datums;
    l->max_bytes = max_bytes;
    return l;
}

static void free_blocks(struct arena_block *b)
{
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void datum_list_free(struct datum_list *l)
{
    if (!l)
        return;
    free_blocks(l->head);
    free(l->items);
    free(l);
}

void datum_list_clear(struct datum_list *l)
{
    l->len = 0;
    l->arena_used = 0;
    if (!l->head)
        return;
    /* Keep the oldest block (the last in the chain) so steady state does no malloc. */
    struct arena_block *b = l->head, *keep = NULL;
    while (b->next) {
        struct arena_block *next = b->next;
        if (!next->next)
            keep = next;
        l->arena_total -= b->size;
        free(b);
        b = next;
    }
    if (!keep)
        keep = b;
    keep->used = 0;
    keep->next = NULL;
    l->head = keep;
}

size_t datum_list_len(const struct datum_list *l)
{
    return l->len;
}

const struct datum *datum_list_items(const struct datum_list *l)
{
    return l->items;
}

struct datum *datum_list_add(struct datum_list *l)
{
    if (l->len >= l->max_datums)
        return NULL;
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        if (ncap > l->max_datums)
            ncap = l->max_datums;
        struct datum *p = realloc(l->items, ncap * sizeof *p);
        if (!p)
            return NULL;
        l->items = p;
        l->cap = ncap;
    }
    struct datum *d = &l->items[l->len++];
    memset(d, 0, sizeof *d);
    return d;
}

void datum_list_pop(struct datum_list *l)
{
    if (l->len)
        l->len--;
}

static struct arena_block *new_block(struct datum_list *l, size_t need)
{
    size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
    if (l->arena_total + size > l->max_bytes)
        return NULL;
    struct arena_block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->used = 0;
    b->size = size;
    b->next = l->head;
    l->head = b;
    l->arena_total += size;
    return b;
}

/* Bump-allocates n bytes aligned to `align` (a power of two). */
static void *arena_alloc(struct datum_list *l, size_t n, size_t align)
{
    struct arena_block *b = l->head;
    size_t off = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || off > b->size || b->size - off < n) {
        b = new_block(l, n);
        if (!b)
            return NULL;
        off = 0;
    }
    void *p = (char *)b->data + off;
    l->arena_used += off + n - b->used;
    b->used = off + n;
    return p;
}

void *datum_list_alloc(struct datum_list *l, size_t n)
{
    return arena_alloc(l, n ? n : 1, sizeof(max_align_t));
}

const char *datum_list_strdup(struct datum_list *l, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(l, n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

size_t datum_list_arena_used(const struct datum_list *l)
{
    return l->arena_used;
}
