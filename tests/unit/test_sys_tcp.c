/* Unit tests of the TCP side of the /metrics endpoint (src/sys/sys_tcp.c) on loopback
 * with ephemeral ports: listen (non-blocking, close-on-exec, IPv6 only on ::1), accept
 * with nothing pending, a connection both ways, half-close, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/sys_sock.h"
#include "sys/sys_tcp.h"

static int listen_v4(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sys_tcp_listen((const struct sockaddr *)&sa, sizeof(sa));
}

static int connect_v4(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (const struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Waits (at most 2 s) until fd is readable. */
static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
}

static void test_listen_flags(void **state)
{
    (void)state;
    int lfd = listen_v4();
    assert_true(lfd >= 0);
    assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    int port = sys_tcp_local_port(lfd);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(sys_sock_accept(lfd), -EAGAIN); /* nothing pending: no wait */
    sys_tcp_close(lfd);
    sys_tcp_close(-1);
}

static void test_round_trip(void **state)
{
    char buf[64];
    (void)state;
    int lfd = listen_v4();
    assert_true(lfd >= 0);
    int c = connect_v4(sys_tcp_local_port(lfd));
    wait_readable(lfd);
    int s = sys_sock_accept(lfd);
    assert_true(s >= 0);
    assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(send(c, "GET", 3, 0), 3);
    wait_readable(s);
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), 3);
    assert_int_equal(sys_sock_send(s, "ok", 2), 2);
    assert_int_equal(sys_tcp_shutdown_write(s), 0);
    wait_readable(c);
    assert_int_equal(recv(c, buf, sizeof(buf), 0), 2);
    assert_int_equal(recv(c, buf, sizeof(buf), 0), 0); /* FIN after the answer */
    close(c);
    wait_readable(s);
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), 0);
    /* The peer is gone: a send fails with an error, never SIGPIPE. */
    long r = 0;
    for (int i = 0; i < 10 && r >= 0; i++) {
        r = sys_sock_send(s, "xxxx", 4);
        usleep(1000);
    }
    assert_true(r == -EPIPE || r == -ECONNRESET);
    sys_tcp_close(s);
    sys_tcp_close(lfd);
}

static void test_ipv6_only(void **state)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int v6only = 0;
    socklen_t len = sizeof(v6only);
    (void)state;
    int lfd = sys_tcp_listen((const struct sockaddr *)&sa, sizeof(sa));
    if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT) {
        skip(); /* no IPv6 loopback here */
    }
    assert_true(lfd >= 0);
    assert_int_equal(getsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
    assert_int_equal(v6only, 1);
    assert_true(sys_tcp_local_port(lfd) > 0);
    sys_tcp_close(lfd);
}

static void test_errors(void **state)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_in far = {.sin_family = AF_INET, .sin_port = htons(9)};
    (void)state;
    assert_int_equal(sys_tcp_listen((const struct sockaddr *)&un, sizeof(un)), -EAFNOSUPPORT);
    /* An address this host does not have (TEST-NET, RFC 5737). */
    inet_pton(AF_INET, "192.0.2.1", &far.sin_addr);
    assert_int_equal(sys_tcp_listen((const struct sockaddr *)&far, sizeof(far)), -EADDRNOTAVAIL);
    /* A port already listened on. */
    int lfd = listen_v4();
    struct sockaddr_in same = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)sys_tcp_local_port(lfd))};
    same.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sys_tcp_listen((const struct sockaddr *)&same, sizeof(same)), -EADDRINUSE);
    sys_tcp_close(lfd);
    assert_int_equal(sys_sock_accept(-1), -EBADF);
    assert_int_equal(sys_tcp_local_port(-1), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_flags),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ipv6_only),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
