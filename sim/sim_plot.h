/* The offset-over-time picture of a run as a hand-written SVG: one line per client node,
 * time axis in s/min/h, offset axis either logarithmic (|offset|, decades from ns to
 * s) or linear and symmetric around zero, with 1 ms and 100 us guides, the warm-up,
 * outages and injected steps marked, and a legend. */
#ifndef TSYNC_SIM_PLOT_H
#define TSYNC_SIM_PLOT_H

#include <stddef.h>

#include "sim/sim_world.h"

enum sim_plot_scale {
    SIM_PLOT_LOG,    /* |offset| on decades: start-up, steps and steady state in one view */
    SIM_PLOT_LINEAR, /* signed offset; the range fits the samples after the warm-up */
};

/* Writes the plot of w's samples to path. Returns 0, or -1 with a message in err. */
int sim_plot_svg(const struct sim_world *w, const char *path, enum sim_plot_scale scale, char *err,
                 size_t n);

#endif
