/* Unit tests for the simulator's world (sim/sim_world.c) with the real engine: the
 * timestamps a client measures against a server of known offset and path asymmetry,
 * a run replayed exactly from its seed, the loop's report of an external step, loss,
 * outages and DNS answers as counted by the nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_scn.h"
#include "sim/sim_world.h"

struct run {
    struct sim_scn scn;
    struct sim_world w;
};

static struct run *start(const char *text)
{
    struct run *r = calloc(1, sizeof(*r));
    char err[512] = "";
    struct sim_opts o = {0};

    assert_non_null(r);
    if (sim_scn_parse(&r->scn, text, "test.scn", err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    if (sim_world_init(&r->w, &r->scn, &o) != 0 || sim_world_run(&r->w) != 0) {
        fail_msg("%s", r->w.error);
    }
    return r;
}

static void finish(struct run *r)
{
    sim_world_free(&r->w);
    sim_scn_free(&r->scn);
    free(r);
}

static struct core_time node_now(struct run *r, int i)
{
    struct sim_clock c = r->w.nodes[i].clk;
    return sim_clock_read(&c, r->w.t_ns);
}

/* A perfect client that does not touch its clock, a server 0.5 s ahead, requests taking
 * 300 us and replies 100 us: the NTP offset is 0.5 + (300 - 100) / 2 us and the delay
 * 400 us plus nothing else (the server's 20 us in between is taken out). */
static void test_measured_offset_and_delay(void **state)
{
    (void)state;
    struct run *r = start("duration 120\n"
                          "server s1 offset 0.5\n"
                          "client c1 config \"server s1 iburst\" noclockcontrol\n"
                          "link c1 s1 up 300us down 100us\n");
    struct eng_source_status ss;

    assert_true(eng_get_source(r->w.nodes[1].eng, 0, node_now(r, 1), &ss));
    print_message("offset %.9f delay %.9f reach %o\n", ss.offset, ss.delay, ss.reach);
    assert_true(ss.reach != 0);
    assert_true(fabs(ss.offset - (0.5 + 100e-6)) < 1e-6);
    assert_true(fabs(ss.delay - 400e-6) < 1e-6);
    assert_true(r->w.nodes[0].st.answered > 0);
    assert_int_equal(r->w.nodes[1].st.received, r->w.nodes[0].st.answered);
    assert_true(fabs(r->w.nodes[1].offset[r->w.n_samples - 1]) == 0); /* untouched */
    finish(r);
}

/* A client that serves: t2 measures t1 with the stratum and clock t1's engine gives. */
static void test_client_serves_its_reference(void **state)
{
    (void)state;
    struct run *r = start("duration 300\n"
                          "server s1 stratum 1\n"
                          "client t1 serve config \"server s1 iburst\"\n"
                          "client t2 offset 0.25 config \"server t1 iburst\" noclockcontrol\n");
    struct eng_source_status ss;

    assert_true(r->w.nodes[1].st.answered > 0);
    assert_true(r->w.nodes[1].st.references > 0);
    assert_true(eng_get_source(r->w.nodes[2].eng, 0, node_now(r, 2), &ss));
    print_message("t2 sees t1: stratum %d offset %.9f reach %o\n", ss.stratum, ss.offset,
                  ss.reach);
    assert_int_equal(ss.stratum, 2);
    /* t1 keeps true time (perfect clocks and paths): t2, 0.25 s ahead, must add -0.25. */
    assert_true(fabs(ss.offset + 0.25) < 1e-6);
    finish(r);
}

static const char busy[] = "duration 30min\n"
                           "server s1\n"
                           "server s2 offset 200us freq 3 wander 0.01\n"
                           "client c1 offset 0.3 freq 20 wander 0.01 "
                           "config \"server s1 iburst\" \"server s2 iburst\"\n"
                           "link c1 * delay 1ms jitter 200us loss 10%\n";

static void test_replay_from_seed(void **state)
{
    (void)state;
    struct run *a = start(busy);
    struct run *b = start(busy);

    assert_int_equal(a->w.n_samples, b->w.n_samples);
    assert_int_equal(a->w.n_events, b->w.n_events);
    assert_memory_equal(a->w.nodes[2].offset, b->w.nodes[2].offset,
                        a->w.n_samples * sizeof(double));
    finish(b);

    char other[sizeof(busy) + 16];
    snprintf(other, sizeof(other), "seed 99\n%s", busy);
    b = start(other);
    assert_memory_not_equal(a->w.nodes[2].offset, b->w.nodes[2].offset,
                            a->w.n_samples * sizeof(double));
    finish(a);
    finish(b);
}

static void test_external_step_reported(void **state)
{
    (void)state;
    struct run *r = start("duration 200\n"
                          "server s1\n"
                          "client c1 config \"server s1 iburst\" noclockcontrol\n"
                          "step c1 100 -2.5\n");
    const struct sim_node *c1 = &r->w.nodes[1];

    assert_int_equal(c1->st.ext_steps, 1);
    assert_int_equal(c1->st.events[EV_EXTERNAL_STEP], 1);
    assert_int_equal(c1->st.steps, 0);
    /* Samples before and after the step: the clock lost 2.5 s (offset to add +2.5). */
    assert_true(c1->offset[999] == 0);
    assert_true(fabs(c1->offset[1001] - 2.5) < 1e-9);
    finish(r);
}

static void test_loss_and_outage_counted(void **state)
{
    (void)state;
    struct run *r = start("duration 1h\n"
                          "server s1\n"
                          "client c1 config \"server s1 iburst minpoll 4 maxpoll 4\"\n"
                          "link c1 s1 loss 30%\n"
                          "outage 20min 40min\n");
    const struct sim_node_stats *st = &r->w.nodes[1].st;

    print_message("sent %llu received %llu lost %llu cut %llu\n", (unsigned long long)st->sent,
                  (unsigned long long)st->received, (unsigned long long)st->lost,
                  (unsigned long long)st->cut);
    assert_true(st->lost > 0 && st->cut > 0);
    /* Every request is received, lost or cut, but for one still in flight at the end. */
    assert_true(st->sent - (st->received + st->lost + st->cut) <= 1);
    finish(r);
}

static void test_dns_answers(void **state)
{
    (void)state;
    struct run *r = start("duration 10min\n"
                          "server a\nserver b\nserver c\n"
                          "client c1 config \"pool pool.sim iburst maxsources 3\" "
                          "\"server gone.sim iburst\"\n"
                          "dns pool.sim a b c\n"
                          "dns gone.sim fail\n");
    const struct sim_node *c1 = &r->w.nodes[3];

    assert_true(c1->st.resolves >= 2);
    assert_true(c1->st.resolve_failures >= 1);
    for (int i = 0; i < 3; i++) {
        assert_true(r->w.nodes[i].st.answered > 0);
    }
    finish(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measured_offset_and_delay),
        cmocka_unit_test(test_client_serves_its_reference),
        cmocka_unit_test(test_replay_from_seed),
        cmocka_unit_test(test_external_step_reported),
        cmocka_unit_test(test_loss_and_outage_counted),
        cmocka_unit_test(test_dns_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
