/* Unit tests for the rate limiter (src/core/rlim.c): SipHash vectors, burst and steady
 * rates, client keying by prefix, a small table under a flood of distinct addresses,
 * the KoD and leak fractions, ntpd's minimum spacing and monotonic time going back.
 * Addresses come from 198.18.0.0/15 and 2001:db8::/32. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rlim.h"

#define S(x)  ((int64_t)(x)*INT64_C(1000000000))
#define MS(x) ((int64_t)(x)*INT64_C(1000000))
#define GUARD 4

static struct rlim_entry table[4096 + GUARD];

static struct core_addr v4(uint32_t a)
{
    struct core_addr x;
    memset(&x, 0, sizeof(x));
    x.family = CORE_AF_INET;
    x.bytes[0] = (uint8_t)(a >> 24);
    x.bytes[1] = (uint8_t)(a >> 16);
    x.bytes[2] = (uint8_t)(a >> 8);
    x.bytes[3] = (uint8_t)a;
    return x;
}

/* The i-th address of 198.18.0.0/15 (i < 131072). */
static struct core_addr test_v4(uint32_t i)
{
    return v4(0xc6120000u + i);
}

/* 2001:db8:<g2>:<g3>::<low> with the last 64 bits set from low. */
static struct core_addr v6(uint16_t g2, uint16_t g3, uint64_t low)
{
    struct core_addr x;
    memset(&x, 0, sizeof(x));
    x.family = CORE_AF_INET6;
    x.bytes[0] = 0x20;
    x.bytes[1] = 0x01;
    x.bytes[2] = 0x0d;
    x.bytes[3] = 0xb8;
    x.bytes[4] = (uint8_t)(g2 >> 8);
    x.bytes[5] = (uint8_t)g2;
    x.bytes[6] = (uint8_t)(g3 >> 8);
    x.bytes[7] = (uint8_t)g3;
    for (int i = 0; i < 8; i++) {
        x.bytes[8 + i] = (uint8_t)(low >> (56 - 8 * i));
    }
    return x;
}

/* Limiter with chrony's defaults but no leak and no KoD unless the test asks. */
static void setup(struct rlim *r, size_t n, int leak_log2, int kod_log2)
{
    struct rlim_params p;

    rlim_params_default(&p);
    p.leak_log2 = leak_log2;
    p.kod_log2 = kod_log2;
    memset(table, 0xa5, sizeof(table));
    rlim_init(r, &p, table, n, 12345);
}

static void assert_guard_intact(size_t n)
{
    const uint8_t *g = (const uint8_t *)&table[n];
    for (size_t i = 0; i < GUARD * sizeof(table[0]); i++) {
        assert_int_equal(g[i], 0xa5);
    }
}

static enum rlim_verdict check(struct rlim *r, struct core_addr a, int64_t t)
{
    return rlim_check(r, &a, t);
}

/* Published SipHash-2-4 vectors: key 00..0f, message 00..len-1. */
static void test_siphash_vectors(void **state)
{
    (void)state;
    const uint64_t key[2] = {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};
    uint8_t msg[16];
    static const struct {
        size_t len;
        uint64_t want;
    } vec[] = {
        {0, UINT64_C(0x726fdb47dd0e0e31)}, {1, UINT64_C(0x74f839c593dc67fd)},
        {7, UINT64_C(0xab0200f58b01d137)}, {8, UINT64_C(0x93f5f5799a932462)},
        {9, UINT64_C(0x9e0082df0ba9e4b0)}, {15, UINT64_C(0xa129ca6149be45e5)},
    };

    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t)i;
    }
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        assert_int_equal(rlim_siphash24(key, msg, vec[i].len), vec[i].want);
    }
}

static void test_defaults(void **state)
{
    (void)state;
    struct rlim_params p;

    rlim_params_default(&p);
    assert_int_equal(p.interval_log2, 3);
    assert_int_equal(p.burst, 8);
    assert_int_equal(p.leak_log2, 2);
    assert_int_equal(p.kod_log2, 0);
    assert_true(p.min_spacing == 0.0);
    assert_int_equal(p.prefix_v4, 32);
    assert_int_equal(p.prefix_v6, 64);
}

static void test_burst_then_limited(void **state)
{
    (void)state;
    struct rlim r;

    setup(&r, 256, 0, 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(1), S(100)), RLIM_PASS);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(check(&r, test_v4(1), S(100)), RLIM_DROP);
    }
    /* Another client is unaffected. */
    assert_int_equal(check(&r, test_v4(2), S(100)), RLIM_PASS);
    /* One interval later exactly one more token is in hand. */
    assert_int_equal(check(&r, test_v4(1), S(108)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(1), S(108)), RLIM_DROP);
    /* After burst * interval of silence the whole burst is back, and no more. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(1), S(1000)), RLIM_PASS);
    }
    assert_int_equal(check(&r, test_v4(1), S(1000)), RLIM_DROP);
    assert_int_equal(r.clients_seen, 2);
    assert_guard_intact(256);
}

static void test_steady_rate_passes_forever(void **state)
{
    (void)state;
    struct rlim r;

    setup(&r, 256, 0, 0);
    /* Burst used up at once, then one request per interval for about 9 days. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(3), 0), RLIM_PASS);
    }
    for (int64_t k = 1; k <= 100000; k++) {
        assert_int_equal(check(&r, test_v4(3), S(8) * k), RLIM_PASS);
    }
    /* A fresh client at the steady rate never touches its burst. */
    for (int64_t k = 0; k < 1000; k++) {
        assert_int_equal(check(&r, test_v4(4), S(8) * k + 5), RLIM_PASS);
    }
}

/* Slightly faster than the interval: the burst absorbs it for a while, then about
 * 7.9/8 of the requests pass. No fraction of a token is lost between requests. */
static void test_slightly_too_fast(void **state)
{
    (void)state;
    struct rlim r;
    int passed = 0;
    int first_limited = -1;

    setup(&r, 256, 0, 0);
    for (int k = 0; k < 80000; k++) {
        if (check(&r, test_v4(5), MS(7900) * k) == RLIM_PASS) {
            passed++;
        } else if (first_limited < 0) {
            first_limited = k;
        }
    }
    /* Owed time grows by exactly 0.1 s a request: the 56 s of slack left after the
     * first request runs out after request 560. */
    assert_int_equal(first_limited, 561);
    int want = (int)(80000.0 * 7.9 / 8.0);
    assert_true(passed >= want && passed <= want + 10);
}

/* interval -4: one request every 62.5 ms is sustained exactly. */
static void test_subsecond_interval(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;

    rlim_params_default(&p);
    p.interval_log2 = -4;
    p.burst = 1;
    p.leak_log2 = 0;
    rlim_init(&r, &p, table, 64, 1);
    for (int64_t k = 0; k < 10000; k++) {
        assert_int_equal(check(&r, test_v4(6), k * 62500000), RLIM_PASS);
    }
    assert_int_equal(check(&r, test_v4(6), 9999 * INT64_C(62500000) + 62499999), RLIM_DROP);
}

static void test_ipv6_same_64_shares_entry(void **state)
{
    (void)state;
    struct rlim r;

    setup(&r, 256, 0, 0);
    for (int i = 0; i < 8; i++) {
        /* Eight different interface identifiers in one /64. */
        assert_int_equal(check(&r, v6(1, 2, (uint64_t)i * 0x1111), S(10)), RLIM_PASS);
    }
    assert_int_equal(check(&r, v6(1, 2, UINT64_MAX), S(10)), RLIM_DROP);
    assert_int_equal(r.clients_seen, 1);
    /* The neighbouring /64s are other clients. */
    assert_int_equal(check(&r, v6(1, 3, 1), S(10)), RLIM_PASS);
    assert_int_equal(check(&r, v6(1, 1, 1), S(10)), RLIM_PASS);
    assert_int_equal(check(&r, v6(2, 2, 1), S(10)), RLIM_PASS);
    assert_int_equal(r.clients_seen, 4);
}

static void test_prefix_lengths_from_params(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;

    rlim_params_default(&p);
    p.leak_log2 = 0;
    p.prefix_v4 = 24;
    p.prefix_v6 = 128;
    rlim_init(&r, &p, table, 256, 9);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(0x100 + (uint32_t)i), S(1)), RLIM_PASS);
    }
    /* 198.18.1.200 is in the same /24 as 198.18.1.0-7. */
    assert_int_equal(check(&r, test_v4(0x1c8), S(1)), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(0x200), S(1)), RLIM_PASS);
    /* /128: every IPv6 address is its own client. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, v6(1, 2, 7), S(1)), RLIM_PASS);
    }
    assert_int_equal(check(&r, v6(1, 2, 7), S(1)), RLIM_DROP);
    assert_int_equal(check(&r, v6(1, 2, 8), S(1)), RLIM_PASS);
}

/* The IPv4 /32 default separates neighbours; equal bytes in the other family, or a
 * different address family, never share an entry. */
static void test_v4_keys_and_families(void **state)
{
    (void)state;
    struct rlim r;
    struct core_addr a4 = test_v4(7);
    struct core_addr a6 = a4;
    struct core_addr none;

    a6.family = CORE_AF_INET6;
    memset(&none, 0, sizeof(none));
    setup(&r, 256, 0, 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, a4, S(1)), RLIM_PASS);
    }
    assert_int_equal(check(&r, a4, S(1)), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(8), S(1)), RLIM_PASS);
    assert_int_equal(check(&r, a6, S(1)), RLIM_PASS);
    /* An address without a family is not tracked (and not limited). */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(check(&r, none, S(1)), RLIM_PASS);
    }
    assert_int_equal(r.clients_seen, 3);
}

/* 16 entries, 100000 one-off addresses at 100 per second, one abusive client that
 * starts with a burst and then keeps sending 1 request per second, one polite client at
 * 1 per interval: memory stays in the table, the abusive client keeps its state (so it
 * stays limited), the polite one is always served and early clients are forgotten. */
static void test_small_table_flood(void **state)
{
    (void)state;
    struct rlim r;
    const struct core_addr abusive = v4(0xc613ff01u); /* 198.19.255.1 */
    const struct core_addr polite = v4(0xc613ff02u);  /* 198.19.255.2 */
    int abusive_pass = 0;

    setup(&r, 16, 0, 0);
    for (int i = 0; i < 9; i++) {
        check(&r, test_v4(0), 0);
    }
    for (int i = 0; i < 10; i++) {
        abusive_pass += check(&r, abusive, 0) == RLIM_PASS;
    }
    assert_int_equal(abusive_pass, 8);
    for (uint32_t k = 1; k < 100000; k++) {
        int64_t t = MS(10) * k;
        check(&r, test_v4(k), t);
        if (k % 100 == 0) {
            abusive_pass += check(&r, abusive, t) == RLIM_PASS;
        }
        if (k % 800 == 0) {
            assert_int_equal(check(&r, polite, t), RLIM_PASS);
        }
    }
    /* After the burst at 0, one token every 8 s up to t = 999 s: 124 more. Forgetting
     * the client even once would have handed it another burst of 8. */
    assert_int_equal(abusive_pass, 8 + 124);
    assert_true(r.clients_seen >= 100000 + 2);

    uint64_t seen = r.clients_seen;
    assert_int_equal(check(&r, test_v4(0), S(1000)), RLIM_PASS);
    assert_int_equal(r.clients_seen, seen + 1);
    assert_guard_intact(16);
}

/* Plain LRU otherwise: a client seen more recently than the last 7 newcomers to its
 * bucket keeps its entry, so a client limited by min_spacing stays limited. */
static void test_small_table_recent_client_kept(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;
    const struct core_addr steady = v4(0xc613ff03u);
    int steady_pass = 0;

    rlim_params_default(&p);
    p.leak_log2 = 0;
    p.interval_log2 = -4;
    p.burst = 255;
    p.min_spacing = 3600.0;
    rlim_init(&r, &p, table, 16, 77);
    /* The steady client sends after every 4 one-offs (2 per bucket on average). */
    for (uint32_t k = 0; k < 100000; k++) {
        check(&r, test_v4(k), MS(k));
        if (k % 4 == 0) {
            steady_pass += check(&r, steady, MS(k)) == RLIM_PASS;
        }
    }
    /* Only its very first request passed: min_spacing limits all the others, and it was
     * never forgotten (which would have let a fresh entry through). */
    assert_int_equal(steady_pass, 1);
}

/* Under a flood a limited client outlives the one-off entries; once it has been quiet
 * for burst * interval it owes nothing and may be evicted like any other. */
static void test_quiet_client_becomes_evictable(void **state)
{
    (void)state;
    struct rlim r;

    setup(&r, 16, 0, 0);
    for (int i = 0; i < 9; i++) {
        check(&r, test_v4(0), 0);
    }
    for (uint32_t k = 1; k <= 1000; k++) {
        check(&r, test_v4(k), MS(1) * k);
    }
    uint64_t seen = r.clients_seen;
    assert_int_equal(check(&r, test_v4(0), MS(1001)), RLIM_DROP);
    assert_int_equal(r.clients_seen, seen);

    /* 65 s later it owes nothing: the next one-off addresses push it out. */
    for (uint32_t k = 1001; k <= 2000; k++) {
        check(&r, test_v4(k), S(66) + MS(1) * k);
    }
    seen = r.clients_seen;
    assert_int_equal(check(&r, test_v4(0), S(68)), RLIM_PASS);
    assert_int_equal(r.clients_seen, seen + 1);
}

static void test_kod_fraction_is_exact(void **state)
{
    (void)state;
    struct rlim r;
    int kod = 0, drop = 0;

    setup(&r, 256, 0, 2);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(9), S(5)), RLIM_PASS);
    }
    /* The very first limited request gets the KoD, then 1 in 4. */
    assert_int_equal(check(&r, test_v4(9), S(5)), RLIM_KOD);
    for (int i = 1; i < 4000; i++) {
        enum rlim_verdict v = check(&r, test_v4(9), S(5));
        assert_int_not_equal(v, RLIM_PASS);
        kod += v == RLIM_KOD;
        drop += v == RLIM_DROP;
    }
    assert_int_equal(kod, 999);
    assert_int_equal(drop, 3000);
}

/* KoDs are counted per client, and a served request restarts the count. */
static void test_kod_per_client(void **state)
{
    (void)state;
    struct rlim r;

    setup(&r, 256, 0, 3);
    for (int i = 0; i < 8; i++) {
        check(&r, test_v4(10), S(1));
        check(&r, test_v4(11), S(1));
    }
    assert_int_equal(check(&r, test_v4(10), S(1)), RLIM_KOD);
    assert_int_equal(check(&r, test_v4(11), S(1)), RLIM_KOD);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(check(&r, test_v4(10), S(1)), RLIM_DROP);
    }
    assert_int_equal(check(&r, test_v4(10), S(1)), RLIM_KOD);
    assert_int_equal(check(&r, test_v4(11), S(1)), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(10), S(9)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(10), S(9)), RLIM_KOD);
    /* A per-client override of 0 never sends KoD, whatever the params say. */
    struct core_addr c = test_v4(12);
    for (int i = 0; i < 100; i++) {
        assert_int_not_equal(rlim_check_kod(&r, &c, S(1), 0), RLIM_KOD);
    }
}

static void test_leak_fraction(void **state)
{
    (void)state;
    struct rlim r;
    int pass = 0;

    setup(&r, 256, 2, 0);
    for (int i = 0; i < 8; i++) {
        check(&r, test_v4(13), S(1));
    }
    for (int i = 0; i < 40000; i++) {
        enum rlim_verdict v = check(&r, test_v4(13), S(1));
        assert_int_not_equal(v, RLIM_KOD);
        pass += v == RLIM_PASS;
    }
    /* Binomial(40000, 1/4): mean 10000, standard deviation 87. */
    assert_true(pass > 10000 - 600 && pass < 10000 + 600);
}

/* KoD is chosen first; of the rest, the leak applies. */
static void test_kod_and_leak(void **state)
{
    (void)state;
    struct rlim r;
    int pass = 0, kod = 0, drop = 0;

    setup(&r, 256, 1, 1);
    for (int i = 0; i < 8; i++) {
        check(&r, test_v4(14), S(1));
    }
    for (int i = 0; i < 40000; i++) {
        enum rlim_verdict v = check(&r, test_v4(14), S(1));
        pass += v == RLIM_PASS;
        kod += v == RLIM_KOD;
        drop += v == RLIM_DROP;
    }
    assert_int_equal(kod, 20000);
    assert_true(pass > 10000 - 600 && pass < 10000 + 600);
    assert_int_equal(pass + drop, 20000);
}

/* ntpd's discard minimum: any request (limited ones too) closer than the minimum to
 * the previous one is limited, whatever the tokens. */
static void test_min_spacing(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;

    rlim_params_default(&p);
    p.interval_log2 = -4;
    p.burst = 255;
    p.leak_log2 = 0;
    p.min_spacing = 2.0;
    rlim_init(&r, &p, table, 256, 3);
    assert_int_equal(check(&r, test_v4(15), S(0)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(15), S(1)), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(15), S(2)), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(15), S(4)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(15), S(4) + MS(1999)), RLIM_DROP);
    for (int k = 0; k < 1000; k++) {
        assert_int_equal(check(&r, test_v4(15), S(10) + S(3) * k), RLIM_PASS);
    }
}

/* Monotonic readings that jump around never crash, never overflow, and never give more
 * than the burst at once. */
static void test_time_going_backwards(void **state)
{
    (void)state;
    struct rlim r;
    static const int64_t times[] = {
        INT64_MAX, INT64_MIN, 0, -1, INT64_MAX - 1, INT64_MIN + 1, S(-100), S(100),
    };

    setup(&r, 16, 0, 0);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(16), S(100)), RLIM_PASS);
    }
    /* Back in time: nothing earned. */
    assert_int_equal(check(&r, test_v4(16), S(50)), RLIM_DROP);
    /* Time runs on from the new reading. */
    assert_int_equal(check(&r, test_v4(16), S(58)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(16), S(58)), RLIM_DROP);
    /* A jump to the far future refills to the burst, never beyond. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(16), INT64_MAX), RLIM_PASS);
    }
    assert_int_equal(check(&r, test_v4(16), INT64_MAX), RLIM_DROP);
    assert_int_equal(check(&r, test_v4(16), INT64_MIN), RLIM_DROP);
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            enum rlim_verdict v = check(&r, test_v4((uint32_t)(round % 40)), times[i]);
            assert_true(v == RLIM_PASS || v == RLIM_DROP);
        }
    }
    for (size_t i = 0; i < 16; i++) {
        assert_true(table[i].backlog_ns >= 0 && table[i].backlog_ns <= S(64));
    }
    assert_guard_intact(16);
}

static void test_params_clamped(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;

    rlim_params_default(&p);
    p.burst = 0;
    p.leak_log2 = -3;
    p.interval_log2 = 99;
    p.min_spacing = -1.0;
    p.prefix_v4 = 200;
    rlim_init(&r, &p, table, 256, 1);
    assert_int_equal(r.p.burst, 1);
    assert_int_equal(r.p.leak_log2, 0);
    assert_int_equal(r.p.interval_log2, 12);
    assert_true(r.p.min_spacing == 0.0);
    assert_int_equal(r.p.prefix_v4, 32);
    assert_int_equal(check(&r, test_v4(17), S(1)), RLIM_PASS);
    assert_int_equal(check(&r, test_v4(17), S(1)), RLIM_DROP);

    p.burst = 1000;
    p.interval_log2 = -30;
    p.min_spacing = NAN;
    rlim_init(&r, &p, table, 256, 1);
    assert_int_equal(r.p.burst, 255);
    assert_int_equal(r.p.interval_log2, -4);
    assert_true(r.p.min_spacing == 0.0);
    for (int i = 0; i < 255; i++) {
        assert_int_equal(check(&r, test_v4(18), S(1)), RLIM_PASS);
    }
    assert_int_equal(check(&r, test_v4(18), S(1)), RLIM_DROP);
}

/* Sizes that are not a power of two use the power of two below; no table passes all. */
static void test_table_sizes(void **state)
{
    (void)state;
    struct rlim r;
    struct rlim_params p;

    rlim_params_default(&p);
    memset(table, 0xa5, sizeof(table));
    rlim_init(&r, &p, table, 20, 1);
    assert_int_equal(r.n, 16);
    for (uint32_t k = 0; k < 5000; k++) {
        check(&r, test_v4(k), MS(k));
    }
    assert_guard_intact(16);

    memset(table, 0xa5, sizeof(table));
    rlim_init(&r, &p, table, 4, 1);
    assert_int_equal(r.n, 4);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(check(&r, test_v4(1), 0), RLIM_PASS);
    }
    for (uint32_t k = 2; k < 1000; k++) {
        check(&r, test_v4(k), 0);
    }
    assert_guard_intact(4);

    rlim_init(&r, &p, NULL, 256, 1);
    rlim_init(&r, &p, table, 0, 1);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(check(&r, test_v4(1), 0), RLIM_PASS);
    }
    assert_int_equal(r.clients_seen, 0);
}

/* The seed keys the hash: two limiters with other seeds place clients differently. */
static void test_seed_keys_hash(void **state)
{
    (void)state;
    struct rlim a, b, c;
    struct rlim_params p;

    rlim_params_default(&p);
    rlim_init(&a, &p, table, 16, 1);
    rlim_init(&b, &p, table + 16, 16, 1);
    rlim_init(&c, &p, table + 32, 16, 2);
    assert_memory_equal(a.hash_key, b.hash_key, sizeof(a.hash_key));
    assert_memory_not_equal(a.hash_key, c.hash_key, sizeof(a.hash_key));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_burst_then_limited),
        cmocka_unit_test(test_steady_rate_passes_forever),
        cmocka_unit_test(test_slightly_too_fast),
        cmocka_unit_test(test_subsecond_interval),
        cmocka_unit_test(test_ipv6_same_64_shares_entry),
        cmocka_unit_test(test_prefix_lengths_from_params),
        cmocka_unit_test(test_v4_keys_and_families),
        cmocka_unit_test(test_small_table_flood),
        cmocka_unit_test(test_small_table_recent_client_kept),
        cmocka_unit_test(test_quiet_client_becomes_evictable),
        cmocka_unit_test(test_kod_fraction_is_exact),
        cmocka_unit_test(test_kod_per_client),
        cmocka_unit_test(test_leak_fraction),
        cmocka_unit_test(test_kod_and_leak),
        cmocka_unit_test(test_min_spacing),
        cmocka_unit_test(test_time_going_backwards),
        cmocka_unit_test(test_params_clamped),
        cmocka_unit_test(test_table_sizes),
        cmocka_unit_test(test_seed_keys_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
