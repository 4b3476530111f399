/* UDP sockets for the NTP server: open one on an address and port, receive datagrams in
 * batches (recvmmsg) with a kernel receive timestamp per datagram, send batches
 * (sendmmsg, falling back to sendmsg for good when the system lacks it). Speaks only
 * sockaddrs and bytes; converting addresses for the core is the daemon's job.
 * All storage is in caller-owned structs: nothing is allocated per packet. */
#ifndef TSYNC_SYS_UDP_H
#define TSYNC_SYS_UDP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SYS_UDP_BATCH     64        /* datagrams per recvmmsg/sendmmsg call */
#define SYS_UDP_DGRAM_MAX 2048      /* longer datagrams are marked truncated */
#define SYS_UDP_CTRL_LEN  256       /* room for the timestamp and pktinfo messages */
#define SYS_UDP_RCVBUF    (1 << 20) /* asked-for SO_RCVBUF; the kernel caps it at rmem_max */

struct sys_udp {
    int fd;
    int family;       /* AF_INET or AF_INET6 */
    bool rx_stamps;   /* SO_TIMESTAMPING was accepted */
    bool no_sendmmsg; /* sendmmsg failed where sendmsg worked: use sendmsg from now on */
    bool no_recvmmsg; /* recvmmsg is missing (ENOSYS): receive one datagram per call */
};

/* The local address a datagram arrived on (IP_PKTINFO / IPV6_PKTINFO), used as the
 * source of the reply so a wildcard socket answers from the address it was asked on. */
struct sys_udp_local {
    int family; /* 0 when unknown */
    struct in_addr addr4;
    struct in6_addr addr6;
    int ifindex;
};

/* One datagram. After sys_udp_recv_batch: buf[0..len) is the payload, peer the source
 * and rx_unix_ns its receive time. For sys_udp_send_batch: buf[0..len) is sent to peer
 * from local; len 0 skips the slot. */
struct sys_udp_slot {
    uint8_t buf[SYS_UDP_DGRAM_MAX];
    size_t len;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct sys_udp_local local;
    int64_t rx_unix_ns; /* CLOCK_REALTIME, ns since the Unix epoch */
    bool rx_kernel;     /* rx_unix_ns is the kernel's software stamp, not a fallback */
    bool truncated;     /* the datagram did not fit in buf */
};

/* A batch and the scratch the kernel calls need (about 150 KiB: allocate it once). */
struct sys_udp_batch {
    struct sys_udp_slot slot[SYS_UDP_BATCH];
    struct mmsghdr hdr[SYS_UDP_BATCH];
    struct iovec iov[SYS_UDP_BATCH];
    union {
        char buf[SYS_UDP_CTRL_LEN];
        struct cmsghdr align;
    } ctrl[SYS_UDP_BATCH];
};

/* Opens a socket bound to sa (AF_INET or AF_INET6; IPv6 sockets are IPV6_V6ONLY),
 * non-blocking and close-on-exec, with software receive timestamps and pktinfo on.
 * Does not set SO_REUSEADDR: UDP has no TIME_WAIT to skip, and on Linux the option
 * would let a second server bind the same address and silently take half the
 * requests. Returns 0 or -errno (u->fd is -1 then). */
int sys_udp_open(struct sys_udp *u, const struct sockaddr *sa, socklen_t sa_len);

void sys_udp_close(struct sys_udp *u);

/* Receives up to SYS_UDP_BATCH waiting datagrams into b->slot[0..n). Returns n > 0,
 * -EAGAIN when nothing is waiting, or another -errno. Datagrams without a kernel stamp
 * get a CLOCK_REALTIME reading taken right after the receive call. */
int sys_udp_recv_batch(struct sys_udp *u, struct sys_udp_batch *b);

/* Sends every slot of b->slot[0..n) whose len is not 0. Returns how many were sent; a
 * datagram the kernel refuses is skipped and its error stored in *last_err (if not
 * NULL; 0 when all went out). */
int sys_udp_send_batch(struct sys_udp *u, struct sys_udp_batch *b, size_t n, int *last_err);

#endif
