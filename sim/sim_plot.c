/* SVG plot of offsets over time. Samples are reduced to one bin per horizontal pixel:
 * on the log scale each bin shows its largest |offset| (a spike is never hidden); on the
 * linear scale a band from the bin's minimum to its maximum plus the mean as a line. */
#include "sim/sim_plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W    1000
#define H    560
#define PX0  90 /* plot area */
#define PX1  800
#define PY0  60
#define PY1  490
#define BINS (PX1 - PX0)

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                     "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
#define N_COLORS (sizeof(colors) / sizeof(colors[0]))

struct axis {
    double lo, hi; /* data range (seconds, or log10 of seconds) */
    bool log;
};

struct bins {
    double min[BINS], max[BINS], amax[BINS], sum[BINS];
    size_t n[BINS];
};

struct plot {
    FILE *f;
    const struct sim_world *w;
    struct axis x, y;
    double t_scale; /* seconds per time-axis unit */
    const char *t_unit;
};

static double px_x(const struct plot *p, double t)
{
    return PX0 + (t - p->x.lo) / (p->x.hi - p->x.lo) * (PX1 - PX0);
}

static double px_y(const struct plot *p, double v)
{
    double y = p->y.log ? log10(fmax(fabs(v), 1e-300)) : v;

    y = fmin(fmax(y, p->y.lo), p->y.hi);
    return PY1 - (y - p->y.lo) / (p->y.hi - p->y.lo) * (PY1 - PY0);
}

static void fill_bins(const struct plot *p, const struct sim_node *nd, struct bins *b)
{
    double dt = p->w->scn->sample;

    for (size_t i = 0; i < BINS; i++) {
        b->min[i] = INFINITY;
        b->max[i] = -INFINITY;
        b->amax[i] = 0;
        b->sum[i] = 0;
        b->n[i] = 0;
    }
    for (size_t k = 0; k < p->w->n_samples; k++) {
        double t = (double)k * dt;
        size_t i = (size_t)((t - p->x.lo) / (p->x.hi - p->x.lo) * BINS);
        double v = nd->offset[k];
        i = i < BINS ? i : BINS - 1;
        b->min[i] = fmin(b->min[i], v);
        b->max[i] = fmax(b->max[i], v);
        b->amax[i] = fmax(b->amax[i], fabs(v));
        b->sum[i] += v;
        b->n[i]++;
    }
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving about `want` intervals. */
static double nice_step(double range, int want)
{
    double raw = range / want;
    double p10 = pow(10, floor(log10(raw)));
    double m = raw / p10;

    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p10;
}

/* Seconds with the unit that fits the scale (ns, µs, ms, s). */
static void fmt_value(double v, double scale, char *out, size_t n)
{
    static const struct {
        double f;
        const char *u;
    } u[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}};
    size_t i = 0;

    while (i + 1 < sizeof(u) / sizeof(u[0]) && scale < u[i].f * 0.999) {
        i++;
    }
    snprintf(out, n, "%g %s", round(v / u[i].f * 1e6) / 1e6, u[i].u);
}

static void text(const struct plot *p, double x, double y, const char *anchor, const char *extra,
                 const char *s)
{
    fprintf(p->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, extra);
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", p->f);
            break;
        case '>':
            fputs("&gt;", p->f);
            break;
        case '&':
            fputs("&amp;", p->f);
            break;
        default:
            fputc(*s, p->f);
        }
    }
    fputs("</text>\n", p->f);
}

static void hline(const struct plot *p, double y, const char *style)
{
    fprintf(p->f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" %s/>\n", PX0, y, PX1, y,
            style);
}

static void time_axis(struct plot *p)
{
    double d = p->w->scn->duration;
    char label[64];

    p->t_scale = d <= 900 ? 1 : d <= 4 * 3600 ? 60 : 3600;
    p->t_unit = p->t_scale == 1 ? "s" : p->t_scale == 60 ? "min" : "h";
    double step = nice_step(d / p->t_scale, 8);
    for (double v = 0; v <= d / p->t_scale + 1e-9; v += step) {
        double x = px_x(p, v * p->t_scale);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>\n", x,
                PY0, x, PY1);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>\n", x,
                PY1, x, PY1 + 5);
        snprintf(label, sizeof(label), "%g", v);
        text(p, x, PY1 + 20, "middle", "", label);
    }
    snprintf(label, sizeof(label), "true time since start (%s)", p->t_unit);
    text(p, (PX0 + PX1) / 2.0, PY1 + 42, "middle", "", label);
}

static void log_axis(struct plot *p)
{
    char label[64];

    for (int e = (int)floor(p->y.lo); e <= (int)ceil(p->y.hi); e++) {
        for (int m = 1; m <= 9; m++) {
            double v = m * pow(10, e);
            double ly = log10(v);
            if (ly < p->y.lo - 1e-9 || ly > p->y.hi + 1e-9) {
                continue;
            }
            double y = px_y(p, v);
            hline(p, y, m == 1 ? "class=\"grid\"" : "class=\"minor\"");
            if (m == 1) {
                fmt_value(v, v, label, sizeof(label));
                text(p, PX0 - 8, y + 4, "end", "", label);
            }
        }
    }
    text(p, 22, (PY0 + PY1) / 2.0, "middle", "transform=\"rotate(-90 22 275)\"",
         "|offset| of the clock vs true time (log)");
}

static void linear_axis(struct plot *p)
{
    char label[64];
    double step = nice_step(p->y.hi - p->y.lo, 8);

    for (double v = -floor(p->y.hi / step) * step; v <= p->y.hi + 1e-15; v += step) {
        double y = px_y(p, v);
        hline(p, y, fabs(v) < step / 2 ? "class=\"axis\"" : "class=\"grid\"");
        fmt_value(fabs(v) < step / 2 ? 0 : v, step, label, sizeof(label));
        text(p, PX0 - 8, y + 4, "end", "", label);
    }
    text(p, 22, (PY0 + PY1) / 2.0, "middle", "transform=\"rotate(-90 22 275)\"",
         "offset (true time - clock; values beyond the range sit on the edge)");
}

static void guides(const struct plot *p)
{
    static const struct {
        double v;
        const char *label;
    } g[] = {{1e-3, "1 ms"}, {100e-6, "100 µs"}};

    for (size_t i = 0; i < 2; i++) {
        for (int sign = 1; sign >= (p->y.log ? 1 : -1); sign -= 2) {
            double v = sign * g[i].v;
            double y = p->y.log ? log10(g[i].v) : v;
            /* A guide squeezed against the zero line says nothing and hides its label. */
            if (y <= p->y.lo || y >= p->y.hi || (!p->y.log && fabs(px_y(p, v) - px_y(p, 0)) < 14)) {
                continue;
            }
            hline(p, px_y(p, v), "class=\"guide\"");
            text(p, PX1 - 4, px_y(p, v) - 3, "end", "class=\"small\"", g[i].label);
        }
    }
}

static void markers(const struct plot *p)
{
    const struct sim_scn *s = p->w->scn;
    char label[96];

    if (s->warmup > 0) {
        fprintf(p->f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"warm\"/>\n",
                PX0, PY0, px_x(p, s->warmup) - PX0, PY1 - PY0);
        text(p, PX0 + 4, PY0 + 14, "start", "class=\"small\"", "warm-up");
    }
    for (size_t i = 0; i < s->n_outages; i++) {
        double x0 = px_x(p, fmin(s->outages[i].start, s->duration));
        double x1 = px_x(p, fmin(s->outages[i].end, s->duration));
        fprintf(p->f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"out\"/>\n",
                x0, PY0, x1 - x0, PY1 - PY0);
        text(p, x0 + 4, PY0 + 28, "start", "class=\"small\"", "outage");
    }
    for (size_t i = 0; i < s->n_injects; i++) {
        const struct sim_inject *in = &s->injects[i];
        double x = px_x(p, in->at);
        if (in->at > s->duration) {
            continue;
        }
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"step\"/>\n", x,
                PY0, x, PY1);
        snprintf(label, sizeof(label), "%s %s %+g %s",
                 in->kind == SIM_INJECT_STEP ? "step" : "freq", s->nodes[in->node].name, in->value,
                 in->kind == SIM_INJECT_STEP ? "s" : "ppm");
        text(p, x + 3, PY0 + 42, "start", "class=\"small\"", label);
    }
}

static void series(const struct plot *p, const struct sim_node *nd, const char *color,
                   struct bins *b)
{
    fill_bins(p, nd, b);
    if (!p->y.log) {
        fprintf(p->f, "<polygon fill=\"%s\" fill-opacity=\"0.25\" stroke=\"none\" points=\"",
                color);
        for (size_t i = 0; i < BINS; i++) {
            if (b->n[i]) {
                fprintf(p->f, "%zu,%.1f ", PX0 + i, px_y(p, b->max[i]));
            }
        }
        for (size_t i = BINS; i-- > 0;) {
            if (b->n[i]) {
                fprintf(p->f, "%zu,%.1f ", PX0 + i, px_y(p, b->min[i]));
            }
        }
        fprintf(p->f, "\"/>\n");
    }
    fprintf(p->f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\" points=\"", color);
    for (size_t i = 0; i < BINS; i++) {
        if (b->n[i]) {
            double v = p->y.log ? b->amax[i] : b->sum[i] / (double)b->n[i];
            fprintf(p->f, "%zu,%.1f ", PX0 + i, px_y(p, v));
        }
    }
    fprintf(p->f, "\"/>\n");
}

static void legend(const struct plot *p)
{
    int row = 0;

    text(p, PX1 + 15, PY0 + 4, "start", "font-weight=\"bold\"", "clients");
    for (size_t i = 0; i < p->w->n; i++) {
        const struct sim_node *nd = &p->w->nodes[i];
        if (nd->eng == NULL) {
            continue;
        }
        double y = PY0 + 24 + 20 * row;
        fprintf(p->f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>\n",
                PX1 + 15, y - 4, PX1 + 40, y - 4, colors[row % N_COLORS]);
        text(p, PX1 + 46, y, "start", "", nd->spec->name);
        row++;
    }
}

/* y range: log decades around the binned |offset|s, or symmetric around the largest
 * |offset| after the warm-up. */
static void y_range(struct plot *p, struct bins *b)
{
    double lo = INFINITY, hi = 0, m = 0;
    size_t first = (size_t)(p->w->scn->warmup / p->w->scn->duration * BINS);

    for (size_t i = 0; i < p->w->n; i++) {
        if (p->w->nodes[i].eng == NULL) {
            continue;
        }
        fill_bins(p, &p->w->nodes[i], b);
        for (size_t k = 0; k < BINS; k++) {
            if (b->n[k] && b->amax[k] > 0) {
                lo = fmin(lo, b->amax[k]);
                hi = fmax(hi, b->amax[k]);
            }
            if (b->n[k] && (k >= first || first >= BINS)) {
                m = fmax(m, b->amax[k]);
            }
        }
    }
    if (p->y.log) {
        p->y.lo = isfinite(lo) ? fmax(floor(log10(lo)), -9) : -9;
        p->y.hi = hi > 0 ? fmax(ceil(log10(hi)), p->y.lo + 2) : p->y.lo + 2;
    } else {
        double s = m > 0 ? nice_step(m * 1.1, 4) : 1e-6;
        p->y.hi = ceil(m * 1.1 / s) * s;
        p->y.hi = p->y.hi > 0 ? p->y.hi : 1e-6;
        p->y.lo = -p->y.hi;
    }
}

static void header(const struct plot *p)
{
    char title[256];

    fprintf(p->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<style>.grid{stroke:#ddd}.minor{stroke:#f2f2f2}.axis{stroke:#333}"
            ".guide{stroke:#888;stroke-dasharray:6 4}.step{stroke:#c00;stroke-dasharray:3 3}"
            ".warm{fill:#f4f4f4}.out{fill:#fde0c5;fill-opacity:0.7}"
            ".small{font-size:10px;fill:#555}</style>\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, H, W, H, W, H);
    snprintf(title, sizeof(title), "tsync-sim: %s (seed %llu, %s scale)", p->w->scn->name,
             (unsigned long long)p->w->scn->seed, p->y.log ? "log" : "linear");
    text(p, W / 2.0, 28, "middle", "font-size=\"16\" font-weight=\"bold\"", title);
}

int sim_plot_svg(const struct sim_world *w, const char *path, enum sim_plot_scale scale, char *err,
                 size_t n)
{
    struct plot p = {.w = w, .x = {0, w->scn->duration, false}, .y = {0, 1, scale == SIM_PLOT_LOG}};
    struct bins *b = malloc(sizeof(*b));
    int row = 0;

    p.f = b ? fopen(path, "w") : NULL;
    if (p.f == NULL) {
        snprintf(err, n, "%s: %s", path, b ? strerror(errno) : "out of memory");
        free(b);
        return -1;
    }
    y_range(&p, b);
    header(&p);
    markers(&p);
    time_axis(&p);
    p.y.log ? log_axis(&p) : linear_axis(&p);
    guides(&p);
    for (size_t i = 0; i < w->n; i++) {
        if (w->nodes[i].eng != NULL) {
            series(&p, &w->nodes[i], colors[row++ % N_COLORS], b);
        }
    }
    fprintf(p.f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
            "class=\"axis\"/>\n",
            PX0, PY0, PX1 - PX0, PY1 - PY0);
    legend(&p);
    fprintf(p.f, "</svg>\n");
    free(b);
    if (fclose(p.f) != 0) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
