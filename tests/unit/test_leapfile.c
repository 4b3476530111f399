/* leapfile_parse, leapfile_next, leapfile_expired and drv_config_leap on texts written
 * here from the known leap dates (1972-07-01, 2015-07-01, 2017-01-01). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/drv_config.h"
#include "daemon/leapfile.h"

#define T1972 2272060800LL /* 1972-01-01 in NTP seconds: TAI-UTC 10 */
#define T2015 3644697600LL /* 2015-07-01: 36 */
#define T2017 3692217600LL /* 2017-01-01: 37 */

static const char good[] = "# a comment\n"
                           "#$\t3676924800\n"
                           "#@\t3944678400\n"
                           "2272060800\t10\t# 1 Jan 1972\n"
                           "2287785600\t11\n"
                           "\n"
                           "3644697600\t36\t# 1 Jul 2015\n"
                           "3692217600\t37\r\n"
                           "#h\tdeadbeef 0 1 2 3\n";

static struct leapfile lf;

static int parse(const char *text, struct leapfile_error *err)
{
    return leapfile_parse(text, strlen(text), &lf, err);
}

static void test_parse_good(void **state)
{
    struct leapfile_error err;
    (void)state;
    assert_int_equal(parse(good, &err), 0);
    assert_int_equal(lf.n, 4);
    assert_int_equal(lf.e[0].ntp_s, T1972);
    assert_int_equal(lf.e[0].tai_offset, 10);
    assert_int_equal(lf.e[3].ntp_s, T2017);
    assert_int_equal(lf.e[3].tai_offset, 37);
    assert_true(lf.have_expiry);
    assert_int_equal(lf.expiry_ntp_s, 3944678400LL);
    assert_int_equal(lf.updated_ntp_s, 3676924800LL);
}

static void expect_error(const char *text, int line)
{
    struct leapfile_error err;
    assert_int_equal(parse(text, &err), -1);
    assert_int_equal(err.line, line);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(lf.n, 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("", 0);
    expect_error("# only comments\n", 0);
    expect_error("2272060800 10\nabc 11\n", 2);
    expect_error("2272060800 10\n2287785600\n", 2);             /* no offset */
    expect_error("2272060800 10\n2287785600 11 x\n", 2);        /* junk after */
    expect_error("2287785600 11\n2272060800 10\n", 2);          /* time goes back */
    expect_error("2272060800 10\n2287785600 10\n", 2);          /* no change */
    expect_error("#@ soon\n2272060800 10\n", 1);
    expect_error("2272060800 10\n#$\n", 2);
    expect_error("99999999999999999999999 10\n", 1);            /* overflow */
}

static void test_nul_byte(void **state)
{
    static const char text[] = "2272060800 10\n22877\0\n";
    struct leapfile_error err;
    (void)state;
    assert_int_equal(leapfile_parse(text, sizeof(text) - 1, &lf, &err), -1);
    assert_int_equal(err.line, 2);
}

static void test_next_and_expiry(void **state)
{
    struct leapfile_error err;
    int64_t at = 0;
    int dir = 0;
    (void)state;
    assert_int_equal(parse(good, &err), 0);
    int64_t u2015 = T2015 - LEAPFILE_NTP_UNIX; /* 1435708800 */
    assert_int_equal(u2015, 1435708800LL);
    assert_true(leapfile_next(&lf, u2015 - 10, &at, &dir));
    assert_int_equal(at, u2015);
    assert_int_equal(dir, 1);
    assert_true(leapfile_next(&lf, u2015, &at, &dir)); /* that one is over */
    assert_int_equal(at, T2017 - LEAPFILE_NTP_UNIX);
    assert_false(leapfile_next(&lf, T2017 - LEAPFILE_NTP_UNIX, &at, &dir));
    assert_false(leapfile_expired(&lf, 3944678400LL - LEAPFILE_NTP_UNIX - 1));
    assert_true(leapfile_expired(&lf, 3944678400LL - LEAPFILE_NTP_UNIX));
    /* a negative leap */
    assert_int_equal(parse("2272060800 10\n2287785600 9\n", &err), 0);
    assert_true(leapfile_next(&lf, 0, &at, &dir));
    assert_int_equal(dir, -1);
    assert_false(leapfile_expired(&lf, INT64_MAX / 2)); /* no "#@": never expires */
}

static int notes;
static void count_note(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
    notes++;
}

static void test_drv_config_leap(void **state)
{
    struct leapfile_error err;
    static struct eng_config ec;
    (void)state;
    assert_int_equal(parse(good, &err), 0);
    eng_config_default(&ec);
    notes = 0;
    drv_config_leap(&lf, T2017 - LEAPFILE_NTP_UNIX - 3600, &ec, count_note, NULL);
    assert_int_equal(ec.leap_at_unix_s, T2017 - LEAPFILE_NTP_UNIX);
    assert_int_equal(ec.leap_dir, 1);
    assert_int_equal(notes, 0);
    /* expired: still used, with a note; no later leap known */
    drv_config_leap(&lf, 3944678400LL - LEAPFILE_NTP_UNIX + 1, &ec, count_note, NULL);
    assert_int_equal(ec.leap_at_unix_s, 0);
    assert_int_equal(notes, 1);
    drv_config_leap(NULL, 0, &ec, count_note, NULL);
    assert_int_equal(ec.leap_at_unix_s, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),     cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_nul_byte),       cmocka_unit_test(test_next_and_expiry),
        cmocka_unit_test(test_drv_config_leap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
