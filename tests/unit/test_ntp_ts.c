/* Unit tests for src/ntp/ntp_ts: 32.32 and 16.16 conversions and era resolution at the
 * edges that matter (1900, 1970, the 2036 rollover, 2106, the int64 limits). Random
 * round trips print their seed; set TSYNC_TEST_SEED to replay one. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "ntp/ntp_ts.h"

#define NS INT64_C(1000000000)
#define TWO32 INT64_C(4294967296)
/* Unix seconds of 2036-02-07 06:28:16 UTC, where NTP era 0 ends. */
#define ROLLOVER_2036_S (TWO32 - NTP_UNIX_EPOCH_DELTA)

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    /* splitmix64: enough for test inputs, reproducible from the printed seed */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform-enough integer in [lo, hi]. */
static int64_t rng_range(int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    return (int64_t)((uint64_t)lo + rng_next() % span);
}

static void seed_rng(void)
{
    const char *env = getenv("TSYNC_TEST_SEED");
    rng_state = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    printf("test_ntp_ts: seed %llu (TSYNC_TEST_SEED to replay)\n",
           (unsigned long long)rng_state);
}

/* Days since 1970-01-01 of a proleptic Gregorian date: an independent check that the
 * constants below name the calendar instants they claim to. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t unix_s_of(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s)
{
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static uint64_t ts_of(uint32_t sec, uint32_t frac)
{
    return (uint64_t)sec << 32 | frac;
}

static void test_calendar_constants(void **state)
{
    (void)state;
    assert_int_equal(unix_s_of(1900, 1, 1, 0, 0, 0), -NTP_UNIX_EPOCH_DELTA);
    assert_int_equal(unix_s_of(2036, 2, 7, 6, 28, 16), ROLLOVER_2036_S);
    assert_int_equal(unix_s_of(2106, 2, 7, 6, 28, 16), TWO32);
}

static void test_unix_epoch(void **state)
{
    (void)state;
    assert_int_equal(ntp_ts_from_unix_ns(0), ts_of((uint32_t)NTP_UNIX_EPOCH_DELTA, 0));
    assert_int_equal(ntp_ts_to_unix_ns(ts_of((uint32_t)NTP_UNIX_EPOCH_DELTA, 0), 0), 0);
}

static void test_fraction_rounding(void **state)
{
    (void)state;
    uint32_t base = (uint32_t)NTP_UNIX_EPOCH_DELTA;
    assert_int_equal(ntp_ts_from_unix_ns(NS / 2), ts_of(base, 0x80000000u));
    assert_int_equal(ntp_ts_from_unix_ns(NS / 4), ts_of(base, 0x40000000u));
    /* 1 ns = 4.294967296 units of 2^-32 s: rounds to 4 */
    assert_int_equal(ntp_ts_from_unix_ns(1), ts_of(base, 4));
    /* 999999999 ns = 2^32 - 4.29 units: rounds to 2^32 - 4, no carry into seconds */
    assert_int_equal(ntp_ts_from_unix_ns(NS - 1), ts_of(base, 0xfffffffcu));
    /* back: 2^32 - 1 units is 999999999.77 ns, rounds up to the next whole second */
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(base, 0xffffffffu), 0), NS);
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(base, 0x80000000u), 0), NS / 2);
}

static void test_1900_era0_start(void **state)
{
    (void)state;
    int64_t t1900 = -NTP_UNIX_EPOCH_DELTA * NS;
    int64_t near1950 = unix_s_of(1950, 6, 1, 0, 0, 0) * NS;

    assert_int_equal(ntp_ts_from_unix_ns(t1900), 0);
    assert_int_equal(ntp_ts_to_unix_ns(0, t1900), t1900);
    assert_int_equal(ntp_ts_to_unix_ns(0, near1950), t1900);
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(0, 0x80000000u), near1950), t1900 + NS / 2);
    /* 1 ns before 1900 belongs to era -1: the last fraction of its last second */
    assert_int_equal(ntp_ts_from_unix_ns(t1900 - 1), ts_of(0xffffffffu, 0xfffffffcu));
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(0xffffffffu, 0xfffffffcu), near1950), t1900 - 1);
    /* Seen from 2025, timestamp 0 is the 2036 rollover, not 1900 (125 years away) */
    assert_int_equal(ntp_ts_to_unix_ns(0, unix_s_of(2025, 1, 1, 0, 0, 0) * NS),
                     ROLLOVER_2036_S * NS);
}

static void test_1970_negative_unix(void **state)
{
    (void)state;
    uint32_t base = (uint32_t)NTP_UNIX_EPOCH_DELTA;
    assert_int_equal(ntp_ts_from_unix_ns(-1), ts_of(base - 1, 0xfffffffcu));
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(base - 1, 0xfffffffcu), 0), -1);
    assert_int_equal(ntp_ts_from_unix_ns(-NS - NS / 2), ts_of(base - 2, 0x80000000u));
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(base - 2, 0x80000000u), NS), -NS - NS / 2);
}

static void test_2036_rollover(void **state)
{
    (void)state;
    int64_t r = ROLLOVER_2036_S * NS;
    int64_t before = r - 1000 * NS;
    int64_t after = r + 1000 * NS;

    /* both sides of 2036-02-07 06:28:16 UTC, era 0 -> era 1 */
    assert_int_equal(ntp_ts_from_unix_ns(r - 1), ts_of(0xffffffffu, 0xfffffffcu));
    assert_int_equal(ntp_ts_from_unix_ns(r), 0);
    assert_int_equal(ntp_ts_from_unix_ns(r + 1), 4);
    for (int i = 0; i < 2; i++) {
        int64_t near = i == 0 ? before : after;
        assert_int_equal(ntp_ts_to_unix_ns(ts_of(0xffffffffu, 0xfffffffcu), near), r - 1);
        assert_int_equal(ntp_ts_to_unix_ns(0, near), r);
        assert_int_equal(ntp_ts_to_unix_ns(4, near), r + 1);
        assert_int_equal(ntp_ts_to_unix_ns(ts_of(16, 0), near), r + 16 * NS);
    }
    /* a client still in 2025 reads an early era-1 timestamp correctly */
    int64_t near2025 = unix_s_of(2025, 11, 23, 12, 0, 0) * NS;
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(86400, 0), near2025), r + 86400 * NS);
}

static void test_2106_and_era1_end(void **state)
{
    (void)state;
    int64_t t2106 = TWO32 * NS; /* 2106-02-07 06:28:16 UTC, where 32-bit Unix time wraps */
    int64_t near2100 = unix_s_of(2100, 1, 1, 0, 0, 0) * NS;
    uint64_t ts = ts_of((uint32_t)NTP_UNIX_EPOCH_DELTA, 0); /* era 1 */

    assert_int_equal(ntp_ts_from_unix_ns(t2106), ts);
    assert_int_equal(ntp_ts_to_unix_ns(ts, near2100), t2106);
    assert_int_equal(ntp_ts_to_unix_ns(ts, 0), 0); /* the same bits read near 1970 */
    /* era 1 ends on 2172-03-15 12:56:32 UTC, still inside the int64 ns range */
    int64_t era2 = (2 * TWO32 - NTP_UNIX_EPOCH_DELTA) * NS;
    assert_int_equal(unix_s_of(2172, 3, 15, 12, 56, 32) * NS, era2);
    assert_int_equal(ntp_ts_to_unix_ns(0, era2 - 1000 * NS), era2);
    assert_int_equal(ntp_ts_to_unix_ns(ts_of(0xffffffffu, 0), era2 + 5 * NS), era2 - NS);
}

static void test_era_window(void **state)
{
    (void)state;
    int64_t near = unix_s_of(2030, 1, 1, 0, 0, 0) * NS;
    int64_t half = (TWO32 / 2) * NS; /* 2^31 s, the edge of the window */

    int64_t ahead = near + half - NS;
    int64_t behind = near - half;
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(ahead), near), ahead);
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(behind), near), behind);
    /* exactly 2^31 s ahead is read as 2^31 s behind: the window is [-2^31, 2^31) s */
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(near + half), near), behind);
}

static void test_round_trip_random(void **state)
{
    (void)state;
    int64_t window = (TWO32 / 2 - 2) * NS;
    for (int i = 0; i < 200000; i++) {
        int64_t t = (int64_t)rng_next(); /* the whole int64 range, 1677 to 2262 */
        int64_t off = rng_range(-window, window);
        int64_t near = (off > 0 && t > INT64_MAX - off) || (off < 0 && t < INT64_MIN - off)
                           ? t - off
                           : t + off;
        int64_t back = ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(t), near);
        if (back != t) {
            fail_msg("t=%lld near=%lld back=%lld", (long long)t, (long long)near,
                     (long long)back);
        }
    }
}

static void test_ts_round_trip_random(void **state)
{
    (void)state;
    int64_t near = unix_s_of(2040, 1, 1, 0, 0, 0) * NS;
    for (int i = 0; i < 200000; i++) {
        uint64_t ts = rng_next();
        uint64_t back = ntp_ts_from_unix_ns(ntp_ts_to_unix_ns(ts, near));
        /* ns resolution is coarser than 2^-32 s: back within half a ns plus rounding */
        double err = fabs(ntp_ts_diff(back, ts));
        if (err > 0.5e-9 + 0x1p-32) {
            fail_msg("ts=%016llx back=%016llx err=%g", (unsigned long long)ts,
                     (unsigned long long)back, err);
        }
    }
}

static void test_int64_saturation(void **state)
{
    (void)state;
    /* exact up to the last representable ns, saturated only beyond it (UBSan checks
     * that no step of the arithmetic overflows) */
    static const int64_t edges[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX - 10 * NS,
                                    INT64_MIN, INT64_MIN + 1, INT64_MIN + 10 * NS};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        int64_t t = edges[i];
        assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(t), t), t);
    }
    uint64_t one_s = (uint64_t)1 << 32;
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(INT64_MAX) + one_s, INT64_MAX),
                     INT64_MAX);
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(INT64_MAX - 60 * NS) + 120 * one_s,
                                       INT64_MAX - 60 * NS),
                     INT64_MAX);
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(INT64_MIN) - one_s, INT64_MIN),
                     INT64_MIN);
    assert_int_equal(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(INT64_MIN) - 1, INT64_MIN),
                     INT64_MIN);
    /* 2^32 - 1 units above INT64_MAX's second round up to a full second: saturated */
    uint64_t top = ntp_ts_from_unix_ns(INT64_MAX) | UINT32_MAX;
    assert_int_equal(ntp_ts_to_unix_ns(top, INT64_MAX), INT64_MAX);
}

static void test_diff(void **state)
{
    (void)state;
    uint64_t a = ts_of(1000, 0x80000000u);
    uint64_t b = ts_of(999, 0);
    assert_true(ntp_ts_diff(a, b) == 1.5);
    assert_true(ntp_ts_diff(b, a) == -1.5);
    assert_true(ntp_ts_diff(a, a) == 0.0);
    /* across the era boundary (2036): 1 s after minus 1 s before */
    assert_true(ntp_ts_diff(ts_of(1, 0), ts_of(0xffffffffu, 0)) == 2.0);
    assert_true(ntp_ts_diff(ts_of(0xffffffffu, 0), ts_of(1, 0)) == -2.0);
    assert_true(ntp_ts_diff(ts_of(0, 0x40000000u), ts_of(0xffffffffu, 0x80000000u)) == 0.75);
    int64_t r = ROLLOVER_2036_S * NS;
    double d = ntp_ts_diff(ntp_ts_from_unix_ns(r + 250 * 1000 * 1000),
                           ntp_ts_from_unix_ns(r - 500 * 1000 * 1000));
    assert_true(fabs(d - 0.75) < 1e-9);
    /* the window edges */
    assert_true(ntp_ts_diff(ts_of(0x7fffffffu, 0), 0) == 2147483647.0);
    assert_true(ntp_ts_diff(ts_of(0x80000000u, 0), 0) == -2147483648.0);
    /* large differences keep their sub-nanosecond part */
    assert_true(ntp_ts_diff(ts_of(1000000, 1), 0) == 1000000.0 + 0x1p-32);
    assert_true(ntp_ts_diff(0, ts_of(1000000, 1)) == -(1000000.0 + 0x1p-32));
}

static void test_short_format(void **state)
{
    (void)state;
    assert_int_equal(ntp_short_from_seconds(0.0), 0);
    assert_int_equal(ntp_short_from_seconds(1.5), 0x00018000u);
    assert_int_equal(ntp_short_from_seconds(1.0 / 65536), 1);
    assert_int_equal(ntp_short_from_seconds(0.4 / 65536), 0);
    assert_int_equal(ntp_short_from_seconds(0.6 / 65536), 1);
    assert_int_equal(ntp_short_from_seconds(65535.99999), 0xffffffffu);
    assert_true(ntp_short_to_seconds(0x00018000u) == 1.5);
    assert_true(ntp_short_to_seconds(0) == 0.0);
    assert_true(ntp_short_to_seconds(0xffffffffu) == 65536.0 - 1.0 / 65536);
}

static void test_short_saturation_negative_nan(void **state)
{
    (void)state;
    assert_int_equal(ntp_short_from_seconds(65536.0), 0xffffffffu);
    assert_int_equal(ntp_short_from_seconds(65535.9999999), 0xffffffffu);
    assert_int_equal(ntp_short_from_seconds(1e300), 0xffffffffu);
    assert_int_equal(ntp_short_from_seconds(INFINITY), 0xffffffffu);
    assert_int_equal(ntp_short_from_seconds(-1.0), 0);
    assert_int_equal(ntp_short_from_seconds(-0.0), 0);
    assert_int_equal(ntp_short_from_seconds(-1e-12), 0);
    assert_int_equal(ntp_short_from_seconds(-INFINITY), 0);
    assert_int_equal(ntp_short_from_seconds(NAN), 0);
    assert_int_equal(ntp_short_from_seconds(-NAN), 0);
}

static void test_short_round_trip_random(void **state)
{
    (void)state;
    for (int i = 0; i < 100000; i++) {
        double s = (double)(rng_next() >> 11) * 0x1p-53 * 65535.0;
        double back = ntp_short_to_seconds(ntp_short_from_seconds(s));
        if (fabs(back - s) > 0x1p-17 + 1e-12) {
            fail_msg("s=%.17g back=%.17g", s, back);
        }
    }
}

int main(void)
{
    seed_rng();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar_constants),
        cmocka_unit_test(test_unix_epoch),
        cmocka_unit_test(test_fraction_rounding),
        cmocka_unit_test(test_1900_era0_start),
        cmocka_unit_test(test_1970_negative_unix),
        cmocka_unit_test(test_2036_rollover),
        cmocka_unit_test(test_2106_and_era1_end),
        cmocka_unit_test(test_era_window),
        cmocka_unit_test(test_round_trip_random),
        cmocka_unit_test(test_ts_round_trip_random),
        cmocka_unit_test(test_int64_saturation),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_short_format),
        cmocka_unit_test(test_short_saturation_negative_nan),
        cmocka_unit_test(test_short_round_trip_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
