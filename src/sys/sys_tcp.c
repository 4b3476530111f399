/* TCP listener and connections for the /metrics endpoint (see sys_tcp.h). */
#include "sys/sys_tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include "sys/sys_sock.h"

int sys_tcp_listen(const struct sockaddr *sa, socklen_t len)
{
    int one = 1;

    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
        return -EAFNOSUPPORT;
    }
    int fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return -errno;
    }
    int r = sys_fd_set_nonblock_cloexec(fd);
    if (r == 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
        r = -errno;
    }
    /* "[::]:PORT" means IPv6 only: IPv4 is written as an IPv4 address. */
    if (r == 0 && sa->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
        r = -errno;
    }
    if (r == 0 && (bind(fd, sa, len) < 0 || listen(fd, SYS_TCP_BACKLOG) < 0)) {
        r = -errno;
    }
    if (r != 0) {
        close(fd);
        return r;
    }
    return fd;
}

int sys_tcp_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        return -errno;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return -EAFNOSUPPORT;
}

int sys_tcp_shutdown_write(int fd)
{
    return shutdown(fd, SHUT_WR) < 0 ? -errno : 0;
}

void sys_tcp_close(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}
