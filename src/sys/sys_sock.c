/* Socket helpers shared by sys_udp and sys_client (see sys_sock.h). */
#include "sys/sys_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* SCM_TIMESTAMPING payloads: ts[0] software, ts[1] deprecated, ts[2] hardware. The
 * _NEW variant (32-bit systems with 64-bit time_t) always has 64-bit fields. */
struct stamp_old {
    struct timespec ts[3];
};
struct stamp_new {
    struct {
        int64_t sec;
        int64_t nsec;
    } ts[3];
};

int sys_fd_set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return -errno;
    }
    fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
        return -errno;
    }
    return 0;
}

int sys_sock_open(int domain, int type, int protocol)
{
    int fd = socket(domain, type, protocol);
    if (fd < 0) {
        return -errno;
    }
    int r = sys_fd_set_nonblock_cloexec(fd);
    if (r != 0) {
        close(fd);
        return r;
    }
    return fd;
}

int sys_sock_udp(int family)
{
    if (family != AF_INET && family != AF_INET6) {
        return -EAFNOSUPPORT;
    }
    return sys_sock_open(family, SOCK_DGRAM, IPPROTO_UDP);
}

void sys_fd_close(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

int64_t sys_sock_stamp_ns(const struct cmsghdr *c)
{
    size_t data_len = c->cmsg_len - CMSG_LEN(0);

    if (c->cmsg_level != SOL_SOCKET) {
        return 0;
    }
#ifdef SO_TIMESTAMPING_NEW
    if (c->cmsg_type == SO_TIMESTAMPING_NEW && data_len >= sizeof(struct stamp_new)) {
        struct stamp_new s;
        memcpy(&s, CMSG_DATA(c), sizeof(s));
        return s.ts[0].sec * 1000000000 + s.ts[0].nsec;
    }
#endif
    if (c->cmsg_type == SO_TIMESTAMPING && data_len >= sizeof(struct stamp_old)) {
        struct stamp_old s;
        memcpy(&s, CMSG_DATA(c), sizeof(s));
        return (int64_t)s.ts[0].tv_sec * 1000000000 + s.ts[0].tv_nsec;
    }
    return 0;
}

int sys_sock_accept(int listen_fd)
{
    int fd = accept(listen_fd, NULL, NULL);

    if (fd < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    int r = sys_fd_set_nonblock_cloexec(fd);
    if (r != 0) {
        close(fd);
        return r;
    }
    return fd;
}

long sys_sock_recv(int fd, void *buf, size_t n)
{
    ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);

    if (r < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return (long)r;
}

long sys_sock_send(int fd, const void *buf, size_t n)
{
    ssize_t r = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);

    if (r < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return (long)r;
}
