/* netstat — socket counts by TCP state plus the number of UDP sockets (IPv4 and IPv6).
 *
 * Source of truth: the kernel's sock_diag netlink interface (NETLINK_SOCK_DIAG, inet_diag dumps
 * of AF_INET/AF_INET6 x TCP/UDP), which is what `ss` reads and needs no capability: only a fixed
 * header per socket crosses to userspace and nothing is formatted as text. The kernel still
 * formats and copies each dumped socket (~0.5 us), and a busy host's sockets are nearly all
 * ESTABLISHED: so the TCP dump leaves ESTABLISHED out (the kernel filters by state first) and
 * takes their number from /proc/net/snmp Tcp CurrEstab, checked against a full dump on the first
 * round and every VERIFY_ROUNDS rounds (see enum estab_mode). When the root is not "/" (a fixture
 * tree or a host mounted elsewhere), or netlink fails (logged once), the text tables
 * /proc/net/{tcp,tcp6,udp,udp6} are parsed instead (same kernel tables, same network namespace
 * as the reader).
 *
 * State names follow telegraf's inputs.netstat. TCP_NEW_SYN_RECV (12, request sockets) counts as
 * syn_recv, as ss and /proc/net/tcp show it. tcp_none is always 0: telegraf's gopsutil counts
 * unix stream sockets under "NONE" and unix datagram sockets as udp_socket; we count only real
 * TCP/UDP sockets (see docs/metrics.md). */
#include "collectors/internal.h"
#include "common/log.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    N_CLOSE,
    N_CLOSE_WAIT,
    N_CLOSING,
    N_ESTABLISHED,
    N_FIN_WAIT1,
    N_FIN_WAIT2,
    N_LAST_ACK,
    N_LISTEN,
    N_NONE,
    N_SYN_SENT,
    N_SYN_RECV,
    N_TIME_WAIT,
    N_UDP,
    N_N
};

static const struct coll_field fields[] = {
    {"tcp_close", "netstat_tcp_close", "Count"},
    {"tcp_close_wait", "netstat_tcp_close_wait", "Count"},
    {"tcp_closing", "netstat_tcp_closing", "Count"},
    {"tcp_established", "netstat_tcp_established", "Count"},
    {"tcp_fin_wait1", "netstat_tcp_fin_wait1", "Count"},
    {"tcp_fin_wait2", "netstat_tcp_fin_wait2", "Count"},
    {"tcp_last_ack", "netstat_tcp_last_ack", "Count"},
    {"tcp_listen", "netstat_tcp_listen", "Count"},
    {"tcp_none", "netstat_tcp_none", "Count"},
    {"tcp_syn_sent", "netstat_tcp_syn_sent", "Count"},
    {"tcp_syn_recv", "netstat_tcp_syn_recv", "Count"},
    {"tcp_time_wait", "netstat_tcp_time_wait", "Count"},
    {"udp_socket", "netstat_udp_socket", "Count"},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

/* Kernel TCP state number (include/net/tcp_states.h) to our index; -1 = not counted. */
static const int tcp_state_idx[] = {
    -1,      N_ESTABLISHED, N_SYN_SENT, N_SYN_RECV, N_FIN_WAIT1, N_FIN_WAIT2, N_TIME_WAIT,
    N_CLOSE, N_CLOSE_WAIT,  N_LAST_ACK, N_LISTEN,   N_CLOSING,   N_SYN_RECV,
};

/* How /proc/net/snmp's Tcp CurrEstab (RFC 1213 tcpCurrEstab) relates to the socket table. Linux
 * counts ESTABLISHED + CLOSE_WAIT since "tcp: count CLOSE-WAIT sockets for TCP_MIB_CURRESTAB"
 * (6.10, backported to the stable series in 2024); before it, ESTABLISHED alone. Which one this
 * kernel does is learnt from full dumps; it only matters while CLOSE_WAIT sockets exist. */
enum estab_mode {
    ESTAB_UNKNOWN,
    ESTAB_ONLY,     /* CurrEstab = ESTABLISHED */
    ESTAB_PLUS_CW,  /* CurrEstab = ESTABLISHED + CLOSE_WAIT */
    ESTAB_DISTRUST, /* disagreed with the table 3 times: every socket is dumped */
};

/* Every VERIFY_ROUNDS rounds (and the first), the whole table is dumped and CurrEstab checked. */
#define VERIFY_ROUNDS 64
#define MAX_MISSES    3
/* Every TCP state but the pseudo state TCP_BOUND_INACTIVE (13), which is only dumped on request. */
#define TCP_STATES_ALL ((1u << 13) - 1)
#define TCPF_EST       (1u << 1)

struct netstat_state {
    coll_mask mask;
    enum estab_mode mode;
    unsigned rounds, misses;
    bool warned_netlink;
    _Alignas(8) char nlbuf[65536]; /* netlink receive buffer (nlmsghdr needs 4-byte alignment) */
};

static void *netstat_create(const struct collectors_opts *o, char *err, size_t errlen)
{
    struct netstat_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (coll_mask_from(fields, NFIELDS, "netstat", &o->plugin[COLL_NETSTAT].measurements, &s->mask,
                       err, errlen) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void count_tcp_state(unsigned st, uint64_t n[N_N])
{
    if (st < sizeof tcp_state_idx / sizeof tcp_state_idx[0] && tcp_state_idx[st] >= 0)
        n[tcp_state_idx[st]]++;
}

/* Sends a dump request. TCP goes through the compat TCPDIAG_GETSOCK request with AF_UNSPEC,
 * which walks the kernel's TCP hash tables once for both families (the walk, not the sockets,
 * dominates on an idle host: ~0.7 ms per family with a large ehash); UDP and the fallback use
 * SOCK_DIAG_BY_FAMILY per family. */
static int nl_request(int fd, int family, int proto, bool compat, unsigned states)
{
    struct {
        struct nlmsghdr nlh;
        union {
            struct inet_diag_req_v2 v2;
            struct inet_diag_req v1;
        } r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    if (compat) {
        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.v1);
        req.nlh.nlmsg_type = TCPDIAG_GETSOCK;
        req.r.v1.idiag_family = (unsigned char)family;
        req.r.v1.idiag_states = states;
    } else {
        req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.v2);
        req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.r.v2.sdiag_family = (unsigned char)family;
        req.r.v2.sdiag_protocol = (unsigned char)proto;
        req.r.v2.idiag_states = states;
    }
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    return sendto(fd, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0 ? -1 : 0;
}

/* Counts the messages of one chunk; returns 1 at NLMSG_DONE, 0 to go on, -1 on error. */
static int nl_chunk(const char *buf, size_t len, int proto, uint64_t n[N_N])
{
    const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)buf;
    for (size_t left = len; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR)
            return -1;
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        if (proto == IPPROTO_UDP)
            n[N_UDP]++;
        else
            count_tcp_state(m->idiag_state, n);
    }
    return 0;
}

static int nl_dump(struct netstat_state *s, int fd, int family, int proto, bool compat,
                   unsigned states, uint64_t n[N_N])
{
    if (nl_request(fd, family, proto, compat, states) != 0)
        return -1;
    for (;;) {
        ssize_t r = recv(fd, s->nlbuf, sizeof s->nlbuf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        int rc = nl_chunk(s->nlbuf, (size_t)r, proto, n);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
    }
}

/* Counts TCP sockets in `states` of both families: one compat dump, else one per family. */
static int nl_tcp(struct netstat_state *s, int fd, unsigned states, uint64_t n[N_N])
{
    uint64_t tcp[N_N] = {0};
    int rc = nl_dump(s, fd, AF_UNSPEC, IPPROTO_TCP, true, states, tcp);
    if (rc != 0) { /* no compat interface: one dump per family */
        memset(tcp, 0, sizeof tcp);
        rc = nl_dump(s, fd, AF_INET, IPPROTO_TCP, false, states, tcp);
        if (rc == 0)
            rc = nl_dump(s, fd, AF_INET6, IPPROTO_TCP, false, states, tcp);
    }
    for (int i = 0; i < N_N; i++)
        n[i] += tcp[i];
    return rc;
}

/* Reads Tcp CurrEstab from <root>/proc/net/snmp (the header line names the columns). */
static int read_currestab(struct coll_ctx *c, int64_t *out)
{
    size_t len;
    if (coll_read(c, "/proc/net/snmp", &len) != 0)
        return -1;
    const char *end = c->buf + len, *p = c->buf, *hdr = NULL;
    for (; p < end; p = coll_next_line(p, end)) {
        if (strncmp(p, "Tcp: ", 5) != 0)
            continue;
        if (!hdr) {
            hdr = p;
            continue;
        }
        const char *h = hdr + 4, *hend = coll_next_line(hdr, end), *v = p + 4;
        while (h < hend) { /* walk the names and the values side by side */
            while (h < hend && *h == ' ')
                h++;
            const char *name = h;
            while (h < hend && *h != ' ' && *h != '\n')
                h++;
            int64_t val;
            if (coll_i64(&v, end, &val) != 0)
                return -1;
            if (h - name == 9 && memcmp(name, "CurrEstab", 9) == 0) {
                *out = val;
                return val >= 0 && val < (int64_t)1 << 40 ? 0 : -1;
            }
        }
        return -1;
    }
    return -1;
}

/* Checks CurrEstab (read before and after a full dump) against the dump; learns the mode. */
static void verify_currestab(struct netstat_state *s, int64_t before, int64_t after,
                             const uint64_t n[N_N])
{
    if (before != after)
        return; /* connections came and went during the walk: no conclusion */
    uint64_t est = n[N_ESTABLISHED], cw = n[N_CLOSE_WAIT];
    bool only = (uint64_t)before == est, plus = (uint64_t)before == est + cw;
    if (only || plus) {
        s->misses = 0;
        if (cw > 0)
            s->mode = plus ? ESTAB_PLUS_CW : ESTAB_ONLY;
        return;
    }
    if (++s->misses >= MAX_MISSES) {
        s->mode = ESTAB_DISTRUST;
        cw_warn("collectors",
                "netstat: /proc/net/snmp CurrEstab (%lld) disagrees with the socket table "
                "(%llu established, %llu close_wait) %d times in a row; counting every socket",
                (long long)before, (unsigned long long)est, (unsigned long long)cw, MAX_MISSES);
    }
}

/* TCP without the ESTABLISHED sockets (the bulk of a busy host: ~0.5 us of kernel time each to
 * format and copy), their number taken from CurrEstab. Returns 0, or 1 when the mode cannot
 * tell ESTABLISHED apart (CLOSE_WAIT sockets, mode unknown) and a full dump is needed. */
static int nl_tcp_by_currestab(struct netstat_state *s, struct coll_ctx *c, int fd, uint64_t n[N_N])
{
    int64_t ce;
    if (read_currestab(c, &ce) != 0)
        return 1;
    uint64_t tcp[N_N] = {0};
    if (nl_tcp(s, fd, TCP_STATES_ALL & ~TCPF_EST, tcp) != 0)
        return -1;
    uint64_t cw = tcp[N_CLOSE_WAIT];
    if (cw > 0 && s->mode == ESTAB_UNKNOWN)
        return 1;
    uint64_t sub = s->mode == ESTAB_PLUS_CW ? cw : 0;
    if ((uint64_t)ce < sub)
        return 1;
    tcp[N_ESTABLISHED] = (uint64_t)ce - sub;
    for (int i = 0; i < N_N; i++)
        n[i] += tcp[i];
    return 0;
}

/* Every TCP socket dumped; CurrEstab verified around it unless distrusted. */
static int nl_tcp_full(struct netstat_state *s, struct coll_ctx *c, int fd, uint64_t n[N_N])
{
    int64_t before = -1, after = -1;
    bool check = s->mode != ESTAB_DISTRUST && read_currestab(c, &before) == 0;
    uint64_t tcp[N_N] = {0};
    if (nl_tcp(s, fd, TCP_STATES_ALL, tcp) != 0)
        return -1;
    if (check && read_currestab(c, &after) == 0)
        verify_currestab(s, before, after, tcp);
    for (int i = 0; i < N_N; i++)
        n[i] += tcp[i];
    return 0;
}

static int gather_netlink(struct netstat_state *s, struct coll_ctx *c, uint64_t n[N_N])
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    int rc = 1;
    if (s->mode != ESTAB_DISTRUST && s->rounds % VERIFY_ROUNDS != 0)
        rc = nl_tcp_by_currestab(s, c, fd, n);
    if (rc > 0)
        rc = nl_tcp_full(s, c, fd, n);
    if (rc == 0)
        rc = nl_dump(s, fd, AF_INET, IPPROTO_UDP, false, ~0u, n);
    if (rc == 0)
        rc = nl_dump(s, fd, AF_INET6, IPPROTO_UDP, false, ~0u, n);
    close(fd);
    s->rounds++;
    return rc;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Parses one /proc/net/{tcp,udp}[6] table; a missing IPv6 table (no ipv6) is not an error. */
static int gather_proc_table(struct coll_ctx *c, const char *rel, bool udp, uint64_t n[N_N])
{
    size_t len;
    if (coll_read(c, rel, &len) != 0)
        return errno == ENOENT && strchr(rel, '6') ? 0 : -1;
    const char *end = c->buf + len, *p = coll_next_line(c->buf, end);
    for (; p < end; p = coll_next_line(p, end)) {
        const char *q = coll_skip_words(p, end, 3);
        while (q < end && *q == ' ')
            q++;
        int hi = q + 1 < end ? hexval(q[0]) : -1, lo = hi >= 0 ? hexval(q[1]) : -1;
        if (lo < 0)
            continue;
        if (udp)
            n[N_UDP]++;
        else
            count_tcp_state((unsigned)(hi * 16 + lo), n);
    }
    return 0;
}

static int gather_proc(struct coll_ctx *c, uint64_t n[N_N])
{
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp",
                                         "/proc/net/udp6"};
    for (int i = 0; i < 4; i++)
        if (gather_proc_table(c, tables[i], i >= 2, n) != 0)
            return coll_fail(c, "cannot read %s: %s", c->path, strerror(errno));
    return 0;
}

static int netstat_gather(void *st, struct coll_ctx *c)
{
    struct netstat_state *s = st;
    uint64_t n[N_N] = {0};
    bool done = false;
    if (c->root[0] == '\0') {
        done = gather_netlink(s, c, n) == 0;
        if (!done && !s->warned_netlink)
            cw_warn("collectors",
                    "netstat: NETLINK_SOCK_DIAG dump failed (%s); reading the "
                    "/proc/net/{tcp,tcp6,udp,udp6} text instead",
                    strerror(errno));
        s->warned_netlink |= !done;
    }
    if (!done) {
        memset(n, 0, sizeof n);
        if (gather_proc(c, n) != 0)
            return -1;
    }
    for (unsigned i = 0; i < N_N; i++)
        coll_emit(c, fields, s->mask, i, (double)n[i], NULL, 0);
    return 0;
}

const struct coll_impl coll_netstat_impl = {"netstat", netstat_create, netstat_gather, free};
