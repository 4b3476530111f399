/* Clock readings and the start-up precision measurement. Reads only CLOCK_REALTIME and
 * CLOCK_MONOTONIC through clock_gettime (DESIGN.md, "Running under other simulators");
 * never changes any clock: clock discipline belongs to a later sys module. */
#include "sys/sys_clock.h"

#include <time.h>

/* Tries for the precision measurement: enough to catch an unlucky first reading, few
 * enough to finish in microseconds (each try is a pair of clock reads). */
#define PRECISION_TRIES 128
/* Bound on reads while waiting for a coarse clock to tick during one try. */
#define PRECISION_SPIN_MAX 4096

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sys_clock_realtime_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}

int64_t sys_clock_monotonic_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

int8_t sys_clock_ns_to_log2(int64_t ns)
{
    /* 2^-30 s is 0.93 ns: start there and double until the step is covered. */
    double step = 1.0 / 1073741824.0;
    double s = (double)ns * 1e-9;
    int log2 = SYS_CLOCK_PRECISION_MIN;

    if (ns <= 0) {
        return SYS_CLOCK_PRECISION_FALLBACK;
    }
    while (step < s && log2 < SYS_CLOCK_PRECISION_MAX) {
        step *= 2.0;
        log2++;
    }
    return (int8_t)log2;
}

/* Smallest nonzero step seen in one try, or 0 if the clock did not move. */
static int64_t measure_step_ns(void)
{
    int64_t first = sys_clock_realtime_ns();

    for (int i = 0; i < PRECISION_SPIN_MAX; i++) {
        int64_t next = sys_clock_realtime_ns();
        if (next != first) {
            /* A backwards step (the clock was set meanwhile) says nothing; skip it. */
            return next > first ? next - first : 0;
        }
    }
    return 0;
}

int8_t sys_clock_precision_log2(void)
{
    int64_t best = 0;

    for (int i = 0; i < PRECISION_TRIES; i++) {
        int64_t step = measure_step_ns();
        if (step > 0 && (best == 0 || step < best)) {
            best = step;
        }
    }
    return sys_clock_ns_to_log2(best);
}
