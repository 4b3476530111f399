/* What the sockets of this layer share (server and client UDP sockets, the control
 * socket's Unix sockets): creating a socket the way DESIGN.md asks (a plain socket() call, since simulators
 * such as clknetsim do not understand SOCK_NONBLOCK/SOCK_CLOEXEC, then fcntl), and
 * reading the software timestamp out of an SCM_TIMESTAMPING control message. */
#ifndef TSYNC_SYS_SOCK_H
#define TSYNC_SYS_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Sets O_NONBLOCK and FD_CLOEXEC on fd. Returns 0 or -errno. */
int sys_fd_set_nonblock_cloexec(int fd);

/* A non-blocking, close-on-exec socket made as above (socket() with a plain type,
 * then fcntl). Returns the descriptor or -errno. */
int sys_sock_open(int domain, int type, int protocol);

/* A non-blocking, close-on-exec UDP socket of family AF_INET or AF_INET6. Returns the
 * descriptor, or -errno (-EAFNOSUPPORT for any other family). */
int sys_sock_udp(int family);

/* Closes a descriptor this layer handed out (>= 0; others are ignored). */
void sys_fd_close(int fd);

/* Stream sockets (the control socket, the metrics endpoint): accept a connection from a
 * listening descriptor, made non-blocking and close-on-exec; -EAGAIN when none is
 * pending. */
int sys_sock_accept(int listen_fd);

/* Non-blocking receive and send on a stream socket: bytes moved, 0 at the end of the
 * stream (receive), -EAGAIN when it would block, or -errno; a send to a peer that went
 * away is -EPIPE, never SIGPIPE. */
long sys_sock_recv(int fd, void *buf, size_t n);
long sys_sock_send(int fd, const void *buf, size_t n);

/* The software stamp (ts[0], Unix ns) of an SOL_SOCKET SCM_TIMESTAMPING message, either
 * layout; 0 for any other message or a zero stamp. */
int64_t sys_sock_stamp_ns(const struct cmsghdr *c);

#endif
