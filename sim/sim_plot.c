/* The offset-over-time picture of a run: one series per client node on a plot_svg
 * figure, with the warm-up shaded, outages and injected steps marked, and the 1 ms and
 * 100 us guides. */
#include "sim/sim_plot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot_svg.h"

#define LABEL_LEN 96

struct parts {
    struct plot_series *series;
    struct plot_mark *marks;
    char (*labels)[LABEL_LEN];
};

static void free_parts(struct parts *a)
{
    free(a->series);
    free(a->marks);
    free(a->labels);
}

static size_t build_series(const struct sim_world *w, struct plot_series *out)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n; i++) {
        const struct sim_node *nd = &w->nodes[i];
        if (nd->eng == NULL) {
            continue;
        }
        out[n] = (struct plot_series){.label = nd->spec->name,
                                      .t_first = 0.0,
                                      .dt = w->scn->sample,
                                      .v = nd->offset,
                                      .n = w->n_samples};
        n++;
    }
    return n;
}

static size_t build_marks(const struct sim_scn *s, struct parts *a)
{
    size_t n = 0;

    if (s->warmup > 0) {
        a->marks[n++] = (struct plot_mark){PLOT_MARK_SHADE, 0.0, s->warmup, "warm-up"};
    }
    for (size_t i = 0; i < s->n_outages; i++) {
        a->marks[n++] =
            (struct plot_mark){PLOT_MARK_SPAN, s->outages[i].start, s->outages[i].end, "outage"};
    }
    for (size_t i = 0; i < s->n_injects; i++) {
        const struct sim_inject *in = &s->injects[i];
        snprintf(a->labels[i], LABEL_LEN, "%s %s %+g %s",
                 in->kind == SIM_INJECT_STEP ? "step" : "freq", s->nodes[in->node].name, in->value,
                 in->kind == SIM_INJECT_STEP ? "s" : "ppm");
        a->marks[n++] = (struct plot_mark){PLOT_MARK_LINE, in->at, in->at, a->labels[i]};
    }
    return n;
}

int sim_plot_svg(const struct sim_world *w, const char *path, enum sim_plot_scale scale, char *err,
                 size_t n)
{
    const struct sim_scn *s = w->scn;
    static const struct plot_guide guides[] = {{1e-3, "1 ms"}, {100e-6, "100 µs"}};
    struct parts a = {
        .series = calloc(w->n + 1, sizeof(*a.series)),
        .marks = calloc(1 + s->n_outages + s->n_injects, sizeof(*a.marks)),
        .labels = calloc(s->n_injects + 1, sizeof(*a.labels)),
    };
    char title[256];
    FILE *f = NULL;

    if (a.series == NULL || a.marks == NULL || a.labels == NULL) {
        snprintf(err, n, "%s: out of memory", path);
        free_parts(&a);
        return -1;
    }
    bool log = scale == SIM_PLOT_LOG;
    struct plot_panel panel = {
        .y_label = log ? "|offset| of the clock vs true time (log)"
                       : "offset (true time - clock; values beyond the range sit on the edge)",
        .scale = log ? PLOT_LOG : PLOT_LINEAR,
        .unit = PLOT_SECONDS,
        .symmetric = true,
        .fit_from = s->warmup,
        .series = a.series,
        .n_series = build_series(w, a.series),
        .guides = guides,
        .n_guides = sizeof(guides) / sizeof(guides[0]),
    };
    snprintf(title, sizeof(title), "tsync-sim: %s (seed %llu, %s scale)", s->name,
             (unsigned long long)s->seed, log ? "log" : "linear");
    struct plot_figure fig = {
        .title = title,
        .t_label = "true time since start",
        .t0 = 0.0,
        .t1 = s->duration,
        .panels = &panel,
        .n_panels = 1,
        .marks = a.marks,
        .n_marks = build_marks(s, &a),
        .legend_title = "clients",
    };
    f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        free_parts(&a);
        return -1;
    }
    int r = plot_svg_write(f, &fig);
    int saved = errno;
    if (fclose(f) != 0 && r == 0) {
        r = -1;
        saved = errno;
    }
    free_parts(&a);
    if (r != 0) {
        snprintf(err, n, "%s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}
