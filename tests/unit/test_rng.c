/* Unit tests for the core PRNG (src/core/rng.c): known answers for xoshiro256** and
 * the splitmix64 seeding, determinism by seed, and the range and spread of the uniform
 * doubles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

/* xoshiro256** from the state {1, 2, 3, 4}: the first outputs published with the
 * reference implementation. */
static void test_known_answer_state(void **state)
{
    (void)state;
    struct core_rng r = {{1, 2, 3, 4}};
    static const uint64_t want[] = {
        UINT64_C(11520),
        UINT64_C(0),
        UINT64_C(1509978240),
        UINT64_C(1215971899390074240),
        UINT64_C(1216172134540287360),
        UINT64_C(607988272756665600),
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(core_rng_next(&r), want[i]);
    }
}

/* Seed 0 goes through splitmix64, whose first four outputs from 0 are well known. */
static void test_seed_zero_splitmix(void **state)
{
    (void)state;
    struct core_rng r;

    core_rng_seed(&r, 0);
    assert_int_equal(r.s[0], UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(r.s[1], UINT64_C(0x6e789e6aa1b965f4));
    assert_int_equal(r.s[2], UINT64_C(0x06c45d188009454f));
    assert_int_equal(r.s[3], UINT64_C(0xf88bb8a8724c81ec));
    assert_int_equal(core_rng_next(&r), UINT64_C(0x99ec5f36cb75f2b4));
    assert_int_equal(core_rng_next(&r), UINT64_C(0xbf6e1f784956452a));
    assert_int_equal(core_rng_next(&r), UINT64_C(0x1a5f849d4933e6e0));
}

static void test_seed_12345(void **state)
{
    (void)state;
    struct core_rng r;

    core_rng_seed(&r, 12345);
    assert_int_equal(core_rng_next(&r), UINT64_C(0xbe6a36374160d49b));
    assert_int_equal(core_rng_next(&r), UINT64_C(0x214aaa0637a688c6));
    assert_int_equal(core_rng_next(&r), UINT64_C(0xf69d16de9954d388));
}

static void test_same_seed_same_sequence(void **state)
{
    (void)state;
    struct core_rng a, b, c;

    core_rng_seed(&a, 42);
    core_rng_seed(&b, 42);
    core_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = core_rng_next(&a);
        assert_int_equal(x, core_rng_next(&b));
        differ += x != core_rng_next(&c);
    }
    assert_true(differ > 990);
}

/* Reseeding restarts the sequence: the state is all in the struct. */
static void test_reseed_restarts(void **state)
{
    (void)state;
    struct core_rng r;
    uint64_t first[8];

    core_rng_seed(&r, 7);
    for (int i = 0; i < 8; i++) {
        first[i] = core_rng_next(&r);
    }
    core_rng_seed(&r, 7);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(core_rng_next(&r), first[i]);
    }
}

static void test_uniform_range_and_spread(void **state)
{
    (void)state;
    struct core_rng r;
    enum { N = 200000, BINS = 16 };
    int bins[BINS] = {0};
    double sum = 0.0;

    core_rng_seed(&r, 99);
    for (int i = 0; i < N; i++) {
        double u = core_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        bins[(int)(u * BINS)]++;
    }
    double mean = sum / N;
    assert_true(mean > 0.495 && mean < 0.505);
    /* Each bin expects 12500 with a standard deviation near 108: 6 sigma bounds. */
    for (int i = 0; i < BINS; i++) {
        assert_true(bins[i] > 12500 - 650 && bins[i] < 12500 + 650);
    }
}

/* Every output bit is set about half of the time. */
static void test_bit_balance(void **state)
{
    (void)state;
    struct core_rng r;
    enum { N = 20000 };
    int ones[64] = {0};

    core_rng_seed(&r, 2024);
    for (int i = 0; i < N; i++) {
        uint64_t x = core_rng_next(&r);
        for (int b = 0; b < 64; b++) {
            ones[b] += (int)((x >> b) & 1);
        }
    }
    /* Standard deviation 71: 6 sigma is about 425. */
    for (int b = 0; b < 64; b++) {
        assert_true(ones[b] > N / 2 - 425 && ones[b] < N / 2 + 425);
    }
}

/* The uniform double is the top 53 bits of the next output times 2^-53: from the state
 * {1, 2, 3, 4} the outputs 11520 and 0 give 5 * 2^-53 and 0. */
static void test_uniform_scaling(void **state)
{
    (void)state;
    struct core_rng r = {{1, 2, 3, 4}};

    assert_true(core_rng_uniform(&r) == 5.0 * 0x1.0p-53);
    assert_true(core_rng_uniform(&r) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer_state), cmocka_unit_test(test_seed_zero_splitmix),
        cmocka_unit_test(test_seed_12345),         cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_reseed_restarts),    cmocka_unit_test(test_uniform_range_and_spread),
        cmocka_unit_test(test_bit_balance),        cmocka_unit_test(test_uniform_scaling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
