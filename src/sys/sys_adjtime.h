/* The kernel's clock discipline interface, clock_adjtime(CLOCK_REALTIME), carrying out
 * what the core planned: steps (ADJ_SETOFFSET), the frequency correction (ADJ_FREQUENCY,
 * plus ADJ_TICK beyond the kernel's +-500 ppm), and the status the kernel reports to
 * others (STA_UNSYNC, leap bits, maxerror, esterror). The kernel PLL stays off: tsyncd
 * plans in user space. Also a descriptor that wakes the loop when anyone sets the clock.
 * Decides nothing; returns -errno. */
#ifndef TSYNC_SYS_ADJTIME_H
#define TSYNC_SYS_ADJTIME_H

#include <stdbool.h>
#include <stdint.h>

/* Largest |frequency| ADJ_FREQUENCY takes, ppm (the kernel's MAXFREQ). */
#define SYS_ADJTIME_MAX_FREQ_PPM 500.0

/* The kernel's NTP_PHASE_LIMIT: maxerror is capped at 16 s, and a kernel whose maxerror
 * grows to it marks the clock unsynchronized by itself. */
#define SYS_ADJTIME_MAXERROR_LIMIT 16.0

/* Leap second to arm (values of enum ntp_leap). */
enum sys_adjtime_leap {
    SYS_ADJTIME_LEAP_NONE = 0,
    SYS_ADJTIME_LEAP_INSERT = 1, /* STA_INS: 23:59:60 at the end of this UTC day */
    SYS_ADJTIME_LEAP_DELETE = 2, /* STA_DEL: 23:59:59 is skipped */
};

/* What the kernel reports about its clock (a read-only query). */
struct sys_adjtime_state {
    double freq_ppm;  /* total frequency correction: ADJ_FREQUENCY part + tick part */
    long tick_us;     /* microseconds per USER_HZ tick (10000 at HZ 100 is nominal) */
    long freq_scaled; /* ADJ_FREQUENCY value: ppm with a 16-bit fraction */
    int status;       /* STA_* bits */
    int state;        /* TIME_OK, TIME_INS, ..., TIME_ERROR (clock unsynchronized) */
    double maxerror;  /* s */
    double esterror;  /* s */
    bool synced;      /* STA_UNSYNC is clear */
};

/* Reads the kernel's clock state without changing anything (modes 0). */
int sys_adjtime_query(struct sys_adjtime_state *st);

/* Adds offset seconds to CLOCK_REALTIME in one step (ADJ_SETOFFSET | ADJ_NANO).
 * *applied (may be NULL) is the step made, offset rounded to the nanosecond, or 0 on
 * failure. |offset| must be below 2^62 ns (about 146 years), else -ERANGE. */
int sys_adjtime_step(double offset, double *applied);

/* Sets the total frequency correction to ppm (positive: the clock runs faster): within
 * +-500 ppm through ADJ_FREQUENCY alone with the nominal tick, beyond that the tick
 * takes whole microseconds and ADJ_FREQUENCY the rest. The kernel's values are read
 * back: *applied_ppm (may be NULL) is what it really runs at, clamped to what the tick
 * range allows (about +-100500 ppm at HZ 100). */
int sys_adjtime_set_freq(double ppm, double *applied_ppm);

/* Kernel status: STA_UNSYNC set unless synced, STA_INS/STA_DEL as leap says (cleared
 * for SYS_ADJTIME_LEAP_NONE), STA_PLL/STA_FLL/STA_PPS* cleared, maxerror and esterror
 * in seconds (stored as microseconds, capped at SYS_ADJTIME_MAXERROR_LIMIT). */
int sys_adjtime_set_status(bool synced, enum sys_adjtime_leap leap, double maxerror,
                           double esterror);

/* Start of discipline: cancels a pending adjtime() slew and the kernel PLL's remaining
 * phase correction left by an earlier daemon, turns the PLL off and marks the clock
 * unsynchronized with maxerror 16 s until the core says otherwise. */
int sys_adjtime_reset(void);

/* A timerfd on CLOCK_REALTIME armed far ahead with TFD_TIMER_CANCEL_ON_SET: it becomes
 * readable as soon as the clock is set (date -s, settimeofday, ADJ_SETOFFSET, a leap
 * second), so an external jump is seen at once rather than at the next wake-up (the
 * systemd-timesyncd way). Non-blocking, close-on-exec set with fcntl. Returns the fd or
 * -errno. */
int sys_adjtime_watch_open(void);

/* After the watch fd became readable: consumes the event and arms it again. Returns 0
 * or -errno. */
int sys_adjtime_watch_rearm(int fd);

/* Pure arithmetic, exposed for tests. */

/* ppm -> tick (us per tick) and ADJ_FREQUENCY value for a kernel with hz ticks a
 * second (USER_HZ): the nominal tick 1000000/hz within +-500 ppm; beyond, the nearest
 * whole tick (one microsecond per tick is hz ppm) with the rest, at most hz/2 ppm, in
 * ADJ_FREQUENCY. The tick stays in the kernel's +-10 % range; the frequency part is
 * clamped to +-500 ppm. Returns false when ppm is not finite or hz is not in 1..1000000. */
bool sys_adjtime_split_freq(double ppm, long hz, long *tick_us, long *freq_scaled);

/* The total correction in ppm of a tick and ADJ_FREQUENCY value (the inverse). */
double sys_adjtime_join_freq(long tick_us, long freq_scaled, long hz);

/* A step of offset seconds as ADJ_SETOFFSET wants it with ADJ_NANO: *sec and *nsec with
 * 0 <= nsec < 1e9 (a negative step has sec < 0). False when |offset| is too large or
 * not finite. */
bool sys_adjtime_split_offset(double offset, int64_t *sec, long *nsec);

/* Seconds -> kernel microseconds for maxerror/esterror: rounded, negative and NaN to
 * 0, capped at SYS_ADJTIME_MAXERROR_LIMIT. */
long sys_adjtime_error_us(double seconds);

#endif
