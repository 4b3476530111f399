/* Per-request client sockets. Uses only calls that clock-and-network simulators
 * intercept (socket with a plain type, fcntl, setsockopt, bind, connect, send, recvmsg,
 * clock_gettime); receive and transmit stamps come through SO_TIMESTAMPING, the transmit
 * stamp from the socket's error queue (recvmsg with MSG_ERRQUEUE) (DESIGN.md). */
#include "sys/sys_client.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys/sys_clock.h"
#include "sys/sys_sock.h"

#define EINTR_RETRIES  4
#define CTRL_LEN       256
#define ERRQUEUE_READS 4 /* error-queue entries read per call; one send makes one stamp */

/* Software stamps of arriving datagrams, reported to us. */
#define RX_FLAGS (SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE)
/* Software stamps of leaving datagrams (taken by the device driver as the datagram goes to
 * the wire, so the time spent in send() and the stack is not part of the measured delay),
 * as a bare stamp without a copy of the datagram, keyed by a per-socket counter. */
#define TX_FLAGS                                                                                   \
    (SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY | SOF_TIMESTAMPING_OPT_ID)

static int wildcard(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        a->sin_port = 0;
        *len = sizeof(*a);
        return 0;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_any;
        a->sin6_port = 0;
        *len = sizeof(*a);
        return 0;
    }
    return -EAFNOSUPPORT;
}

/* Best effort: without receive stamps the clock is read right after recvmsg, without
 * transmit stamps the caller keeps its reading from right before send. Kernels older than
 * 4.0 refuse OPT_TSONLY, so receive stamps are asked for alone then. */
static void ask_stamps(struct sys_client *c)
{
    int flags = RX_FLAGS | TX_FLAGS;

    if (setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0) {
        c->rx_stamps = true;
        c->tx_stamps = true;
        return;
    }
    flags = RX_FLAGS;
    c->rx_stamps = setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0;
}

/* Socket options, then bind to port 0 and connect. */
static int set_up(struct sys_client *c, const struct sockaddr *to, socklen_t to_len)
{
    struct sockaddr_storage any;
    socklen_t any_len;
    int r;

    ask_stamps(c);
    r = wildcard(c->family, &any, &any_len);
    if (r != 0) {
        return r;
    }
    /* Port 0: the kernel picks a random free ephemeral port (RFC 6056 style). */
    if (bind(c->fd, (struct sockaddr *)&any, any_len) != 0) {
        return -errno;
    }
    if (connect(c->fd, to, to_len) != 0) {
        return -errno;
    }
    return 0;
}

int sys_client_open(struct sys_client *c, const struct sockaddr *to, socklen_t to_len)
{
    int r;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    if (to->sa_family != AF_INET && to->sa_family != AF_INET6) {
        return -EAFNOSUPPORT;
    }
    c->family = to->sa_family;
    c->fd = sys_sock_udp(c->family);
    if (c->fd < 0) {
        r = c->fd;
        c->fd = -1;
        return r;
    }
    r = set_up(c, to, to_len);
    if (r != 0) {
        sys_client_close(c);
    }
    return r;
}

int sys_client_send(struct sys_client *c, const void *buf, size_t len)
{
    if (c->fd < 0) {
        return -EBADF;
    }
    for (int tries = 0; tries < EINTR_RETRIES; tries++) {
        ssize_t n = send(c->fd, buf, len, 0);
        if (n >= 0) {
            return (size_t)n == len ? 0 : -EMSGSIZE;
        }
        if (errno != EINTR) {
            return -errno;
        }
    }
    return -EINTR;
}

static ssize_t recv_retry(int fd, struct msghdr *mh, int flags)
{
    ssize_t n = -1;

    for (int tries = 0; tries < EINTR_RETRIES; tries++) {
        n = recvmsg(fd, mh, flags);
        if (n >= 0 || errno != EINTR) {
            break;
        }
    }
    return n;
}

/* What an error-queue entry's extended error says: nothing (no such control message:
 * simulators such as clknetsim send the stamp alone), "the software send stamp of the
 * socket's first datagram" (OPT_ID key 0: one request per socket), or something else.
 * IPv6 sockets report it at the IPv6 level. */
enum ee_kind { EE_NONE, EE_FIRST_SEND, EE_OTHER };

static enum ee_kind classify_ee(const struct cmsghdr *cm)
{
    struct sock_extended_err e;
    bool ip = (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
              (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR);

    if (!ip) {
        return EE_NONE;
    }
    if (cm->cmsg_len < CMSG_LEN(sizeof(e))) {
        return EE_OTHER;
    }
    memcpy(&e, CMSG_DATA(cm), sizeof(e));
    return e.ee_errno == ENOMSG && e.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
                   e.ee_info == SCM_TSTAMP_SND && e.ee_data == 0
               ? EE_FIRST_SEND
               : EE_OTHER;
}

/* Reads one error-queue entry: 1 with *ns its stamp when it is the first datagram's send
 * stamp (else 0) and *ee what its extended error said, 0 when the queue is empty, or
 * -errno. */
static int read_errqueue(int fd, int64_t *ns, enum ee_kind *ee)
{
    union {
        char buf[CTRL_LEN];
        struct cmsghdr align;
    } ctrl;
    char data[64]; /* OPT_TSONLY: no payload comes back, but simulators send the frame */
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr mh;
    int64_t stamp = 0;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl.buf;
    mh.msg_controllen = sizeof(ctrl.buf);
    if (recv_retry(fd, &mh, MSG_ERRQUEUE) < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    }
    *ee = EE_NONE;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        int64_t s = sys_sock_stamp_ns(cm);
        enum ee_kind k = classify_ee(cm);
        stamp = s != 0 ? s : stamp;
        *ee = k != EE_NONE ? k : *ee;
    }
    *ns = *ee != EE_OTHER ? stamp : 0;
    return 1;
}

/* Entries the kernel marks as something else are skipped (reading on is safe: an empty
 * queue answers EAGAIN). Once an entry that is not marked so was read, the queue is not
 * read again: under clknetsim a MSG_ERRQUEUE read with no stamp waiting returns the next
 * ordinary datagram, which would be the reply. */
int sys_client_take_tx_stamp(struct sys_client *c, int64_t *tx_unix_ns)
{
    if (c->fd < 0) {
        return -EBADF;
    }
    if (!c->tx_stamps || c->tx_done) {
        return 0;
    }
    for (int i = 0; i < ERRQUEUE_READS; i++) {
        int64_t ns = 0;
        enum ee_kind ee = EE_NONE;
        int r = read_errqueue(c->fd, &ns, &ee);
        if (r <= 0) {
            return r;
        }
        if (ee != EE_OTHER) {
            c->tx_done = true;
            *tx_unix_ns = ns;
            return ns != 0 ? 1 : 0;
        }
    }
    return 0;
}

int sys_client_recv(struct sys_client *c, void *buf, size_t cap, struct sys_client_msg *m)
{
    union {
        char buf[CTRL_LEN];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh;

    memset(m, 0, sizeof(*m));
    if (c->fd < 0) {
        return -EBADF;
    }
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &m->from;
    mh.msg_namelen = sizeof(m->from);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl.buf;
    mh.msg_controllen = sizeof(ctrl.buf);
    ssize_t n = recv_retry(c->fd, &mh, 0);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    }
    int64_t fallback = sys_clock_realtime_ns(); /* right after the call */
    m->len = (size_t)n <= cap ? (size_t)n : cap;
    m->truncated = (mh.msg_flags & MSG_TRUNC) != 0;
    m->from_len = mh.msg_namelen;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        int64_t ns = sys_sock_stamp_ns(cm);
        m->rx_unix_ns = ns != 0 ? ns : m->rx_unix_ns;
    }
    m->rx_kernel = m->rx_unix_ns != 0;
    if (!m->rx_kernel) {
        m->rx_unix_ns = fallback;
    }
    return 1;
}

uint16_t sys_client_local_port(const struct sys_client *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (c->fd < 0 || getsockname(c->fd, (struct sockaddr *)&ss, &len) != 0) {
        return 0;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return 0;
}

void sys_client_close(struct sys_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
}
