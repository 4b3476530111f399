/* Helpers shared by the socket tests (test_netaddr, test_sys_udp, test_serve): sockaddr
 * builders, and a child process in a private network namespace with only its own
 * loopback, where wildcard sockets and fixed ports reach nothing of the machine's.
 * Include after <cmocka.h>. */
#ifndef TSYNC_TEST_NET_H
#define TSYNC_TEST_NET_H

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/net_tstamp.h>
#include <unistd.h>

static inline struct sockaddr_in test_sockaddr4(const char *ip, uint16_t port)
{
    struct sockaddr_in in;

    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
    return in;
}

static inline struct sockaddr_in6 test_sockaddr6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 in6;

    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
    return in6;
}

/* Inside the child cmocka's asserts cannot report: a failed check exits with its line. */
#define CHILD_CHECK(c)                                                                             \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "child check failed at line %d: %s\n", __LINE__, #c);                  \
            _exit(__LINE__ % 200 + 1);                                                             \
        }                                                                                          \
    } while (0)

static inline int test_bring_up_loopback(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int r;

    if (fd < 0) {
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    r = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (r == 0) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return r;
}

/* Runs child (which must _exit: 0 passed, else the line of a failed CHILD_CHECK) in a
 * forked process in a fresh network namespace; skips the test without the privilege. */
static inline void test_in_private_netns(void (*child)(void))
{
    int status = 0;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0 || test_bring_up_loopback() != 0) {
            _exit(77);
        }
        child();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The kernel turns receive timestamping on for everyone only once a socket asks, and it
 * does so asynchronously (a deferred static-key switch), so the first datagrams after
 * the first such socket may come without a stamp. Tests that assert kernel stamps use
 * this as their cmocka group setup: it keeps one stamping socket open for the rest of
 * the process and waits, at most a second, until a datagram it sends itself comes back
 * stamped. */
static inline int test_wait_rx_stamps(void **state)
{
    (void)state;
    int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    struct sockaddr_in a = test_sockaddr4("127.0.0.1", 0);
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    for (int i = 0; i < 1000; i++) {
        char byte = 0;
        char ctrl[256];
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl,
                           .msg_controllen = sizeof(ctrl)};
        assert_int_equal(sendto(fd, &byte, 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
        assert_int_equal(recvmsg(fd, &m, 0), 1);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
                return 0; /* fd stays open on purpose: closing it could turn stamps off */
            }
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    fail_msg("the kernel gave no receive timestamp within a second");
    return -1;
}

#endif
