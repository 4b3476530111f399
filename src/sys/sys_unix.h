/* The control socket's OS side: a Unix stream socket at a path (its directory made if
 * missing, a stale socket file replaced only when nothing answers on it, mode 0660 and
 * root:GROUP), non-blocking accept, the peer's credentials (SO_PEERCRED and
 * SO_PEERGROUPS), bounded send/recv, and removal at exit. No policy: who may do what
 * is decided by the daemon (ctl.c). */
#ifndef TSYNC_SYS_UNIX_H
#define TSYNC_SYS_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* sizeof(sockaddr_un.sun_path) - 1: the longest path a socket can be bound at. */
#define SYS_UNIX_PATH_MAX 107

/* Mode of the socket file and of a directory made for it. */
#define SYS_UNIX_SOCKET_MODE 0660
#define SYS_UNIX_DIR_MODE    0750

struct sys_unix_listener {
    int fd; /* -1 when closed */
    char path[SYS_UNIX_PATH_MAX + 1];
    dev_t dev; /* the socket file we made: only that one is removed at close */
    ino_t ino;
};

/* Resolves a group name (getgrnam_r). Returns 0 and *gid, -ENOENT for an unknown group,
 * or another -errno. */
int sys_unix_group_id(const char *name, gid_t *gid);

/* Listens on path: makes its directory (one level, SYS_UNIX_DIR_MODE) if missing,
 * replaces a socket file nobody answers on, refuses (-EADDRINUSE) when another process
 * answers there and (-EEXIST) when the path is not a socket. The socket gets
 * SYS_UNIX_SOCKET_MODE; when running as root, the socket and a directory made here are
 * chowned to root:gid (gid (gid_t)-1: left as created). Non-blocking, close-on-exec.
 * Returns 0 or -errno; l->fd is -1 on failure. */
int sys_unix_listen(struct sys_unix_listener *l, const char *path, gid_t gid);

/* Takes one pending connection as a non-blocking, close-on-exec descriptor. Returns it,
 * -EAGAIN when none is pending, or another -errno. */
int sys_unix_accept(const struct sys_unix_listener *l);

/* The connecting process's credentials as the kernel recorded them at connect(). */
struct sys_unix_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};
int sys_unix_peer(int fd, struct sys_unix_peer *p);

/* Whether the peer of fd had gid as its primary or a supplementary group at connect()
 * (SO_PEERCRED, SO_PEERGROUPS). False when the kernel cannot say. */
bool sys_unix_peer_in_group(int fd, gid_t gid);

/* Connections are read and written with sys_sock_recv and sys_sock_send (sys_sock.h). */

/* Closes the listener and removes its socket file if it is still the one we made. */
void sys_unix_close(struct sys_unix_listener *l);

#endif
