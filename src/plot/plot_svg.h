/* Time-series figures as hand-written SVG, for operators to open in a browser: one or
 * more panels stacked over a shared time axis (offset, frequency, jitter, ...), each
 * with its own y axis (linear, or |value| on decades), guides, shaded spans and
 * vertical marks, and a legend. Samples are reduced to one bin per horizontal pixel,
 * so a spike is never hidden and a year of samples costs no more ink than an hour.
 * Used by tsync-sim (its runs) and `tsync plot` (tsyncd's statistics files). */
#ifndef TSYNC_PLOT_SVG_H
#define TSYNC_PLOT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum plot_scale {
    PLOT_LINEAR, /* signed values */
    PLOT_LOG,    /* |value| on decades: start-up and steady state in one view */
};

enum plot_unit {
    PLOT_SECONDS, /* labels in s, ms, µs or ns as the scale asks */
    PLOT_PLAIN,   /* plain numbers; the y label names the unit ("frequency (ppm)") */
};

struct plot_series {
    const char *label;
    const double *t; /* s on the figure's time axis; NULL: t = t_first + i * dt */
    double t_first, dt;
    const double *v; /* NAN: no value at that time */
    size_t n;
};

struct plot_guide {
    double v; /* drawn at v (and -v on a symmetric linear panel) */
    const char *label;
};

struct plot_panel {
    const char *y_label;
    enum plot_scale scale;
    enum plot_unit unit;
    bool symmetric;        /* linear: the range is symmetric around 0 */
    double fit_from;       /* linear: the y range fits the values from this time on */
    const struct plot_series *series;
    size_t n_series;
    const struct plot_guide *guides;
    size_t n_guides;
};

enum plot_mark_kind {
    PLOT_MARK_SHADE, /* light grey span (a warm-up) */
    PLOT_MARK_SPAN,  /* orange span (an outage) */
    PLOT_MARK_LINE,  /* red dashed line at t0 (a step) */
};

struct plot_mark {
    enum plot_mark_kind kind;
    double t0, t1;
    const char *label;
};

struct plot_figure {
    const char *title;
    const char *t_label; /* what the time axis counts, e.g. "time since start" */
    double t0, t1;       /* the time axis, s */
    const struct plot_panel *panels;
    size_t n_panels;
    const struct plot_mark *marks;
    size_t n_marks;
    const char *legend_title; /* series of the first panel, colours shared by index */
};

#define PLOT_MAX_PANELS 4

/* Writes the figure to f. Returns 0, or -1 with errno (EINVAL: no panel, more than
 * PLOT_MAX_PANELS, or an empty time axis; ENOMEM). */
int plot_svg_write(FILE *f, const struct plot_figure *fig);

#endif
