/* Unit tests for src/sys/sys_clock.c: the realtime and monotonic readings against
 * clock_gettime, monotonic readings never going back, the ns -> log2 conversion at
 * exact boundaries, and a measured precision inside its documented range. Only reads
 * clocks; nothing here sets one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "sys/sys_clock.h"

#define NS_PER_S INT64_C(1000000000)

static int64_t gettime_ns(clockid_t id)
{
    struct timespec ts;

    assert_int_equal(clock_gettime(id, &ts), 0);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* 2^v seconds in ns, exact in a double (1e9 times a power of two). */
static double pow2_ns(int v)
{
    double x = 1e9;

    for (; v > 0; v--) {
        x *= 2.0;
    }
    for (; v < 0; v++) {
        x /= 2.0;
    }
    return x;
}

/* Bracketed by clock_gettime readings: before <= ours <= after (the realtime clock could
 * be stepped by someone else meanwhile, so allow a 1 s slack rather than exactness). */
static void test_realtime_matches_clock_gettime(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        int64_t before = gettime_ns(CLOCK_REALTIME);
        int64_t ours = sys_clock_realtime_ns();
        int64_t after = gettime_ns(CLOCK_REALTIME);
        assert_true(ours >= before - NS_PER_S);
        assert_true(ours <= after + NS_PER_S);
    }
    /* Some time after 2020-01-01 and before 2200: nanoseconds, not seconds or us. */
    int64_t now = sys_clock_realtime_ns();
    assert_true(now > INT64_C(1577836800) * NS_PER_S);
    assert_true(now < INT64_C(7258118400) * NS_PER_S);
}

static void test_monotonic_matches_clock_gettime(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        int64_t before = gettime_ns(CLOCK_MONOTONIC);
        int64_t ours = sys_clock_monotonic_ns();
        int64_t after = gettime_ns(CLOCK_MONOTONIC);
        assert_true(before <= ours);
        assert_true(ours <= after);
    }
}

static void test_monotonic_never_goes_back(void **state)
{
    (void)state;
    int64_t prev = sys_clock_monotonic_ns();
    int64_t first = prev;

    assert_true(prev > 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = sys_clock_monotonic_ns();
        assert_true(now >= prev);
        prev = now;
    }
    /* 100000 readings take some time: the clock moved. */
    assert_true(prev > first);
}

static void test_ns_to_log2_boundaries(void **state)
{
    (void)state;
    /* ceil(log2(ns * 1e-9)): 1 ns is 2^-29.9 -> -29. */
    assert_int_equal(sys_clock_ns_to_log2(1), -29);
    /* 2^-29 s = 1.86 ns: 2 ns needs -28. */
    assert_int_equal(sys_clock_ns_to_log2(2), -28);
    /* 2^-20 s = 953.7 ns; 2^-19 s = 1907.3 ns. */
    assert_int_equal(sys_clock_ns_to_log2(953), -20);
    assert_int_equal(sys_clock_ns_to_log2(954), -19);
    assert_int_equal(sys_clock_ns_to_log2(1000), -19);
    assert_int_equal(sys_clock_ns_to_log2(1907), -19);
    assert_int_equal(sys_clock_ns_to_log2(1908), -18);
    /* 2^-10 s = 976562.5 ns. */
    assert_int_equal(sys_clock_ns_to_log2(976562), -10);
    assert_int_equal(sys_clock_ns_to_log2(976563), -9);
    /* 1 ms, 4 ms (a 250 Hz jiffy clock), 10 ms. */
    assert_int_equal(sys_clock_ns_to_log2(1000000), -9);
    assert_int_equal(sys_clock_ns_to_log2(4000000), -7);
    assert_int_equal(sys_clock_ns_to_log2(10000000), -6);
}

/* Exact powers of two in seconds are their own log2, not one above. */
static void test_ns_to_log2_exact_powers(void **state)
{
    (void)state;
    assert_int_equal(sys_clock_ns_to_log2(500000000), -1); /* 2^-1 s */
    assert_int_equal(sys_clock_ns_to_log2(250000000), -2);
    assert_int_equal(sys_clock_ns_to_log2(125000000), -3);
    assert_int_equal(sys_clock_ns_to_log2(62500000), -4);
    assert_int_equal(sys_clock_ns_to_log2(1953125), -9); /* 2^-9 s */
    assert_int_equal(sys_clock_ns_to_log2(1953126), -8);
}

static void test_ns_to_log2_clamped(void **state)
{
    (void)state;
    assert_int_equal(sys_clock_ns_to_log2(500000001), SYS_CLOCK_PRECISION_MAX);
    assert_int_equal(sys_clock_ns_to_log2(NS_PER_S), SYS_CLOCK_PRECISION_MAX);
    assert_int_equal(sys_clock_ns_to_log2(INT64_MAX), SYS_CLOCK_PRECISION_MAX);
    /* No movement seen (or nonsense): the microsecond fallback. */
    assert_int_equal(sys_clock_ns_to_log2(0), SYS_CLOCK_PRECISION_FALLBACK);
    assert_int_equal(sys_clock_ns_to_log2(-1), SYS_CLOCK_PRECISION_FALLBACK);
    assert_int_equal(sys_clock_ns_to_log2(INT64_MIN), SYS_CLOCK_PRECISION_FALLBACK);
    assert_int_equal(SYS_CLOCK_PRECISION_FALLBACK, -20);
}

/* Results rise with the step and stay in range over a wide sweep. */
static void test_ns_to_log2_monotonic(void **state)
{
    (void)state;
    int prev = SYS_CLOCK_PRECISION_MIN;

    for (int64_t ns = 1; ns < 4 * NS_PER_S; ns = ns + ns / 7 + 1) {
        int v = sys_clock_ns_to_log2(ns);
        assert_true(v >= prev);
        assert_in_range(v, SYS_CLOCK_PRECISION_MIN, SYS_CLOCK_PRECISION_MAX);
        /* 2^v s covers ns, and 2^(v-1) s does not (unless clamped at the top). */
        if (v < SYS_CLOCK_PRECISION_MAX) {
            assert_true((double)ns <= pow2_ns(v));
        }
        assert_true((double)ns > pow2_ns(v - 1));
        prev = v;
    }
}

/* Precision: in range, and on a Linux machine with a TSC or HPET clock source well
 * below a millisecond; it must take little time to measure. */
static void test_precision_measured(void **state)
{
    (void)state;
    int64_t t0 = sys_clock_monotonic_ns();
    int8_t p = sys_clock_precision_log2();
    int64_t took = sys_clock_monotonic_ns() - t0;
    struct timespec res;

    assert_in_range(p, SYS_CLOCK_PRECISION_MIN, SYS_CLOCK_PRECISION_MAX);
    /* Never finer than what a timespec reading can show (1 ns -> -29). */
    assert_true(p >= -29);
    /* At least as coarse as the resolution the kernel reports for the clock. */
    assert_int_equal(clock_getres(CLOCK_REALTIME, &res), 0);
    int64_t res_ns = (int64_t)res.tv_sec * NS_PER_S + res.tv_nsec;
    assert_true(p >= sys_clock_ns_to_log2(res_ns));
    /* High-resolution timers: a step of at most about 1 ms even on a slow, loaded VM. */
    assert_true(p <= -9);
    /* "Well under 1 ms on a normal system": allow a loaded sanitizer build 1 s. */
    assert_true(took < NS_PER_S);
    /* Against a measurement of our own, the smallest nonzero step over many pairs of
     * readings: the same quantity, so within two binary steps under any load. */
    int64_t best = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t a = gettime_ns(CLOCK_REALTIME);
        int64_t b = a;
        for (int k = 0; k < 100000 && b == a; k++) {
            b = gettime_ns(CLOCK_REALTIME);
        }
        if (b > a && (best == 0 || b - a < best)) {
            best = b - a;
        }
    }
    assert_true(best > 0);
    assert_in_range(p, sys_clock_ns_to_log2(best) - 2, sys_clock_ns_to_log2(best) + 2);
    /* Measured twice, it lands within a few steps of the first result. */
    int8_t q = sys_clock_precision_log2();
    assert_in_range(q, p - 4, p + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realtime_matches_clock_gettime),
        cmocka_unit_test(test_monotonic_matches_clock_gettime),
        cmocka_unit_test(test_monotonic_never_goes_back),
        cmocka_unit_test(test_ns_to_log2_boundaries),
        cmocka_unit_test(test_ns_to_log2_exact_powers),
        cmocka_unit_test(test_ns_to_log2_clamped),
        cmocka_unit_test(test_ns_to_log2_monotonic),
        cmocka_unit_test(test_precision_measured),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
