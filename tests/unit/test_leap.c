/* Leap-second rules (src/core/leap.c): the calendar test, what is announced when, and
 * telling the kernel's leap from an external jump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/leap.h"
#include "ntp/ntp_pkt.h"

#define DAY      INT64_C(86400)
#define Y2017    INT64_C(1483228800) /* 2017-01-01T00:00:00Z, after the last leap */
#define JUL2015  INT64_C(1435708800) /* 2015-07-01T00:00:00Z, after the one before */
#define MAR2024  INT64_C(1709251200) /* 2024-03-01T00:00:00Z */
#define MAR2100  INT64_C(4107542400) /* 2100-03-01T00:00:00Z (2100 has no Feb 29) */
#define MAR2000  INT64_C(951868800)  /* 2000-03-01T00:00:00Z (2000 has one) */

static void test_last_day_of_month(void **state)
{
    (void)state;
    assert_true(leap_last_day_of_month(Y2017 - 1));
    assert_true(leap_last_day_of_month(Y2017 - DAY));
    assert_false(leap_last_day_of_month(Y2017 - DAY - 1));
    assert_false(leap_last_day_of_month(Y2017));
    assert_true(leap_last_day_of_month(JUL2015 - 3600)); /* June 30 */
    assert_false(leap_last_day_of_month(JUL2015 - DAY - 3600));
    /* February: 29 days in 2024 and 2000, 28 in 2100. */
    assert_true(leap_last_day_of_month(MAR2024 - 10));
    assert_false(leap_last_day_of_month(MAR2024 - DAY - 10));
    assert_true(leap_last_day_of_month(MAR2000 - 10));
    assert_false(leap_last_day_of_month(MAR2000 - DAY - 10));
    assert_true(leap_last_day_of_month(MAR2100 - 10));
    assert_false(leap_last_day_of_month(MAR2100 - DAY - 10));
    /* Before 1970 the division still rounds towards the right day: 1969-12-31. */
    assert_true(leap_last_day_of_month(-1));
    assert_false(leap_last_day_of_month(-DAY - 1));
    assert_false(leap_last_day_of_month(0));
}

static void test_next_midnight(void **state)
{
    (void)state;
    assert_true(leap_next_midnight(Y2017 - 1) == Y2017);
    assert_true(leap_next_midnight(Y2017) == Y2017 + DAY);
    assert_true(leap_next_midnight(-1) == 0);
    assert_true(leap_next_midnight(-DAY) == 0);
}

/* ntpd servers announce a leap for weeks: only the month's last day counts. */
static void test_majority_only_on_last_day(void **state)
{
    struct leap_state s = {0, 0, 0};
    (void)state;
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - 20 * DAY, NTP_LEAP_INSERT), 0);
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - DAY - 1, NTP_LEAP_INSERT), 0);
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - DAY, NTP_LEAP_INSERT), NTP_LEAP_INSERT);
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - 1, NTP_LEAP_DELETE), NTP_LEAP_DELETE);
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017, NTP_LEAP_INSERT), 0);
    /* Unsynchronized (3) is no announcement. */
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - 1, NTP_LEAP_UNSYNC), 0);
}

/* The file names the midnight: its leap wins over the majority during that day. */
static void test_file_leap(void **state)
{
    struct leap_state s = {0, 0, 0};
    (void)state;
    assert_int_equal(leap_indicator(&s, Y2017, 1, Y2017 - DAY - 1, 0), 0);
    assert_int_equal(leap_indicator(&s, Y2017, 1, Y2017 - DAY, 0), NTP_LEAP_INSERT);
    assert_int_equal(leap_indicator(&s, Y2017, 1, Y2017 - 1, NTP_LEAP_DELETE), NTP_LEAP_INSERT);
    assert_int_equal(leap_indicator(&s, Y2017, -1, Y2017 - 1, 0), NTP_LEAP_DELETE);
    assert_int_equal(leap_indicator(&s, Y2017, 1, Y2017, 0), 0);
}

/* Arming remembers the midnight; the kernel's -1 s jump after it is the leap, once. */
static void test_kernel_insertion(void **state)
{
    struct leap_state s = {0, 0, 0};
    (void)state;
    leap_note_armed(&s, NTP_LEAP_INSERT, Y2017 - 3600);
    assert_int_equal(s.armed, 1);
    assert_true(s.midnight_s == Y2017);
    /* Re-arming with the same leap during the repeated second keeps the midnight. */
    leap_note_armed(&s, NTP_LEAP_INSERT, Y2017 - 1);
    assert_true(s.midnight_s == Y2017);
    assert_false(leap_take_kernel_jump(&s, Y2017 - 1, +1.0));   /* wrong direction */
    assert_false(leap_take_kernel_jump(&s, Y2017 - 1, -2.0));   /* not one second */
    assert_false(leap_take_kernel_jump(&s, Y2017 - 300, -1.0)); /* before midnight */
    assert_false(leap_take_kernel_jump(&s, Y2017 + DAY, -1.0)); /* a day too late */
    assert_true(leap_take_kernel_jump(&s, Y2017 - 1, -1.0002));
    assert_int_equal(s.armed, 0);
    assert_true(s.done_s == Y2017);
    assert_false(leap_take_kernel_jump(&s, Y2017 - 1, -1.0)); /* only once */
    /* The repeated 23:59:59 is still the last day, but nothing is armed again. */
    assert_int_equal(leap_indicator(&s, 0, 0, Y2017 - 1, NTP_LEAP_INSERT), 0);
    assert_int_equal(leap_indicator(&s, Y2017 + 30, 1, Y2017 - 1, 0), 0);
}

static void test_kernel_deletion(void **state)
{
    struct leap_state s = {0, 0, 0};
    (void)state;
    leap_note_armed(&s, NTP_LEAP_DELETE, Y2017 - 7200);
    assert_int_equal(s.armed, -1);
    /* 23:59:59 becomes 00:00:00: seen just after midnight, +1 s. */
    assert_false(leap_take_kernel_jump(&s, Y2017, -1.0));
    assert_true(leap_take_kernel_jump(&s, Y2017, 1.0));
    assert_true(s.done_s == Y2017);
}

/* Disarming (sync lost, announcement withdrawn) makes a later 1 s jump a real one. */
static void test_disarmed_jump_is_external(void **state)
{
    struct leap_state s = {0, 0, 0};
    (void)state;
    leap_note_armed(&s, NTP_LEAP_INSERT, Y2017 - 3600);
    leap_note_armed(&s, NTP_LEAP_NONE, Y2017 - 1800);
    assert_int_equal(s.armed, 0);
    assert_false(leap_take_kernel_jump(&s, Y2017 - 1, -1.0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_last_day_of_month),
        cmocka_unit_test(test_next_midnight),
        cmocka_unit_test(test_majority_only_on_last_day),
        cmocka_unit_test(test_file_leap),
        cmocka_unit_test(test_kernel_insertion),
        cmocka_unit_test(test_kernel_deletion),
        cmocka_unit_test(test_disarmed_jump_is_external),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
