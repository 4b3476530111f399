/* Regression estimator of the clock's raw phase and frequency, in the manner of chrony:
 * a weighted least-squares line through the recent samples, where a runs test on the
 * residuals decides how many old samples still fit a straight line (too few sign runs
 * means the frequency has wandered: the oldest samples are dropped). A frequency seed
 * enters as a prior on the slope. Pure; state in caller storage. */
#include <math.h>
#include <string.h>

#include "core/dsc.h"
#include "core/dsc_private.h"

#define REG_MAX           64    /* samples kept */
#define REG_MIN_RUNS_TEST 6     /* fewer samples are always accepted as a line */
#define REG_MIN_KEEP      8     /* samples a runs test never cuts below (chance cuts) */
#define REG_RUNS_Z        1.645 /* one-sided 5 % for "too few runs" */
#define REG_FREQ_DIFFUSE  1.0   /* (s/s)^2: the slope prior without a seed: none really */

struct reg_fit {
    bool valid;
    double t_ref; /* time the intercept refers to (the newest sample) */
    double a, b;  /* phase at t_ref, slope */
    double c[3];  /* covariance of (a, b): aa, ab, bb */
};

struct reg {
    int n; /* samples, oldest first */
    double t[REG_MAX], z[REG_MAX], v[REG_MAX];
    bool seeded;
    double seed_freq, seed_var;
    struct reg_fit fit;
};

_Static_assert(sizeof(struct reg) <= sizeof(((struct dsc *)0)->est), "reg state fits");

static void reg_init(void *st)
{
    memset(st, 0, sizeof(struct reg));
}

static void reg_reset(void *st, bool keep_freq)
{
    struct reg *r = st;
    if (keep_freq && r->fit.valid && (r->n >= 2 || r->seeded)) {
        r->seeded = true;
        r->seed_freq = r->fit.b;
        r->seed_var = r->fit.c[2];
    } else if (!keep_freq) {
        r->seeded = false;
    }
    r->n = 0;
    r->fit.valid = false;
}

/* Weighted least squares over samples [from, n) with the slope prior when seeded.
 * Residual scale: the weights are inverse variances, so the fit's covariance is
 * scaled by the residuals' reduced chi-square when there are degrees of freedom left
 * (never below 1: the given variances are a floor). */
static bool solve(const struct reg *r, int from, struct reg_fit *f)
{
    double t_ref = r->t[r->n - 1];
    double sw = 0.0, st = 0.0, stt = 0.0, sz = 0.0, stz = 0.0;
    for (int i = from; i < r->n; i++) {
        double w = 1.0 / r->v[i];
        double dt = r->t[i] - t_ref;
        sw += w;
        st += w * dt;
        stt += w * dt * dt;
        sz += w * r->z[i];
        stz += w * dt * r->z[i];
    }
    double prior = r->seeded ? 1.0 / r->seed_var : 1.0 / REG_FREQ_DIFFUSE;
    stt += prior;
    stz += prior * (r->seeded ? r->seed_freq : 0.0);
    double det = sw * stt - st * st;
    if (!(det > 0.0) || !isfinite(det)) {
        return false;
    }
    f->t_ref = t_ref;
    f->a = (stt * sz - st * stz) / det;
    f->b = (sw * stz - st * sz) / det;
    int m = r->n - from;
    double chi = 0.0;
    for (int i = from; i < r->n; i++) {
        double res = r->z[i] - f->a - f->b * (r->t[i] - t_ref);
        chi += res * res / r->v[i];
    }
    double scale = m > 2 ? chi / (m - 2) : 1.0;
    scale = scale > 1.0 ? scale : 1.0;
    f->c[0] = scale * stt / det;
    f->c[1] = -scale * st / det;
    f->c[2] = scale * sw / det;
    f->valid = true;
    return true;
}

/* Runs test (Wald-Wolfowitz): false when the residual signs form significantly fewer
 * runs than chance would, i.e. the samples bend away from a line. */
static bool runs_ok(const struct reg *r, int from, const struct reg_fit *f)
{
    int m = r->n - from;
    if (m < REG_MIN_RUNS_TEST) {
        return true;
    }
    int pos = 0, runs = 0;
    bool last = false;
    for (int i = from; i < r->n; i++) {
        bool sign = r->z[i] - f->a - f->b * (r->t[i] - f->t_ref) > 0.0;
        pos += sign;
        runs += i == from || sign != last;
        last = sign;
    }
    int neg = m - pos;
    if (pos == 0 || neg == 0) {
        return false;
    }
    double mean = 1.0 + 2.0 * pos * neg / m;
    double var = (mean - 1.0) * (mean - 2.0) / (m - 1.0);
    return var <= 0.0 || runs >= mean - REG_RUNS_Z * sqrt(var);
}

/* Drops the oldest samples until the rest pass the runs test, then keeps the fit. */
static void refit(struct reg *r)
{
    int from = 0;
    struct reg_fit f;
    while (r->n - from > REG_MIN_KEEP && solve(r, from, &f) && !runs_ok(r, from, &f)) {
        int drop = (r->n - from) / 4;
        drop = drop > 0 ? drop : 1;
        from += r->n - from - drop >= REG_MIN_KEEP ? drop : r->n - from - REG_MIN_KEEP;
    }
    if (from > 0) {
        int m = r->n - from;
        memmove(r->t, r->t + from, (size_t)m * sizeof r->t[0]);
        memmove(r->z, r->z + from, (size_t)m * sizeof r->z[0]);
        memmove(r->v, r->v + from, (size_t)m * sizeof r->v[0]);
        r->n = m;
    }
    r->fit.valid = solve(r, 0, &r->fit);
}

static void reg_seed_freq(void *st, double freq, double var)
{
    struct reg *r = st;
    r->seeded = true;
    r->seed_freq = freq;
    r->seed_var = var;
    if (r->n > 0) {
        refit(r);
    }
}

static void reg_add_sample(void *st, double t, double z, double var)
{
    struct reg *r = st;
    if (r->n > 0 && t < r->t[r->n - 1]) {
        return; /* out of order: the line is over time, a late sample cannot enter */
    }
    if (r->n == REG_MAX) {
        memmove(r->t, r->t + 1, (REG_MAX - 1) * sizeof r->t[0]);
        memmove(r->z, r->z + 1, (REG_MAX - 1) * sizeof r->z[0]);
        memmove(r->v, r->v + 1, (REG_MAX - 1) * sizeof r->v[0]);
        r->n--;
    }
    r->t[r->n] = t;
    r->z[r->n] = z;
    r->v[r->n] = var;
    r->n++;
    refit(r);
}

static void reg_predict(const void *st, double t, struct est_pred *out)
{
    const struct reg *r = st;
    memset(out, 0, sizeof *out);
    if (r->n == 0 || !r->fit.valid) {
        out->freq_valid = r->seeded;
        out->freq = r->seeded ? r->seed_freq : 0.0;
        out->var_freq = r->seeded ? r->seed_var : REG_FREQ_DIFFUSE;
        return;
    }
    const struct reg_fit *f = &r->fit;
    double dt = t - f->t_ref;
    out->valid = true;
    out->freq_valid = r->seeded || (r->n >= 2 && r->t[r->n - 1] > r->t[0]);
    out->phase = f->a + f->b * dt;
    out->freq = f->b;
    out->var_phase = f->c[0] + 2.0 * dt * f->c[1] + dt * dt * f->c[2];
    out->var_freq = f->c[2];
}

static void reg_rebase(void *st, double dz)
{
    struct reg *r = st;
    for (int i = 0; i < r->n; i++) {
        r->z[i] += dz;
    }
    if (r->fit.valid) {
        r->fit.a += dz;
    }
}

/* The phase (and maybe the frequency) jumped: only the slope of the old samples still
 * holds, with the added doubt, as the prior of a fresh line. */
static void reg_widen(void *st, double var_phase, double var_freq)
{
    struct reg *r = st;
    (void)var_phase;
    reg_reset(st, true);
    if (r->seeded) {
        r->seed_var += var_freq;
    }
}

const struct est_ops est_reg_ops = {
    .name = "regress",
    .state_size = sizeof(struct reg),
    .init = reg_init,
    .reset = reg_reset,
    .seed_freq = reg_seed_freq,
    .add_sample = reg_add_sample,
    .predict = reg_predict,
    .rebase = reg_rebase,
    .widen = reg_widen,
    .wander = NULL, /* the runs test adapts the window, it measures no wander */
};
