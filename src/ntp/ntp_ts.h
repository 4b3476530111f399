/* NTP time formats (RFC 5905 section 6): the 64-bit 32.32 timestamp and the 32-bit
 * 16.16 short format, converted to and from Unix nanoseconds.
 * Pure: no clock reads; the era of a timestamp is resolved against a nearby known time. */
#ifndef TSYNC_NTP_TS_H
#define TSYNC_NTP_TS_H

#include <stdint.h>

/* Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01). */
#define NTP_UNIX_EPOCH_DELTA INT64_C(2208988800)

/* Unix time in nanoseconds -> 32.32 timestamp of its era (the era number is dropped).
 * The fraction is rounded to the nearest 2^-32 s. */
uint64_t ntp_ts_from_unix_ns(int64_t unix_ns);

/* 32.32 timestamp -> Unix nanoseconds, choosing the era that puts the result within
 * +-68 years of near_unix_ns (RFC 5905 section 6: "nearby known time"). The fraction is
 * rounded to the nearest ns; results outside the int64 range (before 1677, after 2262)
 * saturate at INT64_MIN / INT64_MAX. */
int64_t ntp_ts_to_unix_ns(uint64_t ts, int64_t near_unix_ns);

/* a - b in seconds, for timestamps less than 68 years apart (wraps across eras). */
double ntp_ts_diff(uint64_t a, uint64_t b);

/* Seconds -> 16.16 short format; negative and NaN give 0, too large saturates. */
uint32_t ntp_short_from_seconds(double seconds);

/* 16.16 short format -> seconds. */
double ntp_short_to_seconds(uint32_t v);

#endif
