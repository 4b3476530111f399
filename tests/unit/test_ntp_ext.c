/* Unit tests for src/ntp/ntp_ext: every branch of the RFC 7822 walk (fields, the end,
 * legacy MACs, crypto-NAK, each malformed length), sticky end states, and agreement
 * between the walk and ntp_ext_validate on random packets (seed printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ntp/ntp_ext.h"
#include "ntp/ntp_pkt.h"

#define PKT_MAX 2048

struct pkt {
    uint8_t b[PKT_MAX];
    size_t len;
};

static void pkt_init(struct pkt *p)
{
    memset(p->b, 0, sizeof p->b);
    p->b[0] = 0x23; /* NTPv4 client */
    p->len = NTP_HEADER_LEN;
}

/* Appends a field whose header claims wire_len, with body_len bytes of body after it. */
static void add_field_raw(struct pkt *p, uint16_t type, uint16_t wire_len, size_t body_len)
{
    assert_true(p->len + 4 + body_len <= PKT_MAX);
    p->b[p->len] = (uint8_t)(type >> 8);
    p->b[p->len + 1] = (uint8_t)type;
    p->b[p->len + 2] = (uint8_t)(wire_len >> 8);
    p->b[p->len + 3] = (uint8_t)wire_len;
    for (size_t i = 0; i < body_len; i++) {
        p->b[p->len + 4 + i] = (uint8_t)(0xa0 + i);
    }
    p->len += 4 + body_len;
}

static void add_field(struct pkt *p, uint16_t type, uint16_t len)
{
    add_field_raw(p, type, len, (size_t)len - 4);
}

static void add_mac(struct pkt *p, uint32_t key_id, size_t digest_len)
{
    assert_true(p->len + 4 + digest_len <= PKT_MAX);
    p->b[p->len] = (uint8_t)(key_id >> 24);
    p->b[p->len + 1] = (uint8_t)(key_id >> 16);
    p->b[p->len + 2] = (uint8_t)(key_id >> 8);
    p->b[p->len + 3] = (uint8_t)key_id;
    for (size_t i = 0; i < digest_len; i++) {
        p->b[p->len + 4 + i] = (uint8_t)(0x5c ^ i);
    }
    p->len += 4 + digest_len;
}

static void add_bytes(struct pkt *p, size_t n, uint8_t v)
{
    assert_true(p->len + n <= PKT_MAX);
    memset(p->b + p->len, v, n);
    p->len += n;
}

/* Walks p, expecting `nfields` fields and then `end`; returns the iterator for more
 * checks. The end state must repeat on further calls and match ntp_ext_validate. */
static struct ntp_ext_iter walk_expect(const struct pkt *p, size_t nfields,
                                       enum ntp_ext_status end)
{
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    ntp_ext_iter_init(&it, p->b, p->len);
    for (size_t i = 0; i < nfields; i++) {
        assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_FIELD);
    }
    assert_int_equal(ntp_ext_next(&it, &f), end);
    size_t pos = it.pos;
    assert_int_equal(ntp_ext_next(&it, &f), end);
    assert_int_equal(ntp_ext_next(&it, &f), end);
    assert_int_equal(it.pos, pos);
    assert_int_equal(ntp_ext_validate(p->b, p->len), end);
    return it;
}

static void test_header_only_ends(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    struct ntp_ext_iter it = walk_expect(&p, 0, NTP_EXT_END);
    size_t mac_len = 99;
    assert_int_equal(ntp_ext_mac(&it, &mac_len), 0);
    assert_int_equal(mac_len, 0);
}

static void test_shorter_than_header_malformed(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    for (size_t len = 0; len < NTP_HEADER_LEN; len++) {
        p.len = len;
        walk_expect(&p, 0, NTP_EXT_MALFORMED);
    }
    assert_int_equal(ntp_ext_validate(NULL, 100), NTP_EXT_MALFORMED);
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    ntp_ext_iter_init(&it, NULL, 0);
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_MALFORMED);
}

static void test_single_field(void **state)
{
    (void)state;
    struct pkt p;
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    pkt_init(&p);
    add_field(&p, 0x0104, 16); /* NTS unique identifier, minimal */
    ntp_ext_iter_init(&it, p.b, p.len);
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_FIELD);
    assert_int_equal(f.type, 0x0104);
    assert_int_equal(f.length, 16);
    assert_ptr_equal(f.value, p.b + NTP_HEADER_LEN + 4);
    assert_int_equal(f.value_len, 12);
    assert_int_equal(f.value[0], 0xa0);
    assert_int_equal(f.value[11], 0xab);
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_END);
    walk_expect(&p, 1, NTP_EXT_END);
}

static void test_long_nts_field(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    add_field(&p, 0x0204, 104); /* NTS cookie: RFC 8915 fields may be long */
    add_field(&p, 0x0404, 40);  /* NTS authenticator */
    walk_expect(&p, 2, NTP_EXT_END);
}

static void test_largest_field(void **state)
{
    (void)state;
    static uint8_t big[NTP_HEADER_LEN + 0xfffc];
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    memset(big, 0, sizeof big);
    big[0] = 0x23;
    big[NTP_HEADER_LEN + 2] = 0xff;
    big[NTP_HEADER_LEN + 3] = 0xfc;
    ntp_ext_iter_init(&it, big, sizeof big);
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_FIELD);
    assert_int_equal(f.length, 0xfffc);
    assert_int_equal(f.value_len, 0xfffc - 4);
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_END);
    /* one byte short of the claimed length */
    assert_int_equal(ntp_ext_validate(big, sizeof big - 1), NTP_EXT_MALFORMED);
}

static void test_length_zero_malformed(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    add_field_raw(&p, 0x0104, 0, 28); /* would loop forever if 0 were accepted */
    walk_expect(&p, 0, NTP_EXT_MALFORMED);
}

static void test_length_below_16_malformed(void **state)
{
    (void)state;
    static const uint16_t lens[] = {4, 8, 12};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct pkt p;
        pkt_init(&p);
        add_field_raw(&p, 0x0104, lens[i], 28);
        walk_expect(&p, 0, NTP_EXT_MALFORMED);
    }
}

static void test_length_not_multiple_of_4_malformed(void **state)
{
    (void)state;
    static const uint16_t lens[] = {17, 18, 19, 29, 30, 31, 33};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct pkt p;
        pkt_init(&p);
        add_field_raw(&p, 0x0104, lens[i], 40);
        walk_expect(&p, 0, NTP_EXT_MALFORMED);
    }
}

static void test_field_overruns_by_one_byte(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    add_field_raw(&p, 0x0104, 32, 27); /* 31 bytes present, 32 claimed */
    walk_expect(&p, 0, NTP_EXT_MALFORMED);
    pkt_init(&p);
    add_field_raw(&p, 0x0104, 32, 28); /* exactly enough */
    walk_expect(&p, 1, NTP_EXT_END);
    pkt_init(&p);
    add_field(&p, 0x0104, 16);
    add_field_raw(&p, 0x0204, 36, 28); /* second field overruns by 4 */
    walk_expect(&p, 1, NTP_EXT_MALFORMED);
}

static void test_trailing_garbage_malformed(void **state)
{
    (void)state;
    for (size_t tail = 1; tail < 16; tail++) {
        if (tail == 4) {
            continue; /* the crypto-NAK case, tested on its own */
        }
        struct pkt p;
        pkt_init(&p);
        add_field(&p, 0x0104, 28);
        add_bytes(&p, tail, 0);
        walk_expect(&p, 1, NTP_EXT_MALFORMED);
        pkt_init(&p);
        add_bytes(&p, tail, 0);
        walk_expect(&p, 0, NTP_EXT_MALFORMED);
    }
}

static void test_many_small_fields(void **state)
{
    (void)state;
    struct pkt p;
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    pkt_init(&p);
    for (uint16_t i = 0; i < 100; i++) {
        add_field(&p, (uint16_t)(0x1000 + i), 16);
    }
    ntp_ext_iter_init(&it, p.b, p.len);
    for (uint16_t i = 0; i < 100; i++) {
        assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_FIELD);
        assert_int_equal(f.type, 0x1000 + i);
        assert_ptr_equal(f.value, p.b + NTP_HEADER_LEN + 16u * i + 4);
    }
    assert_int_equal(ntp_ext_next(&it, &f), NTP_EXT_END);
    assert_int_equal(ntp_ext_validate(p.b, p.len), NTP_EXT_END);
}

static void test_mac_only(void **state)
{
    (void)state;
    static const size_t digests[] = {16, 20}; /* MD5, SHA-1 */
    for (size_t i = 0; i < 2; i++) {
        struct pkt p;
        pkt_init(&p);
        add_mac(&p, 42, digests[i]);
        struct ntp_ext_iter it = walk_expect(&p, 0, NTP_EXT_MAC);
        size_t mac_len = 0;
        assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN);
        assert_int_equal(mac_len, 4 + digests[i]);
    }
}

static void test_mac_whose_key_id_looks_like_a_field(void **state)
{
    (void)state;
    /* key 20 is 00 00 00 14: type 0, length 20, a field that would fill the remainder */
    struct pkt p;
    pkt_init(&p);
    add_mac(&p, 20, 16);
    walk_expect(&p, 0, NTP_EXT_MAC);
    pkt_init(&p);
    add_mac(&p, 16, 20); /* would read as a 16-byte field plus 8 bytes of garbage */
    walk_expect(&p, 0, NTP_EXT_MAC);
    pkt_init(&p);
    add_mac(&p, 24, 20);
    walk_expect(&p, 0, NTP_EXT_MAC);
}

static void test_mac_after_fields(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    add_field(&p, 0x0104, 16);
    add_field(&p, 0x0204, 28);
    add_mac(&p, 7, 20);
    struct ntp_ext_iter it = walk_expect(&p, 2, NTP_EXT_MAC);
    size_t mac_len = 0;
    assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN + 44);
    assert_int_equal(mac_len, 24);
    pkt_init(&p);
    add_field(&p, 0x0104, 16);
    add_mac(&p, 7, 16);
    it = walk_expect(&p, 1, NTP_EXT_MAC);
    assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN + 16);
    assert_int_equal(mac_len, 20);
}

static void test_other_mac_lengths_malformed(void **state)
{
    (void)state;
    /* 16-byte "MAC" (key id + 12): not a MAC and not a valid field with this key id */
    struct pkt p;
    pkt_init(&p);
    add_mac(&p, 0x12345678, 12);
    walk_expect(&p, 0, NTP_EXT_MALFORMED);
    /* a 36-byte SHA-256 style MAC cannot follow NTPv4 fields deterministically */
    pkt_init(&p);
    add_mac(&p, 0x00010001, 32);
    walk_expect(&p, 0, NTP_EXT_MALFORMED);
}

static void test_crypto_nak(void **state)
{
    (void)state;
    struct pkt p;
    pkt_init(&p);
    add_mac(&p, 0, 0);
    struct ntp_ext_iter it = walk_expect(&p, 0, NTP_EXT_MAC);
    size_t mac_len = 0;
    assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN);
    assert_int_equal(mac_len, 4);
    pkt_init(&p);
    add_field(&p, 0x0104, 28);
    add_mac(&p, 0, 0);
    it = walk_expect(&p, 1, NTP_EXT_MAC);
    assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN + 28);
    assert_int_equal(mac_len, 4);
    /* a 16-byte field + crypto-NAK leaves 20 bytes: by the RFC 5906 rule, one MAC */
    pkt_init(&p);
    add_field(&p, 0x0104, 16);
    add_mac(&p, 0, 0);
    it = walk_expect(&p, 0, NTP_EXT_MAC);
    assert_int_equal(ntp_ext_mac(&it, &mac_len), NTP_HEADER_LEN);
    assert_int_equal(mac_len, 20);
    pkt_init(&p);
    add_mac(&p, 1, 0); /* 4 bytes with a non-zero key id are no crypto-NAK */
    walk_expect(&p, 0, NTP_EXT_MALFORMED);
}

static void test_last_field_28(void **state)
{
    (void)state;
    /* 28 bytes after the header: a field (the RFC 7822 minimum for a last field) */
    struct pkt p;
    pkt_init(&p);
    add_field(&p, 0x0104, 28);
    walk_expect(&p, 1, NTP_EXT_END);
}

static void test_mac_query_in_other_states(void **state)
{
    (void)state;
    struct pkt p;
    struct ntp_ext_iter it;
    size_t mac_len = 1;
    pkt_init(&p);
    add_field(&p, 0x0104, 16);
    add_mac(&p, 3, 16);
    ntp_ext_iter_init(&it, p.b, p.len); /* before the walk reached the MAC */
    assert_int_equal(ntp_ext_mac(&it, &mac_len), 0);
    assert_int_equal(mac_len, 0);
    pkt_init(&p);
    add_bytes(&p, 3, 0);
    it = walk_expect(&p, 0, NTP_EXT_MALFORMED);
    mac_len = 1;
    assert_int_equal(ntp_ext_mac(&it, &mac_len), 0);
    assert_int_equal(mac_len, 0);
}

static void test_random_walk_agrees_with_validate(void **state)
{
    (void)state;
    const char *env = getenv("TSYNC_TEST_SEED");
    unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL);
    printf("test_ntp_ext: seed %u (TSYNC_TEST_SEED to replay)\n", seed);
    srand(seed);
    int counts[4] = {0};
    for (int n = 0; n < 20000; n++) {
        struct pkt p;
        pkt_init(&p);
        /* mostly plausible fields with random lengths, so every branch is reached */
        int nf = rand() % 4;
        for (int i = 0; i < nf; i++) {
            uint16_t wire = (uint16_t)(rand() % 8 == 0 ? rand() % 64 : 16 + 4 * (rand() % 6));
            size_t body = (size_t)(rand() % 8 == 0 ? rand() % 40 : (wire >= 4 ? wire - 4 : 0));
            if (p.len + 4 + body + 24 > PKT_MAX) {
                break;
            }
            add_field_raw(&p, (uint16_t)rand(), wire, body);
        }
        if (rand() % 3 == 0) {
            add_mac(&p, (uint32_t)rand() % 3, (size_t)(rand() % 2 ? 16 : rand() % 24));
        }
        struct ntp_ext_iter it;
        struct ntp_ext_field f;
        enum ntp_ext_status st;
        size_t steps = 0;
        ntp_ext_iter_init(&it, p.b, p.len);
        while ((st = ntp_ext_next(&it, &f)) == NTP_EXT_FIELD) {
            assert_true(f.value >= p.b + NTP_HEADER_LEN + 4);
            assert_true(f.value + f.value_len <= p.b + p.len);
            assert_true(++steps <= p.len / 16);
        }
        assert_int_equal(ntp_ext_validate(p.b, p.len), st);
        counts[st]++;
    }
    /* the generator reached every end state */
    assert_true(counts[NTP_EXT_END] > 0);
    assert_true(counts[NTP_EXT_MAC] > 0);
    assert_true(counts[NTP_EXT_MALFORMED] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_only_ends),
        cmocka_unit_test(test_shorter_than_header_malformed),
        cmocka_unit_test(test_single_field),
        cmocka_unit_test(test_long_nts_field),
        cmocka_unit_test(test_largest_field),
        cmocka_unit_test(test_length_zero_malformed),
        cmocka_unit_test(test_length_below_16_malformed),
        cmocka_unit_test(test_length_not_multiple_of_4_malformed),
        cmocka_unit_test(test_field_overruns_by_one_byte),
        cmocka_unit_test(test_trailing_garbage_malformed),
        cmocka_unit_test(test_many_small_fields),
        cmocka_unit_test(test_mac_only),
        cmocka_unit_test(test_mac_whose_key_id_looks_like_a_field),
        cmocka_unit_test(test_mac_after_fields),
        cmocka_unit_test(test_other_mac_lengths_malformed),
        cmocka_unit_test(test_crypto_nak),
        cmocka_unit_test(test_last_field_28),
        cmocka_unit_test(test_mac_query_in_other_states),
        cmocka_unit_test(test_random_walk_agrees_with_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
