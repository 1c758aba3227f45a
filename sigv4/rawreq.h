/* rawreq — parses a raw HTTP/1.1 request (as in the SigV4 test vectors or a captured request)
 * into method, path, query, headers and body, ready for sigv4_sign.
 *
 * Accepted form: a request line "METHOD SP target SP HTTP/x.y" (the target is everything
 * between the first and the last space, so the vectors' unencoded "/example space/" parses),
 * header lines "Name:value" ended by LF or CRLF, obsolete line folding (a line starting with a
 * space or tab continues the previous value, joined with one space), an empty line, then the
 * body. Without the empty line the request ends after its headers (the vectors' files do).
 * With Content-Length the body is exactly that many bytes (more input is ignored, less is an
 * error); without it the body is the rest of the input. Chunked bodies are refused. The target
 * must be origin-form ("/path?query").
 *
 * rawreq_parse_next reads one request from a stream of pipelined requests, with HTTP/1.1's
 * rule: the body is Content-Length bytes, and empty without Content-Length. Empty lines before
 * the request line are skipped; `consumed` tells where the next request starts.
 *
 * Ownership: both functions copy what they use; every pointer in struct rawreq points into
 * those copies and stays valid until rawreq_free.
 */
#ifndef CW_SIGV4_RAWREQ_H
#define CW_SIGV4_RAWREQ_H

#include <stddef.h>

#include "sigv4/sigv4.h"

#define RAWREQ_MAX_HEADERS 1000 /* far above what AWS front ends accept */

struct rawreq {
    const char *method;
    const char *path;    /* the target up to '?', as sent (still percent-encoded) */
    const char *query;   /* after '?', or NULL when the target has none */
    const char *version; /* "HTTP/1.1" */
    struct sigv4_header *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated for convenience; may contain NULs (use body_len) */
    size_t body_len;
    size_t consumed;     /* input bytes this request used, body included */
    char *storage_;      /* owned copy of the head */
    char *body_storage_; /* owned copy of the body */
};

/* Parses data[0..len). Returns 0, or -1 with a one-line reason in err (errlen bytes) and *out
 * zeroed. */
int rawreq_parse(const char *data, size_t len, struct rawreq *out, char *err, size_t errlen);

/* Parses the request at the start of data[0..len) (pipelined rule above). Returns 0 with
 * out->consumed set, or -1 with a reason in err. */
int rawreq_parse_next(const char *data, size_t len, struct rawreq *out, char *err, size_t errlen);

/* Returns the value of the first header named name (case-insensitive), or NULL. */
const char *rawreq_header(const struct rawreq *r, const char *name);

void rawreq_free(struct rawreq *r);

#endif
