/* Unit tests for the estimators behind the discipline's function table
 * (src/core/est_kal.c, est_reg.c): exact lines, convergence on 10 ppm and 5000 ppm
 * with noise, a frequency step, seeds, reset, rebase, widened phase. Each test runs on
 * both estimators; random noise is seeded and the seed printed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/dsc.h"
#include "core/dsc_private.h"

static struct dsc storage; /* only its .est area is used */

static const struct est_ops *const all_ops[] = {&est_kal_ops, &est_reg_ops};
#define N_OPS (sizeof all_ops / sizeof all_ops[0])

static void *fresh(const struct est_ops *o)
{
    memset(&storage, 0xa5, sizeof storage); /* init must not rely on zeroed memory */
    assert_true(o->state_size <= sizeof storage.est);
    o->init(storage.est.d);
    return storage.est.d;
}

static double gauss(struct core_rng *r)
{
    double u1 = core_rng_uniform(r);
    double u2 = core_rng_uniform(r);
    return sqrt(-2.0 * log(u1 > 1e-300 ? u1 : 1e-300)) * cos(2.0 * M_PI * u2);
}

static uint64_t print_seed(const char *test)
{
    /* TSYNC_TEST_SEED replays a failure. */
    const char *env = getenv("TSYNC_TEST_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("%s seed %llu\n", test, (unsigned long long)seed);
    return seed;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(est_kal_ops.name, "kalman");
    assert_string_equal(est_reg_ops.name, "regress");
    assert_string_equal(dsc_estimator_name(DSC_EST_KALMAN), "kalman");
    assert_string_equal(dsc_estimator_name(DSC_EST_REGRESS), "regress");
    assert_null(dsc_estimator_name(DSC_EST_COUNT));
    assert_null(dsc_estimator_name(-1));
}

static void test_empty_prediction(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        void *st = fresh(all_ops[i]);
        struct est_pred p;
        all_ops[i]->predict(st, 10.0, &p);
        assert_false(p.valid);
        assert_false(p.freq_valid);
        all_ops[i]->add_sample(st, 0.0, 0.25, 1e-10);
        all_ops[i]->predict(st, 0.0, &p);
        assert_true(p.valid);
        assert_false(p.freq_valid); /* one sample tells no frequency */
        assert_true(fabs(p.phase - 0.25) < 1e-9);
    }
    /* Only the Kalman bank measures the wander, and only with a frequency. */
    assert_null(est_reg_ops.wander);
    void *st = fresh(&est_kal_ops);
    assert_true(est_kal_ops.wander(st) < 0.0);
    est_kal_ops.add_sample(st, 0.0, 0.0, 1e-10);
    est_kal_ops.add_sample(st, 16.0, 1e-4, 1e-10);
    double q = est_kal_ops.wander(st);
    assert_true(q >= 1e-24 && q <= 1e-10);
}

/* A noise-free line: phase and frequency come out exact. */
static void test_exact_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 20; k++) {
            double t = 16.0 * k;
            o->add_sample(st, t, 0.001 + 50e-6 * t, 1e-12);
        }
        struct est_pred p;
        o->predict(st, 400.0, &p);
        assert_true(p.valid && p.freq_valid);
        assert_true(fabs(p.freq - 50e-6) < 1e-9);
        assert_true(fabs(p.phase - (0.001 + 50e-6 * 400.0)) < 1e-7);
        assert_true(p.var_phase >= 0.0 && p.var_freq >= 0.0);
    }
}

/* Frequency and phase from noisy samples (sigma 10 us every 16 s) on a drift of f. */
static void converge(const struct est_ops *o, double f, uint64_t seed, double *ferr, double *perr)
{
    struct core_rng rng;
    core_rng_seed(&rng, seed);
    void *st = fresh(o);
    double sigma = 10e-6;
    for (int k = 0; k < 200; k++) {
        double t = 16.0 * k;
        o->add_sample(st, t, f * t + sigma * gauss(&rng), sigma * sigma);
    }
    struct est_pred p;
    double t_end = 16.0 * 199;
    o->predict(st, t_end, &p);
    *ferr = fabs(p.freq - f);
    *perr = fabs(p.phase - f * t_end);
}

static void test_converges_10ppm_and_5000ppm(void **state)
{
    (void)state;
    uint64_t seed = print_seed("test_converges_10ppm_and_5000ppm");
    double freqs[] = {10e-6, 5000e-6, -5000e-6};
    for (size_t i = 0; i < N_OPS; i++) {
        for (size_t j = 0; j < sizeof freqs / sizeof freqs[0]; j++) {
            double ferr;
            double perr;
            converge(all_ops[i], freqs[j], seed + j, &ferr, &perr);
            printf("  %s %+.0f ppm: freq error %.4f ppm, phase error %.2f us\n", all_ops[i]->name,
                   freqs[j] * 1e6, ferr * 1e6, perr * 1e6);
            /* 200 samples of 10 us over 3200 s: the slope is typically good to 0.005 ppm.
             * Now and then the Kalman bank weighs a faster-wandering model (0.05 ppm),
             * and the regression's runs test cuts its window to 8 samples by chance
             * (5 % level, as chrony's; 0.2 ppm). */
            assert_true(ferr < (all_ops[i] == &est_kal_ops ? 0.1e-6 : 0.3e-6));
            assert_true(perr < 15e-6);
        }
    }
}

/* The frequency steps by 2 ppm at t = 3200 s (a VM migrated): both estimators find the
 * new frequency within 40 samples (640 s). */
static void test_follows_frequency_step(void **state)
{
    (void)state;
    uint64_t seed = print_seed("test_follows_frequency_step");
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        struct core_rng rng;
        core_rng_seed(&rng, seed);
        void *st = fresh(o);
        double sigma = 5e-6;
        double z = 0.0;
        for (int k = 0; k < 240; k++) {
            double t = 16.0 * k;
            double f = k < 200 ? 10e-6 : 12e-6;
            z += k > 0 ? f * 16.0 : 0.0;
            o->add_sample(st, t, z + sigma * gauss(&rng), sigma * sigma);
        }
        struct est_pred p;
        o->predict(st, 16.0 * 239, &p);
        printf("  %s after the step: %.3f ppm (want 12)\n", o->name, p.freq * 1e6);
        assert_true(fabs(p.freq - 12e-6) < 0.3e-6);
    }
}

static void test_seed_before_samples(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        o->seed_freq(st, -20e-6, 1e-12);
        struct est_pred p;
        o->predict(st, 0.0, &p);
        assert_true(p.freq_valid);
        assert_true(fabs(p.freq + 20e-6) < 1e-15);
        /* With one sample, the seed gives the slope. */
        o->add_sample(st, 100.0, 0.5, 1e-12);
        o->predict(st, 200.0, &p);
        assert_true(p.valid && p.freq_valid);
        assert_true(fabs(p.phase - (0.5 - 20e-6 * 100.0)) < 1e-7);
    }
}

static void test_reset_keeps_frequency(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 10; k++) {
            o->add_sample(st, 10.0 * k, 7e-6 * 10.0 * k, 1e-12);
        }
        o->reset(st, true);
        struct est_pred p;
        o->predict(st, 200.0, &p);
        assert_false(p.valid);
        assert_true(p.freq_valid);
        assert_true(fabs(p.freq - 7e-6) < 1e-9);
        o->reset(st, false);
        o->predict(st, 200.0, &p);
        assert_false(p.valid || p.freq_valid);
    }
}

static void test_rebase_shifts_phase(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 10; k++) {
            o->add_sample(st, 10.0 * k, 1.0 + 3e-6 * 10.0 * k, 1e-12);
        }
        struct est_pred a;
        struct est_pred b;
        o->predict(st, 95.0, &a);
        o->rebase(st, -1.0);
        o->predict(st, 95.0, &b);
        assert_true(fabs(b.phase - (a.phase - 1.0)) < 1e-12);
        assert_true(fabs(b.freq - a.freq) < 1e-15);
        /* New samples continue the rebased line without a jump. */
        o->add_sample(st, 100.0, 3e-6 * 100.0, 1e-12);
        o->predict(st, 100.0, &b);
        assert_true(fabs(b.phase - 3e-4) < 1e-8);
    }
}

/* After a phase jump the next sample restarts the phase; the frequency stays. */
static void test_widen_phase(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 20; k++) {
            o->add_sample(st, 10.0 * k, 5e-6 * 10.0 * k, 1e-12);
        }
        o->widen(st, 300.0 * 300.0, 0.0);
        o->add_sample(st, 200.0, 300.0 + 5e-6 * 200.0, 1e-12);
        struct est_pred p;
        o->predict(st, 210.0, &p);
        assert_true(p.valid && p.freq_valid);
        assert_true(fabs(p.phase - (300.0 + 5e-6 * 210.0)) < 1e-6);
        assert_true(fabs(p.freq - 5e-6) < 1e-8);
    }
}

/* After a frequency jump (live migration: 5 -> 13 ppm) with the doubt widened, two
 * samples give the new frequency. */
static void test_widen_frequency(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 20; k++) {
            o->add_sample(st, 64.0 * k, 5e-6 * 64.0 * k, 1e-12);
        }
        double t0 = 64.0 * 19;
        double z0 = 5e-6 * t0;
        double nu = 8e-6 * 1024.0;
        o->widen(st, nu * nu, (nu / 1024.0) * (nu / 1024.0));
        o->add_sample(st, t0 + 1024.0, z0 + 13e-6 * 1024.0, 1e-12);
        o->add_sample(st, t0 + 2048.0, z0 + 13e-6 * 2048.0, 1e-12);
        struct est_pred p;
        o->predict(st, t0 + 2048.0, &p);
        printf("  %s after widening: %.4f ppm (want 13)\n", o->name, p.freq * 1e6);
        assert_true(fabs(p.freq - 13e-6) < 0.05e-6);
    }
}

/* Samples at one instant and a sample back in time never produce NaN. */
static void test_degenerate_times(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_OPS; i++) {
        const struct est_ops *o = all_ops[i];
        void *st = fresh(o);
        for (int k = 0; k < 5; k++) {
            o->add_sample(st, 50.0, 1e-3 * k, 1e-10);
        }
        o->add_sample(st, 40.0, 0.0, 1e-10);
        struct est_pred p;
        o->predict(st, 60.0, &p);
        assert_true(isfinite(p.phase) && isfinite(p.freq));
        assert_true(isfinite(p.var_phase) && isfinite(p.var_freq));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_empty_prediction),
        cmocka_unit_test(test_exact_line),
        cmocka_unit_test(test_converges_10ppm_and_5000ppm),
        cmocka_unit_test(test_follows_frequency_step),
        cmocka_unit_test(test_seed_before_samples),
        cmocka_unit_test(test_reset_keeps_frequency),
        cmocka_unit_test(test_rebase_shifts_phase),
        cmocka_unit_test(test_widen_phase),
        cmocka_unit_test(test_widen_frequency),
        cmocka_unit_test(test_degenerate_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
