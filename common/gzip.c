#include "common/gzip.h"

#include "common/log.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#define GZIP_WINDOW_BITS (15 + 16) /* 15-bit window, gzip wrapper */

int gzip_compress(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len,
                  int level)
{
    if (in_len > UINT_MAX || out_cap > UINT_MAX)
        return -1;
    z_stream zs = {0};
    if (deflateInit2(&zs, level, Z_DEFLATED, GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        cw_error("gzip", "deflateInit2 failed");
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = out;
    zs.avail_out = (uInt)out_cap;
    int zrc = deflate(&zs, Z_FINISH);
    int rc = -1;
    if (zrc == Z_STREAM_END) {
        *out_len = zs.total_out;
        rc = 0;
    } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
        cw_error("gzip", "deflate failed (%d)", zrc);
    }
    deflateEnd(&zs);
    return rc;
}

int gzip_if_smaller(const void *in, size_t in_len, struct cw_buf *out, int level)
{
    cw_buf_reset(out);
    if (in_len < 2)
        return -1;
    size_t cap = in_len - 1;
    /* Reserve the whole capped size once: cw_buf grows to hold it, then we write in place. */
    if (cap > out->max || cw_buf_append(out, "", 0) != 0)
        return -1;
    if (out->cap < cap + 1) {
        char *p = realloc(out->data, cap + 1);
        if (!p)
            return -1;
        out->data = p;
        out->cap = cap + 1;
    }
    size_t n = 0;
    if (gzip_compress(in, in_len, out->data, cap, &n, level) != 0)
        return -1;
    out->len = n;
    out->data[n] = '\0';
    return 0;
}

int gzip_decompress(const void *in, size_t in_len, struct cw_buf *out)
{
    if (in_len > UINT_MAX)
        return -1;
    z_stream zs = {0};
    if (inflateInit2(&zs, GZIP_WINDOW_BITS) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    unsigned char chunk[16384];
    int zrc, rc = -1;
    do {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc != Z_OK && zrc != Z_STREAM_END)
            goto out;
        if (cw_buf_append(out, chunk, sizeof chunk - zs.avail_out) != 0)
            goto out;
    } while (zrc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
    rc = zrc == Z_STREAM_END ? 0 : -1;
out:
    inflateEnd(&zs);
    return rc;
}
