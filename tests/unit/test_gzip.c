/* Unit tests for common/gzip: round trip, "only if smaller", caps. */
#include "common/gzip.h"
#include "tests/unit/t.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *repetitive(size_t n)
{
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = "&MetricData.member.1.Dimensions.member.1.Name=host"[i % 50];
    s[n] = '\0';
    return s;
}

TEST(round_trips_and_shrinks_form_bodies)
{
    char *in = repetitive(100000);
    struct cw_buf z, out;
    cw_buf_init(&z, 1 << 20);
    cw_buf_init(&out, 1 << 20);
    T_EQ_INT(gzip_if_smaller(in, 100000, &z, GZIP_LEVEL_FAST), 0);
    T_CHECK(z.len < 2000);
    T_CHECK((unsigned char)z.data[0] == 0x1f && (unsigned char)z.data[1] == 0x8b);
    T_EQ_INT(gzip_decompress(z.data, z.len, &out), 0);
    T_EQ_INT(out.len, 100000);
    T_CHECK(memcmp(out.data, in, 100000) == 0);
    cw_buf_free(&z);
    cw_buf_free(&out);
    free(in);
}

TEST(declines_when_not_smaller)
{
    unsigned char rnd[512];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) {
        x = x * 1103515245u + 12345u;
        rnd[i] = (unsigned char)(x >> 16);
    }
    struct cw_buf z;
    cw_buf_init(&z, 1 << 20);
    T_EQ_INT(gzip_if_smaller(rnd, sizeof rnd, &z, GZIP_LEVEL_DEFAULT), -1);
    T_EQ_INT(z.len, 0);
    T_EQ_INT(gzip_if_smaller("a", 1, &z, GZIP_LEVEL_DEFAULT), -1);
    T_EQ_INT(gzip_if_smaller("abcabcabc", 9, &z, GZIP_LEVEL_DEFAULT), -1); /* header alone is 18 */
    cw_buf_free(&z);
}

TEST(compress_respects_output_cap)
{
    char *in = repetitive(100000);
    char out[64];
    size_t n = 0;
    T_EQ_INT(gzip_compress(in, 100000, out, sizeof out, &n, GZIP_LEVEL_FAST), -1);
    char big[4096];
    T_EQ_INT(gzip_compress(in, 100000, big, sizeof big, &n, GZIP_LEVEL_FAST), 0);
    T_CHECK(n > 18 && n < sizeof big);
    free(in);
}

TEST(decompress_rejects_garbage_and_honours_cap)
{
    struct cw_buf out;
    cw_buf_init(&out, 1000);
    T_EQ_INT(gzip_decompress("not gzip at all", 15, &out), -1);
    char *in = repetitive(5000);
    struct cw_buf z;
    cw_buf_init(&z, 1 << 20);
    T_EQ_INT(gzip_if_smaller(in, 5000, &z, GZIP_LEVEL_FAST), 0);
    cw_buf_reset(&out);
    T_EQ_INT(gzip_decompress(z.data, z.len, &out), -1);     /* 5000 > cap 1000 */
    T_EQ_INT(gzip_decompress(z.data, z.len / 2, &out), -1); /* truncated */
    cw_buf_free(&z);
    cw_buf_free(&out);
    free(in);
}

T_MAIN("test_gzip", T_CASE(round_trips_and_shrinks_form_bodies), T_CASE(declines_when_not_smaller),
       T_CASE(compress_respects_output_cap), T_CASE(decompress_rejects_garbage_and_honours_cap))
