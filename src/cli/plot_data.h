/* The data `tsync plot` draws, read from CSV files: tsyncd's statistics files
 * (doc/statistics.md: tracking.log, measurements.log) and tsync-sim's --csv output,
 * each recognised by its header line. Offsets and frequencies become series per clock
 * (tracking) or per node (simulator); replies become a jitter series per source
 * (RMS of each used offset against the mean of the last PLOT_JITTER_SAMPLES). */
#ifndef TSYNC_CLI_PLOT_DATA_H
#define TSYNC_CLI_PLOT_DATA_H

#include <stddef.h>

#define PLOT_MAX_SERIES     16
#define PLOT_MAX_ROWS       5000000 /* per file: a year of 8-second updates, twice */
#define PLOT_JITTER_SAMPLES 8
#define PLOT_NAME_LEN       64

enum plot_kind {
    PLOT_OFFSET,    /* s */
    PLOT_FREQUENCY, /* ppm */
    PLOT_JITTER,    /* s: per source, from measurements */
    PLOT_BOUND,     /* s: maximum error */
    PLOT_KINDS,
};

struct plot_points {
    char name[PLOT_NAME_LEN];
    double *t, *v; /* Unix seconds (statistics) or seconds since start (simulator) */
    size_t n, cap;
};

struct plot_data {
    struct plot_points series[PLOT_KINDS][PLOT_MAX_SERIES];
    size_t n_series[PLOT_KINDS];
    double t_min, t_max;
    int relative; /* times are seconds since a start (simulator), not Unix times */
};

void plot_data_init(struct plot_data *d);
void plot_data_free(struct plot_data *d);

/* Reads text (a whole file, len bytes) named name into d, keeping rows from since on
 * (Unix seconds; ignored for simulator files). Returns 0, or -1 with a message. */
int plot_data_read(struct plot_data *d, const char *text, size_t len, const char *name,
                   double since, char *err, size_t n);

/* "2026-11-23T18:30:00.123456Z" -> Unix seconds; false when it is not that. */
int plot_parse_time(const char *s, size_t len, double *out);

#endif
