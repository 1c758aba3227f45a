#include "agent/zpolicy.h"

#include <string.h>

#define ZP_ALPHA       0.25   /* weight of the newest measurement */
#define ZP_TO_GZIP     1.25   /* hysteresis: switch on above, off below 1 / this */
#define ZP_MIN_WAIT_NS 100000 /* an answer waited for less than 0.1 ms: 0.1 ms */

void zpolicy_init(struct zpolicy *z, enum zpolicy_mode mode)
{
    memset(z, 0, sizeof *z);
    z->mode = mode;
    z->compressing = mode != ZPOLICY_NONE;
}

int zpolicy_compress(const struct zpolicy *z)
{
    return z->compressing;
}

static double ewma(double old, double now)
{
    return old > 0 ? old + ZP_ALPHA * (now - old) : now;
}

/* Re-decides from the current estimates (auto mode, both speeds known). */
static void decide(struct zpolicy *z)
{
    if (z->mode != ZPOLICY_AUTO || z->c_bps <= 0 || z->w_bps <= 0 || z->ratio <= 0)
        return;
    double gain = z->ratio > 1 ? z->c_bps * (1 - 1 / z->ratio) : 0; /* see the header */
    if (!z->compressing && gain > z->w_bps * ZP_TO_GZIP)
        z->compressing = 1;
    else if (z->compressing && gain * ZP_TO_GZIP < z->w_bps)
        z->compressing = 0;
}

void zpolicy_note_compress(struct zpolicy *z, size_t in_bytes, size_t out_bytes, int64_t cpu_ns)
{
    if (in_bytes == 0 || out_bytes == 0)
        return;
    if (cpu_ns < 1000)
        cpu_ns = 1000; /* clock granularity */
    z->c_bps = ewma(z->c_bps, (double)in_bytes * 1e9 / (double)cpu_ns);
    z->ratio = ewma(z->ratio, (double)in_bytes / (double)out_bytes);
    decide(z);
}

void zpolicy_note_wire(struct zpolicy *z, size_t wire_bytes, int64_t rtt_ns)
{
    if (wire_bytes == 0)
        return;
    if (rtt_ns < ZP_MIN_WAIT_NS)
        rtt_ns = ZP_MIN_WAIT_NS;
    z->w_bps = ewma(z->w_bps, (double)wire_bytes * 1e9 / (double)rtt_ns);
    decide(z);
}

int zpolicy_mode_parse(const char *s, enum zpolicy_mode *out)
{
    static const char *const names[] = {"auto", "gzip", "none"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum zpolicy_mode)i;
            return 0;
        }
    }
    return -1;
}
