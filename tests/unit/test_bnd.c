/* Unit tests for the error bound (src/core/bnd.c): maxerror as root delay/2 + root
 * dispersion + growth at 15 ppm (or the skew when larger) + residual + offset error,
 * esterror, the 16 s cap, unsynchronized and bad inputs, and the ACT_STATUS payload. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/bnd.h"

static struct bnd_input synced_input(void)
{
    struct bnd_input in;
    memset(&in, 0, sizeof in);
    in.synced = true;
    in.root_delay = 0.010;
    in.root_dispersion = 0.002;
    in.age = 100.0;
    in.offset_error = 10e-6;
    in.residual = -20e-6;
    in.skew_ppm = 0.0;
    return in;
}

static void test_values(void **state)
{
    (void)state;
    struct bnd_input in = synced_input();
    struct bnd_value v;
    bnd_compute(&in, &v);
    /* 5 ms + 2 ms + 15 ppm * 100 s + 20 us + 10 us */
    assert_true(fabs(v.maxerror - 0.00853) < 1e-12);
    assert_true(fabs(v.esterror - 30e-6) < 1e-12);
}

static void test_growth_follows_skew_above_phi(void **state)
{
    (void)state;
    struct bnd_input in = synced_input();
    struct bnd_value slow;
    struct bnd_value fast;
    in.skew_ppm = 5.0; /* below PHI: PHI rules */
    bnd_compute(&in, &slow);
    assert_true(fabs(slow.maxerror - 0.00853) < 1e-12);
    in.skew_ppm = 50.0;
    bnd_compute(&in, &fast);
    assert_true(fabs(fast.maxerror - (0.007 + 50e-6 * 100 + 30e-6)) < 1e-12);
    assert_true(fast.esterror > 50e-6 * 100);
}

static void test_age_zero_and_negative(void **state)
{
    (void)state;
    struct bnd_input in = synced_input();
    struct bnd_value a;
    struct bnd_value b;
    in.age = 0.0;
    bnd_compute(&in, &a);
    in.age = -5.0;
    bnd_compute(&in, &b);
    assert_true(fabs(a.maxerror - (0.007 + 30e-6)) < 1e-12);
    assert_true(a.maxerror == b.maxerror);
}

static void test_unsynced_and_cap(void **state)
{
    (void)state;
    struct bnd_input in = synced_input();
    struct bnd_value v;
    in.synced = false;
    bnd_compute(&in, &v);
    assert_true(v.maxerror == BND_MAXERROR_UNSYNC && v.esterror == BND_MAXERROR_UNSYNC);
    in = synced_input();
    in.age = 1e9; /* 15 ppm of 1e9 s is far above 16 s */
    bnd_compute(&in, &v);
    assert_true(v.maxerror == BND_MAXERROR_UNSYNC);
    bnd_compute(NULL, &v);
    assert_true(v.maxerror == BND_MAXERROR_UNSYNC);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    struct bnd_value v;
    double bad[] = {NAN, -1.0, INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bnd_input in = synced_input();
        in.root_delay = bad[i];
        bnd_compute(&in, &v);
        assert_true(v.maxerror == BND_MAXERROR_UNSYNC);
        in = synced_input();
        in.offset_error = bad[i];
        bnd_compute(&in, &v);
        assert_true(v.maxerror == BND_MAXERROR_UNSYNC);
        in = synced_input();
        in.skew_ppm = bad[i];
        bnd_compute(&in, &v);
        assert_true(v.maxerror == BND_MAXERROR_UNSYNC);
    }
    struct bnd_input in = synced_input();
    in.residual = NAN;
    bnd_compute(&in, &v);
    assert_true(v.esterror == BND_MAXERROR_UNSYNC);
}

static void test_status(void **state)
{
    (void)state;
    struct bnd_input in = synced_input();
    struct act_status st;
    bnd_fill_status(&in, 1, &st);
    assert_true(st.synced);
    assert_int_equal(st.leap, 1);
    assert_true(fabs(st.maxerror - 0.00853) < 1e-12);
    assert_true(fabs(st.esterror - 30e-6) < 1e-12);
    bnd_fill_status(&in, 3, &st); /* leap 3 is no leap to arm */
    assert_int_equal(st.leap, 0);
    in.synced = false;
    bnd_fill_status(&in, 2, &st);
    assert_false(st.synced);
    assert_int_equal(st.leap, 0);
    assert_true(st.maxerror == 16.0 && st.esterror == 16.0);
    in = synced_input();
    in.age = 1e9; /* a bound at the cap means sync is lost */
    bnd_fill_status(&in, 0, &st);
    assert_false(st.synced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_growth_follows_skew_above_phi),
        cmocka_unit_test(test_age_zero_and_negative),
        cmocka_unit_test(test_unsynced_and_cap),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
