/* CSV files into series for `tsync plot` (plot_data.h). Our own files hold no quoted
 * fields (stats.c replaces commas and quotes in names), so a line is split on commas;
 * anything that does not parse is skipped, never trusted. */
#include "cli/plot_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COLS 256

enum file_kind { FILE_TRACKING, FILE_MEASUREMENTS, FILE_SIM };

struct fields {
    const char *p[MAX_COLS];
    size_t len[MAX_COLS];
    size_t n;
};

struct jitter_window {
    double v[PLOT_JITTER_SAMPLES];
    size_t n, next;
};

void plot_data_init(struct plot_data *d)
{
    memset(d, 0, sizeof(*d));
    d->t_min = INFINITY;
    d->t_max = -INFINITY;
}

void plot_data_free(struct plot_data *d)
{
    for (int k = 0; k < PLOT_KINDS; k++) {
        for (size_t i = 0; i < d->n_series[k]; i++) {
            free(d->series[k][i].t);
            free(d->series[k][i].v);
        }
    }
    plot_data_init(d);
}

static void split(const char *line, size_t len, struct fields *f)
{
    size_t start = 0;

    f->n = 0;
    for (size_t i = 0; i <= len && f->n < MAX_COLS; i++) {
        if (i == len || line[i] == ',') {
            f->p[f->n] = line + start;
            f->len[f->n] = i - start;
            f->n++;
            start = i + 1;
        }
    }
}

static int col(const struct fields *h, const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < h->n; i++) {
        if (h->len[i] == n && memcmp(h->p[i], name, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int num(const struct fields *f, int c, double *out)
{
    char buf[64];
    char *end;

    if (c < 0 || (size_t)c >= f->n || f->len[c] == 0 || f->len[c] >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, f->p[c], f->len[c]);
    buf[f->len[c]] = '\0';
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out);
}

static void text_of(const struct fields *f, int c, char *out, size_t n)
{
    size_t len = c >= 0 && (size_t)c < f->n ? f->len[c] : 0;

    len = len < n - 1 ? len : n - 1;
    memcpy(out, len ? f->p[c] : "", len);
    out[len] = '\0';
}

int plot_parse_time(const char *s, size_t len, double *out)
{
    char buf[40];
    int y, mo, d, h, mi, sec, used = 0;
    long us = 0;
    struct tm tm;

    if (len < 20 || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
        used != 19) {
        return 0;
    }
    const char *rest = buf + 19;
    if (*rest == '.') {
        char *end;
        us = strtol(rest + 1, &end, 10);
        if (end - (rest + 1) != 6 || us < 0) {
            return 0;
        }
        rest = end;
    }
    if (strcmp(rest, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm) + (double)us * 1e-6;
    return 1;
}

static struct plot_points *series_of(struct plot_data *d, enum plot_kind k, const char *name)
{
    for (size_t i = 0; i < d->n_series[k]; i++) {
        if (strcmp(d->series[k][i].name, name) == 0) {
            return &d->series[k][i];
        }
    }
    if (d->n_series[k] >= PLOT_MAX_SERIES) {
        return NULL; /* more sources than a figure can tell apart: left out */
    }
    struct plot_points *p = &d->series[k][d->n_series[k]++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    return p;
}

static int add(struct plot_data *d, enum plot_kind k, const char *name, double t, double v)
{
    struct plot_points *p = series_of(d, k, name);

    if (p == NULL) {
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        double *nt = realloc(p->t, cap * sizeof(*nt));
        if (nt == NULL) {
            return -1;
        }
        p->t = nt;
        double *nv = realloc(p->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return -1;
        }
        p->v = nv;
        p->cap = cap;
    }
    p->t[p->n] = t;
    p->v[p->n] = v;
    p->n++;
    d->t_min = fmin(d->t_min, t);
    d->t_max = fmax(d->t_max, t);
    return 0;
}

/* RMS of the window's offsets about their mean: the source's jitter lately. */
static double window_jitter(struct jitter_window *w, double v)
{
    double mean = 0, ss = 0;

    w->v[w->next] = v;
    w->next = (w->next + 1) % PLOT_JITTER_SAMPLES;
    w->n += w->n < PLOT_JITTER_SAMPLES;
    for (size_t i = 0; i < w->n; i++) {
        mean += w->v[i];
    }
    mean /= (double)w->n;
    for (size_t i = 0; i < w->n; i++) {
        ss += (w->v[i] - mean) * (w->v[i] - mean);
    }
    return w->n >= 2 ? sqrt(ss / (double)(w->n - 1)) : NAN;
}

struct reader {
    struct plot_data *d;
    enum file_kind kind;
    struct fields head;
    double since;
    struct jitter_window win[PLOT_MAX_SERIES];
    char win_name[PLOT_MAX_SERIES][PLOT_NAME_LEN];
    size_t n_win;
};

static struct jitter_window *window_of(struct reader *r, const char *name)
{
    for (size_t i = 0; i < r->n_win; i++) {
        if (strcmp(r->win_name[i], name) == 0) {
            return &r->win[i];
        }
    }
    if (r->n_win >= PLOT_MAX_SERIES) {
        return NULL;
    }
    memset(&r->win[r->n_win], 0, sizeof(r->win[0]));
    snprintf(r->win_name[r->n_win], PLOT_NAME_LEN, "%s", name);
    return &r->win[r->n_win++];
}

static int row_tracking(struct reader *r, const struct fields *f, double t)
{
    double v;
    int rc = 0;

    if (num(f, col(&r->head, "offset"), &v)) {
        rc |= add(r->d, PLOT_OFFSET, "clock", t, v);
    }
    if (num(f, col(&r->head, "frequency_ppm"), &v)) {
        rc |= add(r->d, PLOT_FREQUENCY, "clock", t, v);
    }
    if (num(f, col(&r->head, "bound"), &v)) {
        rc |= add(r->d, PLOT_BOUND, "clock", t, v);
    }
    return rc;
}

static int row_measurement(struct reader *r, const struct fields *f, double t)
{
    char source[PLOT_NAME_LEN], result[32];
    double v;

    text_of(f, col(&r->head, "source"), source, sizeof(source));
    text_of(f, col(&r->head, "result"), result, sizeof(result));
    if (strcmp(result, "ok") != 0 || !num(f, col(&r->head, "offset"), &v)) {
        return 0;
    }
    struct jitter_window *w = window_of(r, source);
    double j = w != NULL ? window_jitter(w, v) : NAN;
    int rc = add(r->d, PLOT_OFFSET, source, t, v);
    if (isfinite(j)) {
        rc |= add(r->d, PLOT_JITTER, source, t, j);
    }
    return rc;
}

/* tsync-sim: every node with a frequency column is a client; its offset, correction and
 * maxerror become series under its name. */
static int row_sim(struct reader *r, const struct fields *f, double t)
{
    static const char *const suffix[] = {"_freq_corr_ppm", "_offset_s", "_maxerror_s"};
    static const enum plot_kind kinds[] = {PLOT_FREQUENCY, PLOT_OFFSET, PLOT_BOUND};
    int rc = 0;

    for (size_t c = 0; c < r->head.n; c++) {
        size_t hl = r->head.len[c];
        if (hl <= strlen(suffix[0]) ||
            memcmp(r->head.p[c] + hl - strlen(suffix[0]), suffix[0], strlen(suffix[0])) != 0) {
            continue;
        }
        char node[PLOT_NAME_LEN], name[PLOT_NAME_LEN + 32];
        size_t nl = hl - strlen(suffix[0]);
        nl = nl < sizeof(node) - 1 ? nl : sizeof(node) - 1;
        memcpy(node, r->head.p[c], nl);
        node[nl] = '\0';
        for (size_t k = 0; k < 3; k++) {
            double v;
            snprintf(name, sizeof(name), "%s%s", node, suffix[k]);
            if (num(f, col(&r->head, name), &v)) {
                rc |= add(r->d, kinds[k], node, t, v);
            }
        }
    }
    return rc;
}

static int head_kind(const struct fields *h, enum file_kind *k)
{
    if (col(h, "time_s") == 0) {
        *k = FILE_SIM;
    } else if (col(h, "time") == 0 && col(h, "reference") >= 0 && col(h, "offset") >= 0) {
        *k = FILE_TRACKING;
    } else if (col(h, "time") == 0 && col(h, "source") >= 0 && col(h, "result") >= 0) {
        *k = FILE_MEASUREMENTS;
    } else {
        return -1;
    }
    return 0;
}

static int one_row(struct reader *r, const char *line, size_t len)
{
    struct fields f;
    double t;

    split(line, len, &f);
    if (f.n == 0) {
        return 0;
    }
    if (r->kind == FILE_SIM) {
        return num(&f, 0, &t) ? row_sim(r, &f, t) : 0;
    }
    if (!plot_parse_time(f.p[0], f.len[0], &t) || t < r->since) {
        return 0;
    }
    return r->kind == FILE_TRACKING ? row_tracking(r, &f, t) : row_measurement(r, &f, t);
}

int plot_data_read(struct plot_data *d, const char *text, size_t len, const char *name,
                   double since, char *err, size_t n)
{
    struct reader *r = calloc(1, sizeof(*r));
    size_t pos = 0, rows = 0;
    int rc = 0;

    if (r == NULL) {
        snprintf(err, n, "%s: out of memory", name);
        return -1;
    }
    r->d = d;
    r->since = since;
    size_t eol = 0;
    while (eol < len && text[eol] != '\n') {
        eol++;
    }
    split(text, eol > 0 && text[eol - 1] == '\r' ? eol - 1 : eol, &r->head);
    if (len == 0 || head_kind(&r->head, &r->kind) != 0) {
        snprintf(err, n,
                 "%s: not a tsyncd statistics file (tracking.log, measurements.log) or "
                 "tsync-sim CSV: unexpected header",
                 name);
        free(r);
        return -1;
    }
    d->relative = r->kind == FILE_SIM;
    pos = eol + 1;
    while (pos < len && rows < PLOT_MAX_ROWS && rc == 0) {
        size_t end = pos;
        while (end < len && text[end] != '\n') {
            end++;
        }
        rc = one_row(r, text + pos, end > pos && text[end - 1] == '\r' ? end - pos - 1 : end - pos);
        rows++;
        pos = end + 1;
    }
    free(r);
    if (rc != 0) {
        snprintf(err, n, "%s: out of memory", name);
        return -1;
    }
    return 0;
}
