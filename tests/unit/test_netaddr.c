/* Unit tests for src/daemon/netaddr.c: sockaddr_in/sockaddr_in6 <-> struct core_addr
 * with ports, IPv4-mapped IPv6 turned into IPv4 (core.h), unknown families and short
 * lengths rejected with the output cleared, round trips, and the text form for logs.
 * Expected bytes are written out by hand, never produced by the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "test_net.h"

#include "daemon/netaddr.h"



/* A core_addr full of 0xa5 so that a field left unwritten shows. */
static void poison(struct core_addr *a)
{
    memset(a, 0xa5, sizeof(*a));
}

static void test_from_in(void **state)
{
    (void)state;
    struct sockaddr_in in = test_sockaddr4("198.18.3.4", 40123);
    struct core_addr a;
    const uint8_t want[16] = {198, 18, 3, 4};

    poison(&a);
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a));
    assert_int_equal(a.family, CORE_AF_INET);
    assert_int_equal(a.port, 40123);
    /* Bytes 4..15 of an IPv4 address are zero, so core_addr values compare with memcmp. */
    assert_memory_equal(a.bytes, want, 16);
}

static void test_from_in_port_byte_order(void **state)
{
    (void)state;
    struct sockaddr_in in = test_sockaddr4("198.19.255.255", 0);
    struct core_addr a;

    /* 0x0102 on the wire is 258 in host order, whatever the host's endianness. */
    ((uint8_t *)&in.sin_port)[0] = 0x01;
    ((uint8_t *)&in.sin_port)[1] = 0x02;
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a));
    assert_int_equal(a.port, 258);
    assert_int_equal(a.bytes[0], 198);
    assert_int_equal(a.bytes[3], 255);
}

static void test_from_in6(void **state)
{
    (void)state;
    struct sockaddr_in6 in6 = test_sockaddr6("2001:db8::12:3456", 123);
    struct core_addr a;
    const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56};

    poison(&a);
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a));
    assert_int_equal(a.family, CORE_AF_INET6);
    assert_int_equal(a.port, 123);
    assert_memory_equal(a.bytes, want, 16);
}

static void test_from_v4_mapped_is_ipv4(void **state)
{
    (void)state;
    struct sockaddr_in6 in6 = test_sockaddr6("::ffff:198.18.7.9", 65535);
    struct core_addr a;
    const uint8_t want[16] = {198, 18, 7, 9};

    poison(&a);
    assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a));
    assert_int_equal(a.family, CORE_AF_INET);
    assert_int_equal(a.port, 65535);
    assert_memory_equal(a.bytes, want, 16);
}

/* ::198.18.7.9 (IPv4-compatible, deprecated) and 64:ff9b::/96 are not mapped addresses:
 * they stay IPv6. */
static void test_from_not_mapped_stays_ipv6(void **state)
{
    (void)state;
    const char *texts[] = {"::198.18.7.9", "64:ff9b::c612:709", "::fffe:c612:709", "::1"};
    struct core_addr a;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct sockaddr_in6 in6 = test_sockaddr6(texts[i], 1);
        assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a));
        assert_int_equal(a.family, CORE_AF_INET6);
        assert_memory_equal(a.bytes, &in6.sin6_addr, 16);
    }
}

static void test_from_unknown_family(void **state)
{
    (void)state;
    struct sockaddr_un un;
    struct sockaddr_storage ss;
    struct core_addr a;
    const uint8_t zero[16] = {0};

    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/nonexistent");
    poison(&a);
    assert_false(netaddr_from_sockaddr((struct sockaddr *)&un, sizeof(un), &a));
    assert_int_equal(a.family, CORE_AF_NONE);
    assert_int_equal(a.port, 0);
    assert_memory_equal(a.bytes, zero, 16);

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    poison(&a);
    assert_false(netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(ss), &a));
    assert_int_equal(a.family, CORE_AF_NONE);
}

static void test_from_short_length(void **state)
{
    (void)state;
    struct sockaddr_in in = test_sockaddr4("198.18.0.1", 123);
    struct sockaddr_in6 in6 = test_sockaddr6("2001:db8::1", 123);
    struct core_addr a;

    poison(&a);
    assert_false(netaddr_from_sockaddr((struct sockaddr *)&in, sizeof(in) - 1, &a));
    assert_int_equal(a.family, CORE_AF_NONE);
    assert_int_equal(a.port, 0);
    poison(&a);
    /* A sockaddr_in's length is too short for an AF_INET6 address. */
    assert_false(
        netaddr_from_sockaddr((struct sockaddr *)&in6, (socklen_t)sizeof(struct sockaddr_in), &a));
    assert_int_equal(a.family, CORE_AF_NONE);
    poison(&a);
    assert_false(netaddr_from_sockaddr((struct sockaddr *)&in, 0, &a));
    assert_int_equal(a.family, CORE_AF_NONE);
}

static void test_to_in(void **state)
{
    (void)state;
    struct core_addr a;
    struct sockaddr_storage ss;
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    const uint8_t ip[4] = {198, 18, 200, 1};

    memset(&a, 0, sizeof(a));
    a.family = CORE_AF_INET;
    memcpy(a.bytes, ip, 4);
    a.port = 999; /* the port argument wins over a.port */
    memset(&ss, 0x5a, sizeof(ss));
    assert_int_equal(netaddr_to_sockaddr(&a, 0x1234, &ss), sizeof(struct sockaddr_in));
    assert_int_equal(in->sin_family, AF_INET);
    assert_int_equal(((const uint8_t *)&in->sin_port)[0], 0x12);
    assert_int_equal(((const uint8_t *)&in->sin_port)[1], 0x34);
    assert_memory_equal(&in->sin_addr, ip, 4);
    for (size_t i = 0; i < sizeof(in->sin_zero); i++) {
        assert_int_equal(in->sin_zero[i], 0);
    }
}

static void test_to_in6(void **state)
{
    (void)state;
    struct core_addr a;
    struct sockaddr_storage ss;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    const uint8_t ip[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7b};

    memset(&a, 0, sizeof(a));
    a.family = CORE_AF_INET6;
    memcpy(a.bytes, ip, 16);
    memset(&ss, 0x5a, sizeof(ss));
    assert_int_equal(netaddr_to_sockaddr(&a, 123, &ss), sizeof(struct sockaddr_in6));
    assert_int_equal(in6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(in6->sin6_port), 123);
    assert_memory_equal(&in6->sin6_addr, ip, 16);
    assert_int_equal(in6->sin6_flowinfo, 0);
    assert_int_equal(in6->sin6_scope_id, 0);
}

static void test_to_unknown_family(void **state)
{
    (void)state;
    struct core_addr a;
    struct sockaddr_storage ss;

    memset(&a, 0, sizeof(a));
    assert_int_equal(netaddr_to_sockaddr(&a, 123, &ss), 0);
    a.family = 5;
    assert_int_equal(netaddr_to_sockaddr(&a, 123, &ss), 0);
    a.family = AF_INET; /* the socket constant (2) is not a core family */
    assert_int_equal(netaddr_to_sockaddr(&a, 123, &ss), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *v4[] = {"0.0.0.0", "127.0.0.1", "198.18.0.1", "198.19.255.254", "255.255.255.255"};
    const char *v6[] = {"::", "::1", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
                        "fe80::1"};
    const uint16_t ports[] = {0, 1, 123, 32768, 65535};
    struct core_addr a;
    struct core_addr b;
    struct sockaddr_storage ss;

    for (size_t i = 0; i < 5; i++) {
        struct sockaddr_in in = test_sockaddr4(v4[i], ports[i]);
        struct sockaddr_in6 in6 = test_sockaddr6(v6[i], ports[4 - i]);

        assert_true(netaddr_from_sockaddr((struct sockaddr *)&in, sizeof(in), &a));
        assert_int_equal(netaddr_to_sockaddr(&a, a.port, &ss), sizeof(in));
        assert_memory_equal(&ss, &in, sizeof(in));
        assert_true(netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(in), &b));
        assert_memory_equal(&a, &b, sizeof(a));

        assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a));
        assert_int_equal(netaddr_to_sockaddr(&a, a.port, &ss), sizeof(in6));
        assert_memory_equal(&ss, &in6, sizeof(in6));
        assert_true(netaddr_from_sockaddr((struct sockaddr *)&ss, sizeof(in6), &b));
        assert_memory_equal(&a, &b, sizeof(a));
    }
}

/* A mapped address comes back as a plain sockaddr_in. */
static void test_round_trip_mapped(void **state)
{
    (void)state;
    struct sockaddr_in6 in6 = test_sockaddr6("::ffff:127.0.0.1", 4242);
    struct sockaddr_in want = test_sockaddr4("127.0.0.1", 4242);
    struct sockaddr_storage ss;
    struct core_addr a;

    assert_true(netaddr_from_sockaddr((struct sockaddr *)&in6, sizeof(in6), &a));
    assert_int_equal(netaddr_to_sockaddr(&a, a.port, &ss), sizeof(want));
    assert_memory_equal(&ss, &want, sizeof(want));
}

static void test_format(void **state)
{
    (void)state;
    struct sockaddr_in in = test_sockaddr4("198.18.0.1", 123);
    struct sockaddr_in6 in6 = test_sockaddr6("2001:db8::1", 65535);
    struct sockaddr_in6 mapped = test_sockaddr6("::ffff:198.18.0.1", 0);
    struct sockaddr_storage ss;
    char buf[NETADDR_TEXT_LEN];

    netaddr_format((struct sockaddr *)&in, buf, sizeof(buf));
    assert_string_equal(buf, "198.18.0.1:123");
    netaddr_format((struct sockaddr *)&in6, buf, sizeof(buf));
    assert_string_equal(buf, "[2001:db8::1]:65535");
    netaddr_format((struct sockaddr *)&mapped, buf, sizeof(buf));
    assert_string_equal(buf, "[::ffff:198.18.0.1]:0");
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    netaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
    assert_string_equal(buf, "?");
}

/* The longest IPv6 text with the longest port fits NETADDR_TEXT_LEN. */
static void test_format_longest(void **state)
{
    (void)state;
    struct sockaddr_in6 in6 = test_sockaddr6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
    char buf[NETADDR_TEXT_LEN];
    const char *want = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535";

    netaddr_format((struct sockaddr *)&in6, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_true(strlen(want) < NETADDR_TEXT_LEN);
}

/* A small buffer is cut and stays terminated; cap 0 writes nothing. */
static void test_format_small_buffer(void **state)
{
    (void)state;
    struct sockaddr_in in = test_sockaddr4("198.18.0.1", 123);
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    netaddr_format((struct sockaddr *)&in, buf, 6);
    assert_string_equal(buf, "198.1");
    assert_int_equal(buf[6], 'x');
    memset(buf, 'x', sizeof(buf));
    netaddr_format((struct sockaddr *)&in, buf, 0);
    assert_int_equal(buf[0], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_in),
        cmocka_unit_test(test_from_in_port_byte_order),
        cmocka_unit_test(test_from_in6),
        cmocka_unit_test(test_from_v4_mapped_is_ipv4),
        cmocka_unit_test(test_from_not_mapped_stays_ipv6),
        cmocka_unit_test(test_from_unknown_family),
        cmocka_unit_test(test_from_short_length),
        cmocka_unit_test(test_to_in),
        cmocka_unit_test(test_to_in6),
        cmocka_unit_test(test_to_unknown_family),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_mapped),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_longest),
        cmocka_unit_test(test_format_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
