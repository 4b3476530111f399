/* Unit tests for the reply sanity predicates, the measurement and the clock filter
 * (src/core/flt.c): each RFC 5905 section 8 test on passing and failing inputs, offset
 * and delay from hand-computed timestamps (also across the 2036 era change), the
 * lowest-delay choice, use-once, warm-up, shift detection, expiry, rebasing through the
 * frame, jitter and dispersion, and seeded random samples that must stay finite. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/flt.h"
#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

#define S(x)  ((int64_t)(x)*INT64_C(1000000000))
#define MS(x) ((int64_t)(x)*INT64_C(1000000))
#define US(x) ((int64_t)(x)*INT64_C(1000))

static struct ntp_header good_header(void)
{
    struct ntp_header h;
    memset(&h, 0, sizeof(h));
    h.leap = NTP_LEAP_NONE;
    h.version = 4;
    h.mode = NTP_MODE_SERVER;
    h.stratum = 2;
    h.rx_ts = UINT64_C(0xe000000000000000);
    h.tx_ts = UINT64_C(0xe000000000001000);
    return h;
}

static void test_bad_mode(void **state)
{
    (void)state;
    struct ntp_header h = good_header();
    assert_false(flt_bad_mode(&h));
    for (uint8_t m = 0; m < 8; m++) {
        h.mode = m;
        assert_true(flt_bad_mode(&h) == (m != NTP_MODE_SERVER));
    }
}

static void test_bogus(void **state)
{
    (void)state;
    assert_false(flt_is_bogus(0x1234, 0x1234));
    assert_true(flt_is_bogus(0x1235, 0x1234));
    assert_true(flt_is_bogus(0, 0x1234));
    /* A zero nonce is never sent: a zero origin must not match it. */
    assert_true(flt_is_bogus(0, 0));
}

static void test_duplicate(void **state)
{
    (void)state;
    assert_false(flt_is_duplicate(false, 5, 0));
    assert_false(flt_is_duplicate(false, 5, 4));
    assert_true(flt_is_duplicate(false, 5, 5));
    assert_true(flt_is_duplicate(true, 5, 4));
    assert_true(flt_is_duplicate(true, 5, 0));
}

static void test_kiss_and_unsync(void **state)
{
    (void)state;
    struct ntp_header h = good_header();
    assert_false(flt_is_kiss(&h));
    assert_false(flt_is_unsynchronized(&h));
    h.stratum = 0;
    assert_true(flt_is_kiss(&h));
    assert_true(flt_is_unsynchronized(&h));
    h.stratum = 15;
    h.leap = NTP_LEAP_INSERT;
    assert_false(flt_is_unsynchronized(&h));
    h.leap = NTP_LEAP_UNSYNC;
    assert_true(flt_is_unsynchronized(&h));
    h.leap = NTP_LEAP_NONE;
    h.stratum = 16;
    assert_true(flt_is_unsynchronized(&h));
    h.stratum = 255;
    assert_true(flt_is_unsynchronized(&h));
    h.stratum = 1;
    assert_false(flt_is_unsynchronized(&h));
}

static void test_zero_timestamps(void **state)
{
    (void)state;
    struct ntp_header h = good_header();
    assert_false(flt_has_zero_timestamp(&h));
    h.rx_ts = 0;
    assert_true(flt_has_zero_timestamp(&h));
    h = good_header();
    h.tx_ts = 0;
    assert_true(flt_has_zero_timestamp(&h));
}

/* Timestamps of an exchange: T1 at t1, the server clock ahead by offset, one-way delay
 * d each way, held for hold seconds. */
static struct flt_times exchange(int64_t t1, double offset, double d, double hold)
{
    struct flt_times t;
    int64_t t2_true = t1 + (int64_t)llround(d * 1e9);
    t.t1_ns = t1;
    t.t2 = ntp_ts_from_unix_ns(t2_true + (int64_t)llround(offset * 1e9));
    t.t3 = ntp_ts_from_unix_ns(t2_true + (int64_t)llround((offset + hold) * 1e9));
    t.t4_ns = t2_true + (int64_t)llround((hold + d) * 1e9);
    return t;
}

static void test_times_disordered(void **state)
{
    (void)state;
    struct flt_times t = exchange(S(1700000000), 0.25, 0.010, 0.001);
    assert_false(flt_times_disordered(&t));
    struct flt_times r = t;
    r.t4_ns = t.t1_ns - 1;
    assert_true(flt_times_disordered(&r));
    r = t;
    r.t3 = t.t2 - 1;
    assert_true(flt_times_disordered(&r));
    /* The server held it 30 ms while our whole round trip took 21 ms. */
    r = t;
    r.t3 = t.t2 + (UINT64_C(30) << 32) / 1000;
    assert_true(flt_times_disordered(&r));
    /* Held 21.0001 ms of a 21 ms round trip: within the rate tolerance. */
    r = exchange(S(1700000000), 0.25, 0.0, 0.021);
    r.t4_ns -= 100;
    assert_false(flt_times_disordered(&r));
    /* Extreme values never overflow. */
    r.t1_ns = INT64_MAX;
    r.t4_ns = INT64_MIN;
    assert_true(flt_times_disordered(&r));
}

static void test_delay_and_distance_limits(void **state)
{
    (void)state;
    assert_false(flt_exceeds_delay(5.0, 0.0));
    assert_false(flt_exceeds_delay(0.2, 0.2));
    assert_true(flt_exceeds_delay(0.2001, 0.2));
    assert_true(flt_exceeds_delay(NAN, 0.2));
    /* (0.1 + 0.02) / 2 + 0.5 + 0.01 = 0.57 */
    assert_false(flt_exceeds_distance(0.1, 0.5, 0.02, 0.01, 0.58));
    assert_true(flt_exceeds_distance(0.1, 0.5, 0.02, 0.01, 0.56));
    assert_true(flt_exceeds_distance(NAN, 0.5, 0.02, 0.01, 1.5));
    assert_true(flt_exceeds_distance(0.0, INFINITY, 0.02, 0.01, 1.5));
}

static void test_measure(void **state)
{
    (void)state;
    struct flt_meas m;
    struct flt_times t = exchange(S(1700000000) + MS(123), 0.5, 0.010, 0.001);
    flt_measure(&t, -20, -20, &m);
    assert_true(fabs(m.offset - 0.5) < 1e-9);
    assert_true(fabs(m.delay - 0.020) < 1e-9);
    double disp = 2 * ldexp(1.0, -20) + FLT_PHI * 0.021;
    assert_true(fabs(m.dispersion - disp) < 1e-12);
    /* Negative offset: our clock ahead by 300 s. */
    t = exchange(S(1700000000), -300.0, 0.0005, 0.0);
    flt_measure(&t, -24, -22, &m);
    assert_true(fabs(m.offset + 300.0) < 1e-8);
    assert_true(fabs(m.delay - 0.001) < 1e-9);
    /* A round trip shorter than the precision is clamped to it. */
    t = exchange(S(1700000000), 0.0, 0.0, 0.0);
    flt_measure(&t, -20, -10, &m);
    assert_true(m.delay == ldexp(1.0, -10));
}

/* 2036-02-07 06:28:16 UTC: the NTP era 1 begins; the server's stamps wrap to small
 * values while ours are Unix ns. */
static void test_measure_across_era(void **state)
{
    (void)state;
    struct flt_meas m;
    int64_t era1 = S(INT64_C(2085978496));
    struct flt_times t = exchange(era1 - MS(5), 0.002, 0.004, 0.0005);
    assert_true(t.t2 < (UINT64_C(1) << 32)); /* wrapped */
    assert_false(flt_times_disordered(&t));
    flt_measure(&t, -20, -20, &m);
    assert_true(fabs(m.offset - 0.002) < 1e-9);
    assert_true(fabs(m.delay - 0.008) < 1e-9);
}

static const struct flt_frame frame0 = {0, 0.0, 0.0, 0.0};

static struct flt_frame frame_at(int64_t now)
{
    struct flt_frame f = frame0;
    f.now_mono_ns = now;
    return f;
}

static struct flt_sample sample(int64_t t, double offset, double delay)
{
    struct flt_sample s = {t, offset, delay, 1e-6};
    return s;
}

static enum flt_verdict add(struct flt *f, int64_t t, double offset, double delay)
{
    struct flt_sample s = sample(t, offset, delay);
    struct flt_frame fr = frame_at(t);
    return flt_add(f, &s, &fr, 1e-6, 1000.0);
}

static void test_filter_warmup_then_lowest_delay(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    struct flt_frame fr;
    flt_init(&f);
    fr = frame_at(0);
    assert_false(flt_estimate(&f, &fr, 1e-6, 1000.0, &e));
    /* Warm-up: each of the first FLT_WARMUP samples is handed out as it comes. */
    double delays[FLT_WARMUP] = {0.004, 0.009, 0.001, 0.003};
    for (int i = 0; i < FLT_WARMUP; i++) {
        assert_int_equal(add(&f, S(i * 2), 1e-4 * i, delays[i]), FLT_NEW);
        fr = frame_at(S(i * 2));
        assert_true(flt_estimate(&f, &fr, 1e-6, 1000.0, &e));
        assert_true(e.mono_ns == S(i * 2));
    }
    /* From now on the lowest delay of the window: sample 2 (0.001) was used already. */
    assert_int_equal(add(&f, S(8), 2e-4, 0.002), FLT_HELD);
    fr = frame_at(S(8));
    assert_true(flt_estimate(&f, &fr, 1e-6, 1000.0, &e));
    assert_true(e.mono_ns == S(4));
    assert_true(fabs(e.offset - 2e-4) < 1e-12);
    assert_true(e.delay == 0.001);
    assert_int_equal(e.n, 5);
    /* A new lowest delay is new. */
    assert_int_equal(add(&f, S(10), 3e-4, 0.0005), FLT_NEW);
    fr = frame_at(S(10));
    assert_true(flt_estimate(&f, &fr, 1e-6, 1000.0, &e));
    assert_true(e.mono_ns == S(10));
    /* Equal delays: the newer one. */
    assert_int_equal(add(&f, S(12), 3.5e-4, 0.0005), FLT_NEW);
}

/* The choice ages samples by the frequency uncertainty: with a well-known frequency an
 * older sample with a lower delay stays chosen; with 10 ppm of uncertainty 64 s of age
 * (~2 ms) outweigh 50 us of extra delay. */
static void test_filter_aged_choice(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    for (int uncertain = 0; uncertain < 2; uncertain++) {
        flt_init(&f);
        for (int i = 0; i < FLT_WARMUP; i++) {
            add(&f, S(i * 64), 0.0, 0.0011);
        }
        add(&f, S(4 * 64), 0.0, 0.0010);
        struct flt_sample s = sample(S(5 * 64), 1e-6, 0.00105);
        struct flt_frame fr = frame_at(S(5 * 64));
        fr.skew = uncertain ? 10e-6 : 0.0;
        assert_int_equal(flt_add(&f, &s, &fr, 1e-6, 1e6), uncertain ? FLT_NEW : FLT_HELD);
        assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
        assert_true(e.mono_ns == (uncertain ? S(5 * 64) : S(4 * 64)));
    }
}

static void test_filter_window_and_expiry(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    flt_init(&f);
    /* Warm-up, then the lowest delay at t = 10 s, then worse samples. */
    for (int i = 0; i < FLT_WARMUP; i++) {
        add(&f, S(i), 0.0, 0.005);
    }
    assert_int_equal(add(&f, S(10), 0.0, 0.001), FLT_NEW);
    for (int i = 0; i < FLT_LEN - 1; i++) {
        assert_int_equal(add(&f, S(11 + i), 1e-5, 0.002 + 1e-4 * i), FLT_HELD);
    }
    /* The eighth later sample pushes t = 10 s out of the window: the lowest left is the
     * oldest remaining one (delay 0.002 at 11 s), newer than the last used (10 s). */
    assert_int_equal(add(&f, S(11 + FLT_LEN - 1), 1e-5, 0.009), FLT_NEW);
    struct flt_frame fr = frame_at(S(30));
    assert_true(flt_estimate(&f, &fr, 1e-6, 1000.0, &e));
    assert_true(e.mono_ns == S(11));
    /* Age limit: at t = 25 s with max_age 10 s only the samples of 15..18 s take part;
     * the lowest delay among them is the one of 15 s. */
    fr = frame_at(S(25));
    assert_true(flt_estimate(&f, &fr, 1e-6, 10.0, &e));
    assert_true(e.mono_ns == S(15));
    assert_int_equal(e.n, 4);
    fr = frame_at(S(100));
    assert_false(flt_estimate(&f, &fr, 1e-6, 10.0, &e));
}

static void test_filter_shift_and_restart(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    flt_init(&f);
    for (int i = 0; i < 6; i++) {
        add(&f, S(i * 64), 1e-5 * (i % 2), 0.001);
    }
    /* Within both error bounds (0.5 ms + dispersion + jitter): no shift, just held or new. */
    assert_true(add(&f, S(6 * 64), 3e-4, 0.0011) != FLT_SHIFT);
    /* 300 s off: the offset moved. */
    assert_int_equal(add(&f, S(7 * 64), -300.0, 0.002), FLT_SHIFT);
    struct flt_frame fr = frame_at(S(7 * 64));
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_true(fabs(e.offset + 300.0) < 1e-9);
    assert_int_equal(e.n, 1);
    /* The new epoch warms up: the next samples are each handed out. */
    assert_int_equal(add(&f, S(7 * 64 + 2), -300.0001, 0.003), FLT_NEW);
    assert_int_equal(add(&f, S(7 * 64 + 4), -300.0002, 0.004), FLT_NEW);
    /* A restart (external jump) retires everything: the next sample is new at once. */
    flt_restart(&f, S(500));
    fr = frame_at(S(500));
    assert_false(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_int_equal(add(&f, S(501), 0.0, 0.009), FLT_NEW);
    /* NaN never enters. */
    struct flt_sample bad = sample(S(502), NAN, 0.001);
    fr = frame_at(S(502));
    assert_int_equal(flt_add(&f, &bad, &fr, 1e-6, 1e6), FLT_HELD);
    bad = sample(S(502), 0.0, -1.0);
    assert_int_equal(flt_add(&f, &bad, &fr, 1e-6, 1e6), FLT_HELD);
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_int_equal(e.n, 1);
}

/* Stored raw offsets refer to now through the frame: minus phase, plus drift * age. */
static void test_filter_frame_rebases(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    struct flt_sample s = sample(S(100), 2.0, 0.001);
    struct flt_frame fr = {S(100), 0.0, 0.0, 0.0};
    flt_init(&f);
    assert_int_equal(flt_add(&f, &s, &fr, 1e-6, 1e6), FLT_NEW);
    /* The clock received +1.5 s of corrections and drifts 10 ppm: 200 s later the
     * sample stands for 2.0 - 1.5 + 10e-6 * 200. */
    fr = (struct flt_frame){S(300), 1.5, 10e-6, 0.0};
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_true(fabs(e.offset - (0.5 + 2e-3)) < 1e-12);
    /* Dispersion grows at PHI. */
    assert_true(fabs(e.dispersion - (1e-6 + FLT_PHI * 200.0)) < 1e-12);
    flt_shift(&f, -1.5);
    fr.phase = 0.0;
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_true(fabs(e.offset - (0.5 + 2e-3)) < 1e-12);
}

/* Jitter: RMS scatter about the samples' trend line; dispersion: the chosen sample's. */
static void test_filter_jitter_and_dispersion(void **state)
{
    (void)state;
    struct flt f;
    struct flt_estimate e;
    flt_init(&f);
    struct flt_frame fr = frame_at(S(10));
    struct flt_sample a = {S(10), 0.001, 0.002, 0.004};
    struct flt_sample b = {S(10), 0.004, 0.003, 0.008};
    struct flt_sample c = {S(10), -0.002, 0.004, 0.016};
    flt_add(&f, &a, &fr, 1e-9, 1e6);
    flt_add(&f, &b, &fr, 1e-9, 1e6);
    flt_add(&f, &c, &fr, 1e-9, 1e6);
    /* Still warming up: the chosen is the newest (c). All taken at once: the scatter
     * about their mean 0.001 is (0, 0.003, -0.003) with two degrees of freedom. */
    assert_true(flt_estimate(&f, &fr, 1e-9, 1e6, &e));
    assert_true(e.offset == -0.002);
    assert_true(fabs(e.jitter - 0.003) < 1e-12);
    assert_true(fabs(e.dispersion - 0.016) < 1e-12);
    /* Ten seconds later the chosen one has grown at PHI. */
    fr = frame_at(S(20));
    assert_true(flt_estimate(&f, &fr, 1e-9, 1e6, &e));
    assert_true(fabs(e.dispersion - (0.016 + FLT_PHI * 10.0)) < 1e-12);
    /* A frequency error seen as a trend is not jitter: samples on a line 5 ppm steep
     * scatter by nothing, whatever the frame's drift. */
    flt_init(&f);
    for (int i = 0; i < 6; i++) {
        struct flt_sample s = {S(64 * i), 5e-6 * 64 * i, 0.001, 1e-6};
        fr = frame_at(S(64 * i));
        flt_add(&f, &s, &fr, 1e-9, 1e6);
    }
    assert_true(flt_estimate(&f, &fr, 1e-9, 1e6, &e));
    assert_true(e.jitter < 1e-8);
    /* Two samples: their difference (RFC 5905 with n = 2). */
    flt_init(&f);
    fr = frame_at(S(10));
    flt_add(&f, &a, &fr, 1e-9, 1e6);
    flt_add(&f, &b, &fr, 1e-9, 1e6);
    assert_true(flt_estimate(&f, &fr, 1e-9, 1e6, &e));
    assert_true(fabs(e.jitter - 0.003) < 1e-12);
    /* Two samples 2 s apart before the frequency is known (skew 1000 ppm): their 4 ms
     * difference is what a clock 2000 ppm off drifts, not noise. */
    flt_init(&f);
    fr = frame_at(S(12));
    fr.skew = 1e-3;
    struct flt_sample d0 = {S(10), 0.0, 0.0004, 1e-6};
    struct flt_sample d1 = {S(12), 0.004, 0.0004, 1e-6};
    flt_add(&f, &d0, &fr, 1e-6, 1e6);
    flt_add(&f, &d1, &fr, 1e-6, 1e6);
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_true(e.jitter == 1e-6);
    fr.skew = 1e-4; /* known to 100 ppm: 600 us of it may be drift, the rest is jitter */
    assert_true(flt_estimate(&f, &fr, 1e-6, 1e6, &e));
    assert_true(fabs(e.jitter - 0.0034) < 1e-9);
    /* One sample: jitter is the precision. */
    flt_init(&f);
    flt_add(&f, &a, &fr, 1e-5, 1e6);
    assert_true(flt_estimate(&f, &fr, 1e-5, 1e6, &e));
    assert_true(e.jitter == 1e-5);
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(flt_reason_name(FLT_OK), "ok");
    assert_string_equal(flt_reason_name(FLT_BOGUS), "bogus");
    assert_string_equal(flt_reason_name(FLT_DUPLICATE), "duplicate");
    assert_string_equal(flt_reason_name(FLT_REASON_COUNT), "unknown");
    for (int r = 0; r < FLT_REASON_COUNT; r++) {
        assert_string_not_equal(flt_reason_name((enum flt_reason)r), "unknown");
    }
}

/* Seeded random samples (offsets up to 1e6 s, delays up to 10 s, odd times): estimates
 * stay finite, the chosen is a stored sample, and the count never exceeds FLT_LEN. */
static void test_filter_random(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)time(NULL);
    struct core_rng rng;
    struct flt f;
    struct flt_estimate e;
    printf("test_filter_random seed %llu\n", (unsigned long long)seed);
    core_rng_seed(&rng, seed);
    flt_init(&f);
    int64_t t = 0;
    for (int i = 0; i < 5000; i++) {
        t += (int64_t)(core_rng_next(&rng) % (uint64_t)S(100)) - S(1);
        struct flt_sample s = {t, (core_rng_uniform(&rng) - 0.5) * 2e6,
                               core_rng_uniform(&rng) * 10.0, core_rng_uniform(&rng)};
        struct flt_frame fr = {t, (core_rng_uniform(&rng) - 0.5) * 10.0,
                               (core_rng_uniform(&rng) - 0.5) * 1e-3,
                               core_rng_uniform(&rng) * 1e-5};
        enum flt_verdict v = flt_add(&f, &s, &fr, 1e-6, 500.0);
        assert_true(v == FLT_HELD || v == FLT_NEW || v == FLT_SHIFT);
        if ((i % 97) == 0) {
            flt_restart(&f, t);
        }
        if (flt_estimate(&f, &fr, 1e-6, 500.0, &e)) {
            assert_true(isfinite(e.offset) && isfinite(e.jitter) && isfinite(e.dispersion));
            assert_true(e.n >= 1 && e.n <= FLT_LEN);
            assert_true(e.jitter >= 1e-6 && e.dispersion <= FLT_MAXDISP);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_mode),
        cmocka_unit_test(test_bogus),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_kiss_and_unsync),
        cmocka_unit_test(test_zero_timestamps),
        cmocka_unit_test(test_times_disordered),
        cmocka_unit_test(test_delay_and_distance_limits),
        cmocka_unit_test(test_measure),
        cmocka_unit_test(test_measure_across_era),
        cmocka_unit_test(test_filter_warmup_then_lowest_delay),
        cmocka_unit_test(test_filter_aged_choice),
        cmocka_unit_test(test_filter_window_and_expiry),
        cmocka_unit_test(test_filter_shift_and_restart),
        cmocka_unit_test(test_filter_frame_rebases),
        cmocka_unit_test(test_filter_jitter_and_dispersion),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_filter_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
