/* Leap-second rules of the engine (see leap.h): the last-day-of-month test on the
 * proleptic Gregorian calendar, the announcement choice, and the kernel's jump. */
#include "core/leap.h"

#include <math.h>

#include "ntp/ntp_pkt.h"

/* A kernel leap moves the clock by exactly 1 s; frequency slews move realtime and
 * monotonic alike, so only reading noise separates the seen jump from +-1 s. */
#define LEAP_JUMP_TOLERANCE 0.05

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Day of the month (1..31) of a day counted from 1970-01-01, by the usual reduction to
 * 400-year eras of 146097 days with years starting on March 1 (so February is last and
 * leap days need no special case). */
static int day_of_month(int64_t days)
{
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                      /* 0..146096 */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
    int64_t mp = (5 * doy + 2) / 153;                                    /* 0 = March */

    return (int)(doy - (153 * mp + 2) / 5 + 1);
}

bool leap_last_day_of_month(int64_t unix_s)
{
    return day_of_month(floor_div(unix_s, LEAP_DAY_S) + 1) == 1;
}

int64_t leap_next_midnight(int64_t unix_s)
{
    return (floor_div(unix_s, LEAP_DAY_S) + 1) * LEAP_DAY_S;
}

uint8_t leap_indicator(const struct leap_state *s, int64_t file_at, int file_dir, int64_t unix_s,
                       uint8_t majority)
{
    if (s->done_s > 0 && unix_s >= s->done_s - 2 && unix_s < s->done_s + LEAP_DAY_S) {
        return NTP_LEAP_NONE;
    }
    /* ntpd arms a leap from its leapfile one day ahead (RFC 5905 section 7.3: the
     * indicator warns of a leap in the last minute of the current day). */
    if (file_at > 0 && file_dir != 0 && unix_s < file_at && unix_s >= file_at - LEAP_DAY_S) {
        return file_dir > 0 ? NTP_LEAP_INSERT : NTP_LEAP_DELETE;
    }
    if ((majority == NTP_LEAP_INSERT || majority == NTP_LEAP_DELETE) &&
        leap_last_day_of_month(unix_s)) {
        return majority;
    }
    return NTP_LEAP_NONE;
}

void leap_note_armed(struct leap_state *s, uint8_t indicator, int64_t unix_s)
{
    int dir = indicator == NTP_LEAP_INSERT ? 1 : indicator == NTP_LEAP_DELETE ? -1 : 0;

    if (dir != 0 && dir == s->armed) {
        return; /* the same leap: during the repeated second the next midnight moves on */
    }
    s->armed = dir;
    s->midnight_s = dir != 0 ? leap_next_midnight(unix_s) : 0;
}

bool leap_take_kernel_jump(struct leap_state *s, int64_t unix_s, double jump)
{
    /* An insertion turns 00:00:00 back into 23:59:59; a deletion turns 23:59:59 into
     * 00:00:00. Either is seen at the next wake-up, which may be much later. */
    if (s->armed == 0 || !(fabs(jump + (double)s->armed) < LEAP_JUMP_TOLERANCE) ||
        unix_s < s->midnight_s - 2 || unix_s >= s->midnight_s + LEAP_DAY_S) {
        return false;
    }
    s->done_s = s->midnight_s;
    s->armed = 0;
    return true;
}
