/* The drift file: the clock's frequency correction in ppm, kept across restarts so a
 * start needs no new frequency estimate. tsyncd writes one number as ntpd does (the
 * correction, positive = the clock is made to run faster) through an atomic replace,
 * and reads both dialects: one number (ntpd, tsyncd) or chrony's two (frequency with
 * the opposite sign, then its error bound). */
#ifndef TSYNC_DRIFT_H
#define TSYNC_DRIFT_H

#include <stddef.h>

/* Largest |correction| accepted from a file: the kernel's limit with the tick
 * (sys_adjtime.h); anything beyond is a damaged file. */
#define DRIFT_MAX_PPM 100500.0

/* Longest drift file read, bytes: both dialects need well under 100. */
#define DRIFT_FILE_MAX 256

/* Parses len bytes of drift file text into *ppm (our sign convention). Returns 0, or
 * -EINVAL when it is not one or two finite numbers within DRIFT_MAX_PPM (the second,
 * chrony's error bound, must be >= 0). */
int drift_parse(const char *text, size_t len, double *ppm);

/* "%.6f\n" of ppm into buf; returns the length, or 0 if it does not fit or ppm is not
 * finite. */
size_t drift_format(double ppm, char *buf, size_t cap);

/* Reads and parses path. Returns 0, -errno from opening or reading, -EFBIG for a file
 * over DRIFT_FILE_MAX bytes, or -EINVAL for bad content. */
int drift_read(const char *path, double *ppm);

/* Replaces path atomically (temp file + rename, sys_file_write_atomic). Returns 0 or
 * -errno (-EINVAL for a non-finite or out-of-range ppm). */
int drift_write(const char *path, double ppm);

#endif
