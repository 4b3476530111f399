/* System clock readings for the daemon: CLOCK_REALTIME and CLOCK_MONOTONIC in
 * nanoseconds, and the start-up measurement of the clock's precision that the server
 * advertises (RFC 5905 section 7.3, "precision"). Only reads the clock, never sets it;
 * only clock_gettime is used, so clock-and-network simulators can intercept it. */
#ifndef TSYNC_SYS_CLOCK_H
#define TSYNC_SYS_CLOCK_H

#include <stdint.h>

/* Limits of the measured precision, log2 seconds. 2^-30 s (0.93 ns) is finer than a
 * timespec can express, so no real clock is clamped at the bottom; 2^-1 s is the
 * coarsest value that still lets a client use the server at all. */
#define SYS_CLOCK_PRECISION_MIN (-30)
#define SYS_CLOCK_PRECISION_MAX (-1)

/* Used when the clock never moved during the measurement (a frozen virtual clock under
 * a simulator): 2^-20 s, about 1 us, the precision of a microsecond clock. */
#define SYS_CLOCK_PRECISION_FALLBACK (-20)

/* CLOCK_REALTIME as nanoseconds since the Unix epoch (0 if the call fails, which
 * clock_gettime does only for an invalid clock id). */
int64_t sys_clock_realtime_ns(void);

/* CLOCK_MONOTONIC in nanoseconds since an arbitrary start; never goes back. */
int64_t sys_clock_monotonic_ns(void);

/* Precision of CLOCK_REALTIME as log2 seconds, rounded up: the smallest nonzero
 * difference between two successive readings over many tries, i.e. the larger of the
 * clock's resolution and the cost of reading it (the way ntpd and chrony measure it).
 * Clamped to [SYS_CLOCK_PRECISION_MIN, SYS_CLOCK_PRECISION_MAX]. Takes well under 1 ms
 * on a normal system. */
int8_t sys_clock_precision_log2(void);

/* ceil(log2(ns * 1e-9)) for ns > 0, clamped as above; exposed for tests. */
int8_t sys_clock_ns_to_log2(int64_t ns);

#endif
