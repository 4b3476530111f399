/* sd_notify's datagram (sys_notify.h). A fresh socket per message: status changes are
 * rare (a state change, not every update), and nothing stays open across a restart of
 * the service manager. */
#include "sys/sys_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/sys_sock.h"

int sys_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t plen;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    plen = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sa.sun_path)) {
        return -EINVAL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0'; /* abstract namespace */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        return -errno;
    }
    int r = sys_fd_set_nonblock_cloexec(fd);
    if (r == 0) {
        socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
        ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
        r = n < 0 ? -errno : 1;
    }
    close(fd);
    return r;
}
