/* Reply sanity tests (RFC 5905 section 8), the measurement of one exchange, and the
 * per-source clock filter (section 10). Each test is a small predicate returning true
 * when the reply must be dropped; the order they run in is the caller's (src.c).
 * Pure: no clock reads, no state outside struct flt. */
#include "core/flt.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

#define NS_PER_S       1e9
#define STRATUM_UNSYNC 16
/* A round trip may come out slightly negative when the server's clock runs at another
 * rate than ours: up to 2^-20 s plus 500 ppm of the round trip is tolerated (and then
 * clamped to the precision), anything beyond means the timestamps are inconsistent. */
#define NEG_DELAY_ABS  0x1p-20
#define NEG_DELAY_RATE 500e-6
/* A new sample contradicts the chosen one when they differ by more than both error
 * bounds (half the round trips plus dispersions) and this many jitters. */
#define SHIFT_JITTERS 3.0
/* Ageing of samples in the choice: AGE_SIGMAS times the frequency uncertainty, at least
 * SKEW_FLOOR (0.01 ppm) so that very old samples give way even to a perfect estimate. */
#define AGE_SIGMAS 3.0
#define SKEW_FLOOR 1e-8
/* Dispersion grows at PHI (RFC 5905), or faster while the frequency that carries old
 * samples to now is uncertain (AGE_SIGMAS skews, at most 1 %: before the first frequency
 * estimate of a badly tuned VM clock, samples two seconds apart may differ by ms). */
#define MAX_GROWTH 0.01

const char *flt_reason_name(enum flt_reason r)
{
    static const char *const names[FLT_REASON_COUNT] = {
        [FLT_OK] = "ok",
        [FLT_STALE] = "stale",
        [FLT_SENDER] = "wrong_sender",
        [FLT_SHORT] = "too_short",
        [FLT_VERSION] = "bad_version",
        [FLT_MODE] = "bad_mode",
        [FLT_BOGUS] = "bogus",
        [FLT_DUPLICATE] = "duplicate",
        [FLT_KOD] = "kod",
        [FLT_UNSYNC] = "unsynchronized",
        [FLT_ZERO_TS] = "zero_timestamp",
        [FLT_NOT_SENT] = "not_sent",
        [FLT_TIME_ORDER] = "time_order",
        [FLT_DELAY] = "max_delay",
        [FLT_DISTANCE] = "max_distance",
    };
    if ((unsigned)r >= FLT_REASON_COUNT) {
        return "unknown";
    }
    return names[r];
}

/* Section 8: a client only accepts server (mode 4) answers. */
bool flt_bad_mode(const struct ntp_header *h)
{
    return h->mode != NTP_MODE_SERVER;
}

/* Section 8 "bogus": the origin must echo our transmit timestamp, which is a random
 * nonce; a zero nonce is never sent, so it never matches either. */
bool flt_is_bogus(uint64_t origin_ts, uint64_t nonce)
{
    return nonce == 0 || origin_ts != nonce;
}

/* Section 8 "duplicate": one answer per request; a second answer, or one repeating the
 * transmit timestamp of the last accepted answer, is a replay. */
bool flt_is_duplicate(bool already_answered, uint64_t tx_ts, uint64_t last_tx_ts)
{
    return already_answered || (last_tx_ts != 0 && tx_ts == last_tx_ts);
}

/* Section 7.4: stratum 0 in an answer is a kiss-o'-death; the refid holds the code. */
bool flt_is_kiss(const struct ntp_header *h)
{
    return h->stratum == 0;
}

/* Section 7.3: leap 3 means the server is not synchronized, and so does stratum 16
 * (or anything above); stratum 0 carries no time either (kiss codes are handled
 * before this test). */
bool flt_is_unsynchronized(const struct ntp_header *h)
{
    return h->leap == NTP_LEAP_UNSYNC || h->stratum == 0 || h->stratum >= STRATUM_UNSYNC;
}

/* Section 8: an answer must carry the server's receive and transmit times. */
bool flt_has_zero_timestamp(const struct ntp_header *h)
{
    return h->rx_ts == 0 || h->tx_ts == 0;
}

/* b - a in seconds without signed overflow for any inputs. */
static double ns_diff_s(int64_t a, int64_t b)
{
    if ((a < 0 && b > INT64_MAX + a) || (a > 0 && b < INT64_MIN + a)) {
        return ((double)b - (double)a) / NS_PER_S;
    }
    return (double)(b - a) / NS_PER_S;
}

/* The exchange must be causal: our receive after our send, the server's transmit after
 * its receive, and the server may not have held the request longer than our whole
 * round trip (beyond the rate tolerance above). */
bool flt_times_disordered(const struct flt_times *t)
{
    double t41 = ns_diff_s(t->t1_ns, t->t4_ns);
    double t32 = ntp_ts_diff(t->t3, t->t2);

    if (!(t41 >= 0.0) || !(t32 >= 0.0)) {
        return true;
    }
    return t41 - t32 < -(NEG_DELAY_ABS + NEG_DELAY_RATE * t41);
}

/* "maxdelay S" of the source: 0 (or less) means no limit. */
bool flt_exceeds_delay(double delay, double maxdelay)
{
    return maxdelay > 0.0 && !(delay <= maxdelay);
}

/* Section 11.2 (fit): root distance = (root delay + delay) / 2 + root dispersion +
 * dispersion must stay within maxdistance; NaN fails. */
bool flt_exceeds_distance(double root_delay, double root_dispersion, double delay,
                          double dispersion, double maxdistance)
{
    double dist = (root_delay + delay) / 2.0 + root_dispersion + dispersion;
    return !(dist <= maxdistance);
}

void flt_measure(const struct flt_times *t, int8_t server_precision, int8_t local_precision,
                 struct flt_meas *m)
{
    double t41 = ns_diff_s(t->t1_ns, t->t4_ns);
    uint64_t t1 = ntp_ts_from_unix_ns(t->t1_ns);
    uint64_t t4 = ntp_ts_from_unix_ns(t->t4_ns);
    double rho_local = ldexp(1.0, local_precision);

    /* Section 8: theta = ((T2 - T1) + (T3 - T4)) / 2, delta = (T4 - T1) - (T3 - T2),
     * epsilon = rho_server + rho_local + PHI * (T4 - T1). */
    m->offset = (ntp_ts_diff(t->t2, t1) + ntp_ts_diff(t->t3, t4)) / 2.0;
    m->delay = t41 - ntp_ts_diff(t->t3, t->t2);
    if (!(m->delay >= rho_local)) {
        m->delay = rho_local;
    }
    m->dispersion = ldexp(1.0, server_precision) + rho_local + FLT_PHI * t41;
}

void flt_init(struct flt *f)
{
    f->n = 0;
    f->head = 0;
    f->epoch_mono_ns = INT64_MIN;
    f->used_mono_ns = INT64_MIN;
    f->in_epoch = 0;
}

/* k-th oldest stored sample, 0 <= k < n. */
static const struct flt_sample *at(const struct flt *f, unsigned k)
{
    return &f->s[(f->head + FLT_LEN - f->n + k) % FLT_LEN];
}

static double age_s(const struct flt_sample *s, const struct flt_frame *fr)
{
    double age = ns_diff_s(s->mono_ns, fr->now_mono_ns);
    return age > 0.0 ? age : 0.0;
}

static double growth_rate(const struct flt_frame *fr)
{
    double g = AGE_SIGMAS * fr->skew;
    g = g < MAX_GROWTH ? g : MAX_GROWTH;
    return g > FLT_PHI ? g : FLT_PHI;
}

static double offset_now(const struct flt_sample *s, const struct flt_frame *fr)
{
    return s->offset - fr->phase + fr->drift * age_s(s, fr);
}

static bool takes_part(const struct flt *f, const struct flt_sample *s, const struct flt_frame *fr,
                       double max_age)
{
    return s->mono_ns >= f->epoch_mono_ns && age_s(s, fr) <= max_age;
}

/* Section 10's sort key, aged by what the frequency uncertainty adds (enum flt_verdict). */
static double choice_key(const struct flt_sample *s, const struct flt_frame *fr)
{
    double skew = fr->skew > SKEW_FLOOR ? fr->skew : SKEW_FLOOR;
    return s->delay / 2.0 + s->dispersion + AGE_SIGMAS * skew * age_s(s, fr);
}

/* The lowest key, on equal keys the newer sample; during an epoch's warm-up simply the
 * newest. */
static int choose(const struct flt *f, const struct flt_frame *fr, double max_age)
{
    bool warmup = f->in_epoch <= FLT_WARMUP;
    double best_key = 0.0;
    int best = -1;

    for (unsigned k = 0; k < f->n; k++) {
        const struct flt_sample *s = at(f, k);
        if (!takes_part(f, s, fr, max_age)) {
            continue;
        }
        double key = choice_key(s, fr);
        if (best < 0 || warmup || !(key > best_key)) {
            best = (int)k;
            best_key = key;
        }
    }
    return best;
}

/* Jitter: the RMS scatter of the samples about the straight line through them (n - 2
 * degrees of freedom). RFC 5905 section 10 takes the RMS about the chosen sample, which
 * also counts how far the frequency estimate misplaces older samples; fitting a line
 * removes that, so the jitter measures the path's noise even before the frequency is
 * known (how wrong old samples can be is the dispersion's part). With two samples it
 * is their difference as in the RFC, less what the frame's frequency uncertainty
 * explains over their distance in time (AGE_SIGMAS skews, as in the choice): before the
 * first frequency estimate two iburst samples of a clock 2000 ppm off differ by 4 ms
 * that are drift, not noise; with one sample the precision. */
static double jitter_of(const struct flt *f, const struct flt_frame *fr, double max_age,
                        double precision)
{
    double t[FLT_LEN], o[FLT_LEN], tm = 0.0, om = 0.0;
    int m = 0;

    for (unsigned k = 0; k < f->n; k++) {
        const struct flt_sample *s = at(f, k);
        if (takes_part(f, s, fr, max_age)) {
            t[m] = -age_s(s, fr);
            o[m] = offset_now(s, fr);
            tm += t[m];
            om += o[m];
            m++;
        }
    }
    double j = 0.0;
    if (m == 2) {
        j = fabs(o[1] - o[0]) - AGE_SIGMAS * fr->skew * fabs(t[1] - t[0]);
    } else if (m >= 3) {
        tm /= m;
        om /= m;
        double sxx = 0.0, sxy = 0.0, rss = 0.0;
        for (int i = 0; i < m; i++) {
            sxx += (t[i] - tm) * (t[i] - tm);
            sxy += (t[i] - tm) * (o[i] - om);
        }
        double slope = sxx > 0.0 ? sxy / sxx : 0.0;
        for (int i = 0; i < m; i++) {
            double r = o[i] - om - slope * (t[i] - tm);
            rss += r * r;
        }
        j = sqrt(rss / (sxx > 0.0 ? m - 2 : m - 1));
    }
    return j > precision ? j : precision;
}

/* Dispersion of the value handed out: the chosen sample's own (precisions and PHI over
 * the exchange, section 8) grown since it was taken, at PHI or faster while the frequency
 * is uncertain (growth_rate). RFC 5905 section 10 averages all stages' dispersions by
 * delay rank; the spread of the other stages is the jitter's part here, so an old stage
 * does not make a fresh sample look worse than it is. */
static double dispersion_of(const struct flt_sample *s, const struct flt_frame *fr)
{
    double eps = s->dispersion + growth_rate(fr) * age_s(s, fr);
    return eps < FLT_MAXDISP ? eps : FLT_MAXDISP;
}

/* RMS of the delays above the lowest one of the window; *n = samples taking part. */
static double delay_spread_of(const struct flt *f, const struct flt_frame *fr, double max_age,
                              int *n)
{
    double lo = INFINITY, sum = 0.0;

    *n = 0;
    for (unsigned k = 0; k < f->n; k++) {
        const struct flt_sample *s = at(f, k);
        if (takes_part(f, s, fr, max_age)) {
            lo = s->delay < lo ? s->delay : lo;
            (*n)++;
        }
    }
    for (unsigned k = 0; k < f->n; k++) {
        const struct flt_sample *s = at(f, k);
        if (takes_part(f, s, fr, max_age)) {
            sum += (s->delay - lo) * (s->delay - lo);
        }
    }
    return *n > 0 ? sqrt(sum / *n) : 0.0;
}

bool flt_estimate(const struct flt *f, const struct flt_frame *fr, double precision, double max_age,
                  struct flt_estimate *e)
{
    int c = choose(f, fr, max_age);

    if (c < 0) {
        return false;
    }
    const struct flt_sample *s = at(f, (unsigned)c);
    e->mono_ns = s->mono_ns;
    e->offset = offset_now(s, fr);
    e->delay = s->delay;
    e->dispersion = dispersion_of(s, fr);
    e->jitter = jitter_of(f, fr, max_age, precision);
    e->delay_spread = delay_spread_of(f, fr, max_age, &e->n);
    return true;
}

/* Both samples' true offsets lie within offset +- delay/2 (+ dispersion) whatever the
 * path asymmetry; when those intervals are far apart the offset itself moved. */
static bool contradicts(const struct flt_estimate *prev, const struct flt_sample *s,
                        const struct flt_frame *fr, double precision)
{
    double bound = (s->delay + prev->delay) / 2.0 + s->dispersion + prev->dispersion +
                   SHIFT_JITTERS * prev->jitter + 2.0 * precision;
    return fabs(offset_now(s, fr) - prev->offset) > bound;
}

static bool sample_is_finite(const struct flt_sample *s)
{
    return isfinite(s->offset) && isfinite(s->delay) && isfinite(s->dispersion) &&
           s->delay >= 0.0 && s->dispersion >= 0.0;
}

enum flt_verdict flt_add(struct flt *f, const struct flt_sample *s, const struct flt_frame *fr,
                         double precision, double max_age)
{
    struct flt_estimate prev;

    if (!sample_is_finite(s)) {
        return FLT_HELD;
    }
    bool had = flt_estimate(f, fr, precision, max_age, &prev);
    f->s[f->head] = *s;
    f->head = (f->head + 1) % FLT_LEN;
    if (f->n < FLT_LEN) {
        f->n++;
    }
    if (f->in_epoch < UINT32_MAX) {
        f->in_epoch++;
    }
    if (had && s->mono_ns >= f->epoch_mono_ns && contradicts(&prev, s, fr, precision)) {
        f->epoch_mono_ns = s->mono_ns;
        f->used_mono_ns = s->mono_ns;
        f->in_epoch = 1;
        return FLT_SHIFT;
    }
    int c = choose(f, fr, max_age);
    if (c < 0 || at(f, (unsigned)c)->mono_ns <= f->used_mono_ns) {
        return FLT_HELD;
    }
    f->used_mono_ns = at(f, (unsigned)c)->mono_ns;
    return FLT_NEW;
}

void flt_restart(struct flt *f, int64_t mono_ns)
{
    f->epoch_mono_ns = mono_ns;
    f->in_epoch = 0;
}

void flt_shift(struct flt *f, double d)
{
    for (unsigned k = 0; k < FLT_LEN; k++) {
        f->s[k].offset += d;
    }
}
