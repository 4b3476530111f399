/* SVG figures (plot_svg.h). Each series is reduced to one bin per horizontal pixel: on
 * a log panel a bin shows its largest |value| (a spike is never hidden); on a linear
 * panel a band from the bin's minimum to its maximum plus the mean as a line. */
#include "plot/plot_svg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W         1000
#define PX0       90 /* plot area, horizontally */
#define PX1       800
#define TOP       60
#define BINS      (PX1 - PX0)
#define LOG_FLOOR (-9) /* decades below 1 ns (or 1e-9 of a plain unit) are not drawn */

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                     "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
#define N_COLORS (sizeof(colors) / sizeof(colors[0]))

struct bins {
    double min[BINS], max[BINS], amax[BINS], sum[BINS];
    size_t n[BINS];
};

struct frame {
    FILE *f;
    const struct plot_figure *fig;
    const struct plot_panel *panel;
    int y0, y1;    /* this panel's pixel rows */
    double lo, hi; /* its data range (log10 of |value| on a log panel) */
    struct bins *b;
};

static double px_x(const struct frame *p, double t)
{
    return PX0 + (t - p->fig->t0) / (p->fig->t1 - p->fig->t0) * (PX1 - PX0);
}

static bool is_log(const struct frame *p)
{
    return p->panel->scale == PLOT_LOG;
}

static double px_y(const struct frame *p, double v)
{
    double y = is_log(p) ? log10(fmax(fabs(v), 1e-300)) : v;

    y = fmin(fmax(y, p->lo), p->hi);
    return p->y1 - (y - p->lo) / (p->hi - p->lo) * (p->y1 - p->y0);
}

static double sample_t(const struct plot_series *s, size_t k)
{
    return s->t != NULL ? s->t[k] : s->t_first + (double)k * s->dt;
}

static void fill_bins(const struct frame *p, const struct plot_series *s)
{
    struct bins *b = p->b;
    double span = p->fig->t1 - p->fig->t0;

    for (size_t i = 0; i < BINS; i++) {
        b->min[i] = INFINITY;
        b->max[i] = -INFINITY;
        b->amax[i] = 0;
        b->sum[i] = 0;
        b->n[i] = 0;
    }
    for (size_t k = 0; k < s->n; k++) {
        double t = sample_t(s, k);
        double v = s->v[k];
        if (!isfinite(v) || !(t >= p->fig->t0 && t <= p->fig->t1)) {
            continue;
        }
        size_t i = (size_t)((t - p->fig->t0) / span * BINS);
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

/* A value as the panel's unit says: seconds with the prefix that fits the scale. */
static void fmt_value(const struct frame *p, double v, double scale, char *out, size_t n)
{
    static const struct {
        double f;
        const char *u;
    } u[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "µs"}, {1e-9, "ns"}};
    size_t i = 0;

    if (p->panel->unit == PLOT_PLAIN) {
        /* The unit is in the axis title: ticks stay short ("-12000", not "-12000 ppm"). */
        snprintf(out, n, "%g", round(v / scale * 1e3) / 1e3 * scale);
        return;
    }
    while (i + 1 < sizeof(u) / sizeof(u[0]) && scale < u[i].f * 0.999) {
        i++;
    }
    snprintf(out, n, "%g %s", round(v / u[i].f * 1e6) / 1e6, u[i].u);
}

static void text(FILE *f, double x, double y, const char *anchor, const char *extra, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, extra);
    for (; s != NULL && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
    fputs("</text>\n", f);
}

static void hline(const struct frame *p, double y, const char *style)
{
    fprintf(p->f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" %s/>\n", PX0, y, PX1, y,
            style);
}

/* Time grid on every panel; labels and the axis title under the last one only. */
static void time_axis(const struct frame *p, bool labels)
{
    double d = p->fig->t1 - p->fig->t0;
    double scale = d <= 900 ? 1 : d <= 4 * 3600 ? 60 : d <= 4 * 86400 ? 3600 : 86400;
    const char *unit = scale == 1 ? "s" : scale == 60 ? "min" : scale == 3600 ? "h" : "d";
    double step = nice_step(d / scale, 8);
    double first = ceil(p->fig->t0 / scale / step - 1e-9) * step;
    char label[160];

    for (double v = first; v <= p->fig->t1 / scale + 1e-9; v += step) {
        double x = px_x(p, v * scale);
        fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>\n", x,
                p->y0, x, p->y1);
        if (labels) {
            fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>\n",
                    x, p->y1, x, p->y1 + 5);
            snprintf(label, sizeof(label), "%g", fabs(v) < step * 1e-9 ? 0.0 : v);
            text(p->f, x, p->y1 + 20, "middle", "", label);
        }
    }
    if (labels) {
        snprintf(label, sizeof(label), "%s (%s)",
                 p->fig->t_label ? p->fig->t_label : "time", unit);
        text(p->f, (PX0 + PX1) / 2.0, p->y1 + 42, "middle", "", label);
    }
}

static void y_title(const struct frame *p)
{
    char rot[64];
    double mid = (p->y0 + p->y1) / 2.0;

    snprintf(rot, sizeof(rot), "transform=\"rotate(-90 22 %.1f)\"", mid);
    text(p->f, 22, mid, "middle", rot, p->panel->y_label);
}

static void log_axis(const struct frame *p)
{
    char label[64];

    for (int e = (int)floor(p->lo); e <= (int)ceil(p->hi); e++) {
        for (int m = 1; m <= 9; m++) {
            double v = m * pow(10, e);
            double ly = log10(v);
            if (ly < p->lo - 1e-9 || ly > p->hi + 1e-9) {
                continue;
            }
            double y = px_y(p, v);
            hline(p, y, m == 1 ? "class=\"grid\"" : "class=\"minor\"");
            if (m == 1) {
                fmt_value(p, v, v, label, sizeof(label));
                text(p->f, PX0 - 8, y + 4, "end", "", label);
            }
        }
    }
}

static void linear_axis(const struct frame *p)
{
    char label[64];
    double step = nice_step(p->hi - p->lo, p->y1 - p->y0 > 300 ? 8 : 5);

    for (double v = ceil(p->lo / step - 1e-9) * step; v <= p->hi + step * 1e-6; v += step) {
        bool zero = fabs(v) < step / 2;
        double y = px_y(p, v);
        hline(p, y, zero ? "class=\"axis\"" : "class=\"grid\"");
        fmt_value(p, zero ? 0 : v, step, label, sizeof(label));
        text(p->f, PX0 - 8, y + 4, "end", "", label);
    }
}

static void guides(const struct frame *p)
{
    const struct plot_panel *pn = p->panel;

    for (size_t i = 0; i < pn->n_guides; i++) {
        for (int sign = 1; sign >= (is_log(p) || !pn->symmetric ? 1 : -1); sign -= 2) {
            double v = sign * pn->guides[i].v;
            double y = is_log(p) ? log10(fabs(v)) : v;
            /* A guide squeezed against the zero line says nothing and hides its label. */
            if (!(y > p->lo && y < p->hi) ||
                (!is_log(p) && p->lo < 0 && fabs(px_y(p, v) - px_y(p, 0)) < 14)) {
                continue;
            }
            hline(p, px_y(p, v), "class=\"guide\"");
            text(p->f, PX1 - 4, px_y(p, v) - 3, "end", "class=\"small\"", pn->guides[i].label);
        }
    }
}

/* Shapes under everything; labels (labels = true) over everything, first panel only. */
static void marks(const struct frame *p, bool labels)
{
    const struct plot_figure *fig = p->fig;

    for (size_t i = 0; i < fig->n_marks; i++) {
        const struct plot_mark *m = &fig->marks[i];
        double t0 = fmax(m->t0, fig->t0);
        double t1 = fmin(m->kind == PLOT_MARK_LINE ? m->t0 : m->t1, fig->t1);
        if (!(t0 <= t1) || m->t0 > fig->t1) {
            continue;
        }
        double x0 = px_x(p, t0);
        if (labels) {
            if (m->label != NULL) {
                text(p->f, x0 + (m->kind == PLOT_MARK_LINE ? 3 : 4),
                     p->y0 + 14 + 14.0 * (double)(i % 3), "start", "class=\"small\"", m->label);
            }
            continue;
        }
        if (m->kind == PLOT_MARK_LINE) {
            fprintf(p->f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"step\"/>\n",
                    x0, p->y0, x0, p->y1);
        } else {
            fprintf(p->f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"%s\"/>\n",
                    x0, p->y0, px_x(p, t1) - x0, p->y1 - p->y0,
                    m->kind == PLOT_MARK_SHADE ? "warm" : "out");
        }
    }
}

static void series(const struct frame *p, const struct plot_series *s, const char *color)
{
    const struct bins *b = p->b;

    fill_bins(p, s);
    if (!is_log(p)) {
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
            double v = is_log(p) ? b->amax[i] : b->sum[i] / (double)b->n[i];
            fprintf(p->f, "%zu,%.1f ", PX0 + i, px_y(p, v));
        }
    }
    fprintf(p->f, "\"/>\n");
}

/* y range: log decades around the binned |values|, or (linear) the values from
 * fit_from on, symmetric around zero when the panel asks. */
static void y_range(struct frame *p)
{
    const struct plot_panel *pn = p->panel;
    double span = p->fig->t1 - p->fig->t0;
    double alo = INFINITY, ahi = 0, vlo = INFINITY, vhi = -INFINITY;
    size_t first = pn->fit_from > p->fig->t0 ? (size_t)((pn->fit_from - p->fig->t0) / span * BINS)
                                             : 0;

    for (size_t s = 0; s < pn->n_series; s++) {
        fill_bins(p, &pn->series[s]);
        for (size_t k = 0; k < BINS; k++) {
            if (!p->b->n[k]) {
                continue;
            }
            if (p->b->amax[k] > 0) {
                alo = fmin(alo, p->b->amax[k]);
                ahi = fmax(ahi, p->b->amax[k]);
            }
            if (k >= first || first >= BINS) {
                vlo = fmin(vlo, p->b->min[k]);
                vhi = fmax(vhi, p->b->max[k]);
            }
        }
    }
    if (is_log(p)) {
        p->lo = isfinite(alo) ? fmax(floor(log10(alo)), LOG_FLOOR) : LOG_FLOOR;
        p->hi = ahi > 0 ? fmax(ceil(log10(ahi)), p->lo + 2) : p->lo + 2;
        return;
    }
    if (!isfinite(vlo)) {
        vlo = -1e-6;
        vhi = 1e-6;
    }
    if (pn->symmetric) {
        double m = fmax(fabs(vlo), fabs(vhi));
        double s = m > 0 ? nice_step(m * 1.1, 4) : 1e-6;
        p->hi = m > 0 ? ceil(m * 1.1 / s) * s : 1e-6;
        p->lo = -p->hi;
        return;
    }
    double pad = (vhi - vlo) * 0.05;
    pad = pad > 0 ? pad : fmax(fabs(vhi) * 0.05, 1e-9);
    double s = nice_step(vhi - vlo + 2 * pad, 5);
    p->lo = floor((vlo - pad) / s) * s;
    p->hi = ceil((vhi + pad) / s) * s;
}

static void legend(FILE *f, const struct plot_figure *fig)
{
    const struct plot_panel *pn = &fig->panels[0];

    text(f, PX1 + 15, TOP + 4, "start", "font-weight=\"bold\"",
         fig->legend_title ? fig->legend_title : "series");
    for (size_t i = 0; i < pn->n_series; i++) {
        double y = TOP + 24 + 20.0 * (double)i;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"/>\n",
                PX1 + 15, y - 4, PX1 + 40, y - 4, colors[i % N_COLORS]);
        text(f, PX1 + 46, y, "start", "", pn->series[i].label);
    }
}

static int panel_height(size_t n)
{
    return n == 1 ? 430 : n == 2 ? 300 : 220;
}

#define GAP 36 /* between panels */

int plot_svg_write(FILE *f, const struct plot_figure *fig)
{
    if (fig == NULL || fig->n_panels == 0 || fig->n_panels > PLOT_MAX_PANELS ||
        !(fig->t1 > fig->t0)) {
        errno = EINVAL;
        return -1;
    }
    struct bins *b = malloc(sizeof(*b));
    if (b == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int ph = panel_height(fig->n_panels);
    int h = TOP + (int)fig->n_panels * ph + ((int)fig->n_panels - 1) * GAP + 70;

    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<style>.grid{stroke:#ddd}.minor{stroke:#f2f2f2}.axis{stroke:#333}"
            ".guide{stroke:#888;stroke-dasharray:6 4}.step{stroke:#c00;stroke-dasharray:3 3}"
            ".warm{fill:#f4f4f4}.out{fill:#fde0c5;fill-opacity:0.7}"
            ".small{font-size:10px;fill:#555}</style>\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
            W, h, W, h, W, h);
    text(f, W / 2.0, 28, "middle", "font-size=\"16\" font-weight=\"bold\"", fig->title);
    for (size_t i = 0; i < fig->n_panels; i++) {
        struct frame p = {.f = f, .fig = fig, .panel = &fig->panels[i], .b = b};
        bool last = i + 1 == fig->n_panels;
        p.y0 = TOP + (int)i * (ph + GAP);
        p.y1 = p.y0 + ph;
        y_range(&p);
        marks(&p, false);
        time_axis(&p, last);
        is_log(&p) ? log_axis(&p) : linear_axis(&p);
        y_title(&p);
        guides(&p);
        for (size_t s = 0; s < p.panel->n_series; s++) {
            series(&p, &p.panel->series[s], colors[s % N_COLORS]);
        }
        if (i == 0) {
            marks(&p, true);
        }
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                "class=\"axis\"/>\n",
                PX0, p.y0, PX1 - PX0, p.y1 - p.y0);
    }
    legend(f, fig);
    fprintf(f, "</svg>\n");
    free(b);
    return ferror(f) ? -1 : 0;
}
