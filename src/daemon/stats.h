/* Statistics files (ntpd's statsdir/statistics, chrony's logdir/log): one CSV line per
 * clock update in tracking.log and per reply in measurements.log, each file starting
 * with a header line, times in UTC (ISO 8601 with microseconds) so both people and
 * `tsync plot` can read them. Lines are written whole with one write() each (a reader
 * never sees half a line); the files are reopened on SIGHUP, so logrotate can move them
 * away. doc/statistics.md describes the columns. */
#ifndef TSYNC_STATS_H
#define TSYNC_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_file {
    STATS_TRACKING = 0,
    STATS_MEASUREMENTS,
    STATS_FILES,
};

#define STATS_PATH_MAX 512

struct stats {
    char dir[STATS_PATH_MAX];
    bool enabled[STATS_FILES];
    int fd[STATS_FILES]; /* -1: closed */
    uint64_t lines, write_errors;
};

/* One clock update. */
struct stats_tracking_row {
    const char *reference; /* system peer's name or address, "LOCL", or "" */
    int stratum;
    double offset;        /* s, what was to be added to the clock */
    double frequency_ppm; /* correction applied to cancel the drift */
    double skew_ppm;
    double root_delay, root_dispersion, bound; /* s */
    bool synchronized;
    int leap; /* 0 none, 1 insert, 2 delete, 3 unsynchronized */
};

/* One reply of a source. */
struct stats_measurement_row {
    const char *source;  /* configured name */
    const char *address; /* the address it was sent to */
    int stratum, leap;
    double offset, delay, dispersion; /* s */
    const char *result;               /* "ok", or the drop reason (eng_drop_reason_name) */
};

/* Name of a file ("tracking", "measurements"); NULL beyond. */
const char *stats_file_name(enum stats_file f);

/* Sets up s for dir with the files enabled in `which` (bit 1 << enum stats_file) and
 * opens them (O_APPEND, created 0644). Returns 0, or -errno of the first that failed
 * (the others stay open). */
int stats_open(struct stats *s, const char *dir, unsigned which);

/* Closes and opens every enabled file again (SIGHUP). Returns 0 or the first -errno. */
int stats_reopen(struct stats *s);

void stats_close(struct stats *s);

/* Formats one line into buf (exposed for tests): returns its length, 0 if it did not
 * fit. real_ns is the realtime of the event. */
size_t stats_format_tracking(char *buf, size_t n, int64_t real_ns,
                             const struct stats_tracking_row *r);
size_t stats_format_measurement(char *buf, size_t n, int64_t real_ns,
                                const struct stats_measurement_row *r);

/* Appends a line to its file (nothing when that file is not enabled or open). */
void stats_tracking(struct stats *s, int64_t real_ns, const struct stats_tracking_row *r);
void stats_measurement(struct stats *s, int64_t real_ns, const struct stats_measurement_row *r);

#endif
