/* What a run measured: per client node the true offset statistics after warm-up, the
 * time to settle below 1 ms and 100 us (from the start and after each injected step or
 * outage), the frequency error at the end, steps and events by kind. Printed as
 * "NODE.key=value" lines (machine-readable) and as a table; also the offset-over-time
 * CSV. Metrics are computed from the samples only, after the run. */
#ifndef TSYNC_SIM_REPORT_H
#define TSYNC_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "sim/sim_world.h"

#define SIM_METRIC_KEY_MAX 96

struct sim_metric {
    char key[SIM_METRIC_KEY_MAX]; /* "c1.rms_offset", "sim.speed" */
    double value;                 /* INFINITY = never (a settle time that never came) */
};

struct sim_metrics {
    size_t n, cap;
    struct sim_metric *m;
};

/* A window in which a node is disturbed on purpose: an injected step (start == end)
 * or an outage that is global or names the node first. */
struct sim_disturbance {
    bool outage;
    double start, end; /* s of true time */
};

void sim_metrics_init(struct sim_metrics *m);
void sim_metrics_free(struct sim_metrics *m);

/* Appends key (printf format) = value; false when out of memory. */
bool sim_metrics_add(struct sim_metrics *m, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Value of key, or false when it was not measured. */
bool sim_metrics_get(const struct sim_metrics *m, const char *key, double *value);

/* Computes every node's metrics into m. Returns false when out of memory. */
bool sim_report_metrics(const struct sim_world *w, struct sim_metrics *m);

/* Time (s) from `from` until |offset| stays below thr up to `until` (exclusive), on the
 * samples of one node; 0 when it never leaves, INFINITY when it is still above at the
 * last sample before `until`, NAN when the window holds no sample. */
double sim_report_settle(const double *offset, size_t n, double dt, double from, double until,
                         double thr);

/* The disturbances of node i sorted by start; returns their number (<= max). */
size_t sim_report_disturbances(const struct sim_world *w, size_t i, struct sim_disturbance *d,
                               size_t max);

/* "key=value" lines, one per metric. */
void sim_report_print_kv(FILE *f, const struct sim_metrics *m);

/* The human table: one block per client node. */
void sim_report_print_table(FILE *f, const struct sim_world *w, const struct sim_metrics *m);

/* Offset-over-time CSV: time, then per node its offset (s, to add) and for clients the
 * frequency correction, the frequency error, the synced flag and the kernel's maxerror
 * (nan before the first status). Returns 0 or -1 with a message in err. */
int sim_report_write_csv(const struct sim_world *w, const char *path, char *err, size_t n);

/* Formats seconds with a unit (ns, us, ms, s; "never" for infinity). */
void sim_report_fmt_seconds(double s, char *out, size_t n);

#endif
