/* Unit tests for the simulator's measurements (sim/sim_report.c) and expectation files
 * (sim/sim_check.c): settle times on hand-made offset series, disturbance windows from a
 * scenario, metric lookup, and checks that pass, fail and reject bad files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/sim_check.h"
#include "sim/sim_report.h"

static void test_settle(void **state)
{
    (void)state;
    /* samples every 1 s */
    const double off[] = {0.5, 0.01, 2e-3, 5e-4, 2e-3, 5e-4, 5e-5, 5e-5, 5e-5, 5e-5};
    const size_t n = sizeof(off) / sizeof(off[0]);

    /* Last sample at or above 1 ms is k = 4: below from t = 5 on. */
    assert_true(sim_report_settle(off, n, 1.0, 0, 100, 1e-3) == 5.0);
    assert_true(sim_report_settle(off, n, 1.0, 0, 100, 1e-4) == 6.0);
    /* Measured from t = 2: 3 s later. */
    assert_true(sim_report_settle(off, n, 1.0, 2, 100, 1e-3) == 3.0);
    /* Already below in the window. */
    assert_true(sim_report_settle(off, n, 1.0, 6, 100, 1e-4) == 0.0);
    /* Still above at the window's last sample (k = 4): never. */
    assert_true(isinf(sim_report_settle(off, n, 1.0, 0, 4.5, 1e-3)));
    /* No sample in the window. */
    assert_true(isnan(sim_report_settle(off, n, 1.0, 20, 30, 1e-3)));
    /* A window that starts between samples counts from its own start. */
    assert_true(sim_report_settle(off, n, 1.0, 4.5, 100, 1e-3) == 0.0);
}

static void test_disturbances_sorted(void **state)
{
    (void)state;
    struct sim_outage outages[] = {
        {.start = 500, .end = 900, .a = -1, .b = -1},
        {.start = 50, .end = 60, .a = 0, .b = -1},
        {.start = 70, .end = 80, .a = 1, .b = -1}, /* another node */
        {.start = 90, .end = 95, .a = -1, .b = 2}, /* one server only: not a disturbance */
    };
    struct sim_inject injects[] = {
        {.kind = SIM_INJECT_STEP, .node = 0, .at = 300, .value = 300},
        {.kind = SIM_INJECT_FREQ_SHIFT, .node = 0, .at = 100, .value = 3},
        {.kind = SIM_INJECT_STEP, .node = 1, .at = 200, .value = 1},
    };
    struct sim_scn s = {
        .duration = 1000, .outages = outages, .n_outages = 4, .injects = injects, .n_injects = 3};
    struct sim_world w = {.scn = &s};
    struct sim_disturbance d[8];

    size_t n = sim_report_disturbances(&w, 0, d, 8);
    assert_int_equal(n, 3);
    assert_true(d[0].outage && d[0].start == 50 && d[0].end == 60);
    assert_true(!d[1].outage && d[1].start == 300 && d[1].end == 300);
    assert_true(d[2].outage && d[2].start == 500);
}

static void test_metrics_lookup(void **state)
{
    (void)state;
    struct sim_metrics m;
    double v;

    sim_metrics_init(&m);
    for (int i = 0; i < 200; i++) {
        assert_true(sim_metrics_add(&m, i * 0.5, "n%d.key", i));
    }
    assert_true(sim_metrics_get(&m, "n150.key", &v) && v == 75);
    assert_false(sim_metrics_get(&m, "n200.key", &v));
    sim_metrics_free(&m);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/test_sim_check_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int run_check(const char *text, const struct sim_world *w, const struct sim_metrics *m,
                     char *err, size_t n)
{
    char *path = write_tmp(text);
    FILE *out = fopen("/dev/null", "w");
    int r = sim_check_file(path, w, m, out, err, n);

    fclose(out);
    unlink(path);
    free(path);
    return r;
}

static void test_checks(void **state)
{
    (void)state;
    struct sim_node_spec specs[3] = {{.name = "c1"}, {.name = "s1"}, {.name = "c2"}};
    int dummy;
    struct sim_node nodes[3] = {
        {.spec = &specs[0], .eng = (struct eng *)&dummy},
        {.spec = &specs[1]},
        {.spec = &specs[2], .eng = (struct eng *)&dummy},
    };
    struct sim_world w = {.n = 3, .nodes = nodes};
    struct sim_metrics m;
    char err[256];

    sim_metrics_init(&m);
    sim_metrics_add(&m, 20e-6, "c1.rms_offset");
    sim_metrics_add(&m, 40e-6, "c2.rms_offset");
    sim_metrics_add(&m, INFINITY, "c2.sync_1ms");
    sim_metrics_add(&m, 1, "c1.steps");
    sim_metrics_add(&m, 2, "c1.event.step");
    sim_metrics_add(&m, 0, "c2.event.step");

    assert_int_equal(run_check("max rms_offset 50us\n", &w, &m, err, sizeof(err)), 0);
    assert_int_equal(run_check("max rms_offset 30e-6 # issue\n", &w, &m, err, sizeof(err)), 1);
    assert_int_equal(run_check("max c2.sync_1ms 10\n", &w, &m, err, sizeof(err)), 1);
    assert_int_equal(run_check("min c1.steps 1\nmax c1.steps 1\n", &w, &m, err, sizeof(err)), 0);
    assert_int_equal(run_check("max c1.nothing 1\n", &w, &m, err, sizeof(err)), 1);
    /* A dotted metric without a node name applies to every client. */
    assert_int_equal(run_check("min event.step 1\n", &w, &m, err, sizeof(err)), 1);
    assert_int_equal(run_check("max event.step 2\n", &w, &m, err, sizeof(err)), 0);
    assert_int_equal(run_check("min c1.event.step 2\n", &w, &m, err, sizeof(err)), 0);
    assert_int_equal(run_check("# only a comment\n", &w, &m, err, sizeof(err)), -1);
    assert_int_equal(run_check("max rms_offset\n", &w, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: "));
    assert_int_equal(run_check("\nbelow rms_offset 1\n", &w, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: "));
    sim_metrics_free(&m);
}

static void test_format_seconds(void **state)
{
    (void)state;
    char b[32];

    sim_report_fmt_seconds(12.3e-6, b, sizeof(b));
    assert_string_equal(b, "12.3 us");
    sim_report_fmt_seconds(INFINITY, b, sizeof(b));
    assert_string_equal(b, "never");
    sim_report_fmt_seconds(4.5e-3, b, sizeof(b));
    assert_string_equal(b, "4.5 ms");
    sim_report_fmt_seconds(300, b, sizeof(b));
    assert_string_equal(b, "300 s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle),         cmocka_unit_test(test_disturbances_sorted),
        cmocka_unit_test(test_metrics_lookup), cmocka_unit_test(test_checks),
        cmocka_unit_test(test_format_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
