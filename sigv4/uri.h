/* sigv4/uri — the URI pieces of a SigV4 canonical request: percent-encoding with the RFC 3986
 * unreserved set, percent-decoding, path normalisation and query canonicalisation.
 *
 * These are exposed for the signer, `cwagent sign` and their tests; nothing here allocates
 * except through the caller's cw_buf, whose cap bounds every result. Each appending function
 * returns 0, or -1 when the buffer's cap is reached or memory is exhausted (the buffer then
 * holds a partial result the caller discards).
 */
#ifndef CW_SIGV4_URI_H
#define CW_SIGV4_URI_H

#include <stddef.h>

#include "common/buf.h"

/* Non-zero for the RFC 3986 unreserved characters A-Z a-z 0-9 - _ . ~ */
int sigv4_uri_is_unreserved(unsigned char c);

/* Appends s[0..n) with every byte outside the unreserved set written as %XX (uppercase hex).
 * With keep_slash non-zero '/' is also left as it is (paths). */
int sigv4_uri_encode(struct cw_buf *out, const char *s, size_t n, int keep_slash) CW_WARN_UNUSED;

/* Appends s[0..n) with each valid %XX sequence decoded to its byte. A '%' not followed by two
 * hex digits is kept literally; '+' is kept (RFC 3986 decoding, not form decoding). */
int sigv4_uri_decode(struct cw_buf *out, const char *s, size_t n) CW_WARN_UNUSED;

/* Appends the path with "." and ".." segments removed and runs of '/' collapsed, as botocore's
 * remove_dot_segments does: a leading '/' is kept, a trailing '/' is kept when a segment
 * remains, and an empty path becomes "/". */
int sigv4_uri_normalize_path(struct cw_buf *out, const char *path, size_t n) CW_WARN_UNUSED;

/* Appends the canonical query string for a raw query (without '?'): split on '&' (empty
 * segments are dropped), each name and value split at the first '=', decoded and re-encoded
 * with the unreserved set, sorted by name then value, written as name=value joined by '&'.
 * Repeated names and empty values are kept; a name without '=' gets an empty value.
 * This is aws-c-auth's rule. botocore 1.29 uses the query verbatim (split and sorted only); the
 * two agree whenever the query is encoded as clients encode it (unreserved set, uppercase hex,
 * space as %20), which tests/e2e/test_sign_botocore.py checks. */
int sigv4_uri_canonical_query(struct cw_buf *out, const char *query) CW_WARN_UNUSED;

#endif
