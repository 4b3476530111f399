/* systemd's readiness and status protocol (sd_notify(3)) without libsystemd: one
 * datagram "READY=1" / "STATUS=..." to the AF_UNIX socket named by $NOTIFY_SOCKET (a
 * path, or an abstract name after '@'). Without the variable nothing is sent, so the
 * daemon behaves the same outside systemd. */
#ifndef TSYNC_SYS_NOTIFY_H
#define TSYNC_SYS_NOTIFY_H

#include <stdbool.h>

/* Sends msg (e.g. "READY=1\nSTATUS=synchronized to 198.18.0.1"). Returns 1 when sent,
 * 0 when there is no $NOTIFY_SOCKET, -errno when it could not be sent. */
int sys_notify(const char *msg);

#endif
