/* zpolicy — whether gzip pays for a request body: compress only while the compressor is faster
 * than the wire.
 *
 * Sending a body plain delivers it at the wire's speed W (body bytes per second of round trip);
 * compressed, one after the other, at 1 / (1/C + 1/(W r)) where C is the compressor's speed
 * (input bytes per CPU second) and r its ratio. Compressing pays when that is faster than W,
 * i.e. when C (1 - 1/r) > W. To CloudWatch (tens of ms per
 * call, W of a few MB/s) it always pays and saves bandwidth; to a sink on loopback or a fast LAN
 * (a 1 MiB body answered in a millisecond, W near 1 GB/s) it only burns CPU: libdeflate at
 * level 1 runs ~240 MB per CPU-second, which alone caps shipping near that rate.
 *
 * Both speeds are measured (moving averages) from the caller's own calls; until the wire has been
 * measured the answer is "compress" (the cautious default for bytes on the network). A 25 %
 * margin keeps the decision from flapping. ZPOLICY_GZIP and ZPOLICY_NONE force one answer.
 *
 * Ownership: plain value type, no allocation.
 */
#ifndef CW_ZPOLICY_H
#define CW_ZPOLICY_H

#include <stddef.h>
#include <stdint.h>

enum zpolicy_mode { ZPOLICY_AUTO = 0, ZPOLICY_GZIP, ZPOLICY_NONE };

struct zpolicy {
    enum zpolicy_mode mode;
    double c_bps; /* compressor: input bytes per CPU second; 0 = not measured */
    double w_bps; /* wire: body bytes per second of round trip; 0 = not measured */
    double ratio; /* input bytes / compressed bytes; 0 = not measured */
    int compressing;
};

void zpolicy_init(struct zpolicy *z, enum zpolicy_mode mode);
/* Non-zero when the next body should be compressed. */
int zpolicy_compress(const struct zpolicy *z);
/* After compressing `in_bytes` into `out_bytes` in `cpu_ns` of CPU time. */
void zpolicy_note_compress(struct zpolicy *z, size_t in_bytes, size_t out_bytes, int64_t cpu_ns);
/* After a call whose body of `wire_bytes` kept the caller waiting `rtt_ns` for its answer (the
 * round trip less the caller's own work meanwhile; one attempt, success only: retries and
 * failures say nothing about the wire's speed). */
void zpolicy_note_wire(struct zpolicy *z, size_t wire_bytes, int64_t rtt_ns);
/* Parses "auto", "gzip" or "none"; 0, or -1. */
int zpolicy_mode_parse(const char *s, enum zpolicy_mode *out);

#endif
