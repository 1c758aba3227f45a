/* sdnotify — systemd's readiness protocol without libsystemd (sd_notify(3)).
 *
 * With Type=notify, systemd passes the path of a datagram socket in $NOTIFY_SOCKET and waits
 * for "READY=1" before it considers the service started. The path is a file-system socket, or
 * an abstract-namespace one when it starts with '@' (the '@' stands for the leading NUL).
 */
#ifndef CW_SDNOTIFY_H
#define CW_SDNOTIFY_H

/* Sends `state` (e.g. "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=...") as one datagram to
 * $NOTIFY_SOCKET. Returns 0 when it was sent or when NOTIFY_SOCKET is unset (not under
 * systemd: nothing to do), -1 on a bad socket path or a send error (logged once). */
int cw_sd_notify(const char *state);

/* The same with the socket path given (NULL or "" = nothing to do, returns 0): the seam used by
 * cw_sd_notify and the tests. */
int cw_sd_notify_to(const char *socket_path, const char *state);

#endif
