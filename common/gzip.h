/* gzip — one-shot gzip compression (libdeflate) into a caller-sized buffer, and capped
 * decompression (zlib).
 *
 * "Compress only if it helps" is expressed by the output cap: pass out_cap = in_len - 1 and a
 * -1 result means "send the body as it is". Each call sets up and tears down its own compressor
 * state, so nothing stays resident between calls.
 */
#ifndef CW_GZIP_H
#define CW_GZIP_H

#include <stddef.h>

#include "common/buf.h"

#define GZIP_LEVEL_FAST    1
#define GZIP_LEVEL_DEFAULT 6

/* Compresses in[0..in_len) as one gzip member at `level` (1..9) into out[0..out_cap).
 * Returns 0 and sets *out_len, or -1 when the output does not fit in out_cap (nothing logged:
 * this is the expected "not smaller" outcome) or zlib fails (logged). `out` is borrowed. */
int gzip_compress(const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len,
                  int level);

/* Compresses into a freshly sized cw_buf `out` (reset first) only if the result is strictly
 * smaller than the input. Returns 0 when `out` holds the smaller gzip body, -1 otherwise
 * (send the input uncompressed). The caller owns `out` and frees it with cw_buf_free. */
int gzip_if_smaller(const void *in, size_t in_len, struct cw_buf *out, int level);

/* Decompresses a gzip body into `out` (appended; its cap bounds the output). Returns 0, or -1
 * when the data is not valid gzip or would exceed the cap. */
int gzip_decompress(const void *in, size_t in_len, struct cw_buf *out);

#endif
