/* buf — a growable byte buffer with a hard cap set at creation.
 *
 * Every buffer that grows from input we do not control has a cap derived from the limit it
 * serves (an API body limit, a line limit). Appending past the cap fails and leaves the buffer
 * unchanged, so the caller decides what to do; the result must be checked.
 *
 * Ownership: the buffer owns `data`; cw_buf_free releases it. cw_buf_detach hands it to the
 * caller (who frees it with free()). `data` is always NUL-terminated (not counted in len).
 */
#ifndef CW_BUF_H
#define CW_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#define CW_WARN_UNUSED __attribute__((warn_unused_result))

struct cw_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;  /* hard cap on len */
    bool secret; /* wipe every copy: on growth and on free (cw_buf_init_secret) */
};

/* Initialises an empty buffer that may grow to at most `max` bytes. Allocates nothing. */
void cw_buf_init(struct cw_buf *b, size_t max);
/* The same for a buffer that will hold a secret: storage left behind by growth and the final
 * storage are wiped before they are freed. */
void cw_buf_init_secret(struct cw_buf *b, size_t max);
/* Frees the storage; if `secret` is non-zero the bytes are wiped first. */
void cw_buf_free(struct cw_buf *b);
void cw_buf_free_secret(struct cw_buf *b);
/* Empties the buffer, keeping its storage. */
void cw_buf_reset(struct cw_buf *b);

/* Each returns 0, or -1 when the cap would be exceeded or memory is exhausted. */
int cw_buf_append(struct cw_buf *b, const void *p, size_t n) CW_WARN_UNUSED;
int cw_buf_append_str(struct cw_buf *b, const char *s) CW_WARN_UNUSED;
int cw_buf_append_char(struct cw_buf *b, char c) CW_WARN_UNUSED;
int cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))) CW_WARN_UNUSED;
int cw_buf_vprintf(struct cw_buf *b, const char *fmt, va_list ap) CW_WARN_UNUSED;

/* Returns the data (NUL-terminated, never NULL) and leaves the buffer empty; caller frees. */
char *cw_buf_detach(struct cw_buf *b, size_t *len_out);

#endif
