/* Virtual clocks: the integral of the frequency error is kept in double seconds next to
 * an integer true time, so a reading stays exact to the nanosecond for any duration.
 * The wander is a random walk sampled once per SIM_CLOCK_WALK_NS; the frequency is
 * constant in between, so the phase is continuous and piecewise linear. */
#include "sim/sim_clock.h"

#include <math.h>
#include <stdlib.h>

#include "sim/sim_rand.h"

#define NS_PER_S 1e9

void sim_clock_init(struct sim_clock *c, const struct sim_clock_params *p, int64_t epoch_ns,
                    int64_t mono0_ns, uint64_t seed)
{
    core_rng_seed(&c->rng, seed);
    c->wander = p->wander;
    c->freq_ppm = p->freq_ppm;
    c->corr_ppm = 0.0;
    c->drift = 0.0;
    c->stepped = p->offset;
    c->t_ns = 0;
    c->next_walk_ns = SIM_CLOCK_WALK_NS;
    c->epoch_ns = epoch_ns;
    c->mono0_ns = mono0_ns;
    c->leap_dir = 0;
    c->leap_midnight_ns = 0;
    c->leap_done = false;
    c->leaps = 0;
    c->utc_leap_t_ns = INT64_MAX;
    c->utc_leap_s = 0.0;
}

double sim_clock_rate_ppm(const struct sim_clock *c)
{
    return c->freq_ppm + c->corr_ppm;
}

static void integrate(struct sim_clock *c, int64_t to_ns)
{
    c->drift += sim_clock_rate_ppm(c) * 1e-6 * (double)(to_ns - c->t_ns) / NS_PER_S;
    c->t_ns = to_ns;
}

static int64_t realtime_ns(const struct sim_clock *c)
{
    return c->epoch_ns + c->t_ns + llround((c->stepped + c->drift) * NS_PER_S);
}

/* Applied when the state is brought forward: nobody reads the clock in between, so a
 * late application is indistinguishable from one at the instant it was due. */
static void kernel_leap(struct sim_clock *c)
{
    if (c->leap_dir == 0 || c->leap_done) {
        return;
    }
    int64_t at = c->leap_dir > 0 ? c->leap_midnight_ns : c->leap_midnight_ns - 1000000000;
    if (realtime_ns(c) >= at) {
        c->stepped -= c->leap_dir;
        c->leap_done = true;
        c->leaps++;
    }
}

void sim_clock_advance(struct sim_clock *c, int64_t t_ns)
{
    while (t_ns >= c->next_walk_ns) {
        integrate(c, c->next_walk_ns);
        if (c->wander > 0.0) {
            /* Random walk: the variance grows by wander^2 per second. */
            double dt = (double)SIM_CLOCK_WALK_NS / NS_PER_S;
            c->freq_ppm += c->wander * sqrt(dt) * sim_rand_normal(&c->rng);
        }
        c->next_walk_ns += SIM_CLOCK_WALK_NS;
    }
    if (t_ns > c->t_ns) {
        integrate(c, t_ns);
    }
    kernel_leap(c);
}

void sim_clock_set_leap(struct sim_clock *c, int64_t t_ns, int dir, int64_t midnight_ns)
{
    sim_clock_advance(c, t_ns);
    if (dir == 0) {
        c->leap_dir = 0;
        c->leap_done = false;
        return;
    }
    if (dir != c->leap_dir) {
        c->leap_dir = dir > 0 ? 1 : -1;
        c->leap_midnight_ns = midnight_ns;
        c->leap_done = false;
        kernel_leap(c);
    }
}

void sim_clock_set_utc_leap(struct sim_clock *c, int64_t t_ns, int dir)
{
    c->utc_leap_t_ns = t_ns;
    c->utc_leap_s = dir > 0 ? -1.0 : 1.0;
}

struct core_time sim_clock_read(struct sim_clock *c, int64_t t_ns)
{
    struct core_time now;

    sim_clock_advance(c, t_ns);
    now.real_ns = realtime_ns(c);
    now.mono_ns = c->mono0_ns + c->t_ns + llround(c->drift * NS_PER_S);
    return now;
}

double sim_clock_error(struct sim_clock *c, int64_t t_ns)
{
    sim_clock_advance(c, t_ns);
    double before = c->stepped + c->drift;
    double after = before - c->utc_leap_s;
    if (c->utc_leap_t_ns != INT64_MAX && llabs(c->t_ns - c->utc_leap_t_ns) < 1000000000) {
        /* Within a second of the leap a Unix clock reading is ambiguous (23:59:60 has
         * no Unix time of its own): the error is the smaller of the two readings. */
        return fabs(after) < fabs(before) ? after : before;
    }
    return c->t_ns >= c->utc_leap_t_ns ? after : before;
}

static double clamp(double v, double lim)
{
    if (v > lim) {
        return lim;
    }
    return v < -lim ? -lim : v;
}

double sim_clock_set_freq(struct sim_clock *c, int64_t t_ns, double ppm)
{
    sim_clock_advance(c, t_ns);
    if (isnan(ppm)) {
        return c->corr_ppm; /* the kernel would get no valid value: nothing changes */
    }
    /* The driver puts whole 100 ppm units into the tick and the rest into the
     * frequency, which the kernel keeps in 16.16 fixed point. */
    double tick_ppm = 100.0 * round(clamp(ppm, SIM_CLOCK_TICK_MAX_PPM) / 100.0);
    double rest = clamp(ppm - tick_ppm, SIM_CLOCK_FREQ_MAX_PPM);
    c->corr_ppm = tick_ppm + round(rest * 65536.0) / 65536.0;
    return c->corr_ppm;
}

double sim_clock_step(struct sim_clock *c, int64_t t_ns, double offset)
{
    sim_clock_advance(c, t_ns);
    if (!isfinite(offset) || fabs(offset) > 1e9) {
        return 0.0; /* beyond what a timespec step of this simulator represents */
    }
    double applied = (double)llround(offset * NS_PER_S) / NS_PER_S;
    c->stepped += applied;
    return applied;
}

void sim_clock_shift_freq(struct sim_clock *c, int64_t t_ns, double ppm)
{
    sim_clock_advance(c, t_ns);
    c->freq_ppm += ppm;
}

int64_t sim_clock_when_mono(struct sim_clock *c, int64_t now_ns, int64_t mono_ns)
{
    struct core_time now = sim_clock_read(c, now_ns);

    if (mono_ns <= now.mono_ns) {
        return now_ns;
    }
    double rate = 1.0 + sim_clock_rate_ppm(c) * 1e-6;
    double dt = (double)(mono_ns - now.mono_ns) / rate;
    if (dt > 9e18 - (double)now_ns) {
        return INT64_MAX;
    }
    /* One extra nanosecond absorbs the rounding of the reading. */
    return now_ns + (int64_t)ceil(dt) + 1;
}
