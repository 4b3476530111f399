/* Unit tests for src/daemon/drv_config.c (configuration file -> engine configuration)
 * and the driver's pure clock-jump test: sources with every option, both dialects'
 * step settings alone and together (tinker stepout included), selection limits,
 * holdover, the drift interval, the local fallback, -x, and resolver families. Parses
 * real config text. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/eng.h"
#include "daemon/cfg.h"
#include "daemon/drv.h"
#include "daemon/drv_config.h"

#define NS INT64_C(1000000000)

static struct cfg cfg_buf;
static struct eng_config ec, def;
static char notes[1024];

static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    size_t used = strlen(notes);
    snprintf(notes + used, sizeof(notes) - used, "%s\n", msg);
}

/* Parses text and maps it (no -x, precision 2^-20). */
static void build(const char *text)
{
    struct cfg_error e;

    cfg_init(&cfg_buf);
    if (cfg_load_string(&cfg_buf, text, "t.conf", &e, NULL, NULL) != 0) {
        fail_msg("config error: %s:%d: %s", e.file, e.line, e.msg);
    }
    notes[0] = '\0';
    memset(&ec, 0xA5, sizeof(ec)); /* every field must be written */
    drv_config_build(&cfg_buf, false, -20, &ec, collect, NULL);
    eng_config_default(&def);
}

static void test_empty_config_is_engine_default(void **state)
{
    (void)state;
    build("");
    assert_int_equal(ec.n_sources, 0);
    assert_true(ec.step_threshold == def.step_threshold);
    assert_int_equal(ec.step_limit, def.step_limit);
    assert_true(ec.running_step_threshold == def.running_step_threshold);
    assert_true(ec.panic_threshold == def.panic_threshold);
    assert_true(ec.stepout == def.stepout);
    assert_int_equal(ec.step_confirm, def.step_confirm);
    assert_int_equal(ec.estimator, def.estimator);
    assert_true(ec.holdover == def.holdover);
    assert_int_equal(ec.minsources, def.minsources);
    assert_true(ec.maxdistance == def.maxdistance);
    assert_true(ec.max_freq_ppm == def.max_freq_ppm);
    assert_true(ec.drift_save_interval == 3600.0); /* chrony's default interval */
    assert_false(ec.have_drift);
    assert_false(ec.local);
    assert_false(ec.no_clock_control);
    assert_int_equal(ec.precision_log2, -20);
    assert_string_equal(notes, "");
}

static void test_sources(void **state)
{
    struct eng_source_config d;

    (void)state;
    build("server 198.18.0.1 iburst minpoll 4 maxpoll 6 prefer maxdelay 0.3 version 3 "
          "port 11123\n"
          "pool pool.example.org maxsources 2 noselect burst\n"
          "pool 2.debian.pool.ntp.org iburst\n"
          "server ntp.example.org\n");
    assert_int_equal(ec.n_sources, 4);
    const struct eng_source_config *s = ec.sources;
    assert_string_equal(s[0].name, "198.18.0.1");
    assert_false(s[0].pool);
    assert_true(s[0].iburst && s[0].prefer);
    assert_false(s[0].burst || s[0].noselect);
    assert_int_equal(s[0].minpoll, 4);
    assert_int_equal(s[0].maxpoll, 6);
    assert_true(s[0].maxdelay == 0.3);
    assert_int_equal(s[0].version, 3);
    assert_int_equal(s[0].port, 11123);
    assert_true(s[1].pool && s[1].noselect && s[1].burst);
    assert_false(s[1].iburst);
    assert_int_equal(s[1].maxsources, 2);
    assert_true(s[2].pool && s[2].iburst);
    assert_int_equal(s[2].maxsources, 4);
    /* Options not given keep the engine's defaults for such a line. */
    eng_source_default(&d, "ntp.example.org", false);
    assert_int_equal(s[3].port, d.port);
    assert_int_equal(s[3].version, d.version);
    assert_int_equal(s[3].minpoll, 6);
    assert_int_equal(s[3].maxpoll, 10);
    assert_true(s[3].maxdelay == 0.0);
    assert_int_equal(s[3].port, 123);
    assert_int_equal(s[3].version, 4);
}

static void test_makestep(void **state)
{
    (void)state;
    build("makestep 1 3\n");
    assert_true(ec.step_threshold == 1.0);
    assert_int_equal(ec.step_limit, 3);
    assert_true(ec.running_step_threshold == def.running_step_threshold);
    assert_true(ec.panic_threshold == def.panic_threshold);
    build("makestep 0.5 -1\n");
    assert_true(ec.step_threshold == 0.5);
    assert_int_equal(ec.step_limit, -1);
}

/* ntpd's tinker step is the step threshold at any time. */
static void test_tinker_step(void **state)
{
    (void)state;
    build("tinker step 0.2\n");
    assert_true(ec.running_step_threshold == 0.2);
    assert_true(ec.step_threshold == 0.2);
    assert_int_equal(ec.step_limit, def.step_limit);
    build("tinker step 0.2\nmakestep 1 3\n"); /* each keeps its own part */
    assert_true(ec.running_step_threshold == 0.2);
    assert_true(ec.step_threshold == 1.0);
    assert_int_equal(ec.step_limit, 3);
}

/* tinker step 0: never step (ntpd); makestep still governs start-up if present. */
static void test_tinker_step_zero(void **state)
{
    (void)state;
    build("tinker step 0\n");
    assert_true(ec.running_step_threshold == 0.0);
    assert_int_equal(ec.step_limit, 0);
    build("makestep 1 3\ntinker step 0\n");
    assert_true(ec.running_step_threshold == 0.0);
    assert_true(ec.step_threshold == 1.0);
    assert_int_equal(ec.step_limit, 3);
}

static void test_tinker_panic_and_stepout(void **state)
{
    (void)state;
    build("tinker panic 0\n");
    assert_true(ec.panic_threshold == 0.0);
    assert_string_equal(notes, "");
    build("tinker panic 600 stepout 300\n");
    assert_true(ec.panic_threshold == 600.0);
    assert_true(ec.stepout == 300.0);
    assert_string_equal(notes, "");
    /* Nothing else of the step policy moves with it. */
    assert_true(ec.running_step_threshold == def.running_step_threshold);
    assert_true(ec.step_threshold == def.step_threshold);
    assert_int_equal(ec.step_limit, def.step_limit);
    assert_int_equal(ec.step_confirm, def.step_confirm);
    build("tinker stepout 900 step 0.128\nmakestep 1 3\n");
    assert_true(ec.stepout == 900.0);
    assert_true(ec.running_step_threshold == 0.128);
    assert_true(ec.step_threshold == 1.0);
    build("tinker stepout 0\n"); /* ntpd's spelling of "no wait" */
    assert_true(ec.stepout == 0.0);
    build("tinker panic 600\n"); /* no stepout line: the engine's default */
    assert_true(ec.stepout == def.stepout);
    assert_int_equal(ec.step_confirm, def.step_confirm);
    assert_int_equal(ec.estimator, def.estimator);
}

static void test_selection_holdover_drift_local(void **state)
{
    (void)state;
    build("minsources 2\nmaxdistance 3\nholdover 7200\ndriftfile /x interval 600\n"
          "local stratum 3\n");
    assert_int_equal(ec.minsources, 2);
    assert_true(ec.maxdistance == 3.0);
    assert_true(ec.holdover == 7200.0);
    assert_true(ec.drift_save_interval == 600.0);
    assert_false(ec.have_drift); /* the drift file is the driver's to read */
    assert_true(ec.local);
    assert_int_equal(ec.local_stratum, 3);
    build("tos minclock 4 minsane 3 maxdist 2\nholdover 1\n");
    assert_int_equal(ec.minsources, 3);
    assert_true(ec.maxdistance == 2.0);
    assert_true(ec.holdover == 1.0);
    build("server 127.127.1.0\nfudge 127.127.1.0 stratum 7\n"); /* ntpd's local clock */
    assert_true(ec.local);
    assert_int_equal(ec.local_stratum, 8);
    assert_int_equal(ec.n_sources, 0);
}

static void test_no_clock_control(void **state)
{
    (void)state;
    build("server 198.18.0.1\n");
    memset(&ec, 0, sizeof(ec));
    drv_config_build(&cfg_buf, true, -23, &ec, NULL, NULL);
    assert_true(ec.no_clock_control);
    assert_int_equal(ec.precision_log2, -23);
    assert_int_equal(ec.n_sources, 1);
}

static void test_family(void **state)
{
    (void)state;
    build("server -6 a.example.org\nserver b.example.org ipv4\npool c.example.org\n"
          "server a.example.org\n");
    assert_int_equal(drv_config_family(&cfg_buf, "a.example.org"), AF_INET6); /* first wins */
    assert_int_equal(drv_config_family(&cfg_buf, "b.example.org"), AF_INET);
    assert_int_equal(drv_config_family(&cfg_buf, "c.example.org"), AF_UNSPEC);
    assert_int_equal(drv_config_family(&cfg_buf, "unknown.example.org"), AF_UNSPEC);
}

/* Realtime against monotonic progress: 0.1 s plus 500 ppm of the interval. */
/* A transmit stamp stands for its request from 1 ms before the reading to 1 s after. */
static void test_tx_stamp_fits(void **state)
{
    const int64_t r = INT64_C(1795450407) * NS, us = 1000;

    (void)state;
    assert_true(drv_tx_stamp_fits(r, r));
    assert_true(drv_tx_stamp_fits(r, r + 25 * us));
    assert_true(drv_tx_stamp_fits(r, r + NS));
    assert_false(drv_tx_stamp_fits(r, r + NS + us));
    assert_true(drv_tx_stamp_fits(r, r - 1000 * us));
    assert_false(drv_tx_stamp_fits(r, r - 1001 * us));
    assert_false(drv_tx_stamp_fits(r, r - 300 * NS)); /* an old timescale */
    assert_false(drv_tx_stamp_fits(r, 1));
    assert_false(drv_tx_stamp_fits(r, INT64_MIN));
}

static void test_jump_seen(void **state)
{
    (void)state;
    int64_t r0 = INT64_C(1700000000) * NS, m0 = 5 * NS;
    assert_true(drv_jump_seen(r0, m0, r0 + NS, m0 + NS) == 0.0);
    assert_true(drv_jump_seen(r0, m0, r0 + NS + NS / 20, m0 + NS) == 0.0);
    assert_true(fabs(drv_jump_seen(r0, m0, r0 + NS + NS / 5, m0 + NS) - 0.2) < 1e-9);
    assert_true(fabs(drv_jump_seen(r0, m0, r0 - 299 * NS, m0 + NS) + 300.0) < 1e-9);
    assert_true(fabs(drv_jump_seen(r0, m0, r0 + 301 * NS, m0 + NS) - 300.0) < 1e-9);
    /* 1000 s apart: tolerance 0.6 s. */
    assert_true(drv_jump_seen(r0, m0, r0 + 1000 * NS + NS / 2, m0 + 1000 * NS) == 0.0);
    assert_true(fabs(drv_jump_seen(r0, m0, r0 + 1000 * NS + 7 * NS / 10, m0 + 1000 * NS) - 0.7) <
                1e-9);
    /* A leap second insertion: realtime 1 s behind. */
    assert_true(fabs(drv_jump_seen(r0, m0, r0 + 9 * NS, m0 + 10 * NS) + 1.0) < 1e-9);
    /* No time passed at all. */
    assert_true(drv_jump_seen(r0, m0, r0, m0) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_config_is_engine_default),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_makestep),
        cmocka_unit_test(test_tinker_step),
        cmocka_unit_test(test_tinker_step_zero),
        cmocka_unit_test(test_tinker_panic_and_stepout),
        cmocka_unit_test(test_selection_holdover_drift_local),
        cmocka_unit_test(test_no_clock_control),
        cmocka_unit_test(test_family),
        cmocka_unit_test(test_jump_seen),
        cmocka_unit_test(test_tx_stamp_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
