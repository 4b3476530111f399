/* clock_adjtime(CLOCK_REALTIME) wrappers: one call per request, the kernel's values read
 * back from the same call. Only clock_adjtime is used (not adjtimex or settimeofday), so
 * clock-and-network simulators and the fake-clock shim see every change (DESIGN.md).
 * The arithmetic that maps ppm and seconds onto timex fields is pure and tested alone. */
#include "sys/sys_adjtime.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "sys/sys_sock.h"

#define NS_PER_S      INT64_C(1000000000)
#define FREQ_SCALE    65536.0 /* timex.freq: ppm with a 16-bit fraction */
#define US_PER_S      1000000L
#define MAX_STEP_NS   4.0e18             /* below 2^62: llround stays exact enough and in range */
#define DEFAULT_HZ    100L               /* USER_HZ on every Linux architecture tsyncd targets */
#define WATCH_AHEAD_S (10 * 366 * 86400) /* the watch timer itself never expires in practice */
/* Status bits tsyncd owns and rewrites on every status update. Anything in STA_RONLY is
 * ignored by the kernel; the PLL/FLL/PPS bits stay off since the core plans the
 * discipline (DESIGN.md "The clock discipline"). */
#define STA_OWNED                                                                                  \
    (STA_PLL | STA_PPSFREQ | STA_PPSTIME | STA_FLL | STA_INS | STA_DEL | STA_UNSYNC | STA_FREQHOLD)

/* One clock_adjtime call: the kernel's clock state (>= 0) or -errno. */
static int adjust(struct timex *tx)
{
    int r = clock_adjtime(CLOCK_REALTIME, tx);

    return r < 0 ? -errno : r;
}

static long user_hz(void)
{
    long hz = sysconf(_SC_CLK_TCK);

    return hz > 0 && hz <= US_PER_S ? hz : DEFAULT_HZ;
}

static void fill_state(const struct timex *tx, int state, struct sys_adjtime_state *st)
{
    memset(st, 0, sizeof(*st));
    st->tick_us = tx->tick;
    st->freq_scaled = tx->freq;
    st->freq_ppm = sys_adjtime_join_freq(tx->tick, tx->freq, user_hz());
    st->status = tx->status;
    st->state = state;
    st->maxerror = (double)tx->maxerror * 1e-6;
    st->esterror = (double)tx->esterror * 1e-6;
    st->synced = (tx->status & STA_UNSYNC) == 0;
}

int sys_adjtime_query(struct sys_adjtime_state *st)
{
    struct timex tx;
    int r;

    memset(&tx, 0, sizeof(tx));
    tx.modes = 0;
    r = adjust(&tx);
    if (r < 0) {
        return r;
    }
    fill_state(&tx, r, st);
    return 0;
}

bool sys_adjtime_split_offset(double offset, int64_t *sec, long *nsec)
{
    if (!isfinite(offset) || fabs(offset * 1e9) >= MAX_STEP_NS) {
        return false;
    }
    int64_t ns = (int64_t)llround(offset * 1e9);
    int64_t s = ns / NS_PER_S;
    int64_t rem = ns % NS_PER_S;

    /* C division truncates toward zero; the kernel wants 0 <= nsec < 1e9. */
    if (rem < 0) {
        rem += NS_PER_S;
        s -= 1;
    }
    *sec = s;
    *nsec = (long)rem;
    return true;
}

int sys_adjtime_step(double offset, double *applied)
{
    struct timex tx;
    int64_t sec;
    long nsec;
    int r;

    if (applied != NULL) {
        *applied = 0.0;
    }
    if (!sys_adjtime_split_offset(offset, &sec, &nsec)) {
        return -ERANGE;
    }
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_SETOFFSET | ADJ_NANO;
    tx.time.tv_sec = (time_t)sec;
    tx.time.tv_usec = nsec; /* nanoseconds with ADJ_NANO */
    r = adjust(&tx);
    if (r < 0) {
        return r;
    }
    if (applied != NULL) {
        *applied = (double)sec + (double)nsec * 1e-9;
    }
    return 0;
}

double sys_adjtime_join_freq(long tick_us, long freq_scaled, long hz)
{
    /* One microsecond more per tick is hz microseconds more per second: hz ppm. */
    return (double)(tick_us * hz - US_PER_S) + (double)freq_scaled / FREQ_SCALE;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

bool sys_adjtime_split_freq(double ppm, long hz, long *tick_us, long *freq_scaled)
{
    if (!isfinite(ppm) || hz < 1 || hz > US_PER_S) {
        return false;
    }
    /* The kernel accepts 900000/hz <= tick <= 1100000/hz (timekeeping_validate_timex). */
    long tick_min = (900000L + hz - 1) / hz;
    long tick_max = 1100000L / hz;
    long tick = (US_PER_S + hz / 2) / hz;
    double rest = ppm - (double)(tick * hz - US_PER_S);

    if (fabs(rest) > SYS_ADJTIME_MAX_FREQ_PPM) {
        double want = ((double)US_PER_S + clamp(ppm, -2e5, 2e5)) / (double)hz;
        tick = (long)clamp(round(want), (double)tick_min, (double)tick_max);
        rest = ppm - (double)(tick * hz - US_PER_S);
    }
    rest = clamp(rest, -SYS_ADJTIME_MAX_FREQ_PPM, SYS_ADJTIME_MAX_FREQ_PPM);
    *tick_us = tick;
    *freq_scaled = (long)llround(rest * FREQ_SCALE);
    return true;
}

int sys_adjtime_set_freq(double ppm, double *applied_ppm)
{
    struct timex tx;
    long hz = user_hz();
    int r;

    memset(&tx, 0, sizeof(tx));
    if (!sys_adjtime_split_freq(ppm, hz, &tx.tick, &tx.freq)) {
        return -EINVAL;
    }
    tx.modes = ADJ_FREQUENCY | ADJ_TICK;
    r = adjust(&tx);
    if (r < 0) {
        return r;
    }
    /* The kernel writes its current values back into tx: what it really runs at. */
    if (applied_ppm != NULL) {
        *applied_ppm = sys_adjtime_join_freq(tx.tick, tx.freq, hz);
    }
    return 0;
}

long sys_adjtime_error_us(double seconds)
{
    if (!(seconds > 0.0)) {
        return 0; /* negative and NaN */
    }
    if (seconds >= SYS_ADJTIME_MAXERROR_LIMIT) {
        return (long)(SYS_ADJTIME_MAXERROR_LIMIT * 1e6);
    }
    return lround(seconds * 1e6);
}

int sys_adjtime_set_status(bool synced, enum sys_adjtime_leap leap, double maxerror,
                           double esterror)
{
    struct timex tx;
    int r;

    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR;
    tx.status = synced ? 0 : STA_UNSYNC;
    if (leap == SYS_ADJTIME_LEAP_INSERT) {
        tx.status |= STA_INS;
    } else if (leap == SYS_ADJTIME_LEAP_DELETE) {
        tx.status |= STA_DEL;
    }
    /* Bits outside STA_OWNED are read-only to the kernel (STA_NANO, STA_CLK, ...). */
    tx.status &= STA_OWNED;
    tx.maxerror = sys_adjtime_error_us(maxerror);
    tx.esterror = sys_adjtime_error_us(esterror);
    r = adjust(&tx);
    return r < 0 ? r : 0;
}

int sys_adjtime_reset(void)
{
    struct timex tx;
    int r;

    /* A slew started with adjtime() by someone before us (time_adjust). */
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_OFFSET_SINGLESHOT;
    tx.offset = 0;
    r = adjust(&tx);
    if (r < 0) {
        return r;
    }
    /* The PLL's remaining phase correction (time_offset) keeps slewing the clock even
     * with STA_PLL off; an offset of 0 while the PLL is on clears it. Turning the PLL on
     * resets its reference time, so the frequency is left as it is. */
    memset(&tx, 0, sizeof(tx));
    tx.modes = ADJ_STATUS | ADJ_OFFSET;
    tx.status = STA_PLL | STA_UNSYNC;
    tx.offset = 0;
    r = adjust(&tx);
    if (r < 0) {
        return r;
    }
    return sys_adjtime_set_status(false, SYS_ADJTIME_LEAP_NONE, SYS_ADJTIME_MAXERROR_LIMIT,
                                  SYS_ADJTIME_MAXERROR_LIMIT);
}

int sys_adjtime_watch_rearm(int fd)
{
    struct itimerspec its;
    struct timespec now;
    uint64_t ticks;

    /* ECANCELED (the clock was set) or EAGAIN: either way the event is consumed. */
    (void)!read(fd, &ticks, sizeof(ticks));
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        return -errno;
    }
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = now.tv_sec + WATCH_AHEAD_S;
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) != 0) {
        return -errno;
    }
    return 0;
}

int sys_adjtime_watch_open(void)
{
    /* No TFD_* creation flags: clock-and-network simulators want plain calls. */
    int fd = timerfd_create(CLOCK_REALTIME, 0);
    int r;

    if (fd < 0) {
        return -errno;
    }
    r = sys_fd_set_nonblock_cloexec(fd);
    if (r == 0) {
        r = sys_adjtime_watch_rearm(fd);
    }
    if (r != 0) {
        close(fd);
        return r;
    }
    return fd;
}
