#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cw_buf_init(struct cw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->secret = false;
}

void cw_buf_init_secret(struct cw_buf *b, size_t max)
{
    cw_buf_init(b, max);
    b->secret = true;
}

void cw_buf_free(struct cw_buf *b)
{
    bool secret = b->secret;
    if (secret && b->data)
        explicit_bzero(b->data, b->cap);
    free(b->data);
    cw_buf_init(b, b->max);
    b->secret = secret;
}

void cw_buf_free_secret(struct cw_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    cw_buf_free(b);
}

void cw_buf_reset(struct cw_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static int reserve(struct cw_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return -1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    char *p;
    if (b->secret) { /* realloc could leave the old bytes behind unwiped */
        p = malloc(ncap);
        if (!p)
            return -1;
        if (b->data) {
            memcpy(p, b->data, b->len + 1);
            explicit_bzero(b->data, b->cap);
            free(b->data);
        }
    } else {
        p = realloc(b->data, ncap);
        if (!p)
            return -1;
    }
    b->data = p;
    b->cap = ncap;
    return 0;
}

int cw_buf_append(struct cw_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cw_buf_append_str(struct cw_buf *b, const char *s)
{
    return cw_buf_append(b, s, strlen(s));
}

int cw_buf_append_char(struct cw_buf *b, char c)
{
    return cw_buf_append(b, &c, 1);
}

int cw_buf_vprintf(struct cw_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cw_buf_printf(struct cw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *cw_buf_detach(struct cw_buf *b, size_t *len_out)
{
    if (!b->data) {
        if (reserve(b, 0) != 0)
            return NULL;
        b->data[0] = '\0';
    }
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    cw_buf_init(b, b->max);
    return p;
}
