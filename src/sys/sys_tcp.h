/* TCP for tsyncd's /metrics endpoint: a listening socket on one address (plain socket()
 * then fcntl, as DESIGN.md asks, SO_REUSEADDR so a restart does not wait out TIME_WAIT),
 * non-blocking accept, bounded non-blocking recv/send. No policy: what is answered is
 * decided by the daemon (http.c). */
#ifndef TSYNC_SYS_TCP_H
#define TSYNC_SYS_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Pending connections the kernel queues for us. */
#define SYS_TCP_BACKLOG 16

/* Listens on sa (AF_INET or AF_INET6, len bytes; an IPv6 socket takes IPv6 only).
 * Non-blocking, close-on-exec. Returns the descriptor or -errno. */
int sys_tcp_listen(const struct sockaddr *sa, socklen_t len);

/* The port the listener got (host order; for port 0, an ephemeral one), or -errno. */
int sys_tcp_local_port(int fd);

/* Connections are taken, read and written with sys_sock_accept, sys_sock_recv and
 * sys_sock_send (sys_sock.h), as the control socket's are. */

/* Sends FIN after the answer (the peer sees the end) while its input can still be read
 * and discarded: a close with unread input would reset the connection and could destroy
 * the answer on the peer's side (RFC 9112 section 9.6). Returns 0 or -errno. */
int sys_tcp_shutdown_write(int fd);

/* Closes fd (a listener or a connection); -1 is a no-op. */
void sys_tcp_close(int fd);

#endif
