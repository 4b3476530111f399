/* NTP time formats (RFC 5905 section 6) <-> Unix nanoseconds. Owns the era arithmetic:
 * a 32.32 timestamp carries no era number, so it is placed in the era nearest a known
 * time. Pure integer arithmetic except the double-second differences; no clock reads. */
#include "ntp/ntp_ts.h"

#include <stdint.h>

#define NS_PER_S INT64_C(1000000000)
#define TWO_POW_32 4294967296.0

/* Floor division by 1e9, so that negative times (before 1970) keep a fraction in
 * [0, 1e9) and count their seconds downwards. */
static int64_t split_ns(int64_t ns, int64_t *frac_ns)
{
    int64_t sec = ns / NS_PER_S;
    int64_t rem = ns % NS_PER_S;

    if (rem < 0) {
        rem += NS_PER_S;
        sec -= 1;
    }
    *frac_ns = rem;
    return sec;
}

/* Two's complement reading of a wrapped difference, without implementation-defined
 * conversions. */
static int64_t to_signed64(uint64_t u)
{
    if (u <= (uint64_t)INT64_MAX) {
        return (int64_t)u;
    }
    return -(int64_t)(UINT64_MAX - u) - 1;
}

static int32_t to_signed32(uint32_t u)
{
    if (u <= (uint32_t)INT32_MAX) {
        return (int32_t)u;
    }
    return -(int32_t)(UINT32_MAX - u) - 1;
}

/* unix_s * 1e9 + frac_ns for 0 <= frac_ns <= 1e9, saturated to the int64 range (which
 * ends in 1677 and 2262) only when the exact value lies outside it. */
static int64_t join_ns(int64_t unix_s, int64_t frac_ns)
{
    if (unix_s >= 0) {
        if (unix_s > (INT64_MAX - frac_ns) / NS_PER_S) {
            return INT64_MAX;
        }
        return unix_s * NS_PER_S + frac_ns;
    }
    /* Negative: count from the second above, so that the product itself stays in range. */
    int64_t above = unix_s + 1;
    if (above < INT64_MIN / NS_PER_S) {
        return INT64_MIN;
    }
    int64_t base = above * NS_PER_S;
    int64_t rest = frac_ns - NS_PER_S;
    if (base < INT64_MIN - rest) {
        return INT64_MIN;
    }
    return base + rest;
}

uint64_t ntp_ts_from_unix_ns(int64_t unix_ns)
{
    int64_t frac_ns;
    int64_t ntp_s = split_ns(unix_ns, &frac_ns) + NTP_UNIX_EPOCH_DELTA;
    /* frac_ns < 1e9, so the rounded fraction stays below 2^32 (at most 2^32 - 4). */
    uint64_t frac = (((uint64_t)frac_ns << 32) + (uint64_t)NS_PER_S / 2) / (uint64_t)NS_PER_S;

    /* Dropping the era is reduction modulo 2^32 (RFC 5905 section 6). */
    return (uint64_t)(uint32_t)(uint64_t)ntp_s << 32 | frac;
}

int64_t ntp_ts_to_unix_ns(uint64_t ts, int64_t near_unix_ns)
{
    int64_t near_frac_ns;
    int64_t near_ntp_s = split_ns(near_unix_ns, &near_frac_ns) + NTP_UNIX_EPOCH_DELTA;
    /* The seconds of ts read as a signed step from the nearby time's seconds: this picks
     * the era that leaves the result within [-2^31, 2^31) s of it (RFC 5905 section 6). */
    int32_t step_s = to_signed32((uint32_t)(ts >> 32) - (uint32_t)(uint64_t)near_ntp_s);
    int64_t unix_s = near_ntp_s + step_s - NTP_UNIX_EPOCH_DELTA;
    /* Rounded to the nearest ns, so 2^32 - 1 units give a full 1e9 ns. */
    uint64_t frac_units = ts & UINT32_MAX;
    int64_t frac_ns = (int64_t)((frac_units * (uint64_t)NS_PER_S + (UINT64_C(1) << 31)) >> 32);

    return join_ns(unix_s, frac_ns);
}

double ntp_ts_diff(uint64_t a, uint64_t b)
{
    /* Modular difference, read as signed: correct across an era boundary as long as the
     * two are less than 2^31 s apart (RFC 5905 section 6). Seconds and fraction are
     * converted apart, so large differences keep their sub-nanosecond part. */
    int64_t d = to_signed64(a - b);
    int64_t sec = d / INT64_C(4294967296);
    int64_t frac = d % INT64_C(4294967296);

    return (double)sec + (double)frac / TWO_POW_32;
}

uint32_t ntp_short_from_seconds(double seconds)
{
    /* Written so that NaN fails the test too: no math.h call needed. */
    if (!(seconds > 0.0)) {
        return 0;
    }
    double scaled = seconds * 65536.0 + 0.5;
    if (scaled >= TWO_POW_32) {
        return UINT32_MAX;
    }
    return (uint32_t)scaled;
}

double ntp_short_to_seconds(uint32_t v)
{
    return (double)v / 65536.0;
}
