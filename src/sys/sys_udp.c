/* UDP server sockets with kernel receive timestamps, batched receive and send. Uses
 * only calls that clock-and-network simulators intercept (socket with a plain type,
 * fcntl, setsockopt, bind, recvmmsg/recvmsg, sendmsg), plus sendmmsg on the fast path
 * with a sendmsg fallback that is remembered once sendmsg works where sendmmsg did not. */
#include "sys/sys_udp.h"

#include <errno.h>
#include <linux/net_tstamp.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys/sys_clock.h"
#include "sys/sys_sock.h"

/* Retries of one call interrupted by a signal before giving up on it. */
#define EINTR_RETRIES 4

static int set_int_opt(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

/* Options that matter for correctness; failure is fatal for the socket. */
static int set_required_opts(struct sys_udp *u)
{
    if (u->family == AF_INET6) {
        return set_int_opt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    }
    return 0;
}

/* True for 0.0.0.0 and ::, where the kernel picks the reply's source address unless
 * told the address the request came to. */
static bool is_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Options whose absence only costs accuracy or burst tolerance: best effort. Packet
 * info is asked for on wildcard sockets only: a socket bound to one address already
 * answers from it, and the control message on every receive and send costs a route
 * and device lookup per datagram on the fast path. */
static void set_optional_opts(struct sys_udp *u, bool wildcard)
{
    int stamp_flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;

    (void)set_int_opt(u->fd, SOL_SOCKET, SO_RCVBUF, SYS_UDP_RCVBUF);
    u->rx_stamps = set_int_opt(u->fd, SOL_SOCKET, SO_TIMESTAMPING, stamp_flags) == 0;
    if (!wildcard) {
        return;
    }
    if (u->family == AF_INET) {
        (void)set_int_opt(u->fd, IPPROTO_IP, IP_PKTINFO, 1);
    } else {
        (void)set_int_opt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
}

int sys_udp_open(struct sys_udp *u, const struct sockaddr *sa, socklen_t sa_len)
{
    int r;

    memset(u, 0, sizeof(*u));
    u->fd = -1;
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
        return -EAFNOSUPPORT;
    }
    u->family = sa->sa_family;
    u->fd = sys_sock_udp(u->family);
    if (u->fd < 0) {
        r = u->fd;
        u->fd = -1;
        return r;
    }
    r = set_required_opts(u);
    if (r == 0) {
        /* Before bind, so the very first datagram already carries a stamp. */
        set_optional_opts(u, is_wildcard(sa));
        if (bind(u->fd, sa, sa_len) != 0) {
            r = -errno;
        }
    }
    if (r != 0) {
        sys_udp_close(u);
    }
    return r;
}

void sys_udp_close(struct sys_udp *u)
{
    if (u->fd >= 0) {
        close(u->fd);
    }
    u->fd = -1;
}

static void prepare_rx(struct sys_udp_batch *b, size_t i)
{
    struct msghdr *m = &b->hdr[i].msg_hdr;

    b->iov[i].iov_base = b->slot[i].buf;
    b->iov[i].iov_len = sizeof(b->slot[i].buf);
    memset(m, 0, sizeof(*m));
    m->msg_name = &b->slot[i].peer;
    m->msg_namelen = sizeof(b->slot[i].peer);
    m->msg_iov = &b->iov[i];
    m->msg_iovlen = 1;
    m->msg_control = b->ctrl[i].buf;
    m->msg_controllen = sizeof(b->ctrl[i].buf);
    b->hdr[i].msg_len = 0;
}

static void parse_pktinfo(const struct cmsghdr *c, struct sys_udp_local *local)
{
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
        struct in_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        /* ipi_spec_dst is the local address a reply should come from, also for a
         * request sent to a broadcast address (ipi_addr would be the broadcast one). */
        local->family = AF_INET;
        local->addr4 = pi.ipi_spec_dst;
        local->ifindex = pi.ipi_ifindex;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
        struct in6_pktinfo pi;
        memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        if (!IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr)) {
            local->family = AF_INET6;
            local->addr6 = pi.ipi6_addr;
            local->ifindex = (int)pi.ipi6_ifindex;
        }
    }
}

static void finish_rx(struct sys_udp_batch *b, size_t i, int64_t fallback_ns)
{
    struct sys_udp_slot *s = &b->slot[i];
    struct msghdr *m = &b->hdr[i].msg_hdr;

    s->len = b->hdr[i].msg_len;
    s->truncated = (m->msg_flags & MSG_TRUNC) != 0 || s->len > sizeof(s->buf);
    if (s->len > sizeof(s->buf)) {
        s->len = sizeof(s->buf);
    }
    s->peer_len = m->msg_namelen;
    s->rx_unix_ns = 0;
    memset(&s->local, 0, sizeof(s->local));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET) {
            int64_t ns = sys_sock_stamp_ns(c);
            s->rx_unix_ns = ns != 0 ? ns : s->rx_unix_ns;
        } else {
            parse_pktinfo(c, &s->local);
        }
    }
    s->rx_kernel = s->rx_unix_ns != 0;
    if (!s->rx_kernel) {
        s->rx_unix_ns = fallback_ns;
    }
}

/* One datagram through recvmsg, for systems without recvmmsg. */
static int recv_single(struct sys_udp *u, struct sys_udp_batch *b)
{
    ssize_t n = recvmsg(u->fd, &b->hdr[0].msg_hdr, 0);

    if (n < 0) {
        return -errno;
    }
    b->hdr[0].msg_len = (unsigned)n;
    return 1;
}

int sys_udp_recv_batch(struct sys_udp *u, struct sys_udp_batch *b)
{
    int n = -EINTR;

    for (size_t i = 0; i < SYS_UDP_BATCH; i++) {
        prepare_rx(b, i);
    }
    for (int tries = 0; n == -EINTR && tries < EINTR_RETRIES; tries++) {
        if (u->no_recvmmsg) {
            n = recv_single(u, b);
        } else {
            n = recvmmsg(u->fd, b->hdr, SYS_UDP_BATCH, 0, NULL);
            n = n < 0 ? -errno : n;
            if (n == -ENOSYS) {
                u->no_recvmmsg = true;
                n = recv_single(u, b);
            }
        }
    }
    if (n == -EWOULDBLOCK) {
        n = -EAGAIN;
    }
    if (n <= 0) {
        return n == 0 ? -EAGAIN : n;
    }
    /* Read right after the call: the fallback when the kernel gave no stamp. */
    int64_t fallback_ns = sys_clock_realtime_ns();
    for (size_t i = 0; i < (size_t)n; i++) {
        finish_rx(b, i, fallback_ns);
    }
    return n;
}

static bool is_link_local6(const struct in6_addr *a)
{
    return IN6_IS_ADDR_LINKLOCAL(a);
}

/* Control message choosing the reply's source address, in buf; returns its length. */
static size_t build_pktinfo(const struct sys_udp *u, const struct sys_udp_local *local, char *buf,
                            size_t cap)
{
    struct msghdr m = {.msg_control = buf, .msg_controllen = cap};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);

    if (local->family != u->family || c == NULL) {
        return 0;
    }
    memset(buf, 0, cap);
    if (local->family == AF_INET) {
        struct in_pktinfo pi = {.ipi_ifindex = 0, .ipi_spec_dst = local->addr4};
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    struct in6_pktinfo pi6 = {.ipi6_addr = local->addr6, .ipi6_ifindex = 0};
    /* The interface only matters for a link-local source; elsewhere routing decides. */
    if (is_link_local6(&local->addr6)) {
        pi6.ipi6_ifindex = (unsigned)local->ifindex;
    }
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi6));
    memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
    return CMSG_SPACE(sizeof(pi6));
}

/* Fills b->hdr[0..k) with the slots to send; returns k. */
static size_t prepare_tx(struct sys_udp *u, struct sys_udp_batch *b, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n && i < SYS_UDP_BATCH; i++) {
        struct sys_udp_slot *s = &b->slot[i];
        struct msghdr *m = &b->hdr[k].msg_hdr;
        if (s->len == 0 || s->len > sizeof(s->buf)) {
            continue;
        }
        b->iov[k].iov_base = s->buf;
        b->iov[k].iov_len = s->len;
        memset(m, 0, sizeof(*m));
        m->msg_name = &s->peer;
        m->msg_namelen = s->peer_len;
        m->msg_iov = &b->iov[k];
        m->msg_iovlen = 1;
        m->msg_controllen = build_pktinfo(u, &s->local, b->ctrl[i].buf, sizeof(b->ctrl[i].buf));
        m->msg_control = m->msg_controllen > 0 ? b->ctrl[i].buf : NULL;
        b->hdr[k].msg_len = 0;
        k++;
    }
    return k;
}

static int send_single(struct sys_udp *u, const struct msghdr *m)
{
    for (int tries = 0; tries < EINTR_RETRIES; tries++) {
        if (sendmsg(u->fd, m, 0) >= 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
    return -EINTR;
}

/* Errors that may mean "no sendmmsg here" (a kernel without it, a seccomp filter or a
 * simulator that intercepts only sendmsg) rather than a problem with the datagram. */
static bool maybe_no_sendmmsg(int err)
{
    return err == ENOSYS || err == EINVAL || err == EOPNOTSUPP || err == EBADF || err == ENOTSOCK ||
           err == EPERM;
}

/* Errors after which the rest of the batch would fail the same way. */
static bool send_queue_full(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

struct tx_progress {
    size_t off; /* next datagram of b->hdr to send */
    int sent;
    int last_err;
};

/* The next datagram through sendmsg. Returns whether it went out. */
static bool send_next_single(struct sys_udp *u, struct sys_udp_batch *b, struct tx_progress *p)
{
    int r = send_single(u, &b->hdr[p->off].msg_hdr);

    p->off++;
    if (r != 0) {
        p->last_err = r;
        return false;
    }
    p->sent++;
    return true;
}

/* One sendmmsg call for the rest of the batch. Returns false when the rest is to be
 * dropped (the socket's send queue is full). */
static bool send_round_mmsg(struct sys_udp *u, struct sys_udp_batch *b, size_t k,
                            struct tx_progress *p)
{
    int r = sendmmsg(u->fd, &b->hdr[p->off], (unsigned)(k - p->off), 0);

    if (r > 0) {
        p->sent += r;
        p->off += (size_t)r;
        return true;
    }
    int err = r == 0 ? EIO : errno;
    if (err == EINTR) {
        return true;
    }
    if (send_queue_full(err)) {
        p->last_err = -err;
        return false;
    }
    if (maybe_no_sendmmsg(err)) {
        /* Decide by the same datagram through sendmsg: if it goes, sendmmsg is the
         * problem and stays off; if not, the datagram was. */
        u->no_sendmmsg = send_next_single(u, b, p);
        return true;
    }
    p->last_err = -err; /* this datagram was refused (no route, firewall): skip it */
    p->off++;
    return true;
}

int sys_udp_send_batch(struct sys_udp *u, struct sys_udp_batch *b, size_t n, int *last_err)
{
    size_t k = prepare_tx(u, b, n);
    struct tx_progress p = {0, 0, 0};

    /* Bounded: each round sends or skips at least one datagram, except EINTR rounds. */
    for (size_t rounds = 0; p.off < k && rounds < 2 * k + EINTR_RETRIES; rounds++) {
        if (u->no_sendmmsg) {
            (void)send_next_single(u, b, &p);
        } else if (!send_round_mmsg(u, b, k, &p)) {
            break;
        }
    }
    if (last_err != NULL) {
        *last_err = p.last_err;
    }
    return p.sent;
}
