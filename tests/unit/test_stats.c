/* Statistics files (src/daemon/stats.c): line formats, CSV safety, headers on new files
 * only, appending, reopening after a rotation (SIGHUP), and counting what fails. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/stats.h"
#include "test_files.h"

#define T0 (INT64_C(1795000000) * 1000000000 + 123456789) /* 2026-11-18T11:06:40.123456Z */

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tsync-stats.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A file of the test's directory. */
static char *slurp(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return test_slurp(path);
}

static const struct stats_tracking_row track = {
    .reference = "198.18.0.1", .stratum = 2, .offset = -2.5e-6, .frequency_ppm = -10.031,
    .skew_ppm = 0.011, .root_delay = 0.000214, .root_dispersion = 0.000305,
    .bound = 0.000412, .synchronized = true, .leap = 0};

static void test_formats(void **state)
{
    (void)state;
    char buf[512];
    size_t n = stats_format_tracking(buf, sizeof(buf), T0, &track);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "2026-11-18T11:06:40.123456Z,198.18.0.1,2,-0.000002500,-10.031000,"
                             "0.011000,0.000214000,0.000305000,0.000412000,1,0\n");
    struct stats_measurement_row m = {.source = "pool, \"evil\"\nname", .address = "2001:db8::1",
                                      .stratum = 1, .leap = 0, .offset = 1e-6, .delay = 2e-4,
                                      .dispersion = 3e-5, .result = "ok"};
    n = stats_format_measurement(buf, sizeof(buf), T0, &m);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "2026-11-18T11:06:40.123456Z,pool_ _evil__name,2001:db8::1,1,0,"
                             "0.000001000,0.000200000,0.000030000,ok\n");
    /* Too small a buffer: nothing, never a cut line. */
    assert_int_equal(stats_format_tracking(buf, 40, T0, &track), 0);
    /* Before 1970 (a clock far off): still a valid time. */
    n = stats_format_tracking(buf, sizeof(buf), -1500000000, &track);
    assert_true(n > 0);
    assert_true(strncmp(buf, "1969-12-31T23:59:58.500000Z,", 28) == 0);
}

static void test_files_headers_and_reopen(void **state)
{
    (void)state;
    struct stats s;
    char path[128], moved[128];

    assert_int_equal(stats_open(&s, dir, 1u << STATS_TRACKING), 0);
    stats_tracking(&s, T0, &track);
    stats_tracking(&s, T0 + 1000000000, &track);
    struct stats_measurement_row m = {.source = "a", .address = "198.18.0.1", .result = "stale"};
    stats_measurement(&s, T0, &m); /* not enabled: nothing */
    assert_null(slurp("measurements.log"));
    char *t = slurp("tracking.log");
    assert_non_null(t);
    assert_true(strncmp(t, "time,reference,stratum,offset,", 30) == 0);
    assert_non_null(strstr(t, "11:06:41.123456Z"));
    stats_close(&s);
    /* Appending to an existing file: no second header. */
    assert_int_equal(stats_open(&s, dir, (1u << STATS_TRACKING) | (1u << STATS_MEASUREMENTS)),
                     0);
    stats_tracking(&s, T0, &track);
    stats_measurement(&s, T0, &m);
    t = slurp("tracking.log");
    assert_non_null(strstr(t + 1, "\n2026"));
    assert_null(strstr(t + 1, "time,reference"));
    /* logrotate moves the file away, then SIGHUP: a fresh file with its header. */
    snprintf(path, sizeof(path), "%s/tracking.log", dir);
    snprintf(moved, sizeof(moved), "%s/tracking.log.1", dir);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(stats_reopen(&s), 0);
    stats_tracking(&s, T0, &track);
    t = slurp("tracking.log");
    assert_true(strncmp(t, "time,reference", 14) == 0);
    assert_int_equal(s.lines, 3); /* since this open */
    assert_int_equal(s.write_errors, 0);
    stats_close(&s);
    assert_non_null(strstr(slurp("measurements.log"), ",stale\n"));
}

static void test_bad_directory(void **state)
{
    (void)state;
    struct stats s;
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no/such/dir", dir);
    assert_int_equal(stats_open(&s, missing, 1u << STATS_TRACKING), -ENOENT);
    stats_tracking(&s, T0, &track); /* closed: ignored, no crash */
    assert_int_equal(s.lines, 0);
    stats_close(&s);
    assert_string_equal(stats_file_name(STATS_MEASUREMENTS), "measurements");
    assert_null(stats_file_name(STATS_FILES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test_setup_teardown(test_files_headers_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
