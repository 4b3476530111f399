/* Client sockets for NTP requests: one fresh UDP socket per request, bound to port 0 so
 * the kernel picks a random ephemeral source port, connected to the server so only its
 * datagrams (and its ICMP errors) arrive, with kernel software receive and transmit
 * timestamps. Opening, sending, taking the transmit stamp, receiving one datagram with its
 * stamp, closing; nothing is kept between requests (the chrony "separate client sockets"
 * defence against off-path spoofing). */
#ifndef TSYNC_SYS_CLIENT_H
#define TSYNC_SYS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sys_client {
    int fd;         /* -1 when closed */
    int family;     /* AF_INET or AF_INET6 */
    bool rx_stamps; /* SO_TIMESTAMPING was accepted */
    bool tx_stamps; /* ... with software transmit stamps too */
    bool tx_done;   /* the transmit stamp was taken: the error queue is not read again */
};

/* Opens a non-blocking, close-on-exec socket of to's family, asks for software receive
 * and transmit stamps (receive only where the kernel refuses the transmit flags), binds
 * it to the wildcard address and port 0, and connects it to `to`.
 * Returns 0 or -errno (c->fd is -1 then). */
int sys_client_open(struct sys_client *c, const struct sockaddr *to, socklen_t to_len);

/* Sends len bytes to the connected server. Returns 0 or -errno (ECONNREFUSED after an
 * ICMP port unreachable, ENETUNREACH, ...). */
int sys_client_send(struct sys_client *c, const void *buf, size_t len);

/* The kernel's software stamp (CLOCK_REALTIME, ns) of the first datagram sent on c
 * leaving this host, taken from the socket's error queue (which also makes poll() report
 * POLLERR). Returns 1 with *tx_unix_ns set, 0 when there is none (not yet: call again
 * after poll() reported the socket; none at all: the socket has no transmit stamps, or
 * the stamp was taken already), or -errno. Entries the kernel marks as stamps of other
 * datagrams are consumed and skipped. */
int sys_client_take_tx_stamp(struct sys_client *c, int64_t *tx_unix_ns);

/* One received datagram. */
struct sys_client_msg {
    size_t len;     /* bytes in the caller's buffer */
    bool truncated; /* the datagram was longer than the buffer */
    struct sockaddr_storage from;
    socklen_t from_len;
    int64_t rx_unix_ns; /* kernel software stamp, or a clock reading */
    bool rx_kernel;     /* rx_unix_ns is the kernel's stamp */
};

/* Receives one waiting datagram into buf (cap bytes). Returns 1 with *m filled, 0 when
 * nothing is waiting, or -errno (a pending ICMP error shows up here as ECONNREFUSED).
 * Without a kernel stamp, rx_unix_ns is CLOCK_REALTIME read right after recvmsg. */
int sys_client_recv(struct sys_client *c, void *buf, size_t cap, struct sys_client_msg *m);

/* Local port the kernel chose (host order), 0 if unknown. */
uint16_t sys_client_local_port(const struct sys_client *c);

void sys_client_close(struct sys_client *c);

#endif
