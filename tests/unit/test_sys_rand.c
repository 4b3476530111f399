/* Unit tests for src/sys/sys_rand.c: buffers are filled completely (every byte position
 * takes many values), two draws differ, large and empty requests work, and the 64-bit
 * seed reports success through its error argument. A test of a random source can only
 * reject gross failures; each check below fails by chance with probability 2^-64 or
 * less. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sys/sys_rand.h"

static void test_fills_every_byte(void **state)
{
    (void)state;
    /* 64 draws of 32 bytes, each starting from a zeroed buffer: a byte position that
     * stays 0 in all of them (probability 2^-512) was never written. */
    uint8_t seen_nonzero[32] = {0};
    uint8_t buf[32];

    for (int i = 0; i < 64; i++) {
        memset(buf, 0, sizeof(buf));
        assert_int_equal(sys_rand_bytes(buf, sizeof(buf)), 0);
        for (size_t k = 0; k < sizeof(buf); k++) {
            seen_nonzero[k] |= buf[k] != 0;
        }
    }
    for (size_t k = 0; k < sizeof(buf); k++) {
        assert_int_equal(seen_nonzero[k], 1);
    }
}

static void test_draws_differ(void **state)
{
    (void)state;
    uint8_t a[32];
    uint8_t b[32];

    assert_int_equal(sys_rand_bytes(a, sizeof(a)), 0);
    assert_int_equal(sys_rand_bytes(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
}

/* A 1 MiB request is written to its very end; an empty one writes nothing. */
static void test_large_and_empty(void **state)
{
    (void)state;
    const size_t len = 1u << 20;
    uint8_t *big = test_calloc(1, len);
    uint8_t guard = 0xa5;
    size_t zero_run = 0;
    size_t longest = 0;

    assert_non_null(big);
    assert_int_equal(sys_rand_bytes(big, len), 0);
    for (size_t i = 0; i < len; i++) {
        zero_run = big[i] == 0 ? zero_run + 1 : 0;
        longest = zero_run > longest ? zero_run : longest;
    }
    /* 16 zero bytes in a row somewhere in 1 MiB: about 2^-108. The tail was written. */
    assert_true(longest < 16);
    test_free(big);
    assert_int_equal(sys_rand_bytes(&guard, 0), 0);
    assert_int_equal(guard, 0xa5);
}

static void test_u64(void **state)
{
    (void)state;
    int err = 12345;
    uint64_t a = sys_rand_u64(&err);

    assert_int_equal(err, 0);
    uint64_t b = sys_rand_u64(NULL);
    uint64_t c = sys_rand_u64(&err);
    assert_int_equal(err, 0);
    /* Two equal 64-bit draws: 2^-64 each. */
    assert_true(a != b);
    assert_true(b != c);
    /* All 64 bits are random: over 16 draws each byte is nonzero somewhere (a byte that
     * stays zero throughout: 2^-128). */
    uint8_t seen[8] = {0};
    for (int i = 0; i < 16; i++) {
        uint64_t v = sys_rand_u64(&err);
        assert_int_equal(err, 0);
        for (int k = 0; k < 8; k++) {
            seen[k] |= (uint8_t)(v >> (8 * k)) != 0;
        }
    }
    for (int k = 0; k < 8; k++) {
        assert_int_equal(seen[k], 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fills_every_byte),
        cmocka_unit_test(test_draws_differ),
        cmocka_unit_test(test_large_and_empty),
        cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
