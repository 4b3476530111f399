/* The clock discipline: step policy (start-up, confirmed running steps, panic refusal),
 * spike suppression, the slew plan (drift-cancelling frequency plus a temporary phase
 * correcting one), holdover, and the timeline of applied corrections that keeps the
 * estimator's raw offsets independent of our own corrections (dsc.h, "Model"). It
 * decides only: the engine carries results out and reports them back. */
#include "core/dsc.h"

#include <math.h>
#include <string.h>

#include "core/dsc_private.h"

#define NS               1e9
#define TAU_MIN          1.0    /* s: shortest phase correction (small offsets) */
#define TAU_GAP_DIV      8.0    /* small corrections take 1/8 of the update interval, */
#define TAU_SMOOTH_MAX   32.0   /* s: but at most this */
#define SPIKE_SIGMAS     5.0    /* innovations beyond this many sigmas are suspects */
#define WANDER_FLOOR     1e-7   /* s/s: frequency may always have moved this much */
#define MAX_REPLANS      3      /* slew segments per update before giving up */
#define REFUSE_FIRST     60.0   /* s: first repetition of a refused step report */
#define REFUSE_MAX       3600.0 /* s: longest interval between repetitions */
#define RENORM           1.0    /* s: raw offsets are renormalized beyond this */
#define STEP_RETRY_FIRST 60.0   /* s: no step request after a failed one (doubling) */
#define STEP_RETRY_MAX   3600.0 /* s: longest wait between step attempts */
/* A clamped frequency is reported again only when the applied value moves this much. */
#define CLAMP_REPORT_PPM  1.0
#define DRIFT_VAR         4e-12 /* (s/s)^2: a drift file's frequency is good to ~2 ppm */
#define DRIFT_MIN_UPDATES 4     /* updates before an estimated drift is worth saving */
#define R_PRIOR_SAMPLES   4.0   /* weight of the given error against learned noise */
#define OUTLIER_RUN_MAX   4     /* disagreeing outliers in a row before one is taken */
#define POLL_HINT_MAX     17    /* log2 s: no limit from the discipline */
#define LIMIT_MIN_PPM     100.0 /* smallest frequency limit a carrier may teach us */
#define FREQ_USABLE       200e-6 /* s/s: 1-sigma below which an estimated frequency is used */

static const struct est_ops *est_of(int kind)
{
    return kind == DSC_EST_REGRESS ? &est_reg_ops : &est_kal_ops;
}

const char *dsc_estimator_name(int est)
{
    if (est < 0 || est >= DSC_EST_COUNT) {
        return NULL;
    }
    return est_of(est)->name;
}

void dsc_config_default(struct dsc_config *c)
{
    memset(c, 0, sizeof *c);
    c->estimator = DSC_EST_KALMAN;
    c->step_threshold = 0.1;
    c->step_limit = 3;
    c->running_step_threshold = 0.5;
    c->step_confirm = 3;
    c->stepout = 0.0;
    c->panic_threshold = 1000.0;
    c->holdover = 3600.0;
    c->max_freq_ppm = 100000.0;
    c->max_slew_ppm = 83333.0;
    c->min_error = 1e-7;
}

void dsc_config_from_eng(struct dsc_config *c, const struct eng_config *e)
{
    dsc_config_default(c);
    c->estimator = e->estimator == ENG_EST_REGRESS ? DSC_EST_REGRESS : DSC_EST_KALMAN;
    c->step_confirm = e->step_confirm != 0 ? e->step_confirm : c->step_confirm;
    c->stepout = e->stepout;
    c->step_threshold = e->step_threshold;
    c->step_limit = e->step_limit;
    c->running_step_threshold = e->running_step_threshold;
    c->panic_threshold = e->panic_threshold;
    c->holdover = e->holdover;
    c->max_freq_ppm = e->max_freq_ppm;
    c->have_drift = e->have_drift;
    c->drift_ppm = e->drift_ppm;
    c->start_freq_ppm = e->start_freq_ppm;
    c->no_clock_control = e->no_clock_control;
}

static bool finite_nonneg(double v)
{
    return isfinite(v) && v >= 0.0;
}

/* Replaces values that make no sense by defaults, so bad config never misbehaves. */
static void sanitize(struct dsc_config *c)
{
    struct dsc_config def;
    dsc_config_default(&def);
    if (c->estimator < 0 || c->estimator >= DSC_EST_COUNT) {
        c->estimator = def.estimator;
    }
    if (!finite_nonneg(c->step_threshold)) {
        c->step_threshold = def.step_threshold;
    }
    if (!finite_nonneg(c->running_step_threshold)) {
        c->running_step_threshold = def.running_step_threshold;
    }
    if (c->step_confirm < 2) {
        c->step_confirm = c->step_confirm == 0 ? def.step_confirm : 2;
    }
    if (!finite_nonneg(c->stepout)) {
        c->stepout = def.stepout;
    }
    if (!finite_nonneg(c->panic_threshold)) {
        c->panic_threshold = def.panic_threshold;
    }
    if (!(isfinite(c->holdover) && c->holdover > 0.0)) {
        c->holdover = def.holdover;
    }
    if (!(isfinite(c->max_freq_ppm) && c->max_freq_ppm > 0.0 && c->max_freq_ppm <= 1e6)) {
        c->max_freq_ppm = def.max_freq_ppm;
    }
    if (!(isfinite(c->max_slew_ppm) && c->max_slew_ppm > 0.0 && c->max_slew_ppm <= 1e6)) {
        c->max_slew_ppm = def.max_slew_ppm;
    }
    if (!(isfinite(c->min_error) && c->min_error > 0.0)) {
        c->min_error = def.min_error;
    }
    if (c->have_drift && !(isfinite(c->drift_ppm) && fabs(c->drift_ppm) <= c->max_freq_ppm)) {
        c->have_drift = false;
    }
    if (!(isfinite(c->start_freq_ppm) && fabs(c->start_freq_ppm) <= c->max_freq_ppm)) {
        c->start_freq_ppm = 0.0;
    }
}

/* Start-up: the first step_limit updates (makestep LIMIT), or always when negative. */
static bool startup(const struct dsc *d)
{
    return d->cfg.step_limit < 0 || d->updates < (uint32_t)d->cfg.step_limit;
}

/* ---- frequency conversions (dsc.h, struct dsc_seg) ----
 * With a net frequency error g = e + f (intrinsic plus correction) the offset changes by
 * -g / (1 + g) per monotonic second, since the correction slews that clock too. The
 * estimator's raw frequency nu = -e / (1 + e) is the slope of z; the correction that
 * cancels the drift is f = -e = nu / (1 + nu). */

static double base_from_nu(double nu)
{
    /* Beyond +-50 % no clock is usable; the limit keeps the division finite. */
    if (nu > 0.5) {
        nu = 0.5;
    } else if (nu < -0.5) {
        nu = -0.5;
    }
    return nu / (1.0 + nu);
}

static double nu_from_base(double base)
{
    return base / (1.0 - base);
}

/* Net frequency error that moves the offset by s per monotonic second. */
static double net_for_rate(double s)
{
    return s / (1.0 - s);
}

static double rate_of_net(double g)
{
    return g / (1.0 + g);
}

/* ---- timeline of applied corrections ---- */

static const struct dsc_seg *seg_at(const struct dsc *d, unsigned back)
{
    return &d->seg[(d->seg_head + DSC_HIST - back) % DSC_HIST];
}

/* dP/dm of a correction f while the drift is believed to be cancelled by base b:
 * f / ((1 + f - b) (1 - b)), which keeps dz/dm = -e / (1 + e) whatever f is. */
static void seg_push(struct dsc *d, int64_t mono, double freq_ppm, double phase)
{
    double f = freq_ppm * 1e-6;
    double b = d->base_ppm * 1e-6;
    double rate = f / ((1.0 + f - b) * (1.0 - b));
    d->seg_head = (d->seg_head + 1) % DSC_HIST;
    d->seg[d->seg_head] = (struct dsc_seg){mono, freq_ppm, phase, rate};
    if (d->seg_n < DSC_HIST) {
        d->seg_n++;
    }
}

/* Total correction P at mono (s). Before the oldest kept segment the oldest frequency
 * is extrapolated backwards. */
static double phase_at(const struct dsc *d, int64_t mono)
{
    const struct dsc_seg *s = seg_at(d, 0);
    for (unsigned i = 0; i < d->seg_n; i++) {
        s = seg_at(d, i);
        if (s->mono_ns <= mono) {
            break;
        }
    }
    return s->phase + s->rate * (double)(mono - s->mono_ns) / NS;
}

static double applied_ppm(const struct dsc *d)
{
    return seg_at(d, 0)->freq_ppm;
}

double dsc_correction_between(const struct dsc *d, int64_t from_mono_ns, int64_t to_mono_ns)
{
    return phase_at(d, to_mono_ns) - phase_at(d, from_mono_ns);
}

static double secs(const struct dsc *d, int64_t mono)
{
    return (double)(mono - d->origin_mono_ns) / NS;
}

static const struct est_ops *ops(const struct dsc *d)
{
    return est_of(d->est_kind);
}

/* A frequency counts once it is known to FREQ_USABLE: two samples microseconds apart
 * (two sources answering together) give a "frequency" of +-1e6 ppm, and a plan built
 * on it slews the wrong way for seconds. */
static void est_predict(const struct dsc *d, double t, struct est_pred *p)
{
    ops(d)->predict(d->est.d, t, p);
    if (p->freq_valid && !(p->var_freq < FREQ_USABLE * FREQ_USABLE)) {
        p->freq_valid = false;
    }
}

static void predict(const struct dsc *d, int64_t mono, struct est_pred *p)
{
    est_predict(d, secs(d, mono), p);
}

/* Keeps raw offsets small: shifts P and the estimator's phases by the same amount; the
 * caller shifts its stored raw offsets by the returned amount (dsc.h). */
double dsc_renormalize(struct dsc *d, int64_t now_mono_ns)
{
    double p = phase_at(d, now_mono_ns);
    if (!(fabs(p) >= RENORM) || !isfinite(p)) {
        return 0.0;
    }
    for (unsigned i = 0; i < d->seg_n; i++) {
        d->seg[(d->seg_head + DSC_HIST - i) % DSC_HIST].phase -= p;
    }
    ops(d)->rebase(d->est.d, -p);
    d->held_z -= p;
    return -p;
}

double dsc_total_correction(const struct dsc *d, int64_t mono_ns)
{
    return phase_at(d, mono_ns);
}

double dsc_correction_rate(const struct dsc *d)
{
    return seg_at(d, 0)->rate;
}

double dsc_drift(const struct dsc *d, int64_t now_mono_ns)
{
    struct est_pred p;
    predict(d, now_mono_ns, &p);
    return p.freq_valid ? p.freq : nu_from_base(d->base_ppm * 1e-6);
}

/* Estimated offset now (s, to add): raw phase predicted minus corrections applied. */
static double offset_now(const struct dsc *d, int64_t now, const struct est_pred *p)
{
    return p->phase - phase_at(d, now);
}

double dsc_project_offset(const struct dsc *d, double offset, int64_t from_mono_ns,
                          int64_t to_mono_ns)
{
    double drift = dsc_drift(d, to_mono_ns);
    return offset - dsc_correction_between(d, from_mono_ns, to_mono_ns) +
           drift * (double)(to_mono_ns - from_mono_ns) / NS;
}

/* Feeds the estimator one sample and remembers when. */
static void add_sample(struct dsc *d, double t, double z, double var)
{
    ops(d)->add_sample(d->est.d, t, z, var);
    d->last_accept_t = t;
}

static void drop_held(struct dsc *d)
{
    d->held = false;
    d->outlier_run = 0;
}

/* ---- init, results ---- */

static void clear_result(struct dsc_result *r)
{
    memset(r, 0, sizeof *r);
}

void dsc_init(struct dsc *d, const struct dsc_config *c, int64_t now_mono_ns, struct dsc_result *r)
{
    memset(d, 0, sizeof *d);
    clear_result(r);
    if (c != NULL) {
        d->cfg = *c;
    } else {
        dsc_config_default(&d->cfg);
    }
    sanitize(&d->cfg);
    d->state = DSC_UNSYNC;
    d->origin_mono_ns = now_mono_ns;
    d->est_kind = d->cfg.estimator;
    d->slew_end_mono_ns = INT64_MAX;
    d->step_retry_mono_ns = INT64_MIN;
    d->last_sample_mono_ns = INT64_MIN;
    d->freq_limit_pos = d->cfg.max_freq_ppm;
    d->freq_limit_neg = d->cfg.max_freq_ppm;
    ops(d)->init(d->est.d);
    /* Until a result says otherwise the kernel is assumed to run uncorrected; any
     * constant error in that assumption is part of the drift the estimator finds. */
    seg_push(d, now_mono_ns, 0.0, 0.0);
    d->base_ppm = d->cfg.have_drift ? d->cfg.drift_ppm : d->cfg.start_freq_ppm;
    if (d->cfg.have_drift) {
        ops(d)->seed_freq(d->est.d, nu_from_base(d->cfg.drift_ppm * 1e-6), DRIFT_VAR);
    }
    d->freq_wanted_ppm = d->base_ppm;
    r->set_freq = true;
    r->freq_ppm = d->base_ppm;
    r->status = true;
}

static double clamp_freq(const struct dsc *d, double ppm)
{
    if (ppm > d->freq_limit_pos) {
        return d->freq_limit_pos;
    }
    if (ppm < -d->freq_limit_neg) {
        return -d->freq_limit_neg;
    }
    return ppm;
}

static void want_freq(struct dsc *d, double ppm, struct dsc_result *r)
{
    d->freq_wanted_ppm = clamp_freq(d, ppm);
    r->set_freq = true;
    r->freq_ppm = d->freq_wanted_ppm;
}

/* The slew plan: cancel the estimated drift and remove the estimated offset by a
 * temporary extra frequency. The estimator works on raw offsets, so correcting fast
 * adds no noise: the clock simply follows the estimate. Large offsets go at most at
 * max_slew_ppm; small ones take an eighth of the interval between updates (1 to 32 s):
 * finishing sooner gains next to nothing in phase (the mean residual over the interval
 * is at most a sixteenth of the correction), but would move the frequency, and with it
 * CLOCK_MONOTONIC's rate, by correction / time: 7 ppm for 7 us in a second. */
static void plan(struct dsc *d, int64_t now, struct dsc_result *r)
{
    struct est_pred p;
    predict(d, now, &p);
    if (p.freq_valid) {
        d->base_ppm = clamp_freq(d, base_from_nu(p.freq) * 1e6);
    }
    d->slew_ppm = 0.0;
    d->slew_end_mono_ns = INT64_MAX;
    /* No phase correction before the drift is known: slewing fast against an unknown
     * drift e puts an error of about 2 e times the slewed phase into the timeline (the
     * correction slews the monotonic clock too), which would spoil the very frequency
     * estimate the next sample gives (5000 ppm, 50 ms: 120 ppm wrong). */
    if (p.valid && p.freq_valid && !d->cfg.no_clock_control) {
        double theta = offset_now(d, now, &p);
        double g_max = d->cfg.max_slew_ppm * 1e-6;
        double tau = fabs(theta) / rate_of_net(g_max);
        double tau_min = d->update_gap / TAU_GAP_DIV;
        tau_min = tau_min < TAU_SMOOTH_MAX ? tau_min : TAU_SMOOTH_MAX;
        tau_min = tau_min > TAU_MIN ? tau_min : TAU_MIN;
        tau = tau > tau_min ? tau : tau_min;
        double want = d->base_ppm + net_for_rate(theta / tau) * 1e6;
        double slew = clamp_freq(d, want) - d->base_ppm;
        double rate = rate_of_net(slew * 1e-6);
        if (fabs(theta) > 1e-9 && rate * theta > 0.0) {
            d->slew_ppm = slew;
            d->slew_end_mono_ns = now + (int64_t)llround(theta / rate * NS);
        }
    }
    want_freq(d, d->base_ppm + d->slew_ppm, r);
    r->offset = p.valid ? offset_now(d, now, &p) : 0.0;
}

/* The carrier applied another frequency than asked: learn its limit so the plan stops
 * asking for the impossible, and report it when this starts or the applied value moves
 * (a kernel that refuses every change, EPERM without CAP_SYS_TIME, is reported once,
 * not at every update). */
static void note_clamp(struct dsc *d, double want, double applied, struct dsc_result *r)
{
    /* Real limits are 500 ppm (no ADJ_TICK) or more; a smaller "applied" value is a
     * failure to report, not a limit to keep for good. */
    if (want > 0.0 && applied < want && applied >= LIMIT_MIN_PPM) {
        d->freq_limit_pos = applied;
    } else if (want < 0.0 && applied > want && applied <= -LIMIT_MIN_PPM) {
        d->freq_limit_neg = -applied;
    }
    if (d->clamp_on && fabs(applied - d->clamp_applied_ppm) <= CLAMP_REPORT_PPM) {
        return;
    }
    d->clamp_on = true;
    d->clamp_applied_ppm = applied;
    r->clamped = true;
    r->wanted_ppm = want;
    r->applied_ppm = applied;
}

/* Re-times the running slew on what was really applied. A frequency that cannot
 * correct the phase (refused, or clamped below the drift) ends the slew without
 * re-planning: asking again would only be refused again until the next update. */
static void retime_slew(struct dsc *d, int64_t now, double applied)
{
    if (d->slew_end_mono_ns == INT64_MAX) {
        return;
    }
    struct est_pred p;
    predict(d, now, &p);
    double theta = offset_now(d, now, &p);
    double rate = rate_of_net((applied - d->base_ppm) * 1e-6);
    if (!(rate * theta > 0.0)) {
        d->slew_end_mono_ns = now; /* back to the base frequency at once (end_slew) */
        d->replans = MAX_REPLANS;
        return;
    }
    double tau = theta / rate;
    tau = tau < d->cfg.holdover ? tau : d->cfg.holdover;
    d->slew_end_mono_ns = now + (int64_t)llround(tau * NS);
}

void dsc_on_freq_set(struct dsc *d, int64_t now_mono_ns, double applied_ppm, struct dsc_result *r)
{
    clear_result(r);
    if (!isfinite(applied_ppm)) {
        return;
    }
    seg_push(d, now_mono_ns, applied_ppm, phase_at(d, now_mono_ns));
    double want = d->freq_wanted_ppm;
    if (fabs(applied_ppm - want) > 1e-3 + 1e-6 * fabs(want)) {
        note_clamp(d, want, applied_ppm, r);
    } else if (d->clamp_on && fabs(applied_ppm - d->clamp_applied_ppm) > CLAMP_REPORT_PPM) {
        d->clamp_on = false; /* the carrier follows again (a refusal keeps its value) */
    }
    retime_slew(d, now_mono_ns, applied_ppm);
}

/* A step that was not carried out (no CAP_SYS_TIME, a value the kernel refused): the
 * offset is slewed meanwhile, and steps are tried again only after a back-off, so a
 * carrier that can never step is not asked at every update. */
static void step_failed(struct dsc *d, int64_t now, struct dsc_result *r)
{
    d->step_fail_backoff =
        d->step_fail_backoff > 0.0 ? d->step_fail_backoff * 2.0 : STEP_RETRY_FIRST;
    if (d->step_fail_backoff > STEP_RETRY_MAX) {
        d->step_fail_backoff = STEP_RETRY_MAX;
    }
    d->step_retry_mono_ns = now + (int64_t)(d->step_fail_backoff * NS);
    d->over_count = 0;
    r->step_failed = true;
    r->step_failed_offset = d->step_asked_offset;
    r->step_retry = d->step_fail_backoff;
    r->status = true;
}

void dsc_on_stepped(struct dsc *d, int64_t now_mono_ns, bool ok, double applied,
                    struct dsc_result *r)
{
    clear_result(r);
    bool asked = d->step_asked;
    d->step_asked = false;
    if (!ok || !isfinite(applied)) {
        if (asked) {
            step_failed(d, now_mono_ns, r);
        }
        r->status = true;
        return;
    }
    r->stepped = true;
    r->stepped_offset = applied;
    r->stepped_agree = asked ? d->step_asked_agree : 0;
    d->step_fail_backoff = 0.0;
    d->step_retry_mono_ns = INT64_MIN;
    d->steps++;
    seg_push(d, now_mono_ns, applied_ppm(d), phase_at(d, now_mono_ns) + applied);
    d->over_count = 0;
    d->allow_step = false;
    d->refusing = false;
    d->replans = 0;
    /* The frequency for after the step went out with the step itself (ask_step); what
     * the step left over is measured and slewed by the next update. */
    r->offset = 0.0;
    r->status = true;
}

void dsc_on_external_step(struct dsc *d, int64_t now_mono_ns, double jump, struct dsc_result *r)
{
    clear_result(r);
    if (!isfinite(jump)) {
        return;
    }
    /* The jump joins P like one of our steps, so raw offsets stay continuous; the
     * loop's estimate of it is not a measurement, so the phase is left to the next
     * ones to confirm and no slew is planned on it. */
    seg_push(d, now_mono_ns, applied_ppm(d), phase_at(d, now_mono_ns) + jump);
    ops(d)->widen(d->est.d, jump * jump, 0.0);
    drop_held(d);
    /* The loop's observation is the first confirmation of a running step: offsets the
     * sources measure next that agree with it complete it (a 300 s date -s is undone
     * after step_confirm - 1 measurements, seconds after the engine re-measures). */
    struct est_pred p;
    predict(d, now_mono_ns, &p);
    double expect = p.valid ? offset_now(d, now_mono_ns, &p) : -jump;
    double rst = d->cfg.running_step_threshold;
    d->over_count = 0;
    if (!startup(d) && rst > 0.0 && fabs(expect) > rst) {
        d->over_count = 1;
        d->over_first = expect;
        d->over_last = expect;
        d->over_since_mono_ns = now_mono_ns;
    }
    d->slew_ppm = 0.0;
    d->slew_end_mono_ns = INT64_MAX;
    want_freq(d, d->base_ppm, r);
    r->status = true;
}

void dsc_allow_step(struct dsc *d)
{
    d->allow_step = true;
}

void dsc_sources_lost(struct dsc *d, int64_t now_mono_ns, struct dsc_result *r)
{
    clear_result(r);
    if (d->state == DSC_SYNC) {
        d->state = DSC_HOLDOVER;
        d->lost_mono_ns = now_mono_ns;
        r->status = true;
    }
}

/* ---- updates ---- */

static bool update_valid(const struct dsc_update *u)
{
    return isfinite(u->offset) && finite_nonneg(u->error) && u->n_agree >= 1 &&
           u->n_candidates >= u->n_agree && finite_nonneg(u->root_delay) &&
           finite_nonneg(u->root_dispersion);
}

/* The selected sources agree when they are a majority of those that took part. */
static bool agreed(const struct dsc_update *u)
{
    return 2 * u->n_agree > u->n_candidates;
}

/* Measurement variance: the selection's error as a prior, then what the innovations
 * show (R_PRIOR_SAMPLES innovations weigh as much as the prior). */
static double meas_var(const struct dsc *d, const struct dsc_update *u)
{
    /* The combined offset is never wrong by more than the selection's root distance
     * (RFC 5905 section 11.3: half the root delay plus the root dispersion, jitter
     * included), so a larger error is capped there. Not at half the round trip: that
     * bounds one fresh measurement, not a combination with older samples carried to
     * now by a frequency not known yet (at start-up, 700 us off behind a 200 us cap
     * made the Kalman filter 3 sigma sure of a frequency 360 ppm wrong). */
    double e = u->error;
    double cap = u->root_delay / 2.0 + u->root_dispersion;
    if (e > cap && cap > 0.0) {
        e = cap;
    }
    double e2 = e * e;
    double w = R_PRIOR_SAMPLES / (R_PRIOR_SAMPLES + d->n_innov);
    double v = d->n_innov > 0 ? w * e2 + (1.0 - w) * d->r_hat : e2;
    double floor = d->cfg.min_error * d->cfg.min_error;
    return v > floor ? v : floor;
}

static void learn_noise(struct dsc *d, double nu, const struct est_pred *p)
{
    double s = nu * nu - p->var_phase;
    s = s > 0.0 ? s : 0.0;
    d->n_innov++;
    double k = d->n_innov < 16 ? 1.0 / d->n_innov : 1.0 / 16.0;
    d->r_hat += k * (s - d->r_hat);
}

static void become_synced(struct dsc *d, struct dsc_result *r)
{
    if (d->state == DSC_UNSYNC) {
        r->synced = true;
    }
    d->state = DSC_SYNC;
    d->lost_mono_ns = 0;
}

/* Smooths the estimator's wander over the last ~16 updates for the poll hint. */
static void note_wander(struct dsc *d)
{
    double q = ops(d)->wander != NULL ? ops(d)->wander(d->est.d) : -1.0;
    if (!(q > 0.0)) {
        return;
    }
    d->n_wander++;
    double k = d->n_wander < 16 ? 1.0 / d->n_wander : 1.0 / 16.0;
    d->log_wander += k * (log(q) - d->log_wander);
}

static void note_update(struct dsc *d, const struct dsc_update *u, int64_t now)
{
    note_wander(d);
    d->updates++;
    d->update_gap = d->last_update_mono_ns > 0 ? (double)(now - d->last_update_mono_ns) / NS : 0.0;
    d->last_update_mono_ns = now;
    d->root_delay = u->root_delay;
    d->root_dispersion = u->root_dispersion;
    d->replans = 0;
}

static void report_refusal(struct dsc *d, int64_t now, struct dsc_result *r)
{
    r->refused = true;
    r->refused_offset = d->over_last;
    d->refuse_next_mono_ns = now + (int64_t)(d->refuse_backoff * NS);
    d->refuse_backoff = d->refuse_backoff * 2.0 < REFUSE_MAX ? d->refuse_backoff * 2.0 : REFUSE_MAX;
}

/* A confirmed running step above the panic threshold: refused, loudly, and the clock
 * is no longer called synchronized (ntpd would exit here, silently for most users). */
static void refuse(struct dsc *d, int64_t now, struct dsc_result *r)
{
    if (!d->refusing) {
        d->refusing = true;
        d->refuse_backoff = REFUSE_FIRST;
        report_refusal(d, now, r);
    } else if (now >= d->refuse_next_mono_ns) {
        report_refusal(d, now, r);
    }
    if (d->state != DSC_UNSYNC) {
        d->state = DSC_UNSYNC;
        r->unsynced = true;
        r->since_update = (double)(now - d->last_update_mono_ns) / NS;
    }
    r->status = true;
}

/* Asks for a step of the estimated offset (after the estimator took the sample). */
static void ask_step(struct dsc *d, int64_t now, int agree, struct dsc_result *r)
{
    struct est_pred p;
    predict(d, now, &p);
    r->step = true;
    r->step_offset = offset_now(d, now, &p);
    r->step_agree = agree;
    d->step_asked = true;
    d->step_asked_offset = r->step_offset;
    d->step_asked_agree = agree;
    /* The phase goes with the step: only the drift is left to cancel meanwhile. */
    if (p.freq_valid) {
        d->base_ppm = clamp_freq(d, base_from_nu(p.freq) * 1e6);
    }
    d->slew_ppm = 0.0;
    d->slew_end_mono_ns = INT64_MAX;
    want_freq(d, d->base_ppm, r);
    r->offset = r->step_offset;
    r->status = true;
}

/* Is offset a confirmation of the pending running step (same jump, within 5 % or half
 * the threshold), or the start of a new candidate? */
static bool consistent_over(const struct dsc *d, double offset)
{
    double tol = 0.05 * fabs(d->over_first);
    double half = d->cfg.running_step_threshold / 2.0;
    tol = tol > half ? tol : half;
    return d->over_count > 0 && fabs(offset - d->over_first) <= tol;
}

/* Confirmed (eng.h, step_confirm and stepout): enough consecutive consistent updates,
 * the first of them at least stepout ago; the operator's makestep skips both. */
static bool over_confirmed(const struct dsc *d, int64_t now)
{
    if (d->allow_step) {
        return true;
    }
    double held = (double)(now - d->over_since_mono_ns) / NS;
    return d->over_count >= d->cfg.step_confirm && held >= d->cfg.stepout;
}

/* Running offset above the step threshold: count it; step (or refuse) once
 * step_confirm consecutive, consistent updates agreed, never on one sample. */
static void handle_over(struct dsc *d, const struct dsc_update *u, double z, double var,
                        double offset, int64_t now, struct dsc_result *r)
{
    if (!agreed(u)) {
        d->over_count = 0;
        r->spike = true;
        return;
    }
    if (!consistent_over(d, offset)) {
        d->over_count = 0;
        d->over_first = offset;
        d->over_since_mono_ns = now;
    }
    d->over_count++;
    d->over_last = offset;
    if (!over_confirmed(d, now)) {
        r->spike = true;
        return;
    }
    bool panic = d->cfg.panic_threshold > 0.0 && fabs(offset) > d->cfg.panic_threshold;
    if (panic && !d->allow_step) {
        refuse(d, now, r);
        return;
    }
    /* The phase really moved: the estimator restarts its phase from this sample. */
    ops(d)->widen(d->est.d, offset * offset, 0.0);
    drop_held(d);
    add_sample(d, secs(d, u->mono_ns), z, var);
    d->refusing = false;
    note_update(d, u, now);
    become_synced(d, r);
    ask_step(d, now, u->n_agree, r);
}

/* Does an outlier confirm the held one? Same sign and not smaller by half: a phase that
 * jumped stays, a frequency that jumped makes it grow; noise spikes do neither. */
static bool confirms_held(const struct dsc *d, double nu)
{
    return d->held && nu * d->held_nu > 0.0 && fabs(nu) >= 0.5 * fabs(d->held_nu);
}

/* Two outliers in a row that agree: the phase or the frequency really moved (a live
 * migration, an unreported jump). The estimator's doubt is widened by what they show and
 * it takes both, so the Kalman bank sees the change at once. */
static void take_confirmed(struct dsc *d, double t, double z, double var, double nu)
{
    double span = t - d->last_accept_t;
    double dfreq = span > 0.0 ? nu / span : 0.0;
    ops(d)->widen(d->est.d, nu * nu, dfreq * dfreq);
    add_sample(d, d->held_t, d->held_z, d->held_var);
    add_sample(d, t, z, var);
    drop_held(d);
}

/* Spike suppression (RFC 5905's popcorn spikes): an update more than SPIKE_SIGMAS off
 * the prediction is held back; the next update either confirms it (both are taken) or
 * shows it was a spike (it is dropped). Many outliers in a row that never agree mean
 * the noise is larger than believed: the update is taken and teaches the noise level,
 * so a too small error estimate never locks the loop out. Returns false when held. */
static bool screen(struct dsc *d, double t, double z, double var, const struct est_pred *p,
                   int64_t now)
{
    /* Without a frequency every offset is possible. */
    if (!p->valid || !p->freq_valid) {
        add_sample(d, t, z, var);
        return true;
    }
    double nu = z - p->phase;
    double age = d->last_update_mono_ns > 0 ? (double)(now - d->last_update_mono_ns) / NS : 0.0;
    double wander = WANDER_FLOOR * age; /* the frequency may always have moved a little */
    double s = p->var_phase + var + wander * wander;
    if (nu * nu <= SPIKE_SIGMAS * SPIKE_SIGMAS * s) {
        drop_held(d);
        learn_noise(d, nu, p);
        add_sample(d, t, z, var);
        return true;
    }
    if (confirms_held(d, nu)) {
        take_confirmed(d, t, z, var, nu);
        return true;
    }
    if (++d->outlier_run >= OUTLIER_RUN_MAX) {
        drop_held(d);
        learn_noise(d, nu, p);
        add_sample(d, t, z, var);
        return true;
    }
    d->held = true;
    d->held_t = t;
    d->held_z = z;
    d->held_var = var;
    d->held_nu = nu;
    return false;
}

/* Start-up (makestep): a step of any size when the sources agree. A first sample far
 * off an earlier one restarts the phase rather than averaging with it. */
static void startup_step(struct dsc *d, const struct dsc_update *u, double t, double z, double var,
                         int64_t now, struct dsc_result *r)
{
    struct est_pred p;
    est_predict(d, t, &p);
    double nu = z - p.phase;
    if (p.valid && nu * nu > SPIKE_SIGMAS * SPIKE_SIGMAS * (p.var_phase + var)) {
        ops(d)->widen(d->est.d, nu * nu, 0.0);
    }
    drop_held(d);
    add_sample(d, t, z, var);
    note_update(d, u, now);
    become_synced(d, r);
    ask_step(d, now, u->n_agree, r);
}

/* Samples keep their own time: an offset measured seconds ago and labelled "now" would
 * carry the unknown drift of those seconds into the frequency estimate (at start, with
 * two updates 48 ms apart of samples taken 2 s apart, -200 ppm for a 10 ppm clock).
 * The estimator takes them in time order, so an older one (the system peer changed to
 * a source polled earlier) is referred to the newest time already taken. */
static void order_in_time(struct dsc *d, struct dsc_update *v, int64_t now)
{
    if (v->mono_ns > now) {
        v->offset = dsc_project_offset(d, v->offset, v->mono_ns, now);
        v->mono_ns = now;
    }
    if (v->mono_ns < d->last_sample_mono_ns) {
        v->offset = dsc_project_offset(d, v->offset, v->mono_ns, d->last_sample_mono_ns);
        v->mono_ns = d->last_sample_mono_ns;
    }
    d->last_sample_mono_ns = v->mono_ns;
}

void dsc_update(struct dsc *d, const struct dsc_update *in, int64_t now_mono_ns,
                struct dsc_result *r)
{
    struct dsc_update v;
    const struct dsc_update *u = &v;

    clear_result(r);
    if (in == NULL || !update_valid(in)) {
        r->spike = true;
        return;
    }
    v = *in;
    order_in_time(d, &v, now_mono_ns);
    int64_t now = now_mono_ns;
    double t = secs(d, u->mono_ns);
    double z = u->offset + phase_at(d, u->mono_ns);
    double offset = dsc_project_offset(d, u->offset, u->mono_ns, now);
    double var = meas_var(d, u);
    bool may_step = now >= d->step_retry_mono_ns && !d->cfg.no_clock_control;
    if (may_step && startup(d) && fabs(offset) > d->cfg.step_threshold && agreed(u)) {
        startup_step(d, u, t, z, var, now, r);
        return;
    }
    double rst = d->cfg.running_step_threshold;
    if (may_step && !startup(d) && rst > 0.0 && fabs(offset) > rst) {
        handle_over(d, u, z, var, offset, now, r);
        return;
    }
    d->over_count = 0;
    d->refusing = false;
    struct est_pred p;
    est_predict(d, t, &p);
    if (!screen(d, t, z, var, &p, now)) {
        r->spike = true;
        r->offset = offset;
        return;
    }
    note_update(d, u, now);
    become_synced(d, r);
    plan(d, now, r);
    r->status = true;
}

/* ---- timers ---- */

int64_t dsc_next_timer(const struct dsc *d)
{
    int64_t t = d->slew_end_mono_ns;
    if (d->state == DSC_HOLDOVER) {
        int64_t end = d->lost_mono_ns + (int64_t)(d->cfg.holdover * NS);
        t = end < t ? end : t;
    }
    if (d->refusing && d->refuse_next_mono_ns < t) {
        t = d->refuse_next_mono_ns;
    }
    return t;
}

static void end_slew(struct dsc *d, int64_t now, struct dsc_result *r)
{
    d->slew_end_mono_ns = INT64_MAX;
    struct est_pred p;
    predict(d, now, &p);
    double theta = p.valid ? offset_now(d, now, &p) : 0.0;
    /* What is left after the segment (timer latency, a clamped frequency) gets another
     * segment, a bounded number of times. */
    if (p.valid && fabs(theta) > 1e-7 && d->replans < MAX_REPLANS) {
        d->replans++;
        plan(d, now, r);
        return;
    }
    d->slew_ppm = 0.0;
    want_freq(d, d->base_ppm, r);
    r->offset = theta;
}

void dsc_on_timer(struct dsc *d, int64_t now_mono_ns, struct dsc_result *r)
{
    clear_result(r);
    int64_t now = now_mono_ns;
    if (now >= d->slew_end_mono_ns) {
        end_slew(d, now, r);
    }
    if (d->state == DSC_HOLDOVER && now >= d->lost_mono_ns + (int64_t)(d->cfg.holdover * NS)) {
        d->state = DSC_UNSYNC;
        r->unsynced = true;
        r->since_update = (double)(now - d->last_update_mono_ns) / NS;
        r->status = true;
    }
    if (d->refusing && now >= d->refuse_next_mono_ns) {
        report_refusal(d, now, r);
    }
}

/* ---- views ---- */

int dsc_poll_hint(const struct dsc *d, int64_t now_mono_ns)
{
    (void)now_mono_ns;
    double q = d->n_wander > 0 ? exp(d->log_wander) : -1.0;
    double r = d->n_innov > 0 ? d->r_hat : 0.0;
    if (!(q > 0.0) || !(r > 0.0)) {
        return POLL_HINT_MAX;
    }
    /* Random-walk frequency noise q grows the phase error by q tau^3 / 3 over tau. */
    for (int p = 0; p < POLL_HINT_MAX; p++) {
        double tau = ldexp(1.0, p + 1);
        if (q * tau * tau * tau / 3.0 > r) {
            return p;
        }
    }
    return POLL_HINT_MAX;
}

void dsc_get_status(const struct dsc *d, int64_t now_mono_ns, struct dsc_status *st)
{
    struct est_pred p;
    predict(d, now_mono_ns, &p);
    memset(st, 0, sizeof *st);
    st->state = d->state;
    st->offset = p.valid ? offset_now(d, now_mono_ns, &p) : 0.0;
    st->offset_error = p.valid ? sqrt(p.var_phase) : 0.0;
    st->freq_ppm = applied_ppm(d);
    st->drift_ppm = p.freq_valid ? base_from_nu(p.freq) * 1e6 : d->base_ppm;
    st->skew_ppm = sqrt(p.var_freq) * 1e6;
    st->residual = st->offset;
    st->root_delay = d->root_delay;
    st->root_dispersion = d->root_dispersion;
    st->last_update_mono_ns = d->last_update_mono_ns;
    st->updates = d->updates;
    st->steps = d->steps;
}

bool dsc_drift_to_save(const struct dsc *d, int64_t now_mono_ns, double *ppm)
{
    struct est_pred p;
    predict(d, now_mono_ns, &p);
    if (p.freq_valid && d->updates >= DRIFT_MIN_UPDATES) {
        *ppm = base_from_nu(p.freq) * 1e6;
        return true;
    }
    if (d->cfg.have_drift) {
        *ppm = d->cfg.drift_ppm;
        return true;
    }
    return false;
}

void dsc_bound_input(const struct dsc *d, int64_t now_mono_ns, struct bnd_input *in)
{
    struct est_pred at_update;
    struct est_pred p;
    int64_t last = d->last_update_mono_ns;
    predict(d, last, &at_update);
    predict(d, now_mono_ns, &p);
    memset(in, 0, sizeof *in);
    in->synced = d->state != DSC_UNSYNC && last > 0;
    in->root_delay = d->root_delay;
    in->root_dispersion = d->root_dispersion;
    in->age = (double)(now_mono_ns - last) / NS;
    in->offset_error = at_update.valid ? sqrt(at_update.var_phase) : 0.0;
    in->residual = p.valid ? offset_now(d, now_mono_ns, &p) : 0.0;
    in->skew_ppm = sqrt(p.var_freq) * 1e6;
}

/* ---- actions ---- */

void dsc_emit(const struct dsc *d, const struct dsc_result *r, bool clock_control,
              struct act_list *out)
{
    if (r->step && clock_control) {
        struct act *a = act_push(out, ACT_STEP);
        if (a != NULL) {
            a->u.step.offset = r->step_offset;
        }
    }
    if (r->stepped) {
        act_event(out, EV_STEP, ACT_SEV_NOTICE, -1, NULL, r->stepped_offset, r->stepped_agree);
    }
    if (r->step_failed) {
        act_event(out, EV_STEP_FAILED, ACT_SEV_WARNING, -1, NULL, r->step_failed_offset,
                  r->step_retry);
    }
    if (r->refused) {
        act_event(out, EV_STEP_REFUSED, ACT_SEV_ERR, -1, NULL, r->refused_offset,
                  d->cfg.panic_threshold);
    }
    if (r->set_freq && clock_control) {
        struct act *a = act_push(out, ACT_FREQ);
        if (a != NULL) {
            a->u.freq.ppm = r->freq_ppm;
        }
    }
    if (r->unsynced) {
        act_event(out, EV_UNSYNCHRONIZED, ACT_SEV_WARNING, -1, NULL, r->since_update, 0.0);
    }
    if (r->clamped) {
        act_event(out, EV_FREQ_CLAMPED, ACT_SEV_WARNING, -1, NULL, r->wanted_ppm, r->applied_ppm);
    }
}
