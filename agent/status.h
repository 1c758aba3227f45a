/* status — the running agent answers `cwagent status` over a local UNIX socket.
 *
 * The server listens on a stream socket (mode 0600 in the agent's 0700 state directory, so only
 * root and the agent's user can connect); each connection receives one JSON document, rendered
 * by the caller's callback at that moment, and is closed. The client connects, reads the
 * document (capped) and returns it.
 */
#ifndef CW_STATUS_H
#define CW_STATUS_H

#include "agent/loop.h"

#define STATUS_SOCKET_NAME "cwagent.sock"
#define STATUS_MAX_BYTES   (4u << 20)

/* Returns a malloc'd NUL-terminated JSON document (the server frees it), or NULL. */
typedef char *(*status_render_fn)(void *ud);

struct status_server;

/* Listens at `path` (a stale socket file there is replaced). NULL on failure (logged). */
struct status_server *status_server_new(struct cw_loop *loop, const char *path,
                                        status_render_fn render, void *ud);
/* Stops listening and removes the socket file. NULL is a no-op. */
void status_server_free(struct status_server *s);

/* Connects to `path` and reads the document into *out (malloc'd; the caller frees). Returns 0,
 * or -1 when no agent answers (errno kept from the failing call). */
int status_query(const char *path, long timeout_ms, char **out);

#endif
