/* Unit tests for agent/zpolicy: gzip only while the compressor outruns the wire. */
#include "agent/zpolicy.h"
#include "tests/unit/t.h"

/* 1 MB compressed 3.3x at mb_per_s; 1 MB answered at mb_per_s. */
static void compress_at(struct zpolicy *z, double mb_per_s)
{
    zpolicy_note_compress(z, 1000000, 300000, (int64_t)(1e9 / mb_per_s));
}

static void wire_at(struct zpolicy *z, double mb_per_s)
{
    zpolicy_note_wire(z, 1000000, (int64_t)(1e9 / mb_per_s));
}

TEST(compresses_until_the_wire_is_measured)
{
    struct zpolicy z;
    zpolicy_init(&z, ZPOLICY_AUTO);
    T_CHECK(zpolicy_compress(&z));
    compress_at(&z, 240);
    T_CHECK(zpolicy_compress(&z)); /* the wire's speed is still unknown */
}

TEST(a_slow_wire_keeps_gzip_a_fast_one_drops_it)
{
    struct zpolicy z;
    zpolicy_init(&z, ZPOLICY_AUTO);
    compress_at(&z, 240);
    wire_at(&z, 10); /* CloudWatch: 1 MB in 100 ms */
    T_CHECK(zpolicy_compress(&z));
    for (int i = 0; i < 20; i++)
        wire_at(&z, 1000); /* loopback: 1 MB in 1 ms */
    T_CHECK(!zpolicy_compress(&z));
    for (int i = 0; i < 20; i++) /* the network slows down: gzip again */
        wire_at(&z, 20);
    T_CHECK(zpolicy_compress(&z));
}

TEST(hysteresis_holds_near_the_break_even)
{
    struct zpolicy z;
    zpolicy_init(&z, ZPOLICY_AUTO);
    compress_at(&z, 200); /* gain = 200 * (1 - 1/3.33) = 140 MB/s */
    for (int i = 0; i < 20; i++)
        wire_at(&z, 150); /* above the gain, within the margin */
    T_CHECK(zpolicy_compress(&z));
    for (int i = 0; i < 20; i++)
        wire_at(&z, 180); /* beyond the margin */
    T_CHECK(!zpolicy_compress(&z));
    for (int i = 0; i < 20; i++)
        wire_at(&z, 130); /* back under the gain, within the margin: stays plain */
    T_CHECK(!zpolicy_compress(&z));
}

TEST(incompressible_data_is_sent_plain)
{
    struct zpolicy z;
    zpolicy_init(&z, ZPOLICY_AUTO);
    zpolicy_note_compress(&z, 1000000, 1000000, 1000000); /* ratio 1 */
    wire_at(&z, 1);
    T_CHECK(!zpolicy_compress(&z));
}

TEST(forced_modes_and_parsing)
{
    struct zpolicy z;
    zpolicy_init(&z, ZPOLICY_GZIP);
    wire_at(&z, 5000);
    compress_at(&z, 10);
    T_CHECK(zpolicy_compress(&z));
    zpolicy_init(&z, ZPOLICY_NONE);
    wire_at(&z, 0.001);
    T_CHECK(!zpolicy_compress(&z));
    enum zpolicy_mode m = ZPOLICY_GZIP;
    T_EQ_INT(zpolicy_mode_parse("auto", &m), 0);
    T_EQ_INT(m, ZPOLICY_AUTO);
    T_EQ_INT(zpolicy_mode_parse("none", &m), 0);
    T_EQ_INT(m, ZPOLICY_NONE);
    T_EQ_INT(zpolicy_mode_parse("zstd", &m), -1);
    T_EQ_INT(m, ZPOLICY_NONE);
}

T_MAIN("test_zpolicy", T_CASE(compresses_until_the_wire_is_measured),
       T_CASE(a_slow_wire_keeps_gzip_a_fast_one_drops_it),
       T_CASE(hysteresis_holds_near_the_break_even), T_CASE(incompressible_data_is_sent_plain),
       T_CASE(forced_modes_and_parsing))
