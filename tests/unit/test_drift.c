/* Unit tests for src/daemon/drift.c: both drift file dialects (ntpd/tsyncd one number,
 * chrony's two with the opposite sign), strict rejection of damaged content, the
 * written format, and a write/read round trip in a mkdtemp directory under /tmp. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/drift.h"

static void parses(const char *text, double want)
{
    double v = 1e9;

    assert_int_equal(drift_parse(text, strlen(text), &v), 0);
    assert_true(fabs(v - want) < 1e-12);
    assert_false(signbit(v) && v == 0.0);
}

static void rejects(const char *text, size_t len)
{
    double v = 42.0;

    assert_int_equal(drift_parse(text, len, &v), -EINVAL);
    assert_true(v == 42.0); /* untouched */
}

static void test_parse_ntpd(void **state)
{
    (void)state;
    parses("12.345\n", 12.345);
    parses("  -3.5  ", -3.5);
    parses("0", 0.0);
    parses("-0.000", 0.0);
    parses("100500", 100500.0);
    parses("-100500\r\n", -100500.0);
    parses("1e2\n", 100.0);
}

/* chrony writes "%20.6f %20.6f": the frequency the clock gains, then its bound. */
static void test_parse_chrony(void **state)
{
    (void)state;
    parses("           -1.234567             0.012345\n", 1.234567);
    parses("15.5 0.25", -15.5);
    parses("0.0 0.0", 0.0);
}

static void test_parse_rejects_damage(void **state)
{
    char big[DRIFT_FILE_MAX + 2];

    (void)state;
    rejects("", 0);
    rejects("   \n", 4);
    rejects("abc", 3);
    rejects("1.5x", 4);
    rejects("1 2 3", 5);
    rejects("1 -2", 4); /* a negative error bound */
    rejects("1 abc", 5);
    rejects("nan", 3);
    rejects("inf", 3);
    rejects("-inf 0", 6);
    rejects("1e6", 3); /* beyond what the kernel can apply */
    rejects("100500.1", 8);
    rejects("1e999", 5); /* overflows to inf */
    rejects("12\0"
            "3",
            4); /* embedded NUL */
    memset(big, ' ', sizeof(big));
    big[0] = '1';
    rejects(big, DRIFT_FILE_MAX + 1);
}

static void test_format(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(drift_format(1.5, buf, sizeof(buf)), 9);
    assert_string_equal(buf, "1.500000\n");
    assert_int_equal(drift_format(-12.3456789, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "-12.345679\n");
    assert_int_equal(drift_format(-0.0, buf, sizeof(buf)), 9);
    assert_string_equal(buf, "0.000000\n");
    assert_int_equal(drift_format(NAN, buf, sizeof(buf)), 0);
    assert_int_equal(drift_format(INFINITY, buf, sizeof(buf)), 0);
    assert_int_equal(drift_format(1.5, buf, 5), 0); /* does not fit */
    assert_string_equal(buf, "");
}

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tsync-test-drift.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static size_t count_entries(void)
{
    DIR *d = opendir(dir);
    size_t n = 0;

    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

static void test_write_read_round_trip(void **state)
{
    char path[128], text[64];
    double v = 0.0;

    (void)state;
    snprintf(path, sizeof(path), "%s/tsyncd.drift", dir);
    assert_int_equal(drift_read(path, &v), -ENOENT);
    assert_int_equal(drift_write(path, -17.25), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    assert_string_equal(text, "-17.250000\n");
    assert_int_equal(drift_read(path, &v), 0);
    assert_true(v == -17.25);
    /* Rewritten whole, and no temp file left behind. */
    assert_int_equal(drift_write(path, 3.0), 0);
    assert_int_equal(drift_read(path, &v), 0);
    assert_true(v == 3.0);
    assert_int_equal(count_entries(), 1);
    /* A bad value never replaces a good file. */
    assert_int_equal(drift_write(path, NAN), -EINVAL);
    assert_int_equal(drift_write(path, 1e7), -EINVAL);
    assert_int_equal(drift_read(path, &v), 0);
    assert_true(v == 3.0);
}

static void test_read_dialects_and_damage(void **state)
{
    char path[128];
    char big[DRIFT_FILE_MAX + 50];
    double v = 0.0;

    (void)state;
    snprintf(path, sizeof(path), "%s/chrony.drift", dir);
    write_text(path, "           -2.500000             0.050000\n");
    assert_int_equal(drift_read(path, &v), 0);
    assert_true(v == 2.5);
    write_text(path, "garbage\n");
    assert_int_equal(drift_read(path, &v), -EINVAL);
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '1';
    write_text(path, big);
    assert_int_equal(drift_read(path, &v), -EFBIG);
    assert_int_equal(drift_read(dir, &v) < 0, 1); /* a directory is not a drift file */
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/no/such/dir/drift", dir);
    assert_int_equal(drift_write(missing, 1.0), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ntpd),
        cmocka_unit_test(test_parse_chrony),
        cmocka_unit_test(test_parse_rejects_damage),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_write_read_round_trip),
        cmocka_unit_test(test_read_dialects_and_damage),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
