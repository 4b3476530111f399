/* Unit tests for the simulator's network and event queue (sim/sim_net.c, sim_evq.c):
 * delay distributions (means and spreads over many draws), asymmetry, loss rate,
 * outage matching, and the queue's order (time, then insertion). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "sim/sim_evq.h"
#include "sim/sim_net.h"

#define DRAWS 200000

struct moments {
    double mean, sd, min;
    int lost;
};

static struct moments draw(const struct sim_link_params *p, enum sim_dir dir, uint64_t seed)
{
    struct sim_link l;
    struct moments m = {0, 0, INFINITY, 0};
    double s = 0, s2 = 0;
    int n = 0;

    sim_link_init(&l, p, seed);
    for (int i = 0; i < DRAWS; i++) {
        double d = sim_link_transit(&l, dir);
        if (d < 0) {
            m.lost++;
            continue;
        }
        s += d;
        s2 += d * d;
        m.min = fmin(m.min, d);
        n++;
    }
    m.mean = s / n;
    m.sd = sqrt(s2 / n - m.mean * m.mean);
    return m;
}

static void test_constant_asymmetric(void **state)
{
    (void)state;
    struct sim_link_params p;
    struct sim_link l;

    sim_link_params_default(&p);
    p.base[SIM_DIR_UP] = 3e-3;
    p.base[SIM_DIR_DOWN] = 1e-3;
    sim_link_init(&l, &p, 1);
    assert_true(sim_link_transit(&l, SIM_DIR_UP) == 3e-3);
    assert_true(sim_link_transit(&l, SIM_DIR_DOWN) == 1e-3);
}

static void test_exponential_jitter(void **state)
{
    (void)state;
    struct sim_link_params p;

    sim_link_params_default(&p);
    p.dist = SIM_JITTER_EXP;
    p.jitter = 10e-6;
    struct moments m = draw(&p, SIM_DIR_UP, 7);
    assert_true(m.min >= 100e-6);
    assert_true(fabs(m.mean - 110e-6) < 0.2e-6);
    assert_true(fabs(m.sd - 10e-6) < 0.2e-6); /* an exponential's sd is its mean */
}

static void test_normal_jitter(void **state)
{
    (void)state;
    struct sim_link_params p;

    sim_link_params_default(&p);
    p.base[SIM_DIR_DOWN] = 1e-3;
    p.dist = SIM_JITTER_NORMAL;
    p.jitter = 50e-6;
    struct moments m = draw(&p, SIM_DIR_DOWN, 8);
    assert_true(fabs(m.mean - 1e-3) < 1e-6);
    assert_true(fabs(m.sd - 50e-6) < 1e-6);
    /* Never negative, even with a jitter far above the base. */
    p.jitter = 5e-3;
    assert_true(draw(&p, SIM_DIR_DOWN, 9).min >= 0);
}

static void test_loss_rate(void **state)
{
    (void)state;
    struct sim_link_params p;

    sim_link_params_default(&p);
    p.loss = 0.2;
    struct moments m = draw(&p, SIM_DIR_UP, 3);
    assert_true(fabs((double)m.lost / DRAWS - 0.2) < 0.005);
    p.loss = 0;
    assert_int_equal(draw(&p, SIM_DIR_UP, 3).lost, 0);
}

static void test_jitter_names(void **state)
{
    (void)state;
    enum sim_jitter d;

    assert_true(sim_jitter_parse("exp", &d) && d == SIM_JITTER_EXP);
    assert_true(sim_jitter_parse("uniform", &d) && d == SIM_JITTER_UNIFORM);
    assert_false(sim_jitter_parse("gauss", &d));
    assert_string_equal(sim_jitter_name(SIM_JITTER_NORMAL), "normal");
}

static void test_outages(void **state)
{
    (void)state;
    const struct sim_outage o[] = {
        {.start = 10, .end = 20, .a = -1, .b = -1}, /* everything */
        {.start = 30, .end = 40, .a = 2, .b = -1},  /* node 2, either side */
        {.start = 50, .end = 60, .a = 1, .b = 3},   /* one pair */
    };

    assert_false(sim_net_cut(o, 3, 9.999, 1, 3));
    assert_true(sim_net_cut(o, 3, 10, 1, 3));
    assert_false(sim_net_cut(o, 3, 20, 1, 3));
    assert_true(sim_net_cut(o, 3, 35, 2, 5));
    assert_true(sim_net_cut(o, 3, 35, 5, 2));
    assert_false(sim_net_cut(o, 3, 35, 1, 3));
    assert_true(sim_net_cut(o, 3, 55, 1, 3));
    assert_false(sim_net_cut(o, 3, 55, 1, 4));
    assert_false(sim_net_cut(o, 3, 55, 3, 1));
}

static void test_queue_order(void **state)
{
    (void)state;
    struct sim_evq q;
    struct sim_ev ev = {0};
    const int64_t times[] = {50, 10, 30, 10, 70, 30, 0, 10};

    sim_evq_init(&q);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        ev.t_ns = times[i];
        ev.node = (int)i;
        assert_true(sim_evq_push(&q, &ev));
    }
    const int want[] = {6, 1, 3, 7, 2, 5, 0, 4};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(sim_evq_peek_time(&q), times[want[i]]);
        assert_true(sim_evq_pop(&q, &ev));
        assert_int_equal(ev.node, want[i]);
    }
    assert_false(sim_evq_pop(&q, &ev));
    assert_true(sim_evq_peek_time(&q) == INT64_MAX);
    sim_evq_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_asymmetric), cmocka_unit_test(test_exponential_jitter),
        cmocka_unit_test(test_normal_jitter),       cmocka_unit_test(test_loss_rate),
        cmocka_unit_test(test_jitter_names),        cmocka_unit_test(test_outages),
        cmocka_unit_test(test_queue_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
