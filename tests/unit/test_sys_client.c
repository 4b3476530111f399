/* Unit tests for src/sys/sys_client.c on loopback only: a request out with a kernel
 * transmit stamp and a reply back with a kernel receive stamp, a fresh kernel-chosen
 * source port per socket, datagrams from anyone but the connected server filtered out,
 * an ICMP port unreachable seen as ECONNREFUSED, truncation, and refusal of unknown
 * families. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_net.h"

#include "sys/sys_client.h"

#define NS_PER_S INT64_C(1000000000)

/* A plain UDP socket on 127.0.0.1 (or ::1) with an ephemeral port, playing the server. */
static int server_socket(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    int fd = socket(family, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)ss, *len) != 0) {
        close(fd);
        return -1;
    }
    assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
    return fd;
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    assert_int_equal(poll(&p, 1, 2000), 1);
}

/* Waits for the socket's error queue (the transmit stamp) to fill. */
static void wait_error_queue(int fd)
{
    struct pollfd p = {.fd = fd, .events = 0};

    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_true((p.revents & POLLERR) != 0);
}

static void round_trip(int family)
{
    struct sockaddr_storage srv, peer;
    socklen_t srv_len, peer_len = sizeof(peer);
    struct sys_client c;
    struct sys_client_msg m;
    uint8_t buf[64];
    int s = server_socket(family, &srv, &srv_len);

    if (s < 0) {
        printf("no %s loopback: skipped\n", family == AF_INET ? "IPv4" : "IPv6");
        return;
    }
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_true(c.fd >= 0);
    assert_true(c.rx_stamps);
    assert_true(c.tx_stamps);
    uint16_t port = sys_client_local_port(&c);
    assert_true(port != 0);
    int64_t before_send = now_ns();
    assert_int_equal(sys_client_send(&c, "request", 7), 0);
    wait_readable(s);
    ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &peer_len);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "request", 7);
    uint16_t seen = family == AF_INET ? ntohs(((struct sockaddr_in *)&peer)->sin_port)
                                      : ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
    assert_int_equal(seen, port);
    /* The transmit stamp waits in the error queue: no datagram, no error for recv. */
    wait_error_queue(c.fd);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), 0); /* nothing yet */
    int64_t tx = 0;
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 1);
    assert_true(tx >= before_send && tx <= now_ns());
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 0); /* taken */
    int64_t before = now_ns();
    assert_int_equal(sendto(s, "reply!", 6, 0, (struct sockaddr *)&peer, peer_len), 6);
    wait_readable(c.fd);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), 1);
    int64_t after = now_ns();
    assert_int_equal(m.len, 6);
    assert_false(m.truncated);
    assert_memory_equal(buf, "reply!", 6);
    assert_int_equal(m.from_len, srv_len);
    assert_memory_equal(&m.from, &srv, srv_len);
    assert_true(m.rx_kernel);
    assert_true(m.rx_unix_ns >= before - NS_PER_S / 100 && m.rx_unix_ns <= after);
    sys_client_close(&c);
    assert_int_equal(c.fd, -1);
    sys_client_close(&c); /* twice is harmless */
    close(s);
}

static void test_round_trip_ipv4(void **state)
{
    (void)state;
    round_trip(AF_INET);
}

static void test_round_trip_ipv6(void **state)
{
    (void)state;
    round_trip(AF_INET6);
}

/* Reads one error-queue entry directly, as if sys_client had missed it. */
static void drop_error_entry(int fd)
{
    char ctrl[256], data[64];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl)};

    assert_true(recvmsg(fd, &mh, MSG_ERRQUEUE) >= 0);
}

static bool error_queue_empty(int fd)
{
    struct pollfd p = {.fd = fd, .events = 0};

    return poll(&p, 1, 0) == 0;
}

/* Only the stamp of the socket's first datagram counts (one request per socket): the
 * stamps the kernel marks as another datagram's are consumed and skipped. */
static void test_tx_stamp_of_first_datagram_only(void **state)
{
    struct sockaddr_storage srv;
    socklen_t srv_len;
    struct sys_client c;
    int s = server_socket(AF_INET, &srv, &srv_len);
    int64_t tx = -1;

    (void)state;
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_int_equal(sys_client_send(&c, "one", 3), 0);
    wait_error_queue(c.fd);
    drop_error_entry(c.fd);
    assert_int_equal(sys_client_send(&c, "two", 3), 0);
    wait_error_queue(c.fd);
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 0);
    assert_true(error_queue_empty(c.fd));
    assert_false(c.tx_done); /* a stamp of the first datagram could still come */
    sys_client_close(&c);
    close(s);
}

/* Once the stamp is taken the error queue is left alone (under clknetsim such a read
 * would return the reply); a socket without transmit stamps never reads it. */
static void test_tx_stamp_taken_once(void **state)
{
    struct sockaddr_storage srv;
    socklen_t srv_len;
    struct sys_client c;
    int s = server_socket(AF_INET, &srv, &srv_len);
    int64_t tx = 0;

    (void)state;
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_int_equal(sys_client_send(&c, "one", 3), 0);
    wait_error_queue(c.fd);
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 1);
    assert_true(c.tx_done);
    assert_int_equal(sys_client_send(&c, "two", 3), 0);
    wait_error_queue(c.fd);
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 0);
    assert_false(error_queue_empty(c.fd)); /* not read */
    sys_client_close(&c);

    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    c.tx_stamps = false;
    assert_int_equal(sys_client_send(&c, "three", 5), 0);
    wait_error_queue(c.fd);
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), 0);
    assert_false(error_queue_empty(c.fd));
    sys_client_close(&c);
    close(s);
}

/* Each socket gets its own port from the kernel's randomized ephemeral range. */
static void test_fresh_ports(void **state)
{
    struct sockaddr_storage srv;
    socklen_t srv_len;
    uint16_t ports[16];
    size_t distinct = 0;
    int s = server_socket(AF_INET, &srv, &srv_len);

    (void)state;
    for (size_t i = 0; i < 16; i++) {
        struct sys_client c;
        assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
        ports[i] = sys_client_local_port(&c);
        sys_client_close(&c);
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            seen = seen || ports[j] == ports[i];
        }
        distinct += seen ? 0 : 1;
    }
    /* Sequential ports would also be distinct: check they are not simply consecutive. */
    size_t consecutive = 0;
    for (size_t i = 1; i < 16; i++) {
        consecutive += ports[i] == (uint16_t)(ports[i - 1] + 1) ? 1 : 0;
    }
    assert_true(distinct >= 12);
    assert_true(consecutive < 8);
    close(s);
}

/* A connected socket only sees the server's datagrams. */
static void test_other_senders_filtered(void **state)
{
    struct sockaddr_storage srv, other, me;
    socklen_t srv_len, other_len, me_len = sizeof(me);
    struct sys_client c;
    struct sys_client_msg m;
    uint8_t buf[16];
    int s = server_socket(AF_INET, &srv, &srv_len);
    int o = server_socket(AF_INET, &other, &other_len);

    (void)state;
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_int_equal(getsockname(c.fd, (struct sockaddr *)&me, &me_len), 0);
    assert_int_equal(sendto(o, "spoof", 5, 0, (struct sockaddr *)&me, me_len), 5);
    assert_int_equal(sendto(s, "real", 4, 0, (struct sockaddr *)&me, me_len), 4);
    wait_readable(c.fd);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), 1);
    assert_int_equal(m.len, 4);
    assert_memory_equal(buf, "real", 4);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), 0);
    sys_client_close(&c);
    close(s);
    close(o);
}

/* Nobody listens: the ICMP port unreachable comes back as ECONNREFUSED. */
static void test_port_unreachable(void **state)
{
    struct sockaddr_storage srv;
    socklen_t srv_len;
    struct sys_client c;
    struct sys_client_msg m;
    uint8_t buf[16];
    int s = server_socket(AF_INET, &srv, &srv_len);
    int r = 0;

    (void)state;
    close(s); /* the port is free now */
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_int_equal(sys_client_send(&c, "x", 1), 0);
    for (int i = 0; i < 100 && r == 0; i++) {
        struct pollfd p = {.fd = c.fd, .events = POLLIN};
        (void)poll(&p, 1, 20);
        r = sys_client_recv(&c, buf, sizeof(buf), &m);
    }
    assert_int_equal(r, -ECONNREFUSED);
    sys_client_close(&c);
}

static void test_truncated(void **state)
{
    struct sockaddr_storage srv, me;
    socklen_t srv_len, me_len = sizeof(me);
    struct sys_client c;
    struct sys_client_msg m;
    uint8_t buf[4];
    int s = server_socket(AF_INET, &srv, &srv_len);

    (void)state;
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&srv, srv_len), 0);
    assert_int_equal(getsockname(c.fd, (struct sockaddr *)&me, &me_len), 0);
    assert_int_equal(sendto(s, "0123456789", 10, 0, (struct sockaddr *)&me, me_len), 10);
    wait_readable(c.fd);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), 1);
    assert_int_equal(m.len, 4);
    assert_true(m.truncated);
    sys_client_close(&c);
    close(s);
}

static void test_bad_family_and_closed(void **state)
{
    struct sockaddr_storage ss;
    struct sys_client c;
    struct sys_client_msg m;
    uint8_t buf[4];

    (void)state;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_int_equal(sys_client_open(&c, (struct sockaddr *)&ss, sizeof(ss)), -EAFNOSUPPORT);
    assert_int_equal(c.fd, -1);
    assert_int_equal(sys_client_send(&c, "x", 1), -EBADF);
    assert_int_equal(sys_client_recv(&c, buf, sizeof(buf), &m), -EBADF);
    int64_t tx = 0;
    assert_int_equal(sys_client_take_tx_stamp(&c, &tx), -EBADF);
    assert_int_equal(sys_client_local_port(&c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_ipv4),
        cmocka_unit_test(test_round_trip_ipv6),
        cmocka_unit_test(test_fresh_ports),
        cmocka_unit_test(test_other_senders_filtered),
        cmocka_unit_test(test_port_unreachable),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_bad_family_and_closed),
        cmocka_unit_test(test_tx_stamp_of_first_datagram_only),
        cmocka_unit_test(test_tx_stamp_taken_once),
    };
    return cmocka_run_group_tests(tests, test_wait_rx_stamps, NULL);
}
