/* Source selection (RFC 5905 section 11.2): interval intersection (Marzullo's algorithm
 * as in 11.2.1), clustering (11.2.2) and combining (11.2.3) of the sources' filtered
 * offsets into one update for the discipline. Pure and deterministic: the caller gives
 * one candidate per source, the result is a verdict per candidate; no state, no
 * allocation (at most SEL_MAX candidates; more are rejected). */
#ifndef TSYNC_SEL_H
#define TSYNC_SEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEL_MAX 64
#define SEL_PHI 15e-6 /* s/s: dispersion growth (RFC 5905 PHI) */
#define SEL_MINDIST                                                                                \
    0.001 /* s: smallest root delay used in distances (RFC 5905 MINDISP,                           \
             ntpd's "tos mindist" default) */

/* ntpq tally codes, also what eng_source_status.tally shows. */
enum sel_verdict {
    SEL_REJECTED = ' ',    /* not usable: unreachable, noselect, bad stratum/leap,
                              root distance above maxdistance, no sample */
    SEL_FALSETICKER = 'x', /* outside the intersection of the majority */
    SEL_EXCESS = '.',      /* truechimer beyond the max_survivors best */
    SEL_OUTLIER = '-',     /* truechimer dropped by clustering */
    SEL_CANDIDATE = '+',   /* survivor, combined into the update */
    SEL_SYSPEER = '*',     /* survivor chosen as the system peer */
};

/* One source's latest filtered sample, all in seconds. Offsets follow the project
 * convention: what must be ADDED to the local clock (positive = clock behind). They
 * should all refer to the same instant (the caller rebases older samples to now, see
 * dsc_correction_between()). */
struct sel_candidate {
    int index; /* caller's source index, copied to the result */
    double offset;
    double delay;      /* round trip to the source (>= 0) */
    double dispersion; /* of the filtered sample, already grown to now */
    double jitter;     /* RMS of the source's recent offsets (RFC 5905 psi) */
    double root_delay; /* the source's own, as in its replies */
    double root_dispersion;
    uint8_t stratum; /* 1..15 usable, 0 or 16 rejected */
    uint8_t leap;    /* enum ntp_leap; 3 (unsynchronized) is rejected */
    bool prefer;     /* "prefer": kept through clustering, system peer if survivor */
    bool noselect;   /* "noselect": shown but never selected */
    bool reach_ok;   /* reachable now with at least one valid sample */
    bool smeared;    /* serves leap-smeared time (e.g. 169.254.169.123) */
};

struct sel_params {
    int minsources;     /* truechimers needed for a valid selection (>= 1) */
    double maxdistance; /* s: root distance limit (RFC 5905 MAXDIST, 1.5) */
    int min_survivors;  /* clustering stops at this many (RFC 5905 NMIN 3) */
    int max_survivors;  /* at most this many are combined (RFC 5905 MAXCLOCK 10) */
};

/* Defaults: minsources 1, maxdistance 1.5, min_survivors 3, max_survivors 10. */
void sel_params_default(struct sel_params *p);

enum sel_status {
    SEL_OK = 0,
    SEL_NO_CANDIDATES, /* no candidate passed the per-source tests */
    SEL_NO_MAJORITY,   /* no intersection holds more than half of the candidates */
    SEL_TOO_FEW,       /* a majority, but fewer truechimers than minsources */
};

/* Stable lower_snake name: "ok", "no_candidates", "no_majority", "too_few". */
const char *sel_status_name(enum sel_status s);

struct sel_result {
    enum sel_status status;
    char verdict[SEL_MAX]; /* enum sel_verdict per input candidate, same order */
    int sys_pos;           /* position of the system peer in the input, -1 none */
    int sys_index;         /* its .index, -1 none */
    int n_candidates;      /* passed the per-source tests */
    int n_truechimers;     /* inside the majority intersection (agreeing sources) */
    int n_falsetickers;
    int n_survivors;        /* combined into the offset */
    bool majority;          /* an intersection holds more than half the candidates */
    double low, high;       /* s: the intersection interval (valid when majority) */
    double offset;          /* s: combined offset of the survivors (to add) */
    double jitter;          /* s: combined jitter (RMS of peer jitter and selection
                               jitter, RFC 5905 11.2.3), >= 0 */
    double error;           /* s: 1-sigma error estimate of .offset for the estimator */
    double root_delay;      /* s: system peer's root delay + its delay (for the clock) */
    double root_dispersion; /* s: system peer's root dispersion + dispersion + jitter */
    uint8_t stratum;        /* system peer's stratum */
    uint8_t leap;           /* by majority of the survivors (ties: no leap) */
    bool smear_mix;         /* survivors mix smeared and unsmeared sources */
};

/* Root distance of a candidate (RFC 5905 A.5.5.2 root_dist): max(SEL_MINDIST, root delay +
 * delay) / 2 + root dispersion + dispersion + jitter. */
double sel_root_distance(const struct sel_candidate *c);

/* Runs selection on n candidates (n > SEL_MAX: the extra ones are rejected). prev_sys
 * is the current system peer's .index (-1 none): it stays system peer while it is a
 * survivor, so the clock does not hop between equally good sources. Never fails on
 * bad input: NaN or negative values reject that candidate. Returns r->status. */
enum sel_status sel_select(const struct sel_candidate *c, size_t n, const struct sel_params *p,
                           int prev_sys, struct sel_result *r);

#endif
