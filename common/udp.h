/* udp — a non-blocking UDP listening socket for the metric listeners (StatsD, collectd).
 *
 * Addresses are written as the reference agent's configuration writes them: ":8125" (every
 * interface, IPv6 and IPv4), "127.0.0.1:8125", "[::1]:8125", "localhost:8125", optionally with a
 * "udp://" prefix ("udp://127.0.0.1:25826"). Other schemes (tcp://, unix://) are refused with a
 * message saying so.
 *
 * Kernel drops: the socket asks for SO_RXQ_OVFL, so every datagram the kernel dropped because
 * the receive buffer was full is counted (udp_recv reports the running total). The receive
 * buffer is sized from the caller's request (SO_RCVBUFFORCE when permitted, else SO_RCVBUF,
 * which the kernel caps at net.core.rmem_max); udp_listen reports what it got.
 */
#ifndef CW_UDP_H
#define CW_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UDP_MAX_DATAGRAM 65535 /* IPv4/IPv6 UDP payload limit, plus room to see truncation */

/* Binds a socket (non-blocking, close-on-exec). Returns the fd, or -1 with a message in err
 * naming the address and the cause. *rcvbuf_out (may be NULL) gets the effective buffer size. */
int udp_listen(const char *address, int rcvbuf, int *rcvbuf_out, char *err, size_t errlen);

/* Checks the form of an address without resolving or binding: 0, or -1 with a message. */
int udp_check_address(const char *address, char *err, size_t errlen);

/* The local port of a bound socket (for tests with port 0), or -1. */
int udp_port(int fd);

/* Reads one datagram into buf. Returns its length, 0 when none is waiting (a zero-length
 * datagram is also reported as 0 and skipped), or -1 on a socket error. *truncated is set
 * when the datagram was longer than cap; *kernel_drops gets the kernel's running count of
 * datagrams dropped for this socket when it reports one (unchanged otherwise). */
ssize_t udp_recv(int fd, void *buf, size_t cap, int *truncated, uint32_t *kernel_drops);

#endif
