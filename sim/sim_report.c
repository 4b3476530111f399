/* Metrics from the samples of a run, and the text and CSV outputs. Offsets follow the
 * project's sign (what must be added to the clock); statistics use their magnitude.
 * "Steady state" (rms_offset, max_offset) leaves out, after the warm-up, every
 * disturbance window up to the time the node is back below 100 us (1 ms if it never
 * gets there): those have their own metrics (recovery times, holdover drift). */
#include "sim/sim_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DISTURBANCES 256
#define THR_1MS          1e-3
#define THR_100US        100e-6
#define FREQ_AVG_WINDOW  600.0 /* s: freq_error_avg_ppm averages the end of the run */

void sim_metrics_init(struct sim_metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void sim_metrics_free(struct sim_metrics *m)
{
    free(m->m);
    memset(m, 0, sizeof(*m));
}

bool sim_metrics_add(struct sim_metrics *m, double value, const char *fmt, ...)
{
    va_list ap;

    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct sim_metric *a = realloc(m->m, cap * sizeof(*a));
        if (a == NULL) {
            return false;
        }
        m->m = a;
        m->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(m->m[m->n].key, sizeof(m->m[m->n].key), fmt, ap);
    va_end(ap);
    m->m[m->n++].value = value;
    return true;
}

bool sim_metrics_get(const struct sim_metrics *m, const char *key, double *value)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->m[i].key, key) == 0) {
            *value = m->m[i].value;
            return true;
        }
    }
    return false;
}

/* First sample index at or after t. */
static size_t index_at(double t, double dt)
{
    double k = ceil(t / dt - 1e-9);
    return k > 0 ? (size_t)k : 0;
}

double sim_report_settle(const double *offset, size_t n, double dt, double from, double until,
                         double thr)
{
    size_t k0 = index_at(from, dt);
    size_t k1 = index_at(until, dt);
    size_t last_bad = SIZE_MAX;

    k1 = k1 < n ? k1 : n;
    if (k0 >= k1) {
        return NAN;
    }
    for (size_t k = k0; k < k1; k++) {
        if (!(fabs(offset[k]) < thr)) {
            last_bad = k;
        }
    }
    if (last_bad == SIZE_MAX) {
        return 0.0;
    }
    if (last_bad == k1 - 1) {
        return INFINITY;
    }
    return (double)(last_bad + 1) * dt - from;
}

static int cmp_disturbance(const void *a, const void *b)
{
    const struct sim_disturbance *x = a, *y = b;

    return (x->start > y->start) - (x->start < y->start);
}

size_t sim_report_disturbances(const struct sim_world *w, size_t i, struct sim_disturbance *d,
                               size_t max)
{
    const struct sim_scn *s = w->scn;
    size_t n = 0;

    for (size_t k = 0; k < s->n_injects && n < max; k++) {
        const struct sim_inject *in = &s->injects[k];
        if (in->kind == SIM_INJECT_STEP && in->node == (int)i && in->at <= s->duration) {
            d[n++] = (struct sim_disturbance){.outage = false, .start = in->at, .end = in->at};
        }
    }
    for (size_t k = 0; k < s->n_outages && n < max; k++) {
        const struct sim_outage *o = &s->outages[k];
        bool global = o->a < 0 && o->b < 0;
        if ((global || o->a == (int)i) && o->start <= s->duration) {
            d[n++] = (struct sim_disturbance){.outage = true, .start = o->start, .end = o->end};
        }
    }
    qsort(d, n, sizeof(*d), cmp_disturbance);
    return n;
}

/* Accumulators over the samples of one node. */
struct acc {
    double sum2, max;
    size_t n;
};

static void acc_add(struct acc *a, double v)
{
    a->sum2 += v * v;
    a->max = fabs(v) > a->max ? fabs(v) : a->max;
    a->n++;
}

static double acc_rms(const struct acc *a)
{
    return a->n ? sqrt(a->sum2 / (double)a->n) : NAN;
}

struct node_ctx {
    const struct sim_world *w;
    const struct sim_node *nd;
    struct sim_metrics *m;
    double dt;
    size_t n;
    size_t nd_count;
    struct sim_disturbance d[MAX_DISTURBANCES];
    double recover_1ms[MAX_DISTURBANCES], recover_100us[MAX_DISTURBANCES];
    bool ok;
};

static void put(struct node_ctx *c, const char *key, double v)
{
    c->ok &= sim_metrics_add(c->m, v, "%s.%s", c->nd->spec->name, key);
}

/* End of the quiet stretch after disturbance k (the next one's start, or the run's end). */
static double next_start(const struct node_ctx *c, size_t k)
{
    return k + 1 < c->nd_count ? c->d[k + 1].start : c->w->scn->duration + c->dt;
}

static bool excluded(const struct node_ctx *c, double t)
{
    for (size_t k = 0; k < c->nd_count; k++) {
        double r = isfinite(c->recover_100us[k]) ? c->recover_100us[k] : c->recover_1ms[k];
        double stop = isfinite(r) ? c->d[k].end + r : next_start(c, k);
        if (t >= c->d[k].start && t < stop) {
            return true;
        }
    }
    return false;
}

/* The frequency error averaged over the last FREQ_AVG_WINDOW s after the warm-up: what
 * the discipline learned, without the temporary slew that a sample at the very end may
 * catch (an offset of 30 us removed in 16 s is 2 ppm for those 16 s). */
static double mean_rate_at_end(const struct node_ctx *c)
{
    double sum = 0.0;
    size_t n = 0;
    double from = (double)c->n * c->dt - FREQ_AVG_WINDOW;

    from = from > c->w->scn->warmup ? from : c->w->scn->warmup;
    for (size_t k = 0; k < c->n; k++) {
        if ((double)k * c->dt >= from) {
            sum += c->nd->rate_ppm[k];
            n++;
        }
    }
    return n ? sum / (double)n : NAN;
}

static void steady_metrics(struct node_ctx *c)
{
    struct acc steady = {0}, all = {0}, rate = {0};
    size_t synced = 0, bound_bad = 0, after = 0, false_sel = 0;

    for (size_t k = 0; k < c->n; k++) {
        double t = (double)k * c->dt;
        false_sel += (c->nd->flags[k] & SIM_SAMPLE_FALSE_SEL) != 0;
        if (t < c->w->scn->warmup) {
            continue;
        }
        after++;
        acc_add(&all, c->nd->offset[k]);
        acc_add(&rate, c->nd->rate_ppm[k]);
        synced += (c->nd->flags[k] & SIM_SAMPLE_SYNCED) != 0;
        bound_bad += (c->nd->flags[k] & SIM_SAMPLE_BOUND_BAD) != 0;
        if (!excluded(c, t)) {
            acc_add(&steady, c->nd->offset[k]);
        }
    }
    put(c, "rms_offset", acc_rms(&steady));
    put(c, "max_offset", steady.n ? steady.max : NAN);
    put(c, "max_offset_all", all.n ? all.max : NAN);
    put(c, "rms_freq_error_ppm", acc_rms(&rate));
    put(c, "freq_error_avg_ppm", mean_rate_at_end(c));
    put(c, "synced_fraction", after ? (double)synced / (double)after : NAN);
    put(c, "bound_violations", (double)bound_bad);
    put(c, "followed_falseticker", (double)false_sel * c->dt);
}

static void settle_metrics(struct node_ctx *c)
{
    double until = c->nd_count ? c->d[0].start : c->w->scn->duration + c->dt;
    double worst[2][3] = {{0, 0, 0}, {0, 0, 0}}; /* [outage][1ms, 100us, drift] */
    bool seen[2] = {false, false};

    put(c, "sync_1ms", sim_report_settle(c->nd->offset, c->n, c->dt, 0, until, THR_1MS));
    put(c, "sync_100us", sim_report_settle(c->nd->offset, c->n, c->dt, 0, until, THR_100US));
    for (size_t k = 0; k < c->nd_count; k++) {
        const struct sim_disturbance *d = &c->d[k];
        double r1 =
            sim_report_settle(c->nd->offset, c->n, c->dt, d->end, next_start(c, k), THR_1MS);
        double r2 =
            sim_report_settle(c->nd->offset, c->n, c->dt, d->end, next_start(c, k), THR_100US);
        double drift = 0;
        for (size_t j = index_at(d->start, c->dt); j < c->n && (double)j * c->dt < d->end; j++) {
            drift = fmax(drift, fabs(c->nd->offset[j]));
        }
        c->recover_1ms[k] = isnan(r1) ? 0 : r1;
        c->recover_100us[k] = isnan(r2) ? 0 : r2;
        seen[d->outage] = true;
        worst[d->outage][0] = fmax(worst[d->outage][0], isnan(r1) ? 0 : r1);
        worst[d->outage][1] = fmax(worst[d->outage][1], isnan(r2) ? 0 : r2);
        worst[d->outage][2] = fmax(worst[d->outage][2], drift);
    }
    if (seen[0]) {
        put(c, "step_recover_1ms", worst[0][0]);
        put(c, "step_recover_100us", worst[0][1]);
    }
    if (seen[1]) {
        put(c, "outage_recover_1ms", worst[1][0]);
        put(c, "outage_recover_100us", worst[1][1]);
        put(c, "holdover_max_offset", worst[1][2]);
    }
}

static void counter_metrics(struct node_ctx *c)
{
    const struct sim_node_stats *st = &c->nd->st;
    size_t last = c->n ? c->n - 1 : 0;

    put(c, "freq_error_ppm", c->n ? c->nd->rate_ppm[last] : NAN);
    put(c, "freq_corr_ppm", c->n ? c->nd->corr_ppm[last] : NAN);
    put(c, "final_offset", c->n ? c->nd->offset[last] : NAN);
    put(c, "steps", (double)st->steps);
    put(c, "step_total", st->step_abs_total);
    put(c, "ext_steps_reported", (double)st->ext_steps);
    put(c, "first_synced", st->first_synced >= 0 ? st->first_synced : INFINITY);
    put(c, "kernel_leaps", (double)c->nd->clk.leaps);
    put(c, "leap_armed_lead", st->leap_lead);
    put(c, "sent", (double)st->sent);
    put(c, "received", (double)st->received);
    put(c, "lost", (double)st->lost);
    put(c, "cut", (double)st->cut);
    put(c, "no_listener", (double)st->no_listener);
    put(c, "resolve_failures", (double)st->resolve_failures);
    put(c, "freq_clamped", (double)st->freq_clamped);
    put(c, "drift_saves", (double)st->drift_saves);
    put(c, "action_overflow", (double)st->overflow);
    put(c, "call_too_deep", (double)st->too_deep);
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        char key[SIM_METRIC_KEY_MAX];
        snprintf(key, sizeof(key), "event.%s", act_event_kind_name((enum act_event_kind)k));
        put(c, key, (double)st->events[k]);
    }
}

/* What the engine counted itself: replies per drop reason over all sources. */
static void engine_metrics(struct node_ctx *c)
{
    struct sim_clock clk = c->nd->clk; /* a copy: reading advances a clock */
    struct core_time now = sim_clock_read(&clk, c->w->t_ns);
    struct eng_status st;
    struct eng_source_status ss;
    double drops[ENG_DROP_REASONS] = {0};

    eng_get_status(c->nd->eng, now, &st);
    put(c, "stray_replies", (double)st.stray_replies);
    for (size_t i = 0; i < eng_source_count(c->nd->eng); i++) {
        if (!eng_get_source(c->nd->eng, i, now, &ss)) {
            continue;
        }
        for (size_t r = 0; r < ENG_DROP_REASONS; r++) {
            drops[r] += (double)ss.drops[r];
        }
    }
    for (size_t r = 0; r < ENG_DROP_REASONS && eng_drop_reason_name(r) != NULL; r++) {
        char key[SIM_METRIC_KEY_MAX];
        snprintf(key, sizeof(key), "replies.%s", eng_drop_reason_name(r));
        put(c, key, drops[r]);
    }
}

bool sim_report_metrics(const struct sim_world *w, struct sim_metrics *m)
{
    struct node_ctx *c = malloc(sizeof(*c));
    bool ok = true;

    if (c == NULL) {
        return false;
    }
    for (size_t i = 0; i < w->n && ok; i++) {
        memset(c, 0, sizeof(*c));
        c->w = w;
        c->nd = &w->nodes[i];
        c->m = m;
        c->dt = w->scn->sample;
        c->n = w->n_samples;
        c->ok = true;
        if (c->nd->answers) {
            put(c, "answered", (double)c->nd->st.answered);
        }
        if (c->nd->eng != NULL) {
            c->nd_count = sim_report_disturbances(w, i, c->d, MAX_DISTURBANCES);
            settle_metrics(c);
            steady_metrics(c);
            counter_metrics(c);
            engine_metrics(c);
        }
        ok = c->ok;
    }
    free(c);
    return ok;
}

void sim_report_print_kv(FILE *f, const struct sim_metrics *m)
{
    for (size_t i = 0; i < m->n; i++) {
        fprintf(f, "%s=%.10g\n", m->m[i].key, m->m[i].value);
    }
}

void sim_report_fmt_seconds(double s, char *out, size_t n)
{
    double a = fabs(s);

    if (isnan(s)) {
        snprintf(out, n, "-");
    } else if (isinf(s)) {
        snprintf(out, n, "never");
    } else if (a == 0) {
        snprintf(out, n, "0");
    } else if (a < 1e-6) {
        snprintf(out, n, "%.3g ns", s * 1e9);
    } else if (a < 1e-3) {
        snprintf(out, n, "%.3g us", s * 1e6);
    } else if (a < 1) {
        snprintf(out, n, "%.3g ms", s * 1e3);
    } else {
        snprintf(out, n, "%.4g s", s);
    }
}

static double get(const struct sim_metrics *m, const char *node, const char *key)
{
    char k[SIM_METRIC_KEY_MAX];
    double v;

    snprintf(k, sizeof(k), "%s.%s", node, key);
    return sim_metrics_get(m, k, &v) ? v : NAN;
}

static void cell(FILE *f, const struct sim_metrics *m, const char *node, const char *key)
{
    char buf[32];

    sim_report_fmt_seconds(get(m, node, key), buf, sizeof(buf));
    fprintf(f, " %11s", buf);
}

static void print_disturbances(FILE *f, const struct sim_metrics *m, const char *node)
{
    char a[32], b[32], c[32];

    if (!isnan(get(m, node, "step_recover_1ms"))) {
        sim_report_fmt_seconds(get(m, node, "step_recover_1ms"), a, sizeof(a));
        sim_report_fmt_seconds(get(m, node, "step_recover_100us"), b, sizeof(b));
        fprintf(f, "  %-10s after an external step: within 1 ms in %s, within 100 us in %s\n", "",
                a, b);
    }
    if (!isnan(get(m, node, "outage_recover_1ms"))) {
        sim_report_fmt_seconds(get(m, node, "holdover_max_offset"), a, sizeof(a));
        sim_report_fmt_seconds(get(m, node, "outage_recover_1ms"), b, sizeof(b));
        sim_report_fmt_seconds(get(m, node, "outage_recover_100us"), c, sizeof(c));
        fprintf(f,
                "  %-10s outage: drifted up to %s; after it, within 1 ms in %s, within "
                "100 us in %s\n",
                "", a, b, c);
    }
}

static void print_events(FILE *f, const struct sim_node *nd)
{
    bool any = false;

    fprintf(f, "  %-10s events:", "");
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        if (nd->st.events[k] != 0) {
            fprintf(f, "%s %s %llu", any ? "," : "", act_event_kind_name((enum act_event_kind)k),
                    (unsigned long long)nd->st.events[k]);
            any = true;
        }
    }
    fprintf(f, "%s\n", any ? "" : " none");
}

/* The engine's source table at the end, next to the truth: the offset a perfect
 * measurement of each source would give (its clock minus ours). */
static void print_sources(FILE *f, const struct sim_world *w, const struct sim_node *nd)
{
    struct sim_clock clk = nd->clk;
    struct core_time now = sim_clock_read(&clk, w->t_ns);
    struct eng_source_status ss;
    char off[32], truth[32], delay[32], jit[32];

    for (size_t i = 0; i < eng_source_count(nd->eng); i++) {
        if (!eng_get_source(nd->eng, i, now, &ss) || ss.kind == 1) {
            continue;
        }
        int k = ss.addr.family ? sim_world_find_addr(w, &ss.addr) : -1;
        double t = NAN;
        if (k >= 0) {
            struct sim_clock sc = w->nodes[k].clk, cc = nd->clk;
            t = sim_clock_error(&sc, w->t_ns) - sim_clock_error(&cc, w->t_ns);
        }
        sim_report_fmt_seconds(ss.offset, off, sizeof(off));
        sim_report_fmt_seconds(t, truth, sizeof(truth));
        sim_report_fmt_seconds(ss.delay, delay, sizeof(delay));
        sim_report_fmt_seconds(ss.jitter, jit, sizeof(jit));
        fprintf(f,
                "  %-10s %c %-10s reach %03o poll %2d offset %10s (true %10s) delay %10s "
                "jitter %10s\n",
                "", ss.tally ? ss.tally : ' ', k >= 0 ? w->nodes[k].spec->name : ss.name, ss.reach,
                ss.poll_log2, off, truth, delay, jit);
    }
}

void sim_report_print_table(FILE *f, const struct sim_world *w, const struct sim_metrics *m)
{
    fprintf(f, "  %-10s %11s %11s %11s %11s %11s %9s %5s\n", "node", "rms_offset", "max_offset",
            "sync_1ms", "sync_100us", "final_off", "freq_err", "steps");
    for (size_t i = 0; i < w->n; i++) {
        const struct sim_node *nd = &w->nodes[i];
        const char *name = nd->spec->name;
        if (nd->eng == NULL) {
            continue;
        }
        fprintf(f, "  %-10s", name);
        cell(f, m, name, "rms_offset");
        cell(f, m, name, "max_offset");
        cell(f, m, name, "sync_1ms");
        cell(f, m, name, "sync_100us");
        cell(f, m, name, "final_offset");
        fprintf(f, " %9.3g %5.0f\n", get(m, name, "freq_error_ppm"), get(m, name, "steps"));
        print_disturbances(f, m, name);
        if (get(m, name, "followed_falseticker") > 0) {
            fprintf(f, "  %-10s followed a falseticker for %.1f s\n", "",
                    get(m, name, "followed_falseticker"));
        }
        print_events(f, nd);
        print_sources(f, w, nd);
    }
}

int sim_report_write_csv(const struct sim_world *w, const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "w");
    size_t every = (size_t)llround(w->scn->csv_interval / w->scn->sample);

    if (f == NULL) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    every = every ? every : 1;
    fprintf(f, "time_s");
    for (size_t i = 0; i < w->n; i++) {
        const char *name = w->nodes[i].spec->name;
        fprintf(f, ",%s_offset_s", name);
        if (w->nodes[i].eng != NULL) {
            fprintf(f, ",%s_freq_corr_ppm,%s_freq_error_ppm,%s_synced,%s_maxerror_s", name, name,
                    name, name);
        }
    }
    fprintf(f, "\n");
    for (size_t k = 0; k < w->n_samples; k += every) {
        fprintf(f, "%.3f", (double)k * w->scn->sample);
        for (size_t i = 0; i < w->n; i++) {
            const struct sim_node *nd = &w->nodes[i];
            fprintf(f, ",%.9g", nd->offset[k]);
            if (nd->eng != NULL) {
                fprintf(f, ",%.6g,%.6g,%d,%.6g", nd->corr_ppm[k], nd->rate_ppm[k],
                        (nd->flags[k] & SIM_SAMPLE_SYNCED) != 0, nd->maxerror[k]);
            }
        }
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
