/* Per-source reply checks and sample filter. The RFC 5905 section 8 sanity tests are
 * small named predicates (each unit-tested); flt_measure computes offset, delay and
 * dispersion (section 8); struct flt is the clock filter of section 10: the last
 * FLT_LEN samples, the one with the lowest (aged) delay chosen, jitter as the scatter of
 * the samples. Pure: times, samples and the clock model are inputs. */
#ifndef TSYNC_FLT_H
#define TSYNC_FLT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp/ntp_pkt.h"

#define FLT_LEN     8     /* samples kept per source (RFC 5905 NSTAGE) */
#define FLT_PHI     15e-6 /* s/s: dispersion growth (RFC 5905 PHI) */
#define FLT_MAXDISP 16.0  /* s: RFC 5905 MAXDISP */
#define FLT_WARMUP  4     /* the first samples of an epoch are each handed out */

/* Why a reply was dropped; FLT_OK = used. Counted per source. */
enum flt_reason {
    FLT_OK = 0,
    FLT_STALE,      /* not the outstanding request of the source (late, or unknown seq) */
    FLT_SENDER,     /* sent from another address or port than the source's */
    FLT_SHORT,      /* fewer than 48 bytes */
    FLT_VERSION,    /* version 0 or above 4 */
    FLT_MODE,       /* not mode 4 (server) */
    FLT_BOGUS,      /* origin timestamp is not our request's nonce (section 8 "bogus") */
    FLT_DUPLICATE,  /* the request was already answered (section 8 "duplicate") */
    FLT_KOD,        /* kiss-o'-death: acted upon, carries no time (section 7.4) */
    FLT_UNSYNC,     /* leap 3, or stratum 0 without a kiss code, or stratum >= 16 */
    FLT_ZERO_TS,    /* receive or transmit timestamp is 0 */
    FLT_NOT_SENT,   /* no send time known for the request (eng_on_sent missing) */
    FLT_TIME_ORDER, /* T4 < T1, T3 < T2, or the server held it longer than our round trip */
    FLT_DELAY,      /* round trip above the source's maxdelay */
    FLT_DISTANCE,   /* root distance above maxdistance (section 11.2 "fit") */
    FLT_REASON_COUNT,
};

/* Stable lower_snake name ("ok", "stale", "bogus", ...); "unknown" when out of range. */
const char *flt_reason_name(enum flt_reason r);

/* The four timestamps of one exchange (RFC 5905 section 8): ours as Unix ns of the
 * disciplined clock, the server's as they came on the wire. */
struct flt_times {
    int64_t t1_ns; /* our transmit time */
    uint64_t t2;   /* server receive */
    uint64_t t3;   /* server transmit */
    int64_t t4_ns; /* our receive time */
};

/* One measurement, seconds. offset is what must be added to our clock. */
struct flt_meas {
    double offset;     /* ((T2 - T1) + (T3 - T4)) / 2 */
    double delay;      /* (T4 - T1) - (T3 - T2), at least the local precision */
    double dispersion; /* server and local precision + PHI * (T4 - T1) */
};

/* Sanity predicates (true = the test fails and the reply is dropped). */
bool flt_bad_mode(const struct ntp_header *h);
bool flt_is_bogus(uint64_t origin_ts, uint64_t nonce);
bool flt_is_duplicate(bool already_answered, uint64_t tx_ts, uint64_t last_tx_ts);
bool flt_is_kiss(const struct ntp_header *h);
bool flt_is_unsynchronized(const struct ntp_header *h);
bool flt_has_zero_timestamp(const struct ntp_header *h);
bool flt_times_disordered(const struct flt_times *t);
bool flt_exceeds_delay(double delay, double maxdelay);
bool flt_exceeds_distance(double root_delay, double root_dispersion, double delay,
                          double dispersion, double maxdistance);

/* Offset, delay and dispersion of an exchange; precisions are log2 s. */
void flt_measure(const struct flt_times *t, int8_t server_precision, int8_t local_precision,
                 struct flt_meas *m);

/* One filtered sample. offset is in the caller's frame (struct flt_frame). */
struct flt_sample {
    int64_t mono_ns;   /* monotonic time of the measurement */
    double offset;     /* s */
    double delay;      /* s */
    double dispersion; /* s at mono_ns; grows at FLT_PHI after it */
};

/* How stored offsets taken at different times compare. A stored offset o taken at t
 * refers to now as  o - phase + drift * (now - t):  the engine stores raw offsets
 * (offset + P(t), P = every correction the clock received, steps included), passes
 * phase = P(now) and drift = the estimated drift-cancelling frequency. So a step or a
 * frequency change rebases every stored sample at once, exactly. */
struct flt_frame {
    int64_t now_mono_ns;
    double phase; /* s */
    double drift; /* s/s */
    double skew;  /* s/s: 1-sigma uncertainty of drift; ages samples in the choice and
                     grows their dispersion faster than PHI while it is large */
};

struct flt {
    struct flt_sample s[FLT_LEN]; /* ring; the newest at (head + FLT_LEN - 1) % FLT_LEN */
    unsigned n, head;
    int64_t epoch_mono_ns; /* older samples take no part (flt_restart) */
    int64_t used_mono_ns;  /* time of the last sample handed out; INT64_MIN none */
    unsigned in_epoch;     /* samples added since the epoch began */
};

/* Which sample is chosen: during the first FLT_WARMUP samples of an epoch (a new source,
 * or after a jump) the newest, so that every one of them reaches the discipline within
 * seconds (RFC 5905's "anything goes before synchronized"); then, among the last FLT_LEN,
 * the one with the lowest delay (section 10) once aged: delay / 2 + dispersion + 3 skew *
 * age, because an old sample is only as good as the frequency that carries it to now.
 * With a well-known frequency this is the plain lowest-delay choice; while the frequency
 * is uncertain (start-up, a wandering VM clock) newer samples win. */
enum flt_verdict {
    FLT_HELD,  /* stored; the chosen sample was handed out already (RFC 5905 10: use a
                  sample once, never one older than the last used) */
    FLT_NEW,   /* the chosen sample is newer than the last handed out */
    FLT_SHIFT, /* the new sample contradicts the chosen one beyond both error bounds: the
                  offset really moved (a jump), older samples were retired and the new
                  one is handed out */
};

/* What the filter says now, offsets referred to the frame's now. */
struct flt_estimate {
    int64_t mono_ns;     /* of the chosen sample */
    double offset;       /* s */
    double delay;        /* s */
    double dispersion;   /* s: the chosen sample's, grown to now (see flt.c) */
    double jitter;       /* s: RMS scatter of the samples about their trend (>= precision) */
    double delay_spread; /* s: RMS of the delays above the lowest: the path's own noise,
                            which no clock error inflates */
    int n;               /* samples taking part */
};

void flt_init(struct flt *f);

/* Stores s (precision in s, max_age in s: older samples take no part) and says whether
 * a new filtered sample is available. */
enum flt_verdict flt_add(struct flt *f, const struct flt_sample *s, const struct flt_frame *fr,
                         double precision, double max_age);

/* The current estimate; false when no sample takes part. */
bool flt_estimate(const struct flt *f, const struct flt_frame *fr, double precision, double max_age,
                  struct flt_estimate *e);

/* Adds d seconds to every stored offset (the caller's frame moved its origin). */
void flt_shift(struct flt *f, double d);

/* Samples before mono_ns take no further part (after an external clock jump, whose
 * size the loop knows only roughly); the next sample is handed out at once. */
void flt_restart(struct flt *f, int64_t mono_ns);

#endif
