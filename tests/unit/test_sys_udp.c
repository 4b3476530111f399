/* Unit tests for src/sys/sys_udp.c on loopback, ephemeral ports, bounded waits: flags
 * and options, open errors, batched and single receive (peer, local address, kernel
 * stamp, truncation), batched send, the sendmsg fallback, refused datagrams, IPv6 ::1,
 * and a wildcard socket answering from the asked address (private network namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_net.h"

#include "sys/sys_udp.h"

#define NS_PER_S INT64_C(1000000000)
#define WAIT_MS  2000 /* longest wait for a loopback datagram */

static struct sys_udp_batch batch;

static int64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}



/* Opens u on ip:0 and stores the address it got (with its ephemeral port) in bound. */
static void open_server(struct sys_udp *u, const struct sockaddr *sa, socklen_t len,
                        struct sockaddr_storage *bound)
{
    socklen_t blen = sizeof(*bound);

    assert_int_equal(sys_udp_open(u, sa, len), 0);
    assert_true(u->fd >= 0);
    assert_int_equal(getsockname(u->fd, (struct sockaddr *)bound, &blen), 0);
}

/* A plain blocking client socket bound to sa (port 0: ephemeral); bound gets its address. */
static int open_client(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *bound)
{
    int fd = socket(sa->sa_family, SOCK_DGRAM, 0);
    socklen_t blen = sizeof(*bound);
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, sa, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)bound, &blen), 0);
    /* A reply that never comes fails the test after 2 s instead of hanging it. */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

static bool wait_readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN) != 0;
}

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void send_to(int fd, const void *buf, size_t len, const struct sockaddr_storage *to)
{
    assert_int_equal(sendto(fd, buf, len, 0, (const struct sockaddr *)to, sa_len(to)),
                     (ssize_t)len);
}

/* Datagram i of a test: length 10 + 7 i, bytes derived from i and the position. */
static size_t pattern(size_t i, uint8_t *buf)
{
    size_t len = 10 + 7 * i;

    for (size_t k = 0; k < len; k++) {
        buf[k] = (uint8_t)(i * 31 + k);
    }
    return len;
}

/* Receives until want datagrams are in b (bounded); returns what the first call gave. */
static int recv_expect(struct sys_udp *u, size_t want)
{
    int first;

    assert_true(wait_readable(u->fd, WAIT_MS));
    first = sys_udp_recv_batch(u, &batch);
    assert_true(first > 0);
    assert_int_equal(first, (int)want);
    return first;
}

static void test_open_flags_v4(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage bound;
    struct sys_udp u;
    int v = -1;
    socklen_t vl = sizeof(v);

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &bound);
    assert_int_equal(u.family, AF_INET);
    assert_true((fcntl(u.fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(u.fd, F_GETFD) & FD_CLOEXEC) != 0);
    assert_int_equal(getsockopt(u.fd, SOL_SOCKET, SO_TYPE, &v, &vl), 0);
    assert_int_equal(v, SOCK_DGRAM);
    vl = sizeof(v);
    assert_int_equal(getsockopt(u.fd, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
    assert_int_equal(v, 0);
    vl = sizeof(v);
    assert_int_equal(getsockopt(u.fd, SOL_SOCKET, SO_TIMESTAMPING, &v, &vl), 0);
    assert_true((v & SOF_TIMESTAMPING_RX_SOFTWARE) != 0);
    assert_true(u.rx_stamps);
    vl = sizeof(v);
    /* Bound to one address: no packet info, the reply's source is that address. */
    assert_int_equal(getsockopt(u.fd, IPPROTO_IP, IP_PKTINFO, &v, &vl), 0);
    assert_int_equal(v, 0);
    assert_false(u.no_sendmmsg);
    assert_false(u.no_recvmmsg);
    assert_int_equal(bound.ss_family, AF_INET);
    assert_true(sa_port(&bound) != 0);
    sys_udp_close(&u);
    assert_int_equal(u.fd, -1);
    sys_udp_close(&u); /* twice is harmless */
    assert_int_equal(u.fd, -1);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct sockaddr_un un;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_in foreign = test_sockaddr4("198.18.0.1", 0);
    struct sockaddr_storage bound;
    struct sys_udp u;
    struct sys_udp u2;

    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    assert_int_equal(sys_udp_open(&u2, (struct sockaddr *)&un, sizeof(un)), -EAFNOSUPPORT);
    assert_int_equal(u2.fd, -1);
    /* An address this host does not have (no packet is sent). */
    assert_int_equal(sys_udp_open(&u2, (struct sockaddr *)&foreign, sizeof(foreign)),
                     -EADDRNOTAVAIL);
    assert_int_equal(u2.fd, -1);
    assert_int_equal(sys_udp_open(&u2, (struct sockaddr *)&sa, 3), -EINVAL);
    assert_int_equal(u2.fd, -1);
    /* No SO_REUSEADDR: a second server on the same address and port is refused. */
    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &bound);
    assert_int_equal(sys_udp_open(&u2, (struct sockaddr *)&bound, sa_len(&bound)), -EADDRINUSE);
    assert_int_equal(u2.fd, -1);
    sys_udp_close(&u);
}

static void test_recv_nothing_waiting(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage bound;
    struct sys_udp u;

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &bound);
    assert_int_equal(sys_udp_recv_batch(&u, &batch), -EAGAIN);
    u.no_recvmmsg = true;
    assert_int_equal(sys_udp_recv_batch(&u, &batch), -EAGAIN);
    sys_udp_close(&u);
}

/* Checks slot i against pattern i, sent by client to a loopback server between t0 and
 * t1 (realtime ns). */
static void check_rx_slot(size_t i, const struct sockaddr_storage *client, int64_t t0, int64_t t1,
                          bool v6)
{
    const struct sys_udp_slot *s = &batch.slot[i];
    uint8_t want[SYS_UDP_DGRAM_MAX];
    size_t len = pattern(i, want);

    assert_int_equal(s->len, len);
    assert_memory_equal(s->buf, want, len);
    assert_false(s->truncated);
    assert_int_equal(s->peer_len, sa_len(client));
    assert_int_equal(s->peer.ss_family, client->ss_family);
    assert_int_equal(sa_port(&s->peer), sa_port(client));
    if (v6) {
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&s->peer;
        assert_true(IN6_IS_ADDR_LOOPBACK(&p->sin6_addr));
    } else {
        const struct sockaddr_in *p = (const struct sockaddr_in *)&s->peer;
        assert_int_equal(ntohl(p->sin_addr.s_addr), INADDR_LOOPBACK);
    }
    /* A socket bound to one address gets no packet info (the wildcard tests below
     * check that a wildcard socket does): the local address stays unknown. */
    assert_int_equal(s->local.family, 0);
    /* A kernel software stamp between sending and the end of the receive call. */
    assert_true(s->rx_kernel);
    assert_true(s->rx_unix_ns > t0 - NS_PER_S && s->rx_unix_ns < t1 + NS_PER_S);
    assert_true(s->rx_unix_ns >= t0 - 1000000); /* 1 ms slack for coarse clocks */
    assert_true(s->rx_unix_ns <= t1 + 1000000);
}

static void recv_batch_case(const struct sockaddr *server_sa, socklen_t server_len,
                            const struct sockaddr *client_sa, socklen_t client_len, bool v6)
{
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    uint8_t buf[SYS_UDP_DGRAM_MAX];
    const size_t n = 5;

    open_server(&u, server_sa, server_len, &srv_addr);
    int c = open_client(client_sa, client_len, &cli_addr);
    int64_t t0 = realtime_ns();
    for (size_t i = 0; i < n; i++) {
        send_to(c, buf, pattern(i, buf), &srv_addr);
    }
    recv_expect(&u, n);
    int64_t t1 = realtime_ns();
    for (size_t i = 0; i < n; i++) {
        check_rx_slot(i, &cli_addr, t0, t1, v6);
        if (i > 0) {
            assert_true(batch.slot[i].rx_unix_ns >= batch.slot[i - 1].rx_unix_ns);
        }
    }
    assert_int_equal(sys_udp_recv_batch(&u, &batch), -EAGAIN);
    close(c);
    sys_udp_close(&u);
}

static void test_recv_batch_v4(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);

    recv_batch_case((struct sockaddr *)&sa, sizeof(sa), (struct sockaddr *)&sa, sizeof(sa), false);
}

/* A full batch: SYS_UDP_BATCH datagrams in one call, the rest in the next. */
static void test_recv_full_batch(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    uint8_t b = 0;

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &srv_addr);
    int c = open_client((struct sockaddr *)&sa, sizeof(sa), &cli_addr);
    for (int i = 0; i < SYS_UDP_BATCH + 3; i++) {
        b = (uint8_t)i;
        send_to(c, &b, 1, &srv_addr);
    }
    assert_true(wait_readable(u.fd, WAIT_MS));
    assert_int_equal(sys_udp_recv_batch(&u, &batch), SYS_UDP_BATCH);
    for (int i = 0; i < SYS_UDP_BATCH; i++) {
        assert_int_equal(batch.slot[i].len, 1);
        assert_int_equal(batch.slot[i].buf[0], i);
    }
    assert_int_equal(sys_udp_recv_batch(&u, &batch), 3);
    assert_int_equal(batch.slot[2].buf[0], SYS_UDP_BATCH + 2);
    assert_int_equal(sys_udp_recv_batch(&u, &batch), -EAGAIN);
    close(c);
    sys_udp_close(&u);
}

/* Longer than SYS_UDP_DGRAM_MAX: cut and marked; exactly the maximum and an empty
 * datagram are not. */
static void test_recv_truncated(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    static uint8_t big[3000];

    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i ^ (i >> 8));
    }
    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &srv_addr);
    int c = open_client((struct sockaddr *)&sa, sizeof(sa), &cli_addr);
    send_to(c, big, sizeof(big), &srv_addr);
    send_to(c, big, SYS_UDP_DGRAM_MAX, &srv_addr);
    send_to(c, big, 0, &srv_addr);
    recv_expect(&u, 3);
    assert_true(batch.slot[0].truncated);
    assert_int_equal(batch.slot[0].len, SYS_UDP_DGRAM_MAX);
    assert_memory_equal(batch.slot[0].buf, big, SYS_UDP_DGRAM_MAX);
    assert_false(batch.slot[1].truncated);
    assert_int_equal(batch.slot[1].len, SYS_UDP_DGRAM_MAX);
    assert_memory_equal(batch.slot[1].buf, big, SYS_UDP_DGRAM_MAX);
    assert_false(batch.slot[2].truncated);
    assert_int_equal(batch.slot[2].len, 0);
    assert_true(batch.slot[2].rx_kernel);
    close(c);
    sys_udp_close(&u);
}

/* Without recvmmsg: one datagram per call, same fields. */
static void test_recv_single_fallback(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    uint8_t buf[SYS_UDP_DGRAM_MAX];

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &srv_addr);
    u.no_recvmmsg = true;
    int c = open_client((struct sockaddr *)&sa, sizeof(sa), &cli_addr);
    int64_t t0 = realtime_ns();
    for (size_t i = 0; i < 3; i++) {
        send_to(c, buf, pattern(i, buf), &srv_addr);
    }
    assert_true(wait_readable(u.fd, WAIT_MS));
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sys_udp_recv_batch(&u, &batch), 1);
        /* check_rx_slot compares slot i: move slot 0 there. */
        if (i > 0) {
            memcpy(&batch.slot[i], &batch.slot[0], sizeof(batch.slot[0]));
        }
        check_rx_slot(i, &cli_addr, t0, realtime_ns(), false);
    }
    assert_int_equal(sys_udp_recv_batch(&u, &batch), -EAGAIN);
    close(c);
    sys_udp_close(&u);
}

/* Turns the received slots into replies: payload "R<i>" plus the request's first byte. */
static void make_replies(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sys_udp_slot *s = &batch.slot[i];
        uint8_t first = s->buf[0];
        s->buf[0] = 'R';
        s->buf[1] = (uint8_t)i;
        s->buf[2] = first;
        s->len = 3;
    }
}

/* Reads one reply on client fd c: checks its payload and that it came from server. */
static void expect_reply(int c, size_t i, const struct sockaddr_storage *server)
{
    uint8_t buf[64];
    struct sockaddr_storage from;
    socklen_t flen = sizeof(from);
    ssize_t r = recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

    assert_int_equal(r, 3);
    assert_int_equal(buf[0], 'R');
    assert_int_equal(buf[1], i);
    assert_int_equal(flen, sa_len(server));
    assert_memory_equal(&from, server, flen);
}

static void expect_no_more(int c)
{
    uint8_t buf[64];

    assert_int_equal(recv(c, buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Receive n requests and send the replies back, with sendmmsg or with sendmsg. */
static void send_case(const struct sockaddr *sa, socklen_t len, bool force_sendmsg)
{
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    uint8_t buf[SYS_UDP_DGRAM_MAX];
    int err = 12345;
    const size_t n = 6;

    open_server(&u, sa, len, &srv_addr);
    u.no_sendmmsg = force_sendmsg;
    int c = open_client(sa, len, &cli_addr);
    for (size_t i = 0; i < n; i++) {
        send_to(c, buf, pattern(i, buf), &srv_addr);
    }
    recv_expect(&u, n);
    make_replies(n);
    batch.slot[3].len = 0; /* skipped */
    assert_int_equal(sys_udp_send_batch(&u, &batch, n, &err), (int)n - 1);
    assert_int_equal(err, 0);
    assert_int_equal(u.no_sendmmsg, force_sendmsg);
    for (size_t i = 0; i < n; i++) {
        if (i != 3) {
            expect_reply(c, i, &srv_addr);
        }
    }
    expect_no_more(c);
    /* NULL last_err is allowed. */
    assert_int_equal(sys_udp_send_batch(&u, &batch, 1, NULL), 1);
    expect_reply(c, 0, &srv_addr);
    close(c);
    sys_udp_close(&u);
}

static void test_send_batch_v4(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);

    send_case((struct sockaddr *)&sa, sizeof(sa), false);
}

static void test_send_sendmsg_fallback_v4(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);

    send_case((struct sockaddr *)&sa, sizeof(sa), true);
}

/* Datagrams the kernel refuses are skipped with their error; the others go out, and a
 * refusal that sendmsg shares does not turn sendmmsg off. Too-long slots are skipped. */
static void bad_datagram_case(bool force_sendmsg)
{
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_in6 wrong = test_sockaddr6("::1", 123);
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    uint8_t buf[SYS_UDP_DGRAM_MAX];
    int err = 0;

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &srv_addr);
    u.no_sendmmsg = force_sendmsg;
    int c = open_client((struct sockaddr *)&sa, sizeof(sa), &cli_addr);
    for (size_t i = 0; i < 6; i++) {
        send_to(c, buf, pattern(i, buf), &srv_addr);
    }
    recv_expect(&u, 6);
    make_replies(6);
    batch.slot[0].peer_len = 3; /* EINVAL: too short for an address */
    batch.slot[2].len = SYS_UDP_DGRAM_MAX + 1;
    memcpy(&batch.slot[4].peer, &wrong, sizeof(wrong)); /* IPv6 peer on an IPv4 socket */
    batch.slot[4].peer_len = sizeof(wrong);
    assert_int_equal(sys_udp_send_batch(&u, &batch, 6, &err), 3);
    /* The last refusal: the IPv6 peer. */
    assert_int_equal(err, -EAFNOSUPPORT);
    assert_int_equal(u.no_sendmmsg, force_sendmsg);
    expect_reply(c, 1, &srv_addr);
    expect_reply(c, 3, &srv_addr);
    expect_reply(c, 5, &srv_addr);
    expect_no_more(c);
    close(c);
    sys_udp_close(&u);
}

static void test_send_refused_datagrams(void **state)
{
    (void)state;
    bad_datagram_case(false);
}

static void test_send_refused_datagrams_sendmsg(void **state)
{
    (void)state;
    bad_datagram_case(true);
}

/* n above SYS_UDP_BATCH sends the batch only; n 0 sends nothing. */
static void test_send_full_batch(void **state)
{
    (void)state;
    struct sockaddr_in sa = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage srv_addr;
    struct sockaddr_storage cli_addr;
    struct sys_udp u;
    int err = -1;

    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &srv_addr);
    int c = open_client((struct sockaddr *)&sa, sizeof(sa), &cli_addr);
    for (size_t i = 0; i < SYS_UDP_BATCH; i++) {
        struct sys_udp_slot *s = &batch.slot[i];
        memset(s, 0, sizeof(*s));
        memcpy(&s->peer, &cli_addr, sizeof(struct sockaddr_in));
        s->peer_len = sizeof(struct sockaddr_in);
        s->buf[0] = 'R';
        s->buf[1] = (uint8_t)i;
        s->len = 3;
    }
    assert_int_equal(sys_udp_send_batch(&u, &batch, 0, &err), 0);
    assert_int_equal(err, 0);
    expect_no_more(c);
    assert_int_equal(sys_udp_send_batch(&u, &batch, SYS_UDP_BATCH + 10, &err), SYS_UDP_BATCH);
    assert_int_equal(err, 0);
    for (size_t i = 0; i < SYS_UDP_BATCH; i++) {
        expect_reply(c, i, &srv_addr);
    }
    expect_no_more(c);
    close(c);
    sys_udp_close(&u);
}

static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 sa = test_sockaddr6("::1", 0);
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void test_ipv6_loopback(void **state)
{
    (void)state;
    struct sockaddr_in6 sa = test_sockaddr6("::1", 0);
    struct sockaddr_storage bound;
    struct sys_udp u;
    int v = 0;
    socklen_t vl = sizeof(v);

    if (!have_ipv6_loopback()) {
        skip();
    }
    open_server(&u, (struct sockaddr *)&sa, sizeof(sa), &bound);
    assert_int_equal(u.family, AF_INET6);
    assert_int_equal(getsockopt(u.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl), 0);
    assert_int_equal(v, 1);
    vl = sizeof(v);
    assert_int_equal(getsockopt(u.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, &vl), 0);
    assert_int_equal(v, 0); /* bound to ::1, not a wildcard */
    assert_true((fcntl(u.fd, F_GETFL) & O_NONBLOCK) != 0);
    assert_true((fcntl(u.fd, F_GETFD) & FD_CLOEXEC) != 0);
    assert_true(u.rx_stamps);
    sys_udp_close(&u);

    recv_batch_case((struct sockaddr *)&sa, sizeof(sa), (struct sockaddr *)&sa, sizeof(sa), true);
    send_case((struct sockaddr *)&sa, sizeof(sa), false);
    send_case((struct sockaddr *)&sa, sizeof(sa), true);
}

/* In a child in a fresh network namespace (only its own loopback), so a wildcard
 * socket is reachable from nowhere else. Returns the child's exit status: 0 passed,
 * 77 no privilege for a namespace, otherwise the line of the failed check. */
/* The wildcard socket on 0.0.0.0 answers a request sent to 127.0.0.3 from 127.0.0.3:
 * the pktinfo of the request becomes the source of the reply. */
static void wildcard_child(void)
{
    struct sockaddr_in any = test_sockaddr4("0.0.0.0", 0);
    struct sockaddr_in dst = test_sockaddr4("127.0.0.3", 0);
    struct sockaddr_in cli = test_sockaddr4("127.0.0.1", 0);
    struct sockaddr_storage bound;
    struct sockaddr_storage from;
    socklen_t len = sizeof(bound);
    struct sys_udp u;
    uint8_t buf[16] = "hello";
    struct pollfd p;

    CHILD_CHECK(sys_udp_open(&u, (struct sockaddr *)&any, sizeof(any)) == 0);
    CHILD_CHECK(getsockname(u.fd, (struct sockaddr *)&bound, &len) == 0);
    dst.sin_port = ((struct sockaddr_in *)&bound)->sin_port;
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    CHILD_CHECK(c >= 0 && bind(c, (struct sockaddr *)&cli, sizeof(cli)) == 0);
    CHILD_CHECK(sendto(c, buf, 5, 0, (struct sockaddr *)&dst, sizeof(dst)) == 5);
    p.fd = u.fd;
    p.events = POLLIN;
    CHILD_CHECK(poll(&p, 1, WAIT_MS) == 1);
    CHILD_CHECK(sys_udp_recv_batch(&u, &batch) == 1);
    CHILD_CHECK(batch.slot[0].local.family == AF_INET);
    CHILD_CHECK(batch.slot[0].local.addr4.s_addr == dst.sin_addr.s_addr);
    batch.slot[0].buf[0] = 'R';
    CHILD_CHECK(sys_udp_send_batch(&u, &batch, 1, NULL) == 1);
    p.fd = c;
    CHILD_CHECK(poll(&p, 1, WAIT_MS) == 1);
    len = sizeof(from);
    CHILD_CHECK(recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) == 5);
    CHILD_CHECK(buf[0] == 'R');
    CHILD_CHECK(from.ss_family == AF_INET);
    CHILD_CHECK(((struct sockaddr_in *)&from)->sin_addr.s_addr == dst.sin_addr.s_addr);
    CHILD_CHECK(((struct sockaddr_in *)&from)->sin_port == dst.sin_port);
    sys_udp_close(&u);

    /* A wildcard IPv6 socket is IPv6-only (a bound ::1 is anyway, so only [::] shows). */
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6};
    int v = 0;
    socklen_t vl = sizeof(v);
    CHILD_CHECK(sys_udp_open(&u, (struct sockaddr *)&any6, sizeof(any6)) == 0);
    CHILD_CHECK(getsockopt(u.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl) == 0);
    CHILD_CHECK(v == 1);
    sys_udp_close(&u);
    close(c);
    _exit(0);
}

static void test_wildcard_answers_from_asked_address(void **state)
{
    (void)state;
    test_in_private_netns(wildcard_child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_flags_v4),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_recv_nothing_waiting),
        cmocka_unit_test(test_recv_batch_v4),
        cmocka_unit_test(test_recv_full_batch),
        cmocka_unit_test(test_recv_truncated),
        cmocka_unit_test(test_recv_single_fallback),
        cmocka_unit_test(test_send_batch_v4),
        cmocka_unit_test(test_send_sendmsg_fallback_v4),
        cmocka_unit_test(test_send_refused_datagrams),
        cmocka_unit_test(test_send_refused_datagrams_sendmsg),
        cmocka_unit_test(test_send_full_batch),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_wildcard_answers_from_asked_address),
    };
    return cmocka_run_group_tests(tests, test_wait_rx_stamps, NULL);
}
