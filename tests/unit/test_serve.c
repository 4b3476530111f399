/* Unit tests for the server path (src/daemon/serve.c) end to end on loopback: a cfg from
 * cfg_init and fields, real sockets, requests from plain sockets, one serve_handle_readable
 * call; replies decoded by hand and counters per reason (local reference, a source's
 * reference with dispersion grown since, unsynchronized, ACL denial, malformed/short/bad
 * mode/truncated, rate limit and KoD), the engine's local fallback carried to the answers,
 * socket errors, the stats log, and wildcard sockets in a private netns. References are
 * set on the serve's srv with srv_set_reference, as the driver does for ACT_REFERENCE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_core.h"
#include "test_net.h"

#include "core/eng.h"
#include "daemon/cfg.h"
#include "daemon/drv_config.h"
#include "daemon/serve.h"

#define NS_PER_S   INT64_C(1000000000)
#define WAIT_MS    2000
#define PRECISION  (-23)
#define NTP_UNIX_S INT64_C(2208988800) /* 1900 -> 1970 */
#define PORT_TRIES 20
#define REFID_LOCL 0x4C4F434Cu /* "LOCL": the engine's "local stratum N" reference */

static struct cfg cfg;
static struct serve srv;

/* ---- helpers: time, addresses, sockets ---- */

static int64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* 32.32 NTP timestamp (era 0, valid until 2036) <-> Unix ns, written out here. */
static uint64_t unix_ns_to_ntp(int64_t ns)
{
    uint64_t sec = (uint64_t)(ns / NS_PER_S + NTP_UNIX_S);
    uint64_t frac = ((uint64_t)(ns % NS_PER_S) << 32) / (uint64_t)NS_PER_S;

    return sec << 32 | frac;
}

static int64_t ntp_to_unix_ns(uint64_t ts)
{
    int64_t sec = (int64_t)(ts >> 32) - NTP_UNIX_S;
    int64_t frac_ns = (int64_t)(((ts & 0xffffffffu) * (uint64_t)NS_PER_S) >> 32);

    return sec * NS_PER_S + frac_ns;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static struct core_addr core6_loopback(void)
{
    struct core_addr x;

    memset(&x, 0, sizeof(x));
    x.family = CORE_AF_INET6;
    x.bytes[15] = 1;
    return x;
}

static void add_rule(struct cfg *c, struct core_addr a, uint8_t len, uint32_t flags)
{
    struct acl_rule r;

    memset(&r, 0, sizeof(r));
    r.family = a.family;
    r.prefix_len = len;
    memcpy(r.addr, a.bytes, sizeof(r.addr));
    r.flags = flags;
    assert_int_equal(acl_add(&c->acl, &r, ACL_ADD_REPLACE), ACL_OK);
}

/* A port that was free a moment ago on 127.0.0.1 (and ::1 when asked and present). */
static uint16_t free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* The test config: 127.0.0.1 only, allow 127.0.0.0/8 and ::1, ignore 127.0.0.2, no
 * rate limit; port filled in by start_server. */
static void base_cfg(struct cfg *c)
{
    cfg_init(c);
    c->n_bind = 1;
    c->bind[0] = test_core4(127, 0, 0, 1);
    c->pidfile[0] = '\0';
    add_rule(c, test_core4(127, 0, 0, 0), 8, 0);
    add_rule(c, test_core4(127, 0, 0, 2), 32, ACL_IGNORE);
    add_rule(c, core6_loopback(), 128, 0);
}

/* serve_init + serve_open_sockets on a free port; another process may take the port
 * between free_port and the bind, so a few tries. */
static void start_server(struct cfg *c)
{
    int r = -EADDRINUSE;

    for (int i = 0; i < PORT_TRIES && r == -EADDRINUSE; i++) {
        c->port = free_port();
        assert_int_equal(serve_init(&srv, c, PRECISION, 0x1234abcd), 0);
        r = serve_open_sockets(&srv, c);
        if (r != 0) {
            serve_close(&srv);
        }
    }
    assert_int_equal(r, 0);
    assert_int_equal(srv.n_sock, c->n_bind);
}

/* The reference "local stratum 3" gives while no source is selected, dated ref_unix_ns,
 * in the form the engine's ACT_REFERENCE has it (refid as wire bytes). */
static void set_local_reference(int64_t ref_unix_ns)
{
    struct srv_reference ref;

    memset(&ref, 0, sizeof(ref));
    ref.leap = 0;
    ref.stratum = 3;
    memcpy(&ref.refid, "LOCL", 4);
    ref.ref_unix_ns = ref_unix_ns;
    srv_set_reference(&srv.srv, &ref);
}

static int client_on(const char *ip)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};

    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        len = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
        len = sizeof(*in);
    }
    fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    return fd;
}

/* Sends len bytes from client fd c to the server socket i. */
static void send_to_server(int c, size_t i, const uint8_t *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    assert_int_equal(getsockname(srv.sock[i].udp.fd, (struct sockaddr *)&ss, &sl), 0);
    assert_int_equal(sendto(c, buf, len, 0, (struct sockaddr *)&ss, sl), (ssize_t)len);
}

/* A 48-byte NTPv4 client request (mode 3, poll 6) with transmit timestamp tx. */
static size_t make_request(uint8_t *buf, uint64_t tx)
{
    memset(buf, 0, 48);
    buf[0] = 0 << 6 | 4 << 3 | 3;
    buf[2] = 6;
    buf[3] = (uint8_t)-20;
    put64(buf + 40, tx);
    return 48;
}

static void serve_once(size_t i)
{
    struct pollfd p = {.fd = srv.sock[i].udp.fd, .events = POLLIN};

    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    serve_handle_readable(&srv, i);
}

static ssize_t recv_reply(int c, uint8_t *buf, size_t cap)
{
    return recv(c, buf, cap, 0);
}

static void expect_no_reply(int c)
{
    uint8_t buf[64];

    assert_int_equal(recv(c, buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A normal answer with the local reference at stratum 3, set at ref_unix_ns, to the
 * request with transmit timestamp tx sent at or after t0, read by t1. */
static void check_answer(const uint8_t *r, uint64_t tx, int64_t ref_unix_ns, int64_t t0, int64_t t1)
{
    uint64_t ref = get64(r + 16);
    uint64_t rx = get64(r + 32);
    uint64_t txr = get64(r + 40);

    assert_int_equal(r[0] >> 6, 0);       /* leap: none */
    assert_int_equal((r[0] >> 3) & 7, 4); /* version as asked */
    assert_int_equal(r[0] & 7, 4);        /* mode 4, server */
    assert_int_equal(r[1], 3);            /* local stratum 3 */
    assert_int_equal(r[2], 6);            /* poll echoed */
    assert_int_equal((int8_t)r[3], PRECISION);
    assert_int_equal(get32(r + 4), 0);           /* root delay */
    assert_true(get32(r + 8) < 66);              /* root dispersion < 1 ms */
    assert_int_equal(get32(r + 12), REFID_LOCL); /* refid "LOCL" */
    /* Reference time: when the reference was set, to the 32.32 rounding. */
    uint64_t want_ref = unix_ns_to_ntp(ref_unix_ns);
    assert_true(ref - want_ref <= 1 || want_ref - ref <= 1);
    assert_true(get64(r + 24) == tx); /* origin = the client's transmit timestamp */
    assert_true(rx <= txr);
    assert_true(ref <= rx);
    int64_t rx_ns = ntp_to_unix_ns(rx);
    int64_t tx_ns = ntp_to_unix_ns(txr);
    assert_true(rx_ns > t0 - NS_PER_S && rx_ns < t1 + NS_PER_S);
    assert_true(tx_ns > t0 - NS_PER_S && tx_ns < t1 + NS_PER_S);
    /* Kernel stamp and clock readings share CLOCK_REALTIME: tighter than 1 s. */
    assert_true(rx_ns >= t0 - 1000000 && tx_ns <= t1 + 1000000);
}

static void check_reason_counts(const uint64_t want[SRV_REASON_COUNT])
{
    for (int r = 0; r < SRV_REASON_COUNT; r++) {
        if (srv.srv.stats.count[r] != want[r]) {
            fail_msg("reason %s: %llu, expected %llu", srv_reason_name((enum srv_reason)r),
                     (unsigned long long)srv.srv.stats.count[r], (unsigned long long)want[r]);
        }
    }
}

static int teardown_server(void **state)
{
    (void)state;
    serve_close(&srv);
    return 0;
}

/* ---- the whole path ---- */

static void test_serve_loopback(void **state)
{
    (void)state;
    uint8_t buf[3000];
    uint8_t reply[3100];
    const uint64_t tx[4] = {UINT64_C(0xe9a1b2c3d4e5f601), UINT64_C(0xe9a1b2c3d4e5f702),
                            UINT64_C(0x0000000000000003), UINT64_C(0xffffffffffffffff)};

    base_cfg(&cfg);
    start_server(&cfg);
    char name[32];
    snprintf(name, sizeof(name), "127.0.0.1:%u", (unsigned)cfg.port);
    assert_string_equal(srv.sock[0].name, name);
    int64_t ref_ns = realtime_ns();
    set_local_reference(ref_ns);

    int a = client_on("127.0.0.1");
    int denied = client_on("127.0.0.2");
    int64_t t0 = realtime_ns();
    for (size_t i = 0; i < 3; i++) {
        send_to_server(a, 0, buf, make_request(buf, tx[i]));
    }
    /* With a legacy MAC (key id + MD5 digest): still a 48-byte answer. */
    make_request(buf, tx[3]);
    memset(buf + 48, 0x11, 20);
    send_to_server(a, 0, buf, 68);
    /* Malformed: 3 trailing bytes that are neither an extension field nor a MAC. */
    make_request(buf, 5);
    send_to_server(a, 0, buf, 51);
    /* Too short, a mode 4 (server) packet, version 5, and a datagram that does not fit. */
    make_request(buf, 6);
    send_to_server(a, 0, buf, 47);
    make_request(buf, 7);
    buf[0] = 4 << 3 | 4;
    send_to_server(a, 0, buf, 48);
    make_request(buf, 8);
    buf[0] = 5 << 3 | 3;
    send_to_server(a, 0, buf, 48);
    make_request(buf, 9);
    send_to_server(a, 0, buf, sizeof(buf));
    /* From an address the ACL ignores. */
    make_request(buf, 10);
    send_to_server(denied, 0, buf, 48);

    serve_once(0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
        check_answer(reply, tx[i], ref_ns, t0, realtime_ns());
    }
    expect_no_reply(a);
    expect_no_reply(denied);

    uint64_t want[SRV_REASON_COUNT] = {0};
    want[SRV_ANSWERED] = 4;
    want[SRV_MALFORMED] = 1;
    want[SRV_TOO_SHORT] = 1;
    want[SRV_BAD_MODE] = 1;
    want[SRV_BAD_VERSION] = 1;
    want[SRV_DENIED] = 1;
    check_reason_counts(want);
    assert_int_equal(srv.cnt.received, 10);
    assert_int_equal(srv.cnt.sent, 4);
    assert_int_equal(srv.cnt.send_failed, 0);
    assert_int_equal(srv.cnt.truncated, 1);
    assert_int_equal(srv.cnt.bad_address, 0);
    assert_int_equal(srv.cnt.rx_fallback, srv.sock[0].udp.rx_stamps ? 0 : 9);

    /* Nothing waiting: a second call changes nothing. */
    serve_handle_readable(&srv, 0);
    assert_int_equal(srv.cnt.received, 10);
    check_reason_counts(want);
    /* An index past the sockets is ignored, even if the slot there held a socket with
     * a request waiting. */
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(sys_udp_open(&srv.sock[1].udp, (struct sockaddr *)&lo, sizeof(lo)), 0);
    send_to_server(a, 1, buf, make_request(buf, 11));
    assert_true(poll(&(struct pollfd){.fd = srv.sock[1].udp.fd, .events = POLLIN}, 1, WAIT_MS) ==
                1);
    serve_handle_readable(&srv, 1);
    serve_handle_readable(&srv, (size_t)-1);
    assert_int_equal(srv.cnt.received, 10);
    check_reason_counts(want);
    sys_udp_close(&srv.sock[1].udp);
    close(a);
    close(denied);
}

/* No reference set (no source selected, no "local stratum"): leap 3, stratum 16, no
 * refid or reference time, but the request's times still echoed and stamped. */
static void test_serve_unsynchronized(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];

    base_cfg(&cfg);
    start_server(&cfg);
    assert_false(srv.srv.has_ref);
    int a = client_on("127.0.0.1");
    int64_t t0 = realtime_ns();
    send_to_server(a, 0, buf, make_request(buf, 0x1122334455667788));
    serve_once(0);
    assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
    int64_t t1 = realtime_ns();
    assert_int_equal(reply[0] >> 6, 3);
    assert_int_equal(reply[0] & 7, 4);
    assert_int_equal(reply[1], 16);
    assert_int_equal(get32(reply + 12), 0);
    assert_true(get64(reply + 16) == 0);
    assert_true(get64(reply + 24) == 0x1122334455667788);
    int64_t rx_ns = ntp_to_unix_ns(get64(reply + 32));
    assert_true(rx_ns > t0 - NS_PER_S && rx_ns < t1 + NS_PER_S);
    assert_true(get64(reply + 32) <= get64(reply + 40));
    assert_int_equal(srv.srv.stats.count[SRV_ANSWERED], 1);
    assert_int_equal(srv.cnt.sent, 1);
    close(a);
}

/* ntpd-style "restrict ... limited kod": burst 1 in one batch gives one answer, then
 * KoD RATE to every second limited request (the first included), the rest dropped. */
static void test_serve_rate_limit_kod(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];

    base_cfg(&cfg);
    acl_init(&cfg.acl);
    add_rule(&cfg, test_core4(127, 0, 0, 0), 8, ACL_LIMITED | ACL_KOD);
    cfg.rlim.burst = 1;
    cfg.rlim.leak_log2 = 0;
    cfg.rlim.kod_log2 = 0;
    start_server(&cfg);
    set_local_reference(realtime_ns());
    int a = client_on("127.0.0.1");
    for (uint64_t i = 1; i <= 5; i++) {
        send_to_server(a, 0, buf, make_request(buf, i));
    }
    serve_once(0);
    assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
    assert_int_equal(reply[1], 3);
    assert_true(get64(reply + 24) == 1);
    for (uint64_t want_origin = 2; want_origin <= 4; want_origin += 2) {
        assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
        assert_int_equal(reply[0] >> 6, 3);
        assert_int_equal(reply[0] & 7, 4);
        assert_int_equal(reply[1], 0);
        assert_memory_equal(reply + 12, "RATE", 4);
        assert_true(get64(reply + 24) == want_origin);
        assert_true(get64(reply + 32) == 0); /* a KoD gives no time */
    }
    expect_no_reply(a);
    uint64_t want[SRV_REASON_COUNT] = {0};
    want[SRV_ANSWERED] = 1;
    want[SRV_KOD_RATE] = 2;
    want[SRV_RATE_LIMITED] = 2;
    check_reason_counts(want);
    assert_int_equal(srv.cnt.received, 5);
    assert_int_equal(srv.cnt.sent, 3);
    close(a);
}

/* chrony "ratelimit" (every client limited), burst 2, no leak, no KoD. */
static void test_serve_ratelimit_all(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];

    base_cfg(&cfg);
    cfg.ratelimit_all = true;
    cfg.rlim.burst = 2;
    cfg.rlim.leak_log2 = 0;
    cfg.rlim.kod_log2 = 0;
    start_server(&cfg);
    set_local_reference(realtime_ns());
    int a = client_on("127.0.0.1");
    for (uint64_t i = 1; i <= 6; i++) {
        send_to_server(a, 0, buf, make_request(buf, i));
    }
    serve_once(0);
    for (uint64_t i = 1; i <= 2; i++) {
        assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
        assert_true(get64(reply + 24) == i);
        assert_int_equal(reply[1], 3);
    }
    expect_no_reply(a);
    assert_int_equal(srv.srv.stats.count[SRV_ANSWERED], 2);
    assert_int_equal(srv.srv.stats.count[SRV_RATE_LIMITED], 4);
    assert_int_equal(srv.srv.stats.count[SRV_KOD_RATE], 0);
    assert_int_equal(srv.cnt.sent, 2);
    close(a);
}

static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 sa;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    bool ok;

    if (fd < 0) {
        return false;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

/* Two bind addresses, 127.0.0.1 and ::1: both sockets answer on their own family. */
static void test_serve_two_sockets_ipv6(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];
    char name[48];

    if (!have_ipv6_loopback()) {
        skip();
    }
    base_cfg(&cfg);
    cfg.n_bind = 2;
    cfg.bind[1] = core6_loopback();
    start_server(&cfg);
    snprintf(name, sizeof(name), "[::1]:%u", (unsigned)cfg.port);
    assert_string_equal(srv.sock[1].name, name);
    assert_int_equal(srv.sock[1].udp.family, AF_INET6);
    int64_t ref_ns = realtime_ns();
    set_local_reference(ref_ns);
    int a4 = client_on("127.0.0.1");
    int a6 = client_on("::1");
    int64_t t0 = realtime_ns();
    send_to_server(a6, 1, buf, make_request(buf, 66));
    send_to_server(a4, 0, buf, make_request(buf, 44));
    serve_once(1);
    assert_int_equal(recv_reply(a6, reply, sizeof(reply)), 48);
    check_answer(reply, 66, ref_ns, t0, realtime_ns());
    expect_no_reply(a4); /* socket 0 not served yet */
    serve_once(0);
    assert_int_equal(recv_reply(a4, reply, sizeof(reply)), 48);
    check_answer(reply, 44, ref_ns, t0, realtime_ns());
    assert_int_equal(srv.srv.stats.count[SRV_ANSWERED], 2);
    assert_int_equal(srv.cnt.received, 2);
    close(a4);
    close(a6);
}

/* ---- sockets: port 0, errors ---- */

static void test_serve_port_zero_opens_nothing(void **state)
{
    (void)state;
    base_cfg(&cfg);
    cfg.port = 0;
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    assert_int_equal(serve_open_sockets(&srv, &cfg), 0);
    assert_int_equal(srv.n_sock, 0);
    serve_handle_readable(&srv, 0); /* nothing to read: ignored */
    assert_int_equal(srv.cnt.received, 0);
}

static void test_serve_bind_errors(void **state)
{
    (void)state;
    base_cfg(&cfg);
    /* An address this host does not have: no packet leaves, bind fails. */
    cfg.bind[0] = test_core4(198, 18, 0, 1);
    cfg.port = free_port();
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    assert_int_equal(serve_open_sockets(&srv, &cfg), -EADDRNOTAVAIL);
    assert_int_equal(srv.n_sock, 0);
    serve_close(&srv);

    /* The second of two addresses fails: the first stays open and counted, so
     * serve_close closes it. */
    base_cfg(&cfg);
    cfg.n_bind = 2;
    cfg.bind[1] = test_core4(198, 18, 0, 1);
    cfg.port = free_port();
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    assert_int_equal(serve_open_sockets(&srv, &cfg), -EADDRNOTAVAIL);
    assert_int_equal(srv.n_sock, 1);
    int fd = srv.sock[0].udp.fd;
    assert_true(fcntl(fd, F_GETFD) >= 0);
    serve_close(&srv);
    assert_int_equal(srv.n_sock, 0);
    assert_true(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
    assert_null(srv.batch);
    assert_null(srv.rlim_table);
    serve_close(&srv); /* twice is harmless */

    /* The port is taken by another socket on the same address. */
    base_cfg(&cfg);
    start_server(&cfg);
    struct serve *first = malloc(sizeof(*first));
    assert_non_null(first);
    memcpy(first, &srv, sizeof(srv));
    memset(&srv, 0, sizeof(srv));
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    assert_int_equal(serve_open_sockets(&srv, &cfg), -EADDRINUSE);
    assert_int_equal(srv.n_sock, 0);
    serve_close(first);
    free(first);
}

/* An unknown family in the config never reaches a socket call. */
static void test_serve_bad_bind_family(void **state)
{
    (void)state;
    base_cfg(&cfg);
    cfg.bind[0].family = 5;
    cfg.port = 12345;
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    assert_int_equal(serve_open_sockets(&srv, &cfg), -EAFNOSUPPORT);
    assert_int_equal(srv.n_sock, 0);
}

/* ---- references: what the driver hands over from the engine ---- */

/* serve_init sets no reference of its own, whatever the config's local line says: the
 * engine owns it. The precision goes to srv as given. */
static void test_serve_init_no_reference(void **state)
{
    (void)state;
    base_cfg(&cfg);
    cfg.local = true;
    cfg.local_stratum = 10;
    assert_int_equal(serve_init(&srv, &cfg, -20, 1), 0);
    assert_false(srv.srv.has_ref);
    assert_int_equal(srv.srv.cfg.precision_log2, -20);
    assert_int_equal(srv.n_sock, 0);
}

/* Synchronized to a source at stratum 1 (as the engine reports it): stratum 2, the
 * source's address as refid, root delay as given, and root dispersion grown at 15 ppm
 * (RFC 5905 section 7.2 PHI) over the 1000 s since the reference time. Then the
 * reference is withdrawn (NULL): unsynchronized answers again. */
static void test_serve_source_reference_and_removal(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];
    struct srv_reference ref;
    const uint8_t peer[4] = {198, 18, 0, 1};

    base_cfg(&cfg);
    start_server(&cfg);
    int64_t ref_ns = realtime_ns() - 1000 * NS_PER_S;
    memset(&ref, 0, sizeof(ref));
    ref.leap = 0;
    ref.stratum = 2;
    memcpy(&ref.refid, peer, 4);
    ref.root_delay = 0.010;
    ref.root_dispersion = 0.002;
    ref.ref_unix_ns = ref_ns;
    srv_set_reference(&srv.srv, &ref);
    int a = client_on("127.0.0.1");
    send_to_server(a, 0, buf, make_request(buf, 21));
    serve_once(0);
    assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
    assert_int_equal(reply[0] >> 6, 0);
    assert_int_equal(reply[1], 2);
    assert_memory_equal(reply + 12, peer, 4);
    /* NTP short format, 1/65536 s: 0.010 s = 655.36, 0.002 + 1000 * 15e-6 = 0.017 s =
     * 1114.1 (plus the few ms between setting and answering: under 1 unit). */
    assert_in_range(get32(reply + 4), 655, 656);
    assert_in_range(get32(reply + 8), 1114, 1116);
    uint64_t want_ref = unix_ns_to_ntp(ref_ns);
    uint64_t got_ref = get64(reply + 16);
    assert_true(got_ref - want_ref <= 1 || want_ref - got_ref <= 1);
    assert_true(get64(reply + 24) == 21);

    srv_set_reference(&srv.srv, NULL);
    send_to_server(a, 0, buf, make_request(buf, 22));
    serve_once(0);
    assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
    assert_int_equal(reply[0] >> 6, 3);
    assert_int_equal(reply[1], 16);
    assert_int_equal(get32(reply + 12), 0);
    assert_true(get64(reply + 16) == 0);
    assert_true(get64(reply + 24) == 22);
    assert_int_equal(srv.srv.stats.count[SRV_ANSWERED], 2);
    assert_int_equal(srv.cnt.sent, 2);
    close(a);
}

/* The engine's own fallback, end to end: "local stratum 3" and no source, through
 * drv_config_build and eng_init; its last ACT_REFERENCE is carried over as drv.c's
 * do_reference does, and the answer is the local reference dated at start. */
static void test_serve_engine_local_fallback(void **state)
{
    (void)state;
    uint8_t buf[64];
    uint8_t reply[64];
    struct eng_config *ec = malloc(sizeof(*ec));
    struct act_list *out = malloc(sizeof(*out));
    void *mem = calloc(1, eng_size());
    const struct act_reference *got = NULL;

    assert_non_null(ec);
    assert_non_null(out);
    assert_non_null(mem);
    base_cfg(&cfg);
    cfg.local = true;
    cfg.local_stratum = 3;
    start_server(&cfg);
    drv_config_build(&cfg, true, PRECISION, ec, NULL, NULL);
    struct core_time now = {.real_ns = realtime_ns(), .mono_ns = monotonic_ns()};
    assert_non_null(eng_init(mem, ec, now, 7, out));
    for (size_t i = 0; i < out->n; i++) {
        if (out->a[i].kind == ACT_REFERENCE) {
            got = &out->a[i].u.reference;
        }
    }
    assert_non_null(got);
    assert_true(got->valid);
    struct srv_reference ref = {
        .leap = got->leap,
        .stratum = got->stratum,
        .refid = got->refid,
        .root_delay = got->root_delay,
        .root_dispersion = got->root_dispersion,
        .ref_unix_ns = got->ref_unix_ns,
    };
    srv_set_reference(&srv.srv, &ref);
    int a = client_on("127.0.0.1");
    send_to_server(a, 0, buf, make_request(buf, 31));
    serve_once(0);
    assert_int_equal(recv_reply(a, reply, sizeof(reply)), 48);
    check_answer(reply, 31, now.real_ns, now.real_ns, realtime_ns());
    close(a);
    free(mem);
    free(out);
    free(ec);
}

/* ---- the stats log line ---- */

static void test_serve_log_stats(void **state)
{
    (void)state;
    char text[4096];
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);

    assert_non_null(tmp);
    assert_true(saved >= 0);
    base_cfg(&cfg);
    assert_int_equal(serve_init(&srv, &cfg, PRECISION, 1), 0);
    srv.srv.stats.count[SRV_ANSWERED] = 12;
    srv.srv.stats.count[SRV_MALFORMED] = 3;
    srv.srv.stats.count[SRV_DENIED] = 7;
    srv.cnt.received = 22;
    srv.cnt.sent = 11;
    srv.cnt.send_failed = 1;
    srv.cnt.truncated = 4;
    srv.cnt.rx_fallback = 5;
    fflush(stderr);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    serve_log_stats(&srv);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(text, 1, sizeof(text) - 1, tmp);
    fclose(tmp);
    text[n] = '\0';
    const char *want[] = {"answered=12",   "kod_rate=0",       "rate_limited=0", "denied=7",
                          "too_short=0",   "bad_version=0",    "bad_mode=0",     "malformed=3",
                          "received=22",   "sent=11",          "send_failed=1",  "truncated=4",
                          "bad_address=0", "no_kernel_stamp=5"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(text, want[i]) == NULL) {
            fail_msg("'%s' missing from the log: %s", want[i], text);
        }
    }
}

/* ---- wildcard sockets, in a private network namespace ---- */

/* No bindaddress: 0.0.0.0 and [::] on the port; a request to 127.0.0.5 is answered
 * from 127.0.0.5. */
static void wildcard_child(void)
{
    uint8_t buf[64];
    struct sockaddr_in to;
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);

    cfg_init(&cfg);
    cfg.port = 20123;
    add_rule(&cfg, test_core4(127, 0, 0, 0), 8, 0);
    CHILD_CHECK(serve_init(&srv, &cfg, PRECISION, 1) == 0);
    CHILD_CHECK(serve_open_sockets(&srv, &cfg) == 0);
    CHILD_CHECK(srv.n_sock == 2 || srv.n_sock == 1);
    CHILD_CHECK(strcmp(srv.sock[0].name, "0.0.0.0:20123") == 0);
    CHILD_CHECK(srv.n_sock == 1 || strcmp(srv.sock[1].name, "[::]:20123") == 0);
    set_local_reference(realtime_ns());
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    CHILD_CHECK(c >= 0);
    memset(&to, 0, sizeof(to));
    to.sin_family = AF_INET;
    to.sin_port = htons(20123);
    to.sin_addr.s_addr = htonl(0x7f000005);
    CHILD_CHECK(sendto(c, buf, make_request(buf, 77), 0, (struct sockaddr *)&to, sizeof(to)) == 48);
    struct pollfd p = {.fd = srv.sock[0].udp.fd, .events = POLLIN};
    CHILD_CHECK(poll(&p, 1, WAIT_MS) == 1);
    serve_handle_readable(&srv, 0);
    p.fd = c;
    CHILD_CHECK(poll(&p, 1, WAIT_MS) == 1);
    CHILD_CHECK(recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) == 48);
    CHILD_CHECK(from.sin_addr.s_addr == to.sin_addr.s_addr);
    CHILD_CHECK(from.sin_port == to.sin_port);
    CHILD_CHECK(buf[1] == 3 && (buf[0] & 7) == 4 && get64(buf + 24) == 77);
    CHILD_CHECK(srv.srv.stats.count[SRV_ANSWERED] == 1);
    if (srv.n_sock == 2) {
        int v = 0;
        socklen_t vl = sizeof(v);
        CHILD_CHECK(getsockopt(srv.sock[1].udp.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl) == 0);
        CHILD_CHECK(v == 1);
    }
    serve_close(&srv);

    /* [::] taken by someone else: an error, not the "no IPv6 here" warning. */
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_port = htons(20124)};
    int one = 1;
    int squat = socket(AF_INET6, SOCK_DGRAM, 0);
    CHILD_CHECK(squat >= 0);
    CHILD_CHECK(setsockopt(squat, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
    CHILD_CHECK(bind(squat, (struct sockaddr *)&any6, sizeof(any6)) == 0);
    cfg.port = 20124;
    CHILD_CHECK(serve_init(&srv, &cfg, PRECISION, 1) == 0);
    CHILD_CHECK(serve_open_sockets(&srv, &cfg) == -EADDRINUSE);
    CHILD_CHECK(srv.n_sock == 1);
    serve_close(&srv);
    close(squat);
    _exit(0);
}

static void test_serve_wildcards(void **state)
{
    (void)state;
    test_in_private_netns(wildcard_child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_serve_loopback, teardown_server),
        cmocka_unit_test_teardown(test_serve_unsynchronized, teardown_server),
        cmocka_unit_test_teardown(test_serve_rate_limit_kod, teardown_server),
        cmocka_unit_test_teardown(test_serve_ratelimit_all, teardown_server),
        cmocka_unit_test_teardown(test_serve_two_sockets_ipv6, teardown_server),
        cmocka_unit_test_teardown(test_serve_port_zero_opens_nothing, teardown_server),
        cmocka_unit_test_teardown(test_serve_bind_errors, teardown_server),
        cmocka_unit_test_teardown(test_serve_bad_bind_family, teardown_server),
        cmocka_unit_test_teardown(test_serve_init_no_reference, teardown_server),
        cmocka_unit_test_teardown(test_serve_source_reference_and_removal, teardown_server),
        cmocka_unit_test_teardown(test_serve_engine_local_fallback, teardown_server),
        cmocka_unit_test_teardown(test_serve_log_stats, teardown_server),
        cmocka_unit_test(test_serve_wildcards),
    };
    return cmocka_run_group_tests(tests, test_wait_rx_stamps, NULL);
}
