/* collectd — the collectd binary network protocol (network plugin), received as
 * amazon-cloudwatch-agent receives it (telegraf socket_listener + collectd parser, go-collectd).
 *
 * Packets are parts (type u16 BE, length u16 BE incl. the 4-byte header, payload): host (0x0000),
 * time (0x0001, s), plugin (0x0002), plugin_instance (0x0003), type (0x0004), type_instance
 * (0x0005), values (0x0006), interval (0x0007), time_hr (0x0008, 2^-30 s), interval_hr (0x0009),
 * signature (0x0200: HMAC-SHA-256 over username + the rest of the packet) and encryption (0x0210:
 * AES-256-OFB with key SHA-256(password), plaintext = SHA-1(inner) + inner parts). Unknown parts
 * are skipped. Values: COUNTER (u64 BE), GAUGE (double LE), DERIVE (i64 BE) and ABSOLUTE (u64 BE;
 * the reference refuses the whole packet for it). COUNTER and DERIVE are passed on raw and
 * cumulative, as the reference does.
 *
 * Security level: a value list is kept only when it arrived at least at the configured level
 * (none < sign < encrypt). Lower ones are counted in `insecure` and reported (the reference
 * drops them silently). A wrong signature, an unknown user, a checksum mismatch after decryption
 * or a malformed part refuses the rest of the packet (counted in `refused_packets`); a value list
 * whose type is not in types.db or whose value count does not match refuses that list only.
 *
 * Naming (reference, ParseMultiValue "split"): one sample per data source, named
 * <name_prefix><plugin>_<ds name from types.db>; dimensions host (the packet's), instance
 * (plugin_instance), type, type_instance, empty ones omitted; stamped with the packet's time.
 *
 * The auth file ("user: password" lines, '#' comments) is re-read when its mtime changes.
 * Passwords are wiped when freed and never logged.
 */
#ifndef CW_COLLECTD_H
#define CW_COLLECTD_H

#include <stddef.h>
#include <stdint.h>

enum collectd_level { COLLECTD_NONE = 0, COLLECTD_SIGN, COLLECTD_ENCRYPT };

struct collectd_opts {
    const char *name_prefix; /* "collectd_" when NULL */
    enum collectd_level level;
    const char *auth_file;      /* needed for sign/encrypt; may be NULL for none */
    const char *const *typesdb; /* types.db files, read once by collectd_new */
    size_t ntypesdb;
};

struct collectd_dim {
    const char *name;
    const char *value;
};

/* One data source of one value list; every pointer is borrowed during the callback. */
struct collectd_sample {
    const char *name;
    const struct collectd_dim *dims;
    size_t ndims;
    double value;
    int64_t ts_ms;
};

typedef void (*collectd_emit_fn)(void *ud, const struct collectd_sample *s);

struct collectd_stats {
    uint64_t packets;
    uint64_t value_lists;     /* accepted */
    uint64_t refused_lists;   /* unknown type, count mismatch, bad value type */
    uint64_t refused_packets; /* malformed, bad signature, unknown user, decryption failure */
    uint64_t insecure;        /* value lists below the configured security level */
};

struct collectd;

/* Reads the types.db files and the auth file. Returns NULL with a message naming the file and
 * the problem in err when a types.db cannot be read (or sign/encrypt has no auth file path); an
 * auth file that cannot be read is logged and read once it appears. */
struct collectd *collectd_new(const struct collectd_opts *o, char *err, size_t errlen);
void collectd_free(struct collectd *c);

/* Parses one datagram; calls emit per sample. now_ms stamps value lists without a time part.
 * Returns the number of refusals in the packet (lists, packet, insecure lists); the first one
 * is described in err. */
size_t collectd_feed(struct collectd *c, const void *buf, size_t len, int64_t now_ms,
                     collectd_emit_fn emit, void *ud, char *err, size_t errlen);

void collectd_get_stats(const struct collectd *c, struct collectd_stats *out);
/* Number of types read from types.db (for tests). */
size_t collectd_ntypes(const struct collectd *c);

#endif
