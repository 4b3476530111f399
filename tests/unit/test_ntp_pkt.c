/* Unit tests for src/ntp/ntp_pkt: header decode against a hand-written byte vector,
 * encode/decode round trips for every version, mode and leap value, each rejection
 * reason, and the transmit-timestamp write of the two-phase send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ntp/ntp_pkt.h"

/* An NTPv4 server reply, written out field by field (RFC 5905 figure 8). */
static const uint8_t reply_v4[NTP_HEADER_LEN] = {
    0x24,                                           /* LI 0, VN 4, mode 4 */
    0x02,                                           /* stratum 2 */
    0x06,                                           /* poll 2^6 s */
    0xec,                                           /* precision 2^-20 s */
    0x00, 0x00, 0x1a, 0x2b,                         /* root delay 0x1a2b / 65536 s */
    0x00, 0x00, 0x03, 0xc4,                         /* root dispersion */
    0xc6, 0x12, 0x00, 0x07,                         /* refid 198.18.0.7 */
    0xec, 0x5a, 0x1b, 0x20, 0x11, 0x22, 0x33, 0x44, /* reference timestamp */
    0xec, 0x5a, 0x1b, 0x40, 0x55, 0x66, 0x77, 0x88, /* origin timestamp */
    0xec, 0x5a, 0x1b, 0x41, 0x01, 0x02, 0x03, 0x04, /* receive timestamp */
    0xec, 0x5a, 0x1b, 0x41, 0x0a, 0x0b, 0x0c, 0x0d, /* transmit timestamp */
};

static void assert_headers_equal(const struct ntp_header *a, const struct ntp_header *b)
{
    assert_int_equal(a->leap, b->leap);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->stratum, b->stratum);
    assert_int_equal(a->poll, b->poll);
    assert_int_equal(a->precision, b->precision);
    assert_int_equal(a->root_delay, b->root_delay);
    assert_int_equal(a->root_dispersion, b->root_dispersion);
    assert_int_equal(a->refid, b->refid);
    assert_int_equal(a->ref_ts, b->ref_ts);
    assert_int_equal(a->origin_ts, b->origin_ts);
    assert_int_equal(a->rx_ts, b->rx_ts);
    assert_int_equal(a->tx_ts, b->tx_ts);
}

static void test_decode_known_vector(void **state)
{
    (void)state;
    struct ntp_header h;
    assert_int_equal(ntp_header_decode(reply_v4, sizeof reply_v4, &h), NTP_DECODE_OK);
    assert_int_equal(h.leap, NTP_LEAP_NONE);
    assert_int_equal(h.version, 4);
    assert_int_equal(h.mode, NTP_MODE_SERVER);
    assert_int_equal(h.stratum, 2);
    assert_int_equal(h.poll, 6);
    assert_int_equal(h.precision, -20);
    assert_int_equal(h.root_delay, 0x00001a2bu);
    assert_int_equal(h.root_dispersion, 0x000003c4u);
    assert_int_equal(h.refid, 0xc6120007u);
    assert_int_equal(h.ref_ts, UINT64_C(0xec5a1b2011223344));
    assert_int_equal(h.origin_ts, UINT64_C(0xec5a1b4055667788));
    assert_int_equal(h.rx_ts, UINT64_C(0xec5a1b4101020304));
    assert_int_equal(h.tx_ts, UINT64_C(0xec5a1b410a0b0c0d));
}

static void test_encode_known_vector(void **state)
{
    (void)state;
    struct ntp_header h = {
        .leap = NTP_LEAP_NONE,
        .version = 4,
        .mode = NTP_MODE_SERVER,
        .stratum = 2,
        .poll = 6,
        .precision = -20,
        .root_delay = 0x1a2b,
        .root_dispersion = 0x3c4,
        .refid = 0xc6120007u,
        .ref_ts = UINT64_C(0xec5a1b2011223344),
        .origin_ts = UINT64_C(0xec5a1b4055667788),
        .rx_ts = UINT64_C(0xec5a1b4101020304),
        .tx_ts = UINT64_C(0xec5a1b410a0b0c0d),
    };
    uint8_t out[NTP_HEADER_LEN];
    memset(out, 0xa5, sizeof out);
    ntp_header_encode(&h, out);
    assert_memory_equal(out, reply_v4, NTP_HEADER_LEN);
}

static void test_decode_first_byte_variants(void **state)
{
    (void)state;
    static const struct {
        uint8_t lvm, leap, version, mode;
    } cases[] = {
        {0x0b, 0, 1, 3}, /* NTPv1 client request */
        {0x13, 0, 2, 3}, /* NTPv2 client request */
        {0x1b, 0, 3, 3}, /* NTPv3 client request (what SNTP tools send) */
        {0x23, 0, 4, 3}, /* NTPv4 client request */
        {0xe3, 3, 4, 3}, /* NTPv4 client, unsynchronised */
        {0xc8, 3, 1, 0}, /* NTPv1 mode 0: decoded as is, left to the caller */
        {0x5c, 1, 3, 4}, /* leap second insert announced by a v3 server */
        {0xa6, 2, 4, 6}, /* leap delete, mode 6 control */
        {0x27, 0, 4, 7}, /* mode 7 private */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[NTP_HEADER_LEN];
        struct ntp_header h;
        memcpy(buf, reply_v4, sizeof buf);
        buf[0] = cases[i].lvm;
        assert_int_equal(ntp_header_decode(buf, sizeof buf, &h), NTP_DECODE_OK);
        assert_int_equal(h.leap, cases[i].leap);
        assert_int_equal(h.version, cases[i].version);
        assert_int_equal(h.mode, cases[i].mode);
    }
}

static void test_round_trip_all_versions_modes(void **state)
{
    (void)state;
    static const int8_t signed_values[] = {-128, -20, -6, 0, 17, 127};
    for (uint8_t version = 1; version <= 4; version++) {
        for (uint8_t mode = 0; mode <= 7; mode++) {
            for (uint8_t leap = 0; leap <= 3; leap++) {
                int8_t sv = signed_values[(version + mode + leap) % 6];
                struct ntp_header h = {
                    .leap = leap, .version = version, .mode = mode,
                    .stratum = (uint8_t)(mode * 31 + leap), .poll = sv,
                    .precision = (int8_t)-sv - 1, .root_delay = 0x80000001u + mode,
                    .root_dispersion = 0xfffffffeu - leap, .refid = 0x52415445u,
                    .ref_ts = UINT64_C(0x0123456789abcdef) * version,
                    .origin_ts = UINT64_C(0xfedcba9876543210) + mode,
                    .rx_ts = UINT64_MAX - leap, .tx_ts = (uint64_t)1 << (version * 15),
                };
                uint8_t buf[NTP_HEADER_LEN];
                struct ntp_header back;
                ntp_header_encode(&h, buf);
                assert_int_equal(buf[0], leap << 6 | version << 3 | mode);
                assert_int_equal(ntp_header_decode(buf, sizeof buf, &back), NTP_DECODE_OK);
                assert_headers_equal(&h, &back);
            }
        }
    }
}

static void test_bytes_round_trip_random(void **state)
{
    (void)state;
    const char *env = getenv("TSYNC_TEST_SEED");
    unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL);
    printf("test_ntp_pkt: seed %u (TSYNC_TEST_SEED to replay)\n", seed);
    srand(seed);
    for (int i = 0; i < 20000; i++) {
        uint8_t buf[NTP_HEADER_LEN], out[NTP_HEADER_LEN];
        struct ntp_header h;
        for (size_t k = 0; k < sizeof buf; k++) {
            buf[k] = (uint8_t)rand();
        }
        enum ntp_decode_status st = ntp_header_decode(buf, sizeof buf, &h);
        unsigned version = (buf[0] >> 3) & 7u;
        assert_int_equal(st, version >= 1 && version <= 4 ? NTP_DECODE_OK
                                                          : NTP_DECODE_BAD_VERSION);
        if (st == NTP_DECODE_OK) {
            ntp_header_encode(&h, out);
            assert_memory_equal(out, buf, sizeof buf); /* decode keeps every bit */
        }
    }
}

static void test_reject_too_short(void **state)
{
    (void)state;
    struct ntp_header h, untouched;
    memset(&h, 0x5a, sizeof h);
    memcpy(&untouched, &h, sizeof h);
    assert_int_equal(ntp_header_decode(reply_v4, 0, &h), NTP_DECODE_TOO_SHORT);
    assert_int_equal(ntp_header_decode(reply_v4, 1, &h), NTP_DECODE_TOO_SHORT);
    assert_int_equal(ntp_header_decode(reply_v4, 47, &h), NTP_DECODE_TOO_SHORT);
    assert_int_equal(ntp_header_decode(NULL, 48, &h), NTP_DECODE_TOO_SHORT);
    assert_memory_equal(&h, &untouched, sizeof h); /* out written only on OK */
    assert_int_equal(ntp_header_decode(reply_v4, 48, &h), NTP_DECODE_OK);
}

static void test_reject_bad_version(void **state)
{
    (void)state;
    static const uint8_t bad_versions[] = {0, 5, 6, 7};
    for (size_t i = 0; i < sizeof bad_versions; i++) {
        uint8_t buf[NTP_HEADER_LEN];
        struct ntp_header h, untouched;
        memcpy(buf, reply_v4, sizeof buf);
        buf[0] = (uint8_t)(0xc0 | bad_versions[i] << 3 | 3);
        memset(&h, 0x5a, sizeof h);
        memcpy(&untouched, &h, sizeof h);
        assert_int_equal(ntp_header_decode(buf, sizeof buf, &h), NTP_DECODE_BAD_VERSION);
        assert_memory_equal(&h, &untouched, sizeof h);
    }
    /* a short packet is reported as short even when its version is also bad */
    uint8_t zero[NTP_HEADER_LEN] = {0};
    struct ntp_header h;
    assert_int_equal(ntp_header_decode(zero, 47, &h), NTP_DECODE_TOO_SHORT);
    assert_int_equal(ntp_header_decode(zero, 48, &h), NTP_DECODE_BAD_VERSION);
}

static void test_decode_longer_packet(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN + 24];
    struct ntp_header h;
    memcpy(buf, reply_v4, NTP_HEADER_LEN);
    memset(buf + NTP_HEADER_LEN, 0xff, 24); /* a MAC after the header is not the codec's */
    assert_int_equal(ntp_header_decode(buf, sizeof buf, &h), NTP_DECODE_OK);
    assert_int_equal(h.tx_ts, UINT64_C(0xec5a1b410a0b0c0d));
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(ntp_decode_status_name(NTP_DECODE_OK), "ok");
    assert_string_equal(ntp_decode_status_name(NTP_DECODE_TOO_SHORT), "too_short");
    assert_string_equal(ntp_decode_status_name(NTP_DECODE_BAD_VERSION), "bad_version");
    assert_string_equal(ntp_decode_status_name(NTP_DECODE_STATUS_COUNT), "unknown");
    assert_string_equal(ntp_decode_status_name((enum ntp_decode_status)99), "unknown");
}

static void test_encode_masks_out_of_range(void **state)
{
    (void)state;
    struct ntp_header h = {.leap = 0xff, .version = 0x0c, .mode = 0x0b};
    uint8_t buf[NTP_HEADER_LEN];
    ntp_header_encode(&h, buf);
    /* leap 3, version 4 (0x0c & 7), mode 3 (0x0b & 7): no spill between bit fields */
    assert_int_equal(buf[0], 0xe3);
}

static void test_finalize_writes_tx_at_40(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN + 20], expect[NTP_HEADER_LEN + 20];
    for (size_t i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    memcpy(expect, buf, sizeof buf);
    static const uint8_t tx_bytes[8] = {0xec, 0x5a, 0x1b, 0x41, 0xde, 0xad, 0xbe, 0xef};
    memcpy(expect + NTP_OFF_TX_TS, tx_bytes, 8);
    ntp_pkt_finalize(buf, sizeof buf, UINT64_C(0xec5a1b41deadbeef));
    assert_memory_equal(buf, expect, sizeof buf); /* network order, nothing else touched */

    struct ntp_header h;
    assert_int_equal(NTP_OFF_TX_TS, 40);
    buf[0] = 0x23;
    assert_int_equal(ntp_header_decode(buf, sizeof buf, &h), NTP_DECODE_OK);
    assert_int_equal(h.tx_ts, UINT64_C(0xec5a1b41deadbeef));
}

static void test_finalize_short_buffer_untouched(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN], expect[NTP_HEADER_LEN];
    memset(buf, 0x11, sizeof buf);
    memcpy(expect, buf, sizeof buf);
    ntp_pkt_finalize(buf, NTP_HEADER_LEN - 1, UINT64_MAX);
    assert_memory_equal(buf, expect, sizeof buf);
    ntp_pkt_finalize(NULL, 100, UINT64_MAX); /* must not crash */
    ntp_pkt_finalize(buf, NTP_HEADER_LEN, 0);
    assert_memory_equal(buf, expect, NTP_OFF_TX_TS);
    for (size_t i = NTP_OFF_TX_TS; i < NTP_HEADER_LEN; i++) {
        assert_int_equal(buf[i], 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_known_vector),
        cmocka_unit_test(test_encode_known_vector),
        cmocka_unit_test(test_decode_first_byte_variants),
        cmocka_unit_test(test_round_trip_all_versions_modes),
        cmocka_unit_test(test_bytes_round_trip_random),
        cmocka_unit_test(test_reject_too_short),
        cmocka_unit_test(test_reject_bad_version),
        cmocka_unit_test(test_decode_longer_packet),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_encode_masks_out_of_range),
        cmocka_unit_test(test_finalize_writes_tx_at_40),
        cmocka_unit_test(test_finalize_short_buffer_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
