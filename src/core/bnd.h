/* The error bound of the disciplined clock: maxerror and esterror as the kernel keeps
 * them (adjtimex) and as eng_status.bound reports them. RFC 5905 section 11.3 (root
 * distance) with dispersion growing at PHI = 15 ppm since the last update. Pure. */
#ifndef TSYNC_BND_H
#define TSYNC_BND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/act.h"

#define BND_PHI             15e-6 /* s/s: dispersion growth (RFC 5905 PHI) */
#define BND_MAXERROR_UNSYNC 16.0  /* s: the kernel's cap, used while unsynchronized */

/* What the bound is computed from; seconds unless named otherwise. */
struct bnd_input {
    bool synced;            /* false: the bound is BND_MAXERROR_UNSYNC */
    double root_delay;      /* of the selection (system peer's root delay + its delay) */
    double root_dispersion; /* of the selection at the last update */
    double age;             /* s since that update (negative counts as 0) */
    double offset_error;    /* 1-sigma uncertainty of the offset estimate */
    double residual;        /* |offset| the slew plan has not corrected yet */
    double skew_ppm;        /* estimated frequency error bound; grows the bound when it
                               exceeds PHI */
};

struct bnd_value {
    double maxerror; /* root_delay/2 + root_dispersion + max(PHI, skew) * age +
                        |residual| + offset_error, capped at 16 s */
    double esterror; /* sqrt(offset_error^2 + (skew * age)^2) + |residual|,
                        capped at 16 s */
};

/* Computes the bound; NaN or negative inputs count as unsynchronized (16 s). */
void bnd_compute(const struct bnd_input *in, struct bnd_value *out);

/* Fills an ACT_STATUS payload: synced flag, leap (only while synced, else 0), maxerror
 * and esterror from bnd_compute(). */
void bnd_fill_status(const struct bnd_input *in, uint8_t leap, struct act_status *st);

#endif
