/* Unit tests for the simulator's virtual clock (sim/sim_clock.c): exact readings with a
 * constant frequency error, corrections as the kernel applies them (tick + frequency,
 * 2^-16 ppm, clamps), steps that move realtime only, monotonic slewed by frequency, the
 * random walk's variance, and determinism by seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "sim/sim_clock.h"

#define EPOCH INT64_C(1735689600000000000)
#define MONO0 INT64_C(5000000000)
#define S     INT64_C(1000000000)

static void init(struct sim_clock *c, double offset, double freq, double wander, uint64_t seed)
{
    struct sim_clock_params p = {.offset = offset, .freq_ppm = freq, .wander = wander};
    sim_clock_init(c, &p, EPOCH, MONO0, seed);
}

static void test_perfect_clock(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, 0, 0, 1);
    for (int64_t t = 0; t < 10000 * S; t += 777 * S + 123) {
        struct core_time now = sim_clock_read(&c, t);
        assert_int_equal(now.real_ns, EPOCH + t);
        assert_int_equal(now.mono_ns, MONO0 + t);
    }
}

static void test_offset_and_frequency(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 300.0, 10.0, 0, 1);
    struct core_time now = sim_clock_read(&c, 1000 * S);
    /* 10 ppm over 1000 s is 10 ms ahead, on top of 300 s. */
    assert_int_equal(now.real_ns, EPOCH + 1000 * S + 300 * S + 10000000);
    assert_int_equal(now.mono_ns, MONO0 + 1000 * S + 10000000);
    assert_true(fabs(sim_clock_error(&c, 1000 * S) - 300.01) < 1e-9);
}

static void test_correction_cancels_error(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, 10.0, 0, 1);
    double applied = sim_clock_set_freq(&c, 100 * S, -10.0);
    assert_true(fabs(applied + 10.0) < 1.0 / 65536);
    double e1 = sim_clock_error(&c, 100 * S);
    double e2 = sim_clock_error(&c, 100000 * S);
    assert_true(fabs(e1 - 1e-3) < 1e-9);
    assert_true(fabs(e2 - e1) < 1e5 * (1.0 / 65536) * 1e-6);
}

static void test_freq_kernel_limits(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, 0, 0, 1);
    assert_true(sim_clock_set_freq(&c, 0, 250000.0) == 100500.0);
    assert_true(sim_clock_set_freq(&c, 0, -250000.0) == -100500.0);
    assert_true(sim_clock_set_freq(&c, 0, 100400.0) == 100400.0);
    /* Within reach: exact up to the 2^-16 ppm resolution of ADJ_FREQUENCY. */
    double a = sim_clock_set_freq(&c, 0, 1234.56789);
    assert_true(fabs(a - 1234.56789) <= 0.5 / 65536);
    a = sim_clock_set_freq(&c, 0, NAN);
    assert_true(fabs(a - 1234.56789) <= 0.5 / 65536);
}

static void test_step_moves_realtime_only(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, 0, 0, 1);
    double applied = sim_clock_step(&c, 10 * S, -300.0000000004);
    assert_true(applied == -300.0);
    struct core_time now = sim_clock_read(&c, 20 * S);
    assert_int_equal(now.real_ns, EPOCH + 20 * S - 300 * S);
    assert_int_equal(now.mono_ns, MONO0 + 20 * S);
    assert_true(sim_clock_step(&c, 20 * S, INFINITY) == 0.0);
}

static void test_monotonic_is_slewed(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, 0, 0, 1);
    sim_clock_set_freq(&c, 0, 100.0);
    struct core_time now = sim_clock_read(&c, 100 * S);
    assert_int_equal(now.mono_ns, MONO0 + 100 * S + 10000000);
    assert_int_equal(now.real_ns, EPOCH + 100 * S + 10000000);
}

static void test_when_mono(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0, -40000.0, 0, 1); /* runs 4 % slow */
    struct core_time now = sim_clock_read(&c, 0);
    int64_t target = now.mono_ns + 64 * S;
    int64_t t = sim_clock_when_mono(&c, 0, target);
    struct sim_clock early = c; /* readings only go forward: look a bit earlier on a copy */
    assert_true(t > 64 * S);
    assert_true(sim_clock_read(&early, t - 3).mono_ns < target);
    assert_true(sim_clock_read(&c, t).mono_ns >= target);
    assert_int_equal(sim_clock_when_mono(&c, t, target - 5), t);
}

/* A random walk of w ppm/sqrt(s) reaches a variance of w^2 T after T seconds. */
static void test_wander_variance(void **state)
{
    (void)state;
    const int n = 400;
    const double w = 0.01, T = 100;
    double sum = 0, sum2 = 0;

    for (int i = 0; i < n; i++) {
        struct sim_clock c;
        init(&c, 0, 5.0, w, (uint64_t)i);
        sim_clock_advance(&c, (int64_t)T * S);
        double d = c.freq_ppm - 5.0;
        sum += d;
        sum2 += d * d;
    }
    double var = sum2 / n - (sum / n) * (sum / n);
    double want = w * w * T;
    print_message("wander variance %g, expected %g\n", var, want);
    assert_true(var > 0.8 * want && var < 1.2 * want);
}

static void test_same_seed_same_run(void **state)
{
    (void)state;
    struct sim_clock a, b, c;

    init(&a, 1, 20, 0.05, 42);
    init(&b, 1, 20, 0.05, 42);
    init(&c, 1, 20, 0.05, 43);
    int64_t t = 3600 * S + 5;
    assert_int_equal(sim_clock_read(&a, t).real_ns, sim_clock_read(&b, t).real_ns);
    assert_true(sim_clock_read(&a, t).real_ns != sim_clock_read(&c, t).real_ns);
}

/* Linux's STA_INS: 00:00:00 becomes 23:59:59 once, at the clock's own midnight, and
 * nothing more while the bit stays set. EPOCH is a midnight (2025-01-01). */
static void test_kernel_leap_insert(void **state)
{
    (void)state;
    struct sim_clock c;

    init(&c, 0.002, 0, 0, 1); /* 2 ms ahead: reaches midnight 2 ms early */
    sim_clock_set_utc_leap(&c, 10 * S, 1);
    sim_clock_set_leap(&c, S, 1, EPOCH + 10 * S);
    assert_int_equal(sim_clock_read(&c, 9 * S).real_ns, EPOCH + 9 * S + 2000000);
    assert_true(fabs(sim_clock_error(&c, 9 * S) - 0.002) < 1e-9);
    /* Just after the clock's midnight, before UTC's: ambiguous, the smaller error. */
    assert_int_equal(sim_clock_read(&c, 10 * S - 1000000).real_ns, EPOCH + 9 * S + 1000000);
    assert_true(fabs(sim_clock_error(&c, 10 * S - 1000000) - 0.002) < 1e-9);
    assert_true(fabs(sim_clock_error(&c, 12 * S) - 0.002) < 1e-9);
    assert_int_equal(sim_clock_read(&c, 20 * S).real_ns, EPOCH + 19 * S + 2000000);
    assert_int_equal(c.leaps, 1);
    /* Re-arming the same leap (the repeated second is still the last day) does nothing. */
    sim_clock_set_leap(&c, 20 * S, 1, EPOCH + 10 * S);
    assert_int_equal(sim_clock_read(&c, 30 * S).real_ns, EPOCH + 29 * S + 2000000);
    assert_int_equal(c.leaps, 1);
}

/* STA_DEL: 23:59:59 is skipped. A clock that was not armed is 1 s off after UTC's leap. */
static void test_kernel_leap_delete_and_unarmed(void **state)
{
    (void)state;
    struct sim_clock c, u;

    init(&c, 0, 0, 0, 1);
    init(&u, 0, 0, 0, 1);
    sim_clock_set_utc_leap(&c, 9 * S, -1);
    sim_clock_set_utc_leap(&u, 9 * S, -1);
    sim_clock_set_leap(&c, 0, -1, EPOCH + 10 * S);
    assert_int_equal(sim_clock_read(&c, 9 * S + 5).real_ns, EPOCH + 10 * S + 5);
    assert_int_equal(c.leaps, 1);
    assert_true(fabs(sim_clock_error(&c, 15 * S)) < 1e-9);
    assert_true(fabs(sim_clock_error(&u, 15 * S) + 1.0) < 1e-9);
    assert_int_equal(u.leaps, 0);
    /* Disarmed before its midnight, the kernel does nothing. */
    init(&c, 0, 0, 0, 1);
    sim_clock_set_leap(&c, 0, 1, EPOCH + 10 * S);
    sim_clock_set_leap(&c, 5 * S, 0, 0);
    assert_int_equal(sim_clock_read(&c, 15 * S).real_ns, EPOCH + 15 * S);
    assert_int_equal(c.leaps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfect_clock),
        cmocka_unit_test(test_offset_and_frequency),
        cmocka_unit_test(test_correction_cancels_error),
        cmocka_unit_test(test_freq_kernel_limits),
        cmocka_unit_test(test_step_moves_realtime_only),
        cmocka_unit_test(test_monotonic_is_slewed),
        cmocka_unit_test(test_when_mono),
        cmocka_unit_test(test_wander_variance),
        cmocka_unit_test(test_same_seed_same_run),
        cmocka_unit_test(test_kernel_leap_insert),
        cmocka_unit_test(test_kernel_leap_delete_and_unarmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
