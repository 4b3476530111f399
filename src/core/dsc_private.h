/* The estimator function table behind the discipline (linuxptp servo style): each
 * estimator turns raw offsets z(t) (dsc.h, "Model") into a phase and frequency
 * prediction with uncertainties. State lives in caller storage (struct dsc.est); no
 * allocation, no globals. Times are seconds since the discipline's origin. */
#ifndef TSYNC_DSC_PRIVATE_H
#define TSYNC_DSC_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

/* Prediction at a time t: z(t) ~ phase, dz/dt ~ freq. */
struct est_pred {
    bool valid;       /* at least one sample (freq may still come from a seed only) */
    bool freq_valid;  /* frequency estimated from samples (or seeded) */
    double phase;     /* s */
    double freq;      /* s/s: the frequency correction that cancels the drift */
    double var_phase; /* s^2 */
    double var_freq;  /* (s/s)^2 */
};

struct est_ops {
    const char *name;
    size_t state_size; /* bytes, <= sizeof struct dsc.est */
    void (*init)(void *st);
    /* Forgets all samples; keeps a seeded frequency when keep_freq. */
    void (*reset)(void *st, bool keep_freq);
    /* Seeds the frequency (s/s) with a variance, e.g. from the drift file. */
    void (*seed_freq)(void *st, double freq, double var);
    /* Adds a raw offset z (s) measured at t with measurement variance var (s^2). */
    void (*add_sample)(void *st, double t, double z, double var);
    /* Prediction at t (t may be before the last sample for a small amount). */
    void (*predict)(const void *st, double t, struct est_pred *out);
    /* Shifts every stored phase by dz (s) (the raw origin moved) */
    void (*rebase)(void *st, double dz);
    /* Adds uncertainty to the phase (s^2) and the frequency ((s/s)^2): they may have
     * jumped (external step, live migration); the next samples decide. */
    void (*widen)(void *st, double var_phase, double var_freq);
    /* Random-walk frequency noise the samples show, (s/s)^2 per s; NULL or a negative
     * result when the estimator cannot tell. */
    double (*wander)(const void *st);
};

extern const struct est_ops est_kal_ops;
extern const struct est_ops est_reg_ops;

#endif
