/* Unit tests for the clock discipline (src/core/dsc.c) against a tiny clock model: a
 * plain frequency-adjustable clock whose monotonic clock is slewed with it, as Linux
 * does. Step policy (start-up, limit, confirmed running steps, spikes, lone sources,
 * panic refusal and allow_step, external jumps, failed steps and their back-off, a
 * carrier refusing everything, -x), the slew plan (10 ms to under 1 us, bounded
 * overshoot), frequency convergence (10 and 5000 ppm, both estimators), clamped
 * frequencies (reported once), holdover, drift, the timeline and its renormalization,
 * the bound's inputs, actions and events, config mapping, and bad input. Noise is
 * seeded; seeds are printed. */
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

#include "core/act.h"
#include "core/core.h"
#include "core/dsc.h"

/* The clock under test and the loop around the discipline. */
struct rig {
    struct dsc d;
    double theta;     /* s: true offset, what must be added to the clock */
    double e;         /* s/s: intrinsic frequency error (positive = runs fast) */
    double f;         /* s/s: applied correction */
    double mono;      /* s: monotonic clock (slewed like realtime, never stepped) */
    double limit_ppm; /* the carrier's frequency limit */
    double sigma;     /* s: measurement noise */
    double wander;    /* (s/s)/sqrt(s): random walk of e */
    int steps;
    int clamps;
    bool step_fails;    /* the carrier cannot step (EPERM) */
    int step_requests;  /* ACT_STEPs asked for */
    int stepped_events; /* results reporting an applied step (EV_STEP) */
    int step_failures;  /* results reporting a failed one (EV_STEP_FAILED) */
    int freq_requests;
    int refusals;
    int synced, unsynced;
    struct core_rng rng;
};

static struct rig rig; /* large: keep it off the stack */

static double gauss(struct core_rng *r)
{
    double u1 = core_rng_uniform(r);
    double u2 = core_rng_uniform(r);
    return sqrt(-2.0 * log(u1 > 1e-300 ? u1 : 1e-300)) * cos(2.0 * M_PI * u2);
}

static int64_t now_ns(const struct rig *g)
{
    return (int64_t)llround(g->mono * 1e9);
}

static void advance_true(struct rig *g, double dt)
{
    g->theta -= (g->e + g->f) * dt;
    g->mono += (1.0 + g->e + g->f) * dt;
}

static void advance_mono_to(struct rig *g, int64_t mono_ns)
{
    double dm = (double)mono_ns / 1e9 - g->mono;
    if (dm > 0.0) {
        advance_true(g, dm / (1.0 + g->e + g->f));
    }
}

/* Carries a result out like the driver: step, then frequency, results reported. */
static void carry(struct rig *g, const struct dsc_result *r)
{
    struct dsc_result x;
    g->refusals += r->refused;
    g->synced += r->synced;
    g->unsynced += r->unsynced;
    if (r->step) {
        g->step_requests++;
        if (!g->step_fails) {
            g->theta -= r->step_offset;
            g->steps++;
        }
        dsc_on_stepped(&g->d, now_ns(g), !g->step_fails, r->step_offset, &x);
        g->stepped_events += x.stepped;
        g->step_failures += x.step_failed;
    }
    if (r->set_freq) {
        g->freq_requests++;
        double ppm = r->freq_ppm;
        ppm = ppm > g->limit_ppm ? g->limit_ppm : ppm < -g->limit_ppm ? -g->limit_ppm : ppm;
        g->f = ppm * 1e-6;
        dsc_on_freq_set(&g->d, now_ns(g), ppm, &x);
        g->clamps += x.clamped;
    }
}

static void rig_start(struct rig *g, const struct dsc_config *c, double theta, double e_ppm,
                      double sigma, uint64_t seed)
{
    struct dsc_result r;
    memset(g, 0, sizeof *g);
    g->theta = theta;
    g->e = e_ppm * 1e-6;
    g->mono = 1000.0;
    g->limit_ppm = 100500.0;
    g->sigma = sigma;
    core_rng_seed(&g->rng, seed);
    dsc_init(&g->d, c, now_ns(g), &r);
    carry(g, &r);
}

/* Runs the discipline's timers up to mono + dt; returns the largest |theta| seen at a
 * fine grid (10 ms) so overshoot between timers is seen too. */
static double run_for(struct rig *g, double dt, double grid)
{
    int64_t end = now_ns(g) + (int64_t)llround(dt * 1e9);
    double worst = fabs(g->theta);
    for (int guard = 0; guard < 1000000 && now_ns(g) < end; guard++) {
        int64_t next = dsc_next_timer(&g->d);
        int64_t step_end = now_ns(g) + (int64_t)llround(grid * 1e9);
        int64_t to = next < step_end ? next : step_end;
        to = to < end ? to : end;
        double before = g->mono;
        advance_mono_to(g, to);
        if (g->wander > 0.0 && g->mono > before) {
            g->e += g->wander * sqrt(g->mono - before) * gauss(&g->rng);
        }
        worst = fabs(g->theta) > worst ? fabs(g->theta) : worst;
        if (now_ns(g) >= next) {
            struct dsc_result r;
            dsc_on_timer(&g->d, now_ns(g), &r);
            carry(g, &r);
        }
    }
    return worst;
}

/* One combined measurement now: the true offset plus noise plus bias. */
static void measure(struct rig *g, double bias, int agree, int cand, struct dsc_result *r)
{
    struct dsc_update u;
    memset(&u, 0, sizeof u);
    u.offset = g->theta + bias + g->sigma * gauss(&g->rng);
    u.error = g->sigma > 1e-6 ? g->sigma : 1e-6;
    u.n_agree = agree;
    u.n_candidates = cand;
    u.root_delay = 0.0002;
    u.root_dispersion = 0.0001;
    u.mono_ns = now_ns(g);
    dsc_update(&g->d, &u, now_ns(g), r);
    carry(g, r);
}

static void poll_n(struct rig *g, int n, double interval)
{
    struct dsc_result r;
    for (int i = 0; i < n; i++) {
        run_for(g, interval, 1.0);
        measure(g, 0.0, 1, 1, &r);
    }
}

static uint64_t print_seed(const char *test)
{
    /* TSYNC_TEST_SEED replays a failure. */
    const char *env = getenv("TSYNC_TEST_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    printf("%s seed %llu\n", test, (unsigned long long)seed);
    return seed;
}

static bool has_action(const struct act_list *l, enum act_kind k)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->a[i].kind == k) {
            return true;
        }
    }
    return false;
}

static bool has_event(const struct act_list *l, enum act_event_kind k)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->a[i].kind == ACT_EVENT && l->a[i].u.event.kind == k) {
            return true;
        }
    }
    return false;
}

/* ---- step policy ---- */

static void test_startup_step(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    rig_start(g, NULL, 2.0, 0.0, 10e-6, 1);
    assert_int_equal(g->d.state, DSC_UNSYNC);
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
    assert_true(fabs(r.step_offset - 2.0) < 1e-4);
    assert_int_equal(r.step_agree, 1);
    assert_true(r.synced);
    assert_int_equal(g->steps, 1);
    assert_true(fabs(g->theta) < 1e-4);
    assert_int_equal(g->d.state, DSC_SYNC);

    struct act_list out;
    act_list_clear(&out);
    dsc_emit(&g->d, &r, true, &out);
    assert_true(has_action(&out, ACT_STEP));
    assert_true(has_action(&out, ACT_FREQ));
    assert_int_equal(out.a[0].kind, ACT_STEP);
    assert_false(has_event(&out, EV_STEP)); /* asked for, not done yet */
    assert_int_equal(g->stepped_events, 1); /* the result reported it (carry) */
    act_list_clear(&out);
    dsc_emit(&g->d, &r, false, &out); /* -x: nothing touches a clock, nothing claims it */
    assert_false(has_action(&out, ACT_STEP));
    assert_false(has_action(&out, ACT_FREQ));
    assert_false(has_event(&out, EV_STEP));
    /* The result of a step carried out is what the log reports, with the agreement. */
    struct dsc_result x;
    memset(&x, 0, sizeof x);
    x.stepped = true;
    x.stepped_offset = 2.0;
    x.stepped_agree = 1;
    act_list_clear(&out);
    dsc_emit(&g->d, &x, false, &out);
    assert_true(has_event(&out, EV_STEP));
    assert_true(out.a[0].u.event.v[0] == 2.0 && out.a[0].u.event.v[1] == 1.0);

    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_int_equal(st.steps, 1);
    assert_int_equal(st.updates, 1);
}

/* A VM restored from a snapshot days off steps at once; agreement is still needed. */
static void test_startup_step_any_size_needs_agreement(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    rig_start(g, NULL, 3.0 * 86400.0, 0.0, 10e-6, 2);
    measure(g, 0.0, 1, 3, &r); /* one of three: no majority */
    assert_false(r.step);
    measure(g, 0.0, 2, 3, &r);
    assert_true(r.step);
    assert_true(fabs(g->theta) < 1e-3);
}

static void test_no_startup_step_below_threshold(void **state)
{
    (void)state;
    struct rig *g = &rig;
    rig_start(g, NULL, 0.05, 10.0, 5e-6, print_seed("test_no_startup_step_below_threshold"));
    struct dsc_result r;
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    poll_n(g, 5, 2.0);
    assert_int_equal(g->steps, 0);
    run_for(g, 2.0, 0.01);
    printf("  50 ms slewed: |offset| %.1f us after 12 s\n", fabs(g->theta) * 1e6);
    assert_true(fabs(g->theta) < 100e-6);
}

static void test_step_limit(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    rig_start(g, NULL, 0.0, 0.0, 5e-6, 3);
    poll_n(g, 3, 2.0); /* the three start-up updates pass */
    g->theta += 0.2;   /* above 0.1, below the running threshold 0.5 */
    run_for(g, 2.0, 1.0);
    for (int i = 0; i < 4; i++) {
        measure(g, 0.0, 1, 1, &r);
        assert_false(r.step);
        run_for(g, 2.0, 0.1);
        printf("  0.2 s after start-up, update %d: |offset| %.6f s\n", i, fabs(g->theta));
    }
    assert_int_equal(g->steps, 0);
    assert_true(fabs(g->theta) < 1e-3); /* slewed instead */

    struct dsc_config c;
    dsc_config_default(&c);
    c.step_limit = -1; /* always */
    rig_start(g, &c, 0.0, 0.0, 5e-6, 3);
    poll_n(g, 10, 2.0);
    g->theta += 0.2;
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
}

/* Past start-up, warmed up on 16 s polls. */
static void warm_rig(struct rig *g, const struct dsc_config *c, uint64_t seed)
{
    rig_start(g, c, 0.0, 10.0, 10e-6, seed);
    poll_n(g, 6, 2.0);
    poll_n(g, 20, 16.0);
    assert_int_equal(g->steps, 0);
}

static void test_running_step_after_confirmation(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, print_seed("test_running_step_after_confirmation"));
    g->theta += 5.0;
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    assert_true(r.spike);
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
    assert_int_equal(g->steps, 1);
    assert_true(fabs(g->theta) < 1e-3);
    /* And the loop goes on calmly afterwards. */
    poll_n(g, 10, 16.0);
    assert_int_equal(g->steps, 1);
    assert_true(fabs(g->theta) < 100e-6);
}

static void test_step_confirm_configurable(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_config c;
    struct dsc_result r;
    dsc_config_default(&c);
    c.step_confirm = 5;
    warm_rig(g, &c, 4);
    g->theta -= 2.0;
    for (int i = 0; i < 4; i++) {
        measure(g, 0.0, 1, 1, &r);
        assert_false(r.step);
        run_for(g, 2.0, 1.0);
    }
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
    c.running_step_threshold = 0.0; /* never step while running */
    warm_rig(g, &c, 4);
    g->theta -= 2.0;
    for (int i = 0; i < 10; i++) {
        measure(g, 0.0, 1, 1, &r);
        assert_false(r.step);
        run_for(g, 2.0, 1.0);
    }
}

/* One-sample spikes, large or small, never step and do not move the clock. */
static void test_spikes_never_step(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, print_seed("test_spikes_never_step"));
    for (int i = 0; i < 10; i++) {
        run_for(g, 16.0, 1.0);
        measure(g, i % 2 ? 5.0 : -700.0, 1, 1, &r); /* a wild sample */
        assert_false(r.step);
        assert_true(r.spike);
        run_for(g, 16.0, 1.0);
        measure(g, 0.0, 1, 1, &r); /* a good one resets the count */
        assert_false(r.spike);
    }
    for (int i = 0; i < 5; i++) {
        run_for(g, 16.0, 1.0);
        measure(g, 0.002, 1, 1, &r); /* 2 ms popcorn on 10 us noise */
        assert_true(r.spike);
        run_for(g, 16.0, 1.0);
        measure(g, 0.0, 1, 1, &r);
    }
    assert_int_equal(g->steps, 0);
    assert_true(fabs(g->theta) < 60e-6);
}

/* A small persistent jump (not a spike) is taken after step_confirm updates. */
static void test_persistent_small_jump_is_followed(void **state)
{
    (void)state;
    struct rig *g = &rig;
    warm_rig(g, NULL, 5);
    g->theta += 0.003;
    poll_n(g, 6, 16.0);
    assert_int_equal(g->steps, 0);
    assert_true(fabs(g->theta) < 100e-6);
}

static void test_lone_source_never_steps(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, 6);
    for (int i = 0; i < 10; i++) {
        run_for(g, 16.0, 1.0);
        measure(g, 0.5, 1, 3, &r); /* one source of three says 0.5 s */
        assert_false(r.step);
    }
    assert_int_equal(g->steps, 0);
}

static void test_panic_refusal_and_allow_step(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, 7);
    g->theta += 2000.0;
    measure(g, 0.0, 1, 1, &r);
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    assert_true(r.refused);
    assert_true(fabs(r.refused_offset - 2000.0) < 1e-3);
    assert_true(r.unsynced);
    assert_int_equal(g->d.state, DSC_UNSYNC);
    struct act_list out;
    act_list_clear(&out);
    dsc_emit(&g->d, &r, true, &out);
    assert_true(has_event(&out, EV_STEP_REFUSED));
    assert_true(has_event(&out, EV_UNSYNCHRONIZED));
    for (size_t i = 0; i < out.n; i++) {
        if (out.a[i].kind == ACT_EVENT && out.a[i].u.event.kind == EV_STEP_REFUSED) {
            assert_int_equal(out.a[i].u.event.severity, ACT_SEV_ERR);
            assert_true(out.a[i].u.event.v[1] == 1000.0);
        }
    }
    /* Repeated, with back-off: not on every update, but by the timer. */
    int before = g->refusals;
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.refused);
    run_for(g, 70.0, 1.0);
    assert_int_equal(g->refusals, before + 1);
    run_for(g, 100.0, 1.0);
    assert_int_equal(g->refusals, before + 1); /* next one after 120 s */
    run_for(g, 30.0, 1.0);
    assert_int_equal(g->refusals, before + 2);
    assert_int_equal(g->steps, 0);
    /* The operator allows it: the next agreeing update steps. */
    dsc_allow_step(&g->d);
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
    assert_true(r.synced);
    assert_true(fabs(g->theta) < 1e-3);
    assert_int_equal(g->d.state, DSC_SYNC);
    run_for(g, 4000.0, 10.0);
    assert_int_equal(g->refusals, before + 2); /* no refusal outstanding any more */
}

static void test_panic_zero_means_no_limit(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_config c;
    dsc_config_default(&c);
    c.panic_threshold = 0.0;
    warm_rig(g, &c, 8);
    g->theta -= 5000.0;
    poll_n(g, 3, 2.0);
    assert_int_equal(g->steps, 1);
    assert_int_equal(g->refusals, 0);
}

/* date -s 300 s while running: the loop reports the jump; two agreeing measurements
 * complete the confirmation. A small jump is slewed. */
static void test_external_step(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, 9);
    g->theta -= 300.0; /* the clock jumped 300 s forward */
    dsc_on_external_step(&g->d, now_ns(g), 300.0, &r);
    carry(g, &r);
    assert_true(r.status);
    run_for(g, 0.5, 0.1);
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    run_for(g, 2.0, 0.1);
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.step);
    assert_true(fabs(r.step_offset + 300.0) < 1e-3);
    assert_true(fabs(g->theta) < 1e-3);

    warm_rig(g, NULL, 9);
    g->theta -= 0.2;
    dsc_on_external_step(&g->d, now_ns(g), 0.2, &r);
    carry(g, &r);
    poll_n(g, 4, 2.0);
    run_for(g, 5.0, 0.1);
    assert_int_equal(g->steps, 0);
    assert_true(fabs(g->theta) < 100e-6);
    dsc_on_external_step(&g->d, now_ns(g), NAN, &r); /* ignored */
    assert_false(r.set_freq);
}

static void test_failed_step(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    struct dsc_result x;
    rig_start(g, NULL, 1.5, 0.0, 10e-6, 10);
    struct dsc_update u = {1.5, 1e-5, 1, 1, 2e-4, 1e-4, now_ns(g)};
    dsc_update(&g->d, &u, now_ns(g), &r);
    assert_true(r.step);
    dsc_on_stepped(&g->d, now_ns(g), false, 0.0, &x); /* the kernel said no */
    assert_true(x.step_failed && !x.stepped);
    assert_true(fabs(x.step_failed_offset - 1.5) < 1e-4);
    assert_true(x.step_retry == 60.0);
    struct act_list out;
    act_list_clear(&out);
    dsc_emit(&g->d, &x, true, &out);
    assert_true(has_event(&out, EV_STEP_FAILED));
    assert_false(has_event(&out, EV_STEP));
    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_int_equal(st.steps, 0);
    /* No step is asked for during the back-off: the offset is slewed meanwhile. */
    run_for(g, 2.0, 1.0);
    measure(g, 0.0, 1, 1, &r);
    assert_false(r.step);
    assert_true(r.set_freq && r.freq_ppm > 1000.0);
    poll_n(g, 15, 2.0);
    assert_int_equal(g->step_requests, 0);
    assert_true(fabs(g->theta) < 1e-3);
    /* A result nobody asked for (a step failed twice) changes nothing. */
    dsc_on_stepped(&g->d, now_ns(g), false, 0.0, &x);
    assert_false(x.step_failed);
}

/* -x (chronyd -x): the clock runs free; the discipline tracks its offset and drift but
 * asks for no step and plans no slew (the engine emits no clock action either). */
static void test_no_clock_control(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_config c;
    dsc_config_default(&c);
    c.no_clock_control = true;
    rig_start(g, &c, 2.0, 15.0, 10e-6, 21);
    for (int i = 0; i < 40; i++) {
        struct dsc_update u = {g->theta + g->sigma * gauss(&g->rng), 1e-5, 2, 2, 2e-4, 1e-4,
                               now_ns(g)};
        struct dsc_result r;
        dsc_update(&g->d, &u, now_ns(g), &r);
        assert_false(r.step);
        assert_true(!r.set_freq || fabs(r.freq_ppm - g->d.base_ppm) < 1e-9); /* no slew */
        assert_true(dsc_next_timer(&g->d) == INT64_MAX);
        advance_true(g, 16.0);
    }
    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_int_equal(st.state, DSC_SYNC);
    assert_true(fabs(st.offset - g->theta) < 1e-4);
    assert_true(fabs(st.drift_ppm + 15.0) < 0.5);
    assert_int_equal(st.steps, 0);
}

/* A carrier that can change nothing (no CAP_SYS_TIME): steps are retried with a
 * doubling back-off, the refused frequency is reported once, and every update asks
 * for at most two frequencies (the plan and its end), however long this goes on. */
static void test_carrier_refuses_everything(void **state)
{
    (void)state;
    struct rig *g = &rig;
    rig_start(g, NULL, 2.0, 20.0, 10e-6, 17);
    g->step_fails = true;
    g->limit_ppm = 0.0; /* every frequency comes back as the clock's own: 0 */
    poll_n(g, 225, 16.0); /* an hour */
    printf("  %d step requests, %d failures, %d clamp reports, %d frequency requests\n",
           g->step_requests, g->step_failures, g->clamps, g->freq_requests);
    /* At 0, 60, 180, 420, 900, 1860 s (after the back-off, three confirmations). */
    assert_true(g->step_requests >= 4 && g->step_requests <= 7);
    assert_int_equal(g->step_failures, g->step_requests);
    assert_int_equal(g->stepped_events, 0);
    assert_int_equal(g->clamps, 1);
    assert_true(g->freq_requests <= 2 * 226 + 1);
    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_true(fabs(st.offset - g->theta) < 1e-3); /* it still knows where the clock is */
    assert_true(fabs(st.drift_ppm + 20.0) < 1.0);
    /* The carrier follows again: the next plan is applied and clamping reported anew. */
    g->limit_ppm = 100500.0;
    g->step_fails = false;
    run_for(g, 3600.0, 16.0);
    poll_n(g, 6, 16.0);
    assert_true(fabs(g->theta) < 1e-3);
    g->limit_ppm = 500.0;
    int clamps = g->clamps;
    g->e = 700e-6;
    poll_n(g, 8, 16.0);
    assert_int_equal(g->clamps, clamps + 1);
}

/* ---- slew plan and frequency ---- */

/* The plan removes 10 ms on a plain frequency clock: under 1 us, no overshoot beyond
 * 1 us, at the default slew rate and at a kernel-like 500 ppm. */
static void slew_10ms(double max_slew_ppm, double *t_1us, double *overshoot)
{
    struct rig *g = &rig;
    struct dsc_config c;
    struct dsc_result r;
    dsc_config_default(&c);
    c.max_slew_ppm = max_slew_ppm;
    rig_start(g, &c, 0.010, 10.0, 0.0, 11);
    measure(g, 0.0, 1, 1, &r); /* no drift known yet: no slew */
    run_for(g, 2.0, 0.01);
    measure(g, 0.0, 1, 1, &r); /* drift known: the plan starts */
    double start = g->mono;
    *t_1us = -1.0;
    *overshoot = 0.0;
    for (int i = 0; i < 200000 && g->mono - start < 200.0; i++) {
        run_for(g, 0.001, 0.001);
        if (g->theta < 0.0 && -g->theta > *overshoot) {
            *overshoot = -g->theta;
        }
        if (*t_1us < 0.0 && fabs(g->theta) < 1e-6) {
            *t_1us = g->mono - start;
        }
    }
    assert_true(fabs(g->theta) < 1e-6);
}

static void test_slew_plan_10ms(void **state)
{
    (void)state;
    double t_fast;
    double t_slow;
    double o_fast;
    double o_slow;
    slew_10ms(83333.0, &t_fast, &o_fast);
    slew_10ms(500.0, &t_slow, &o_slow);
    printf("  10 ms -> 1 us: %.3f s at 83333 ppm (overshoot %.3f us), %.3f s at 500 ppm "
           "(overshoot %.3f us)\n",
           t_fast, o_fast * 1e6, t_slow, o_slow * 1e6);
    assert_true(t_fast >= 0.0 && t_fast < 2.0); /* TAU_MIN: small offsets take 1 s */
    assert_true(t_slow >= 0.0 && t_slow < 25.0);
    assert_true(o_fast < 1e-6 && o_slow < 1e-6);
}

static void converge_freq(int estimator, double e_ppm, uint64_t seed)
{
    struct rig *g = &rig;
    struct dsc_config c;
    dsc_config_default(&c);
    c.estimator = estimator;
    rig_start(g, &c, 0.0, e_ppm, 10e-6, seed);
    poll_n(g, 6, 2.0);
    double sum2 = 0.0;
    int n = 0;
    for (int i = 0; i < 200; i++) {
        poll_n(g, 1, 16.0);
        if (i >= 100) {
            sum2 += g->theta * g->theta;
            n++;
        }
    }
    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    double ferr = st.drift_ppm + e_ppm;
    printf("  %s %+.0f ppm: drift %.4f ppm (error %.4f), rms offset %.2f us, steps %d\n",
           dsc_estimator_name(estimator), e_ppm, st.drift_ppm, ferr, sqrt(sum2 / n) * 1e6,
           g->steps);
    /* Typically within 0.005 ppm; now and then the Kalman bank weighs a faster model,
     * and the regression's runs test cuts its window to 8 samples by chance. */
    assert_true(fabs(ferr) < (estimator == DSC_EST_KALMAN ? 0.1 : 0.3));
    assert_true(sqrt(sum2 / n) < 20e-6);
    assert_int_equal(g->steps, 0);
    assert_true(st.skew_ppm < (estimator == DSC_EST_KALMAN ? 0.1 : 0.3));
}

static void test_frequency_converges(void **state)
{
    (void)state;
    uint64_t seed = print_seed("test_frequency_converges");
    converge_freq(DSC_EST_KALMAN, 10.0, seed);
    converge_freq(DSC_EST_KALMAN, 5000.0, seed + 1);
    converge_freq(DSC_EST_KALMAN, -5000.0, seed + 2);
    converge_freq(DSC_EST_REGRESS, 10.0, seed + 3);
    converge_freq(DSC_EST_REGRESS, 5000.0, seed + 4);
}

/* Within 10 s of an iburst start the offset is below 1 ms, also at 5000 ppm. */
static void test_iburst_start(void **state)
{
    (void)state;
    uint64_t seed = print_seed("test_iburst_start");
    double freqs[] = {10.0, 5000.0, -50000.0};
    for (size_t i = 0; i < sizeof freqs / sizeof freqs[0]; i++) {
        struct rig *g = &rig;
        struct dsc_result r;
        rig_start(g, NULL, 0.05, freqs[i], 10e-6, seed + i);
        measure(g, 0.0, 1, 1, &r);
        poll_n(g, 5, 2.0);
        double worst = run_for(g, 10.0, 0.01);
        printf("  %+.0f ppm: |offset| %.1f us at 12 s, worst after %.1f us\n", freqs[i],
               fabs(g->theta) * 1e6, worst * 1e6);
        assert_true(worst < 1e-3);
    }
}

/* One sample as the engine hands it over: offset as measured at mono_ns (s ago). */
static void measure_at(struct rig *g, double offset, int64_t mono_ns, double error)
{
    struct dsc_update u;
    struct dsc_result r;
    memset(&u, 0, sizeof u);
    u.offset = offset;
    u.error = error;
    u.n_agree = 1;
    u.n_candidates = 1;
    u.root_delay = 0.0002;
    u.root_dispersion = 0.0001;
    u.mono_ns = mono_ns;
    dsc_update(&g->d, &u, now_ns(g), &r);
    carry(g, &r);
}

/* A sample keeps its own time: one taken 2 s before the update and the next taken 48 ms
 * later give the drift of those 2 s, not of 48 ms (labelled "now", the first one made
 * a 10 ppm clock look 200 ppm off). */
static void test_update_keeps_sample_time(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_status st;
    rig_start(g, NULL, 0.05, 10.0, 0.0, 1);
    int64_t t0 = now_ns(g);
    double theta0 = g->theta;
    run_for(g, 2.0, 1.0);
    measure_at(g, theta0, t0, 1e-6);
    run_for(g, 0.048, 0.01);
    measure_at(g, g->theta, now_ns(g), 1e-6);
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_true(fabs(st.drift_ppm + 10.0) < 1.0);
    /* A sample "from the future" is taken as now; one older than the last is referred
     * to the last one's time: neither breaks the estimate. */
    run_for(g, 10.0, 1.0);
    measure_at(g, g->theta, now_ns(g) + INT64_C(5000000000), 1e-6);
    measure_at(g, g->theta, now_ns(g) - INT64_C(60000000000), 1e-6);
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_true(fabs(st.drift_ppm + 10.0) < 1.0);
}

/* Two sources answering in the same instant: a "frequency" from samples microseconds
 * apart is not used (it was -9190 ppm in the falseticker scenario); the plan waits. */
static void test_frequency_from_close_samples_unused(void **state)
{
    (void)state;
    struct rig *g = &rig;
    rig_start(g, NULL, 0.02, 15.0, 0.0, 1);
    measure_at(g, g->theta + 20e-6, now_ns(g), 100e-6);
    run_for(g, 0.00001, 0.00001);
    measure_at(g, g->theta - 25e-6, now_ns(g), 100e-6);
    assert_true(fabs(g->f) < 1e-9); /* no frequency, no slew yet */
    /* Seconds later the frequency is known and the offset is slewed away. */
    poll_n(g, 5, 2.0);
    assert_true(fabs(g->f) > 1e-6);
    run_for(g, 20.0, 0.1);
    assert_true(fabs(g->theta) < 1e-3);
}

static void test_clamped_frequency(void **state)
{
    (void)state;
    struct rig *g = &rig;
    rig_start(g, NULL, 0.0, 600.0, 1e-6, 12);
    g->limit_ppm = 500.0; /* a carrier without ADJ_TICK */
    poll_n(g, 6, 2.0);
    assert_true(g->clamps >= 1);
    int clamps = g->clamps;
    poll_n(g, 6, 2.0);
    assert_true(g->clamps <= clamps + 1); /* the limit is learnt, not asked again */
    struct dsc_result r;
    memset(&r, 0, sizeof r);
    r.clamped = true;
    r.wanted_ppm = -600.0;
    r.applied_ppm = -500.0;
    struct act_list out;
    act_list_clear(&out);
    dsc_emit(&g->d, &r, true, &out);
    assert_true(has_event(&out, EV_FREQ_CLAMPED));
    struct dsc_result x;
    dsc_on_freq_set(&g->d, now_ns(g), NAN, &x); /* ignored */
    assert_false(x.clamped);
}

/* ---- holdover ---- */

static void test_holdover(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, print_seed("test_holdover"));
    poll_n(g, 40, 64.0);
    run_for(g, 40.0, 1.0); /* the last update's slew is over (at most 32 s) */
    struct bnd_input bi;
    dsc_bound_input(&g->d, now_ns(g), &bi);
    assert_true(bi.synced);
    dsc_sources_lost(&g->d, now_ns(g), &r);
    assert_true(r.status);
    assert_int_equal(g->d.state, DSC_HOLDOVER);
    dsc_bound_input(&g->d, now_ns(g), &bi);
    assert_true(bi.synced); /* still synchronized in holdover */
    double f_before = g->f;
    run_for(g, 3000.0, 10.0);
    assert_int_equal(g->unsynced, 0);
    assert_true(fabs(g->f - f_before) < 1e-9); /* the last frequency is kept */
    run_for(g, 700.0, 10.0);
    assert_int_equal(g->unsynced, 1);
    assert_int_equal(g->d.state, DSC_UNSYNC);
    dsc_bound_input(&g->d, now_ns(g), &bi);
    assert_false(bi.synced);
    run_for(g, 3500.0, 10.0); /* two hours without sources */
    /* Over 200 seeds: 19 us RMS, 91 us at most; the bound allows 0.07 ppm. */
    printf("  after 2 h of holdover: |offset| %.1f us\n", fabs(g->theta) * 1e6);
    assert_true(fabs(g->theta) < 500e-6);
    measure(g, 0.0, 1, 1, &r);
    assert_true(r.synced);
    assert_int_equal(g->d.state, DSC_SYNC);
    run_for(g, 5.0, 0.1);
    poll_n(g, 3, 16.0);
    assert_true(fabs(g->theta) < 100e-6);
    assert_int_equal(g->steps, 0);
}

/* The poll hint: a steady clock may be polled slowly, a wandering one must not. */
static void test_poll_hint(void **state)
{
    (void)state;
    struct rig *g = &rig;
    uint64_t seed = print_seed("test_poll_hint");
    rig_start(g, NULL, 0.0, 10.0, 10e-6, seed);
    assert_int_equal(dsc_poll_hint(&g->d, now_ns(g)), 17); /* nothing known yet */
    poll_n(g, 6, 2.0);
    poll_n(g, 60, 64.0);
    int steady = dsc_poll_hint(&g->d, now_ns(g));
    rig_start(g, NULL, 0.0, 10.0, 10e-6, seed + 1);
    g->wander = 0.05e-6; /* 0.05 ppm/sqrt(s): a noisy VM */
    poll_n(g, 6, 2.0);
    poll_n(g, 60, 64.0);
    int noisy = dsc_poll_hint(&g->d, now_ns(g));
    printf("  poll hint: steady clock %d, wandering clock %d\n", steady, noisy);
    /* Over 550 seeds: steady 8 to 10 (256 to 1024 s), wandering 4 to 7. */
    assert_true(steady >= 8);
    assert_true(noisy <= 7 && noisy < steady);
    struct dsc_config c;
    dsc_config_default(&c);
    c.estimator = DSC_EST_REGRESS; /* it cannot tell: no limit */
    rig_start(g, &c, 0.0, 10.0, 10e-6, seed);
    poll_n(g, 10, 16.0);
    assert_int_equal(dsc_poll_hint(&g->d, now_ns(g)), 17);
}

/* ---- views, drift, timeline ---- */

static void test_drift_and_init(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_config c;
    struct dsc_result r;
    double ppm = 0.0;
    dsc_config_default(&c);
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.set_freq && r.freq_ppm == 0.0);
    assert_false(dsc_drift_to_save(&g->d, 1000, &ppm));
    c.have_drift = true;
    c.drift_ppm = -12.5;
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.set_freq && r.freq_ppm == -12.5);
    assert_true(dsc_drift_to_save(&g->d, 1000, &ppm));
    assert_true(ppm == -12.5);
    /* A drift file close to the truth: the first updates already hold the offset. */
    rig_start(g, &c, 0.0, 12.5, 10e-6, 13);
    poll_n(g, 10, 16.0);
    assert_true(dsc_drift_to_save(&g->d, now_ns(g), &ppm));
    assert_true(fabs(ppm + 12.5) < 0.5);
    assert_true(fabs(g->theta) < 50e-6);
    c.drift_ppm = NAN; /* a broken drift value is not used */
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.freq_ppm == 0.0);
    /* No drift file: the kernel's frequency at start is kept, but it is no estimate, so
     * there is no drift to save until the estimator has one of its own. */
    dsc_config_default(&c);
    c.start_freq_ppm = 37.0;
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.set_freq && r.freq_ppm == 37.0);
    assert_false(dsc_drift_to_save(&g->d, 1000, &ppm));
    c.have_drift = true; /* a drift file wins over the kernel's value */
    c.drift_ppm = -4.0;
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.freq_ppm == -4.0);
    c.have_drift = false;
    c.start_freq_ppm = INFINITY; /* garbage from the kernel is not used */
    dsc_init(&g->d, &c, 1000, &r);
    assert_true(r.freq_ppm == 0.0);
}

static void test_timeline(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    struct dsc_result x;
    rig_start(g, NULL, 0.0, 0.0, 0.0, 14);
    int64_t t0 = now_ns(g);
    dsc_on_freq_set(&g->d, t0, 100.0, &x);
    int64_t t1 = t0 + 10 * INT64_C(1000000000);
    double corr = dsc_correction_between(&g->d, t0, t1);
    /* 100 ppm for 10 s with no drift known: f / (1 + f) per second. */
    assert_true(fabs(corr - 10.0 * 100e-6 / (1.0 + 100e-6)) < 1e-12);
    dsc_on_stepped(&g->d, t1, true, 0.25, &x);
    assert_true(fabs(dsc_correction_between(&g->d, t0, t1 + 1) - corr - 0.25) < 1e-6);
    assert_true(fabs(dsc_total_correction(&g->d, t1 + 1) - dsc_total_correction(&g->d, t0) -
                     dsc_correction_between(&g->d, t0, t1 + 1)) < 1e-9);
    /* A step of seconds moves P by as much; renormalization takes it out again and
     * says by how much stored raw offsets move, while offsets and the estimator's view
     * of the clock stay as they were. */
    double before = dsc_total_correction(&g->d, t1 + 1);
    dsc_on_stepped(&g->d, t1 + 1, true, 5.0, &x);
    assert_true(fabs(dsc_total_correction(&g->d, t1 + 2) - before - 5.0) < 1e-6);
    struct dsc_status s1, s2;
    dsc_get_status(&g->d, t1 + 2, &s1);
    double p_now = dsc_total_correction(&g->d, t1 + 2);
    double shift = dsc_renormalize(&g->d, t1 + 2);
    assert_true(fabs(shift + p_now) < 1e-12);
    assert_true(fabs(dsc_total_correction(&g->d, t1 + 2)) < 1e-9);
    assert_true(fabs(dsc_correction_between(&g->d, t0, t1 + 2) - (5.25 + corr)) < 1e-6);
    dsc_get_status(&g->d, t1 + 2, &s2);
    assert_true(fabs(s1.offset - s2.offset) < 1e-9);
    assert_true(dsc_renormalize(&g->d, t1 + 2) == 0.0); /* below a second: nothing */
    /* dP/dt: 100 ppm with no drift known. */
    assert_true(fabs(dsc_correction_rate(&g->d) - 100e-6 / (1.0 + 100e-6)) < 1e-12);
    /* Projection: minus the corrections in between, plus the drift (none known). */
    double p = dsc_project_offset(&g->d, 1.0, t0, t1 + 2);
    assert_true(fabs(p - (1.0 - dsc_correction_between(&g->d, t0, t1 + 2))) < 1e-12);
    (void)r;
}

static void test_status_and_bound_input(void **state)
{
    (void)state;
    struct rig *g = &rig;
    warm_rig(g, NULL, 15);
    struct dsc_status st;
    dsc_get_status(&g->d, now_ns(g), &st);
    assert_int_equal(st.state, DSC_SYNC);
    assert_true(fabs(st.drift_ppm + 10.0) < 0.5);
    assert_true(st.skew_ppm > 0.0 && st.skew_ppm < 1.0);
    assert_true(st.offset_error > 0.0 && st.offset_error < 20e-6);
    assert_true(fabs(st.freq_ppm - g->f * 1e6) < 1e-9);
    assert_true(st.root_delay == 0.0002 && st.root_dispersion == 0.0001);
    struct bnd_input bi;
    dsc_bound_input(&g->d, now_ns(g) + 100 * INT64_C(1000000000), &bi);
    assert_true(bi.synced);
    assert_true(fabs(bi.age - 100.0) < 1e-6);
    struct bnd_value v;
    bnd_compute(&bi, &v);
    assert_true(v.maxerror > 0.0001 + 0.0001 && v.maxerror < 0.01);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct rig *g = &rig;
    struct dsc_result r;
    warm_rig(g, NULL, 16);
    struct dsc_status before;
    struct dsc_status after;
    dsc_get_status(&g->d, now_ns(g), &before);
    struct dsc_update bad[] = {
        {NAN, 1e-5, 1, 1, 2e-4, 1e-4, now_ns(g)}, {INFINITY, 1e-5, 1, 1, 2e-4, 1e-4, now_ns(g)},
        {0.0, -1.0, 1, 1, 2e-4, 1e-4, now_ns(g)}, {0.0, 1e-5, 0, 1, 2e-4, 1e-4, now_ns(g)},
        {0.0, 1e-5, 3, 2, 2e-4, 1e-4, now_ns(g)}, {0.0, 1e-5, 1, 1, NAN, 1e-4, now_ns(g)},
        {0.0, 1e-5, 1, 1, 2e-4, -1.0, now_ns(g)},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dsc_update(&g->d, &bad[i], now_ns(g), &r);
        assert_true(r.spike);
        assert_false(r.step || r.set_freq);
    }
    dsc_update(&g->d, NULL, now_ns(g), &r);
    assert_true(r.spike);
    dsc_get_status(&g->d, now_ns(g), &after);
    assert_int_equal(after.updates, before.updates);

    struct dsc_config c;
    dsc_config_default(&c);
    c.estimator = 99;
    c.step_threshold = NAN;
    c.running_step_threshold = -1.0;
    c.step_confirm = 1; /* one would let spikes step: at least two */
    c.holdover = 0.0;
    c.max_freq_ppm = INFINITY;
    c.min_error = -1.0;
    dsc_init(&g->d, &c, 0, &r);
    assert_int_equal(g->d.cfg.estimator, DSC_EST_KALMAN);
    assert_true(g->d.cfg.step_threshold == 0.1);
    assert_true(g->d.cfg.running_step_threshold == 0.5);
    assert_int_equal(g->d.cfg.step_confirm, 2);
    assert_true(g->d.cfg.holdover == 3600.0);
    assert_true(g->d.cfg.max_freq_ppm == 100000.0);
    assert_true(g->d.cfg.min_error > 0.0);
}

static void test_config_from_eng(void **state)
{
    (void)state;
    struct eng_config e;
    struct dsc_config c;
    memset(&e, 0, sizeof e);
    e.step_threshold = 1.0;
    e.step_limit = 3;
    e.running_step_threshold = 0.7;
    e.panic_threshold = 500.0;
    e.holdover = 100.0;
    e.max_freq_ppm = 500.0;
    e.have_drift = true;
    e.drift_ppm = 3.0;
    e.start_freq_ppm = -8.0;
    e.estimator = 7; /* unknown: the default */
    dsc_config_from_eng(&c, &e);
    assert_true(c.step_threshold == 1.0 && c.step_limit == 3);
    assert_true(c.running_step_threshold == 0.7 && c.panic_threshold == 500.0);
    assert_true(c.holdover == 100.0 && c.max_freq_ppm == 500.0);
    assert_true(c.have_drift && c.drift_ppm == 3.0);
    assert_true(c.start_freq_ppm == -8.0);
    assert_int_equal(c.step_confirm, 3);
    assert_int_equal(c.estimator, DSC_EST_KALMAN);
    assert_true(c.stepout == 0.0);
    e.estimator = ENG_EST_REGRESS;
    e.step_confirm = 5;
    e.stepout = 120.0;
    dsc_config_from_eng(&c, &e);
    assert_int_equal(c.estimator, DSC_EST_REGRESS);
    assert_int_equal(c.step_confirm, 5);
    assert_true(c.stepout == 120.0);
    struct eng_config d;
    eng_config_default(&d);
    assert_int_equal(d.step_confirm, 3);
    assert_true(d.stepout == 0.0);
    assert_int_equal(d.estimator, ENG_EST_KALMAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_step),
        cmocka_unit_test(test_startup_step_any_size_needs_agreement),
        cmocka_unit_test(test_no_startup_step_below_threshold),
        cmocka_unit_test(test_step_limit),
        cmocka_unit_test(test_running_step_after_confirmation),
        cmocka_unit_test(test_step_confirm_configurable),
        cmocka_unit_test(test_spikes_never_step),
        cmocka_unit_test(test_persistent_small_jump_is_followed),
        cmocka_unit_test(test_lone_source_never_steps),
        cmocka_unit_test(test_panic_refusal_and_allow_step),
        cmocka_unit_test(test_panic_zero_means_no_limit),
        cmocka_unit_test(test_external_step),
        cmocka_unit_test(test_failed_step),
        cmocka_unit_test(test_carrier_refuses_everything),
        cmocka_unit_test(test_no_clock_control),
        cmocka_unit_test(test_slew_plan_10ms),
        cmocka_unit_test(test_frequency_converges),
        cmocka_unit_test(test_iburst_start),
        cmocka_unit_test(test_update_keeps_sample_time),
        cmocka_unit_test(test_frequency_from_close_samples_unused),
        cmocka_unit_test(test_clamped_frequency),
        cmocka_unit_test(test_holdover),
        cmocka_unit_test(test_poll_hint),
        cmocka_unit_test(test_drift_and_init),
        cmocka_unit_test(test_timeline),
        cmocka_unit_test(test_status_and_bound_input),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_config_from_eng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
