/* Kalman estimator of the clock's raw phase and frequency (state (phase, frequency), as
 * ntpd-rs does), made adaptive by a bank of filters that differ only in how fast the
 * frequency may wander: a stable crystal is averaged over hours, a VM clock with strong
 * wander is followed within a few samples. The output weighs the filters by the recent
 * likelihood of their innovations (multiple-model adaptive estimation); filters slower
 * than the winner that fell behind restart from it. Pure; state in caller storage. */
#include <math.h>
#include <string.h>

#include "core/dsc.h"
#include "core/dsc_private.h"

#define KAL_MODELS       8
#define KAL_FORGET       0.98    /* per-update forgetting of the models' log-likelihoods */
#define KAL_CUTOFF       (-12.0) /* nats behind the best: no weight, restart if slower */
#define KAL_WHITE_FM     1e-20   /* s^2/s: oscillator white frequency noise */
#define KAL_FREQ_DIFFUSE 1.0     /* (s/s)^2: frequency unknown (far beyond +-100000 ppm) */

/* Random-walk frequency noise of each model, (s/s)^2 per s: from a clock steadier than
 * the network can tell (1e-24: 0.00003 ppm per 1000 s) over a crystal in a quiet room
 * (1e-20: 0.003 ppm per 1000 s) to a VM clock wandering by ppm within seconds (1e-10). */
static const double model_q[KAL_MODELS] = {1e-24, 1e-22, 1e-20, 1e-18, 1e-16, 1e-14, 1e-12, 1e-10};

struct kal_model {
    double x[2];  /* phase (s), frequency (s/s) */
    double p[3];  /* covariance: phase-phase, phase-freq, freq-freq */
    double mu;    /* output weight */
    double score; /* forgetting sum of innovation log-likelihoods */
};

struct kal {
    bool have;       /* at least one sample */
    bool freq_valid; /* two samples, or a seeded frequency */
    bool seeded;
    double seed_freq, seed_var;
    double t; /* time of the last sample (s) */
    struct kal_model m[KAL_MODELS];
};

_Static_assert(sizeof(struct kal) <= sizeof(((struct dsc *)0)->est), "kal state fits");

static void kal_init(void *st)
{
    memset(st, 0, sizeof(struct kal));
}

static void combine(const struct kal *k, double x[2], double p[3]);

static void kal_reset(void *st, bool keep_freq)
{
    struct kal *k = st;
    if (keep_freq && k->have && k->freq_valid) {
        double x[2];
        double p[3];
        combine(k, x, p);
        k->seeded = true;
        k->seed_freq = x[1];
        k->seed_var = p[2];
    } else if (!keep_freq) {
        k->seeded = false;
    }
    k->have = false;
    k->freq_valid = k->seeded;
}

static void kal_seed_freq(void *st, double freq, double var)
{
    struct kal *k = st;
    k->seeded = true;
    k->seed_freq = freq;
    k->seed_var = var;
    if (!k->have) {
        k->freq_valid = true;
        return;
    }
    for (int i = 0; i < KAL_MODELS; i++) {
        k->m[i].x[1] = freq;
        k->m[i].p[1] = 0.0;
        k->m[i].p[2] = var;
    }
    k->freq_valid = true;
}

/* Propagates one model over dt: phase += freq * dt; covariance F P F' + Q. */
static void propagate(const struct kal_model *in, double q, double dt, struct kal_model *out)
{
    double adt = fabs(dt);
    *out = *in;
    out->x[0] = in->x[0] + in->x[1] * dt;
    out->p[0] = in->p[0] + 2.0 * dt * in->p[1] + dt * dt * in->p[2];
    out->p[1] = in->p[1] + dt * in->p[2];
    out->p[0] += q * adt * adt * adt / 3.0 + KAL_WHITE_FM * adt;
    out->p[1] += q * dt * adt / 2.0;
    out->p[2] += q * adt;
}

/* Moment-matched mixture of the models (the output). */
static void combine(const struct kal *k, double x[2], double p[3])
{
    x[0] = x[1] = 0.0;
    for (int i = 0; i < KAL_MODELS; i++) {
        x[0] += k->m[i].mu * k->m[i].x[0];
        x[1] += k->m[i].mu * k->m[i].x[1];
    }
    p[0] = p[1] = p[2] = 0.0;
    for (int i = 0; i < KAL_MODELS; i++) {
        const struct kal_model *m = &k->m[i];
        double d0 = m->x[0] - x[0];
        double d1 = m->x[1] - x[1];
        p[0] += m->mu * (m->p[0] + d0 * d0);
        p[1] += m->mu * (m->p[1] + d0 * d1);
        p[2] += m->mu * (m->p[2] + d1 * d1);
    }
}

static void first_sample(struct kal *k, double t, double z, double var)
{
    for (int i = 0; i < KAL_MODELS; i++) {
        struct kal_model *m = &k->m[i];
        m->x[0] = z;
        m->x[1] = k->seeded ? k->seed_freq : 0.0;
        m->p[0] = var;
        m->p[1] = 0.0;
        m->p[2] = k->seeded ? k->seed_var : KAL_FREQ_DIFFUSE;
        m->mu = 1.0 / KAL_MODELS;
        m->score = 0.0;
    }
    k->have = true;
    k->freq_valid = k->seeded;
    k->t = t;
}

/* Measurement update of one model; returns the log-likelihood of its innovation. */
static double measure(struct kal_model *m, double z, double var)
{
    double s = m->p[0] + var;
    double nu = z - m->x[0];
    double k0 = m->p[0] / s;
    double k1 = m->p[1] / s;
    double p0 = m->p[0];
    double p1 = m->p[1];
    m->x[0] += k0 * nu;
    m->x[1] += k1 * nu;
    m->p[0] = p0 - k0 * p0;
    m->p[1] = p1 - k0 * p1;
    m->p[2] = m->p[2] - k1 * p1;
    /* Covariances stay symmetric positive by construction; rounding must not undo it. */
    if (m->p[0] < 0.0) {
        m->p[0] = 0.0;
    }
    if (m->p[2] < 0.0) {
        m->p[2] = 0.0;
    }
    return -0.5 * (nu * nu / s + log(s));
}

static int best_model(const struct kal *k)
{
    int b = 0;
    for (int j = 1; j < KAL_MODELS; j++) {
        if (k->m[j].score > k->m[b].score) {
            b = j;
        }
    }
    return b;
}

/* Weights for the output: a softmax of the scores; models far behind get none, so a
 * model with a huge frequency variance never blurs a good one. */
static void update_mu(struct kal *k)
{
    double best = k->m[best_model(k)].score;
    double sum = 0.0;
    for (int j = 0; j < KAL_MODELS; j++) {
        double w = k->m[j].score - best > KAL_CUTOFF ? exp(k->m[j].score - best) : 0.0;
        k->m[j].mu = w;
        sum += w;
    }
    for (int j = 0; j < KAL_MODELS; j++) {
        k->m[j].mu /= sum;
    }
}

/* A model with slower wander than the winner that fell far behind holds a stale
 * frequency it would need ages to unlearn: it restarts from the winner's state. */
static void restart_laggards(struct kal *k)
{
    int b = best_model(k);
    for (int j = 0; j < b; j++) {
        if (k->m[j].score < k->m[b].score + KAL_CUTOFF) {
            double score = k->m[b].score + KAL_CUTOFF / 2.0;
            memcpy(k->m[j].x, k->m[b].x, sizeof k->m[j].x);
            memcpy(k->m[j].p, k->m[b].p, sizeof k->m[j].p);
            k->m[j].score = score;
        }
    }
}

static void kal_add_sample(void *st, double t, double z, double var)
{
    struct kal *k = st;
    if (!k->have) {
        first_sample(k, t, z, var);
        return;
    }
    double dt = t - k->t;
    for (int j = 0; j < KAL_MODELS; j++) {
        struct kal_model pred;
        propagate(&k->m[j], model_q[j], dt, &pred);
        double ll = measure(&pred, z, var);
        pred.score = KAL_FORGET * k->m[j].score + ll;
        k->m[j] = pred;
    }
    restart_laggards(k);
    update_mu(k);
    /* A frequency needs two samples at different times (or a seed). */
    if (dt != 0.0) {
        k->freq_valid = true;
    }
    if (t > k->t) {
        k->t = t;
    }
}

static void kal_predict(const void *st, double t, struct est_pred *out)
{
    const struct kal *k = st;
    memset(out, 0, sizeof *out);
    if (!k->have) {
        out->freq_valid = k->seeded;
        out->freq = k->seeded ? k->seed_freq : 0.0;
        out->var_freq = k->seeded ? k->seed_var : KAL_FREQ_DIFFUSE;
        return;
    }
    struct kal moved = *k;
    for (int j = 0; j < KAL_MODELS; j++) {
        propagate(&k->m[j], model_q[j], t - k->t, &moved.m[j]);
    }
    double x[2];
    double p[3];
    combine(&moved, x, p);
    out->valid = true;
    out->freq_valid = k->freq_valid;
    out->phase = x[0];
    out->freq = x[1];
    out->var_phase = p[0];
    out->var_freq = p[2];
}

static void kal_rebase(void *st, double dz)
{
    struct kal *k = st;
    for (int j = 0; j < KAL_MODELS; j++) {
        k->m[j].x[0] += dz;
    }
}

static void kal_widen(void *st, double var_phase, double var_freq)
{
    struct kal *k = st;
    for (int j = 0; j < KAL_MODELS; j++) {
        k->m[j].p[0] += var_phase;
        k->m[j].p[2] += var_freq;
    }
}

/* The bank's view of the wander: the models' noise levels by the models' weights. Models
 * too slow for the data to tell apart share their weight, so the mean leans to the
 * fastest wander the data still allows: the safe side for choosing a poll interval. */
static double kal_wander(const void *st)
{
    const struct kal *k = st;
    if (!k->have || !k->freq_valid) {
        return -1.0;
    }
    double q = 0.0;
    for (int j = 0; j < KAL_MODELS; j++) {
        q += k->m[j].mu * model_q[j];
    }
    return q;
}

const struct est_ops est_kal_ops = {
    .name = "kalman",
    .state_size = sizeof(struct kal),
    .init = kal_init,
    .reset = kal_reset,
    .seed_freq = kal_seed_freq,
    .add_sample = kal_add_sample,
    .predict = kal_predict,
    .rebase = kal_rebase,
    .widen = kal_widen,
    .wander = kal_wander,
};
