/* Statistics files (stats.h): formatting here, the files through sys_file. A line that
 * cannot be written is counted, never retried: statistics must not hold up the clock. */
#include "daemon/stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sys/sys_file.h"

#define LINE_MAX_LEN 512

static const char *const names[STATS_FILES] = {"tracking", "measurements"};

static const char *const headers[STATS_FILES] = {
    "time,reference,stratum,offset,frequency_ppm,skew_ppm,root_delay,root_dispersion,"
    "bound,synchronized,leap\n",
    "time,source,address,stratum,leap,offset,delay,dispersion,result\n",
};

const char *stats_file_name(enum stats_file f)
{
    return (unsigned)f < STATS_FILES ? names[f] : NULL;
}

/* 2026-11-23T18:30:00.123456Z */
static size_t fmt_time(char *buf, size_t n, int64_t real_ns)
{
    int64_t s = real_ns / 1000000000;
    int64_t us = (real_ns % 1000000000) / 1000;
    struct tm tm;
    time_t tt;

    if (us < 0) {
        s--;
        us += 1000000;
    }
    tt = (time_t)s;
    if (gmtime_r(&tt, &tm) == NULL) {
        return 0;
    }
    int r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)us);
    return r > 0 && (size_t)r < n ? (size_t)r : 0;
}

/* A name as a CSV field: commas, quotes and control characters would break the line,
 * so they become '_' (names and addresses never need them). */
static void field(char *out, size_t n, const char *s)
{
    size_t i = 0;

    for (; s != NULL && *s != '\0' && i + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;
        out[i++] = (c == ',' || c == '"' || c < 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    out[i] = '\0';
}

static size_t finish(int r, size_t used, size_t n)
{
    return r > 0 && used + (size_t)r < n ? used + (size_t)r : 0;
}

size_t stats_format_tracking(char *buf, size_t n, int64_t real_ns,
                             const struct stats_tracking_row *r)
{
    char ref[128];
    size_t t = fmt_time(buf, n, real_ns);

    if (t == 0) {
        return 0;
    }
    field(ref, sizeof(ref), r->reference);
    int w = snprintf(buf + t, n - t, ",%s,%d,%.9f,%.6f,%.6f,%.9f,%.9f,%.9f,%d,%d\n", ref,
                     r->stratum, r->offset, r->frequency_ppm, r->skew_ppm, r->root_delay,
                     r->root_dispersion, r->bound, r->synchronized ? 1 : 0, r->leap);
    return finish(w, t, n);
}

size_t stats_format_measurement(char *buf, size_t n, int64_t real_ns,
                                const struct stats_measurement_row *r)
{
    char src[128], addr[80], res[40];
    size_t t = fmt_time(buf, n, real_ns);

    if (t == 0) {
        return 0;
    }
    field(src, sizeof(src), r->source);
    field(addr, sizeof(addr), r->address);
    field(res, sizeof(res), r->result);
    int w = snprintf(buf + t, n - t, ",%s,%s,%d,%d,%.9f,%.9f,%.9f,%s\n", src, addr, r->stratum,
                     r->leap, r->offset, r->delay, r->dispersion, res);
    return finish(w, t, n);
}

static int open_one(struct stats *s, enum stats_file f)
{
    char path[STATS_PATH_MAX + 32];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s.log", s->dir, names[f]) >= sizeof(path)) {
        return -ENAMETOOLONG;
    }
    int fd = sys_file_open_append(path);
    if (fd < 0) {
        return fd;
    }
    /* A new (or rotated away) file starts with its header. */
    if (sys_file_size(fd) == 0 && sys_file_append(fd, headers[f], strlen(headers[f])) != 0) {
        s->write_errors++;
    }
    s->fd[f] = fd;
    return 0;
}

int stats_open(struct stats *s, const char *dir, unsigned which)
{
    int first = 0;

    memset(s, 0, sizeof(*s));
    for (int f = 0; f < STATS_FILES; f++) {
        s->fd[f] = -1;
    }
    if (strlen(dir) >= sizeof(s->dir)) {
        return -ENAMETOOLONG;
    }
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    for (int f = 0; f < STATS_FILES; f++) {
        s->enabled[f] = (which & (1u << f)) != 0;
        if (s->enabled[f]) {
            int r = open_one(s, (enum stats_file)f);
            first = first == 0 ? r : first;
        }
    }
    return first;
}

int stats_reopen(struct stats *s)
{
    int first = 0;

    for (int f = 0; f < STATS_FILES; f++) {
        sys_file_close(s->fd[f]);
        s->fd[f] = -1;
        if (s->enabled[f]) {
            int r = open_one(s, (enum stats_file)f);
            first = first == 0 ? r : first;
        }
    }
    return first;
}

void stats_close(struct stats *s)
{
    for (int f = 0; f < STATS_FILES; f++) {
        sys_file_close(s->fd[f]);
        s->fd[f] = -1;
    }
}

static void put(struct stats *s, enum stats_file f, const char *line, size_t len)
{
    if (s->fd[f] < 0) {
        return;
    }
    if (len == 0 || sys_file_append(s->fd[f], line, len) != 0) {
        s->write_errors++;
        return;
    }
    s->lines++;
}

void stats_tracking(struct stats *s, int64_t real_ns, const struct stats_tracking_row *r)
{
    char line[LINE_MAX_LEN];

    if (s->fd[STATS_TRACKING] >= 0) {
        put(s, STATS_TRACKING, line, stats_format_tracking(line, sizeof(line), real_ns, r));
    }
}

void stats_measurement(struct stats *s, int64_t real_ns, const struct stats_measurement_row *r)
{
    char line[LINE_MAX_LEN];

    if (s->fd[STATS_MEASUREMENTS] >= 0) {
        put(s, STATS_MEASUREMENTS, line,
            stats_format_measurement(line, sizeof(line), real_ns, r));
    }
}
