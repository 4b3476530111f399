/* Drift file text in and out. Parsing is strict (a damaged file must not start the
 * clock at an absurd frequency) and pure; the file I/O is one read and one atomic
 * write through src/sys. */
#include "daemon/drift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/sys_file.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Splits text into at most 3 words (a third one makes the file invalid). */
static size_t split(char *s, char *words[3])
{
    size_t n = 0;

    while (*s != '\0' && n < 3) {
        while (is_blank(*s)) {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        words[n++] = s;
        while (*s != '\0' && !is_blank(*s)) {
            s++;
        }
        if (*s != '\0') {
            *s++ = '\0';
        }
    }
    return n;
}

static bool parse_number(const char *w, double *out)
{
    char *end = NULL;

    errno = 0;
    *out = strtod(w, &end);
    return end != w && *end == '\0' && errno == 0 && isfinite(*out);
}

int drift_parse(const char *text, size_t len, double *ppm)
{
    char buf[DRIFT_FILE_MAX + 1];
    char *words[3];
    double v, bound;

    if (len > DRIFT_FILE_MAX || memchr(text, '\0', len) != NULL) {
        return -EINVAL;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    size_t n = split(buf, words);
    if (n < 1 || n > 2 || !parse_number(words[0], &v) || fabs(v) > DRIFT_MAX_PPM) {
        return -EINVAL;
    }
    if (n == 2) {
        /* chrony: "FREQ SKEW", FREQ being how fast the clock gains, i.e. minus the
         * correction (chrony hands the kernel -FREQ). */
        if (!parse_number(words[1], &bound) || bound < 0.0) {
            return -EINVAL;
        }
        v = -v;
    }
    *ppm = v + 0.0; /* no -0 */
    return 0;
}

size_t drift_format(double ppm, char *buf, size_t cap)
{
    if (!isfinite(ppm) || cap == 0) {
        return 0;
    }
    int n = snprintf(buf, cap, "%.6f\n", ppm + 0.0);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

int drift_read(const char *path, double *ppm)
{
    char buf[DRIFT_FILE_MAX + 1];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    int r = 0;

    if (fd < 0) {
        return -errno;
    }
    /* One byte more than allowed, to tell a full file from a cut one. */
    while (len < sizeof(buf)) {
        ssize_t got = read(fd, buf + len, sizeof(buf) - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            r = -errno;
            break;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    if (r != 0) {
        return r;
    }
    if (len > DRIFT_FILE_MAX) {
        return -EFBIG;
    }
    return drift_parse(buf, len, ppm);
}

int drift_write(const char *path, double ppm)
{
    char buf[64];
    size_t n;

    if (!isfinite(ppm) || fabs(ppm) > DRIFT_MAX_PPM) {
        return -EINVAL;
    }
    n = drift_format(ppm, buf, sizeof(buf));
    if (n == 0) {
        return -EINVAL;
    }
    return sys_file_write_atomic(path, buf, n);
}
