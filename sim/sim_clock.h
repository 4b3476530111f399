/* One node's virtual clocks, driven by true (simulation) time t in nanoseconds:
 *   realtime(t)  = epoch + t + offset0 + drift(t) + steps
 *   monotonic(t) = mono0 + t + drift(t)
 * where drift is the integral of (intrinsic frequency error + applied correction). Like
 * Linux, the adjtimex frequency slews CLOCK_MONOTONIC too, but steps never move it.
 * The intrinsic error is a constant plus a random walk ("wander"). No real clock here. */
#ifndef TSYNC_SIM_CLOCK_H
#define TSYNC_SIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

#define SIM_CLOCK_WALK_NS      INT64_C(1000000000) /* the random walk moves once a second */
#define SIM_CLOCK_FREQ_MAX_PPM 500.0               /* adjtimex ADJ_FREQUENCY limit */
#define SIM_CLOCK_TICK_MAX_PPM 100000.0            /* ADJ_TICK 9000..11000 us per 10000 us */

struct sim_clock_params {
    double offset;   /* s: realtime minus true time at t = 0 (positive = clock ahead) */
    double freq_ppm; /* intrinsic frequency error (positive = the clock runs fast) */
    double wander;   /* ppm/sqrt(s): random walk of the frequency error */
};

struct sim_clock {
    struct core_rng rng;
    double wander;
    double freq_ppm; /* intrinsic frequency error now */
    double corr_ppm; /* correction applied through set_freq (positive = faster) */
    double drift;    /* s: integral of (freq_ppm + corr_ppm) * 1e-6 since t = 0 */
    double stepped;  /* s: initial offset plus every step, requested or external */
    int64_t t_ns;    /* true time the state refers to */
    int64_t next_walk_ns;
    int64_t epoch_ns; /* realtime reading of a perfect clock at t = 0 (Unix ns) */
    int64_t mono0_ns; /* monotonic reading at t = 0 */
    /* The kernel's leap second (Linux: STA_INS/STA_DEL act at the next UTC midnight the
     * clock reaches, then nothing more until the bits are cleared). */
    int leap_dir;             /* armed: +1 insert, -1 delete, 0 none */
    int64_t leap_midnight_ns; /* the midnight (Unix ns) it acts at */
    bool leap_done;           /* applied; waits to be disarmed (TIME_WAIT) */
    unsigned leaps;           /* leaps the kernel applied */
    /* UTC's own leap: from true time utc_leap_t_ns on, a perfect clock reads utc_leap_s
     * more (-1 after an insertion repeats a second, +1 after a deletion skips one). */
    int64_t utc_leap_t_ns; /* INT64_MAX: none */
    double utc_leap_s;
};

/* State at t = 0; seed drives the wander. */
void sim_clock_init(struct sim_clock *c, const struct sim_clock_params *p, int64_t epoch_ns,
                    int64_t mono0_ns, uint64_t seed);

/* Moves the state forward to true time t_ns (never backwards: an earlier t is ignored). */
void sim_clock_advance(struct sim_clock *c, int64_t t_ns);

/* Readings of both clocks at true time t_ns (advances the state). */
struct core_time sim_clock_read(struct sim_clock *c, int64_t t_ns);

/* The kernel's leap bits: dir +1 insert, -1 delete, 0 clears them. An insertion turns
 * midnight_ns (a UTC midnight, Unix ns) back by 1 s when the clock reaches it, a
 * deletion moves 1 s before it forward to it; re-arming the same leap changes nothing. */
void sim_clock_set_leap(struct sim_clock *c, int64_t t_ns, int dir, int64_t midnight_ns);

/* UTC itself leaps at true time t_ns: by -1 s (dir +1, insertion) or +1 s (dir -1). */
void sim_clock_set_utc_leap(struct sim_clock *c, int64_t t_ns, int dir);

/* Error of the realtime clock at t_ns: reading minus UTC (s, positive = ahead).
 * The project's offset (what must be added to the clock) is its negative. */
double sim_clock_error(struct sim_clock *c, int64_t t_ns);

/* Frequency error the clock runs with now: intrinsic plus correction (ppm). */
double sim_clock_rate_ppm(const struct sim_clock *c);

/* ACT_FREQ as the kernel applies it: split into tick (100 ppm units, +-1000 ticks) and
 * ADJ_FREQUENCY (+-500 ppm, 2^-16 ppm resolution); returns the applied total (ppm). */
double sim_clock_set_freq(struct sim_clock *c, int64_t t_ns, double ppm);

/* ADJ_SETOFFSET: adds offset seconds (to ns resolution) to realtime; returns it. Also
 * used for external steps: the clock cannot tell who asked. */
double sim_clock_step(struct sim_clock *c, int64_t t_ns, double offset);

/* Adds ppm to the intrinsic frequency error at t_ns (a sudden change, as after a VM
 * migration). */
void sim_clock_shift_freq(struct sim_clock *c, int64_t t_ns, double ppm);

/* Earliest true time (> now_ns) at which the monotonic clock is expected to reach
 * mono_ns at the current rate; now_ns if it already has. The rate may change before
 * then, so callers check the reading when the time comes. */
int64_t sim_clock_when_mono(struct sim_clock *c, int64_t now_ns, int64_t mono_ns);

#endif
