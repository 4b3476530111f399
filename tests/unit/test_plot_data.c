/* tsync plot's readers (src/cli/plot_data.c): ISO times, tracking and measurement files
 * (jitter per source from used replies only), tsync-sim CSV, the --since filter, and
 * files that are none of these. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/plot_data.h"

static struct plot_data data;

static int read_text(const char *text, double since)
{
    char err[256];
    return plot_data_read(&data, text, strlen(text), "t.csv", since, err, sizeof(err));
}

static void test_parse_time(void **state)
{
    (void)state;
    double t;
    const char *s = "2026-11-18T11:06:40.123456Z";
    assert_true(plot_parse_time(s, strlen(s), &t));
    assert_true(fabs(t - 1795000000.123456) < 1e-6);
    s = "1970-01-01T00:00:00Z";
    assert_true(plot_parse_time(s, strlen(s), &t));
    assert_true(t == 0.0);
    s = "2026-11-18 11:06:40Z";
    assert_false(plot_parse_time(s, strlen(s), &t));
    s = "2026-13-18T11:06:40Z";
    assert_false(plot_parse_time(s, strlen(s), &t));
    s = "2026-11-18T11:06:40.12Z"; /* microseconds or nothing */
    assert_false(plot_parse_time(s, strlen(s), &t));
}

static void test_tracking(void **state)
{
    (void)state;
    plot_data_init(&data);
    assert_int_equal(
        read_text("time,reference,stratum,offset,frequency_ppm,skew_ppm,root_delay,"
                  "root_dispersion,bound,synchronized,leap\n"
                  "2026-11-18T11:06:40.000000Z,198.18.0.1,2,-0.000002,-10.0,0.01,0.0002,"
                  "0.0003,0.0004,1,0\n"
                  "garbage line\n"
                  "2026-11-18T11:07:44.000000Z,198.18.0.1,2,0.000001,-10.1,0.01,0.0002,"
                  "0.0003,0.0005,1,0\r\n",
                  -INFINITY),
        0);
    assert_int_equal(data.n_series[PLOT_OFFSET], 1);
    assert_int_equal(data.series[PLOT_OFFSET][0].n, 2);
    assert_true(data.series[PLOT_FREQUENCY][0].v[1] == -10.1);
    assert_true(data.series[PLOT_BOUND][0].v[1] == 0.0005);
    assert_true(data.t_max - data.t_min == 64.0);
    assert_false(data.relative);
    plot_data_free(&data);
    /* --since keeps the newer row only. */
    plot_data_init(&data);
    assert_int_equal(read_text("time,reference,stratum,offset,frequency_ppm,bound\n"
                               "2026-11-18T11:06:40.000000Z,x,2,0.1,1,1\n"
                               "2026-11-18T11:07:44.000000Z,x,2,0.2,1,1\n",
                               1795000050.0),
                     0);
    assert_int_equal(data.series[PLOT_OFFSET][0].n, 1);
    assert_true(data.series[PLOT_OFFSET][0].v[0] == 0.2);
    plot_data_free(&data);
}

static void test_measurements_jitter(void **state)
{
    (void)state;
    char text[4096] = "time,source,address,stratum,leap,offset,delay,dispersion,result\n";
    for (int i = 0; i < 10; i++) {
        char line[160];
        snprintf(line, sizeof(line),
                 "2026-11-18T11:%02d:00.000000Z,a,198.18.0.1,1,0,%s,0.0002,0.00001,%s\n", i,
                 i % 2 ? "0.000010" : "-0.000010", i == 3 ? "stale" : "ok");
        strcat(text, line);
    }
    plot_data_init(&data);
    assert_int_equal(read_text(text, -INFINITY), 0);
    assert_int_equal(data.series[PLOT_OFFSET][0].n, 9);  /* the stale reply is left out */
    assert_true(data.series[PLOT_JITTER][0].n == 8);     /* from the second used reply on */
    double last = data.series[PLOT_JITTER][0].v[7];
    assert_true(last > 9e-6 && last < 12e-6);           /* +-10 us alternating */
    plot_data_free(&data);
}

static void test_sim_csv(void **state)
{
    (void)state;
    plot_data_init(&data);
    assert_int_equal(read_text("time_s,s1_offset_s,c1_offset_s,c1_freq_corr_ppm,"
                               "c1_freq_error_ppm,c1_synced,c1_maxerror_s\n"
                               "0.000,0,-0.05,0,10,0,16\n"
                               "1.000,0,-0.04,-5,5,1,0.001\n",
                               1e18),
                     0);
    assert_true(data.relative);
    assert_int_equal(data.n_series[PLOT_OFFSET], 1); /* the server has no frequency column */
    assert_string_equal(data.series[PLOT_OFFSET][0].name, "c1");
    assert_int_equal(data.series[PLOT_OFFSET][0].n, 2); /* since is ignored for runs */
    assert_true(data.series[PLOT_BOUND][0].v[1] == 0.001);
    plot_data_free(&data);
}

static void test_not_ours(void **state)
{
    (void)state;
    plot_data_init(&data);
    assert_int_equal(read_text("a,b,c\n1,2,3\n", -INFINITY), -1);
    assert_int_equal(read_text("", -INFINITY), -1);
    assert_int_equal(read_text("\n\n\n", -INFINITY), -1);
    plot_data_free(&data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_tracking),
        cmocka_unit_test(test_measurements_jitter),
        cmocka_unit_test(test_sim_csv),
        cmocka_unit_test(test_not_ours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
