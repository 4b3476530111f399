/* The clock discipline: from the combined offsets of the selection it decides steps
 * (start-up, confirmed running steps, panic refusal), the drift-cancelling frequency
 * and the temporary phase-correcting frequency of the slew plan, with the frequency
 * estimator behind a function table (dsc_private.h). It also tracks holdover and the
 * drift to save. Pure: decisions are returned as values; results come back as calls.
 *
 * Model. The estimator works on the "raw" offset z(t) = offset(t) + P(t), where P(t) is
 * every correction the clock has actually received (integral of the applied frequency
 * plus the applied steps and reported external jumps, as told by dsc_on_freq_set,
 * dsc_on_stepped and dsc_on_external_step). z(t) evolves only with the clock's own
 * frequency error, so our corrections never disturb the estimate and the plan can
 * correct phase quickly without feeding back noise. This P is the engine's only clock
 * model: it stores every sample raw against dsc_total_correction() and refers it to
 * now with dsc_drift() (struct flt_frame), so a step or a frequency change rebases all
 * stored samples in the very call that reports it. P is kept small by
 * dsc_renormalize(), whose shift the engine applies to its stored samples in the same
 * call (never on its own).
 *
 * Use by the engine: dsc_init at start (emit its ACT_FREQ); dsc_update when the system
 * peer has a new sample (RFC 5905 clock_update: not again for an old one), with the
 * time its offset refers to as mono_ns; every result through dsc_emit (or by hand),
 * then dsc_on_stepped / dsc_on_freq_set for what was carried out (their results through
 * dsc_emit too: EV_STEP is reported when a step was applied, not when it was asked
 * for); dsc_on_timer when dsc_next_timer is due; dsc_sources_lost on EV_SYNC_LOST;
 * ACT_STATUS from dsc_bound_input + bnd_fill_status whenever r.status. */
#ifndef TSYNC_DSC_H
#define TSYNC_DSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/bnd.h"
#include "core/eng.h"

#define DSC_HIST      64  /* frequency segments kept for dsc_correction_between() */
#define DSC_EST_WORDS 400 /* doubles of storage for the estimator's state */

enum dsc_estimator {
    DSC_EST_KALMAN = 0,  /* Kalman filter on (phase, frequency), adaptive noise (est_kal.c) */
    DSC_EST_REGRESS = 1, /* weighted linear regression over recent samples (est_reg.c) */
    DSC_EST_COUNT,
};

/* Stable lower_snake name ("kalman", "regress"); NULL when out of range. */
const char *dsc_estimator_name(int est);

struct dsc_config {
    int estimator;                 /* enum dsc_estimator (default DSC_EST_KALMAN) */
    double step_threshold;         /* s: start-up steps above it (default 0.1) */
    int step_limit;                /* start-up = the first N updates (default 3); < 0 always */
    double running_step_threshold; /* s: running steps above it (default 0.5; 0 never) */
    int step_confirm;              /* consecutive consistent updates needed for a running
                                      step (default 3, at least 2) */
    double stepout;                /* s: and the first of them at least this long ago
                                      (ntpd tinker stepout; default 0 = count only) */
    double panic_threshold;        /* s: running steps above it are refused (default 1000;
                                      0 = no limit) */
    double holdover;               /* s without an update before unsynchronized (3600) */
    double max_freq_ppm;           /* |total frequency| limit (default 100000) */
    double max_slew_ppm;           /* |temporary phase-correcting frequency| limit
                                      (default 83333, like chrony's maxslewrate) */
    double min_error;              /* s: floor of an update's error estimate (default 1e-7) */
    bool have_drift;               /* drift file was read */
    double drift_ppm;              /* its frequency correction */
    double start_freq_ppm;         /* without one: the kernel's frequency at start */
    bool no_clock_control;         /* -x: the clock runs free; its offset and drift are
                                      tracked, nothing is stepped or slewed (chronyd -x) */
};

/* Defaults as documented in struct dsc_config. */
void dsc_config_default(struct dsc_config *c);

/* Defaults, then the fields eng_config carries (estimator, step policy, holdover, drift,
 * limits). */
void dsc_config_from_eng(struct dsc_config *c, const struct eng_config *e);

enum dsc_state {
    DSC_UNSYNC = 0, /* never synchronized, holdover over, or a step was refused */
    DSC_SYNC,       /* synchronized: updates arrive */
    DSC_HOLDOVER,   /* sources lost (dsc_sources_lost): last frequency kept, still
                       synchronized until cfg.holdover has passed */
};

/* One combined measurement from the selection. */
struct dsc_update {
    double offset;          /* s to add to the clock, as it was at mono_ns (best: the
                               system peer's sample time, the others referred to it
                               with dsc_project_offset) */
    double error;           /* s: 1-sigma error of offset (sel_result.error) */
    int n_agree;            /* truechimers behind it (sel_result.n_truechimers) */
    int n_candidates;       /* sources that took part (sel_result.n_candidates) */
    double root_delay;      /* s: of the selection (sel_result.root_delay) */
    double root_dispersion; /* s: of the selection (sel_result.root_dispersion) */
    int64_t mono_ns;        /* monotonic time offset refers to: never after now; one
                               before the previous update's is referred to that */
};

/* What one call decided; the engine carries it out (or dsc_emit() does). */
struct dsc_result {
    bool step;          /* request ACT_STEP of step_offset */
    double step_offset; /* s to add */
    int step_agree;     /* sources that agreed (EV_STEP v1) */
    bool set_freq;      /* request ACT_FREQ of freq_ppm (total correction) */
    double freq_ppm;
    bool refused;          /* report EV_STEP_REFUSED (already rate limited, back-off) */
    double refused_offset; /* s */
    bool spike;            /* the update was held back as a possible spike */
    bool synced;           /* turned synchronized in this call (EV_SYNCED) */
    bool unsynced;         /* turned unsynchronized in this call (EV_UNSYNCHRONIZED) */
    double since_update;   /* s since the last update when unsynced */
    bool clamped;          /* the applied frequency started to differ from the wanted
                              one, or differs by another amount (EV_FREQ_CLAMPED, not
                              repeated while the carrier keeps refusing the same way) */
    double wanted_ppm, applied_ppm;
    bool stepped;              /* dsc_on_stepped: the step was applied (EV_STEP) */
    double stepped_offset;     /* s: what was applied */
    int stepped_agree;         /* sources that agreed on it */
    bool step_failed;          /* dsc_on_stepped: it was not (EV_STEP_FAILED) */
    double step_failed_offset; /* s: the step that was asked for */
    double step_retry;         /* s until steps are asked for again (slewing meanwhile) */
    bool status;               /* the kernel status should be refreshed (ACT_STATUS) */
    double offset;             /* s: estimated offset at the call's time, after the call */
};

/* Frequency segment: from mono_ns on the clock ran with freq_ppm applied; phase is the
 * total correction P at mono_ns (s); rate is dP/dt (s/s) over monotonic time. As in
 * Linux, the frequency slews CLOCK_MONOTONIC too, so a correction f against a drift e
 * moves the offset by (e + f) / (1 + e + f) per monotonic second: rate keeps the
 * second-order term, which matters for large drifts and fast slews. */
struct dsc_seg {
    int64_t mono_ns;
    double freq_ppm;
    double phase;
    double rate;
};

/* Complete type so the engine can embed it; touch it only through dsc_ functions. */
struct dsc {
    struct dsc_config cfg;
    enum dsc_state state;
    int64_t origin_mono_ns;       /* estimator times are s since this */
    struct dsc_seg seg[DSC_HIST]; /* applied frequency timeline, ring */
    unsigned seg_head, seg_n;
    double freq_wanted_ppm;   /* last requested total frequency */
    double base_ppm;          /* drift-cancelling part of the plan */
    double slew_ppm;          /* temporary part now planned */
    int64_t slew_end_mono_ns; /* INT64_MAX: no slew running */
    uint32_t updates, steps;
    int over_count;             /* consecutive updates above the running threshold */
    double over_first;          /* offset of the first of them (s) */
    int64_t over_since_mono_ns; /* time of the first of them (stepout) */
    bool step_asked;            /* an ACT_STEP is outstanding (dsc_on_stepped) */
    double step_asked_offset;   /* s: its offset */
    int step_asked_agree;       /* sources behind it */
    int64_t step_retry_mono_ns; /* after a failed step: no step request before this */
    double step_fail_backoff;   /* s: doubles with each failure, up to an hour */
    bool clamp_on;              /* the carrier applies another frequency than asked */
    double clamp_applied_ppm;   /* what it applied when that was last reported */
    bool held;                  /* an update far off the prediction waits for the next */
    double held_t, held_z, held_var, held_nu; /* its time, raw offset, variance, innovation */
    int outlier_run;                          /* consecutive updates far off the prediction */
    double last_accept_t;                     /* s: time of the last sample the estimator took */
    bool allow_step;                          /* operator allowed the next large step */
    int64_t refuse_next_mono_ns;              /* when the next EV_STEP_REFUSED may be repeated */
    double refuse_backoff;                    /* s, doubles each repetition up to an hour */
    bool refusing;                            /* a refused step is outstanding */
    int64_t lost_mono_ns;                     /* when the sources were lost (holdover), 0 none */
    int64_t last_update_mono_ns;              /* 0 none yet */
    int64_t last_sample_mono_ns; /* time the newest update referred to (INT64_MIN none) */
    double update_gap;                        /* s between the last two updates */
    double root_delay, root_dispersion;       /* of the last update */
    double log_wander;                        /* smoothed log of the estimator's wander (hint) */
    uint32_t n_wander;                        /* updates behind log_wander */
    double r_hat;                          /* s^2: measurement variance learned from innovations */
    uint32_t n_innov;                      /* innovations behind r_hat */
    int replans;                           /* slew segments planned since the last update */
    double freq_limit_pos, freq_limit_neg; /* ppm: limits learned from clamped results */
    double over_last;                      /* s: latest offset above the running threshold */
    bool have_estimate;                    /* the estimator has a frequency worth saving */
    int est_kind;
    union {
        double d[DSC_EST_WORDS];
        int64_t i;
    } est;
};

/* Starts the discipline at now_mono_ns with config c (copied; bad values replaced by
 * defaults). With a drift file the first plan sets its frequency: the returned result
 * holds set_freq = drift (the engine emits it as the initial ACT_FREQ). */
void dsc_init(struct dsc *d, const struct dsc_config *c, int64_t now_mono_ns, struct dsc_result *r);

/* A new combined measurement. Decides start-up step / running step / refusal / spike /
 * slew and the next frequency. NaN or absurd values are ignored (r->spike). */
void dsc_update(struct dsc *d, const struct dsc_update *u, int64_t now_mono_ns,
                struct dsc_result *r);

/* Monotonic ns of the next dsc_on_timer (end of a slew segment, holdover expiry, a
 * repeated refusal); INT64_MAX for never. */
int64_t dsc_next_timer(const struct dsc *d);

/* Timers due: ends or re-plans slews, turns holdover into unsynchronized, repeats a
 * refusal report with back-off. */
void dsc_on_timer(struct dsc *d, int64_t now_mono_ns, struct dsc_result *r);

/* Result of an ACT_FREQ: the frequency now applied (maybe clamped or refused: then the
 * clock's unchanged frequency). Records it in the timeline (P and so every raw offset
 * depends on it) and re-times the slew on what really runs; asks for nothing but
 * r->clamped, once per change of the carrier's behaviour. Call it for every ACT_FREQ
 * carried out, in order. */
void dsc_on_freq_set(struct dsc *d, int64_t now_mono_ns, double applied_ppm, struct dsc_result *r);

/* Result of an ACT_STEP: ok and the offset applied (s). Applied: P takes it (so every
 * raw offset is rebased) and r->stepped reports it (EV_STEP). Failed: r->step_failed;
 * no step is asked for during a back-off (60 s doubling to an hour), the offset is
 * slewed meanwhile. Asks for nothing else (the frequency went out with the step). */
void dsc_on_stepped(struct dsc *d, int64_t now_mono_ns, bool ok, double applied,
                    struct dsc_result *r);

/* The clock jumped by jump s without our asking (date -s, VM pause; jump > 0 = the
 * clock moved forward, so offsets drop by jump). Keeps the frequency, forgets the phase
 * and expects fresh measurements (which may confirm a running step). */
void dsc_on_external_step(struct dsc *d, int64_t now_mono_ns, double jump, struct dsc_result *r);

/* The selection found no usable source (the engine's EV_SYNC_LOST): holdover starts,
 * the last drift frequency is kept, and cfg.holdover s later the state turns
 * unsynchronized (r->unsynced from dsc_on_timer). The next dsc_update ends it. */
void dsc_sources_lost(struct dsc *d, int64_t now_mono_ns, struct dsc_result *r);

/* Operator's "makestep": the next step is allowed above the panic threshold and without
 * waiting for step_confirm updates (agreement of the sources is still required). */
void dsc_allow_step(struct dsc *d);

/* Correction the clock received between two monotonic times (s added to it: applied
 * frequency integrated plus steps), from the kept timeline. A sample's offset measured
 * at t refers to now as offset - dsc_correction_between(d, t, now). Per monotonic
 * second a correction f adds f / ((1 + f - b) (1 - b)), b the drift-cancelling part
 * believed then: f / (1 + f) when b = 0, since the frequency slews CLOCK_MONOTONIC too
 * (struct dsc_seg). */
double dsc_correction_between(const struct dsc *d, int64_t from_mono_ns, int64_t to_mono_ns);

/* An offset measured at from_mono_ns as it stands at to_mono_ns: minus the corrections
 * applied in between, plus the clock's own drift over the interval as estimated now.
 * Use it to compare or combine samples taken at different times. */
double dsc_project_offset(const struct dsc *d, double offset, int64_t from_mono_ns,
                          int64_t to_mono_ns);

/* Total correction P the clock received up to mono_ns (s; applied frequency integrated
 * plus steps and reported external jumps), less what dsc_renormalize took out. A raw
 * offset o + P(t) stored at t refers to now as raw - P(now) + drift * (now - t), drift
 * from dsc_drift() (struct flt_frame). */
double dsc_total_correction(const struct dsc *d, int64_t mono_ns);

/* dP/dt now (s per monotonic second): to place a sample taken shortly before now. */
double dsc_correction_rate(const struct dsc *d);

/* Keeps P small for precision: when |P(now)| >= 1 s, takes it out of P and the
 * estimator's raw phases and returns the shift (s, -P(now)) that the caller adds to
 * every raw offset it stores, in the same call; 0 otherwise. */
double dsc_renormalize(struct dsc *d, int64_t now_mono_ns);

/* Estimated drift-cancelling frequency dz/dt now (s/s): the estimator's when it has
 * one, else the planned base frequency (drift file or 0). */
double dsc_drift(const struct dsc *d, int64_t now_mono_ns);

/* The longest poll interval (log2 s, 0..17) after which the clock's own wander, as the
 * estimator sees it, still stays below the measurement noise (the Allan intercept):
 * polling slower only lets the clock wander. 17 when the estimator cannot tell yet. The
 * engine polls at most this (and never below minpoll). */
int dsc_poll_hint(const struct dsc *d, int64_t now_mono_ns);

struct dsc_status {
    enum dsc_state state;
    double offset;       /* s: estimated offset now (to add) */
    double offset_error; /* s: its 1-sigma uncertainty */
    double freq_ppm;     /* total frequency correction applied now */
    double drift_ppm;    /* estimated drift-cancelling frequency (what to save) */
    double skew_ppm;     /* 1-sigma uncertainty of drift_ppm */
    double residual;     /* s: phase the running slew has not corrected yet */
    double root_delay, root_dispersion;
    int64_t last_update_mono_ns; /* 0 never */
    uint32_t updates, steps;
};
void dsc_get_status(const struct dsc *d, int64_t now_mono_ns, struct dsc_status *st);

/* The drift to save: true and *ppm when the estimate is worth saving (after a few
 * updates, or the drift file's value), false otherwise. */
bool dsc_drift_to_save(const struct dsc *d, int64_t now_mono_ns, double *ppm);

/* The error bound's inputs now (synced flag, root delay/dispersion, age, errors). */
void dsc_bound_input(const struct dsc *d, int64_t now_mono_ns, struct bnd_input *in);

/* Carries out a result as actions: ACT_STEP and ACT_FREQ (only with clock_control),
 * EV_STEP (a step applied, r->stepped), EV_STEP_FAILED, EV_STEP_REFUSED (error),
 * EV_UNSYNCHRONIZED, EV_FREQ_CLAMPED. Without clock control no step is asked for, so
 * none is reported either. EV_SYNCED and ACT_STATUS stay with the engine (they need
 * the selected source and the leap). */
void dsc_emit(const struct dsc *d, const struct dsc_result *r, bool clock_control,
              struct act_list *out);

#endif
