/* emf — the Embedded Metric Format listener: EMF documents received over TCP (one per line)
 * and UDP (one per datagram), routed to a log group and stream, checked, and split when a
 * directive holds more metrics than CloudWatch extracts.
 *
 * The module owns no loop: watch lt_emf_fd() (an epoll descriptor over the listening sockets
 * and the TCP clients) for EPOLLIN, call lt_emf_on_readable(), then pull with lt_emf_next().
 * Received documents wait in a queue of at most max_queue bytes; while it is full TCP clients
 * are not read (the kernel's window pushes back on the sender) and UDP datagrams stay in the
 * socket buffer, where the kernel drops them when that fills (counted by the kernel, not here).
 *
 * Routing (reference notes inputs-outputs-semantics 2.3, [ACC] exporter.go logToCWLog):
 *   _aws.LogGroupName (and _aws.LogStreamName); else the top-level log_group_name (and
 *   log_stream_name) of older libraries; the stream defaults to default_stream. A document
 *   with no group, with a group or stream name CloudWatch Logs refuses, or that is not a JSON
 *   object, is not sent: counted and logged (the reference drops it at debug level).
 * Checks (EMF specification): _aws.CloudWatchMetrics an array of directives, each with a
 *   Namespace (1..1024 chars), Dimensions (arrays of <= 30 strings) and Metrics (objects with a
 *   Name); _aws.Timestamp an integer in ms. A document that fails is still sent (CloudWatch
 *   keeps it as a log event), counted as invalid and logged with the reason. A document
 *   without _aws (a structured log routed by the older keys) is sent as it is.
 * Split (better than the reference, CWA#1813): a directive with more than 100 metrics is cut
 *   into documents of at most 100 metrics each; each keeps every other member of the original
 *   and drops the values of metrics that it does not declare.
 * Event timestamp: _aws.Timestamp when it is a valid integer, else the time of receipt.
 * Documents live in memory only (a socket cannot be re-read): what is still queued when the
 * listener is freed (shutdown or reload while CloudWatch is unreachable) is logged as lost.
 */
#ifndef CW_LOGTAIL_EMF_H
#define CW_LOGTAIL_EMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_EMF_MAX_METRICS    100     /* per directive: CloudWatch extracts no more */
#define LT_EMF_MAX_DIMENSIONS 30      /* keys per dimension set */
#define LT_EMF_MAX_LINE       1048550 /* TCP line: an event's 1 MiB minus 26 bytes */
#define LT_EMF_MAX_DATAGRAM   65535
#define LT_EMF_MAX_CLIENTS    1024
#define LT_EMF_NAME_MAX       512 /* log group and stream names (CloudWatch Logs API) */

struct lt_emf_options {
    const char *tcp; /* "host:port" or NULL */
    const char *udp; /* "host:port" or NULL */
    const char *default_stream;
    size_t max_queue; /* bytes of documents waiting; 0 = 8 MiB */
    int64_t (*clock)(void *ud);
    void *clock_ud;
};

struct lt_emf_event {
    const char *group, *stream; /* borrowed until the next lt_emf_* call */
    int64_t timestamp_ms;
    const char *message;
    size_t len;
};

struct lt_emf_stats {
    uint64_t received; /* documents (lines, datagrams) */
    uint64_t events;   /* events handed on (after splitting) */
    uint64_t split;    /* documents that were split */
    uint64_t no_group, not_json, invalid, too_long, bad_name;
    unsigned clients;
    size_t queued_bytes;
};

/* One received document turned into events, for lt_emf_next and tests. */
struct lt_emf_doc {
    char *group, *stream;
    int64_t timestamp_ms;
    char **parts; /* each a complete JSON document */
    size_t n_parts;
};

struct lt_emf;

/* Opens the listeners. NULL with a message in err (address in use, bad address). */
struct lt_emf *lt_emf_new(const struct lt_emf_options *o, char *err, size_t errlen);
void lt_emf_free(struct lt_emf *e);
int lt_emf_fd(const struct lt_emf *e);
void lt_emf_on_readable(struct lt_emf *e);
int lt_emf_next(struct lt_emf *e, struct lt_emf_event *ev);
bool lt_emf_has_work(const struct lt_emf *e);
void lt_emf_stats(const struct lt_emf *e, struct lt_emf_stats *out);
/* The port a listener is bound to (after port 0), or 0. */
int lt_emf_port(const struct lt_emf *e, bool udp);

/* Routes, checks and splits one document. 0 with *out filled (free with lt_emf_doc_free);
 * -1 when it cannot be sent, with the reason in why. *invalid_why is set ("" when the EMF
 * is valid). Exposed for tests. */
int lt_emf_parse(const char *s, size_t n, const char *default_stream, int64_t now_ms,
                 struct lt_emf_doc *out, char *why, size_t whylen, char *invalid_why,
                 size_t invalid_len);
void lt_emf_doc_free(struct lt_emf_doc *d);

#endif
