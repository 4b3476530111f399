/* tsync plot [-d DIR] [--since DURATION] [--log] [-o FILE.svg] [FILE...]: offset,
 * frequency, jitter and error bound over time as an SVG figure, from tsyncd's
 * statistics files (doc/statistics.md; DIR/tracking.log and DIR/measurements.log by
 * default) or from tsync-sim's CSV. Reads files only: the daemon need not run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/plot_data.h"
#include "plot/plot_svg.h"

#define DEFAULT_DIR   "/var/log/tsyncd"
#define MAX_FILE_SIZE (512L * 1024 * 1024)
#define MAX_FILES     8

static int usage(const struct cli_ctx *ctx)
{
    fprintf(ctx->err, "usage: tsync plot [-d DIR] [--since DURATION] [--log] [-o FILE.svg] "
                      "[FILE...]\n");
    return 2;
}

/* "90", "90s", "30m", "2h", "7d", "1w" -> seconds. */
static int parse_duration(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    double unit = 1;

    if (end == s || !(v >= 0) || !isfinite(v)) {
        return 0;
    }
    if (*end != '\0') {
        static const char units[] = "smhdw";
        static const double secs[] = {1, 60, 3600, 86400, 604800};
        const char *u = strchr(units, *end);
        if (u == NULL || end[1] != '\0') {
            return 0;
        }
        unit = secs[u - units];
    }
    *out = v * unit;
    return 1;
}

/* Whole file into memory; NULL with errno (EFBIG beyond MAX_FILE_SIZE). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0;

    *len = 0;
    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        if (*len == cap) {
            if (cap >= (size_t)MAX_FILE_SIZE) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            cap = cap ? cap * 2 : 1 << 16;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0) {
            break;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    return buf;
}

static int read_one(const struct cli_ctx *ctx, struct plot_data *d, const char *path,
                    double since)
{
    char err[600];
    size_t len;
    char *text = slurp(path, &len);

    if (text == NULL) {
        return cli_fail(ctx, "cannot read %s: %s", path, strerror(errno));
    }
    int r = plot_data_read(d, text, len, path, since, err, sizeof(err));
    free(text);
    return r == 0 ? 0 : cli_fail(ctx, "%s", err);
}

struct figure_parts {
    struct plot_series series[PLOT_KINDS][PLOT_MAX_SERIES];
    struct plot_panel panels[PLOT_MAX_PANELS];
    char t_label[96];
    char title[160];
};

/* Times relative to the first point, so the axis reads "2 h" rather than a 1.8e9. */
static void rebase_times(struct plot_data *d)
{
    for (int k = 0; k < PLOT_KINDS; k++) {
        for (size_t i = 0; i < d->n_series[k]; i++) {
            for (size_t j = 0; j < d->series[k][i].n; j++) {
                d->series[k][i].t[j] -= d->t_min;
            }
        }
    }
}

/* Linear panels fit their range to what follows the start-up (the first twentieth of
 * the time shown, at most 10 min): a start 50 ms off must not flatten a day at 5 us. */
#define FIT_SKIP_FRACTION 0.05
#define FIT_SKIP_MAX_S    600.0

static size_t build_panels(struct plot_data *d, struct figure_parts *fp, bool log, double span)
{
    double skip = span * FIT_SKIP_FRACTION;
    double fit_from = skip < FIT_SKIP_MAX_S ? skip : FIT_SKIP_MAX_S;
    static const struct plot_guide offset_guides[] = {{1e-3, "1 ms"}, {100e-6, "100 µs"}};
    static const char *const titles[PLOT_KINDS] = {
        "offset (to add to the clock)", "frequency correction (ppm)", "jitter per source",
        "maximum error (bound)"};
    size_t np = 0;

    for (int k = 0; k < PLOT_KINDS && np < PLOT_MAX_PANELS; k++) {
        if (d->n_series[k] == 0) {
            continue;
        }
        for (size_t i = 0; i < d->n_series[k]; i++) {
            struct plot_points *p = &d->series[k][i];
            fp->series[k][i] = (struct plot_series){.label = p->name, .t = p->t, .v = p->v,
                                                    .n = p->n};
        }
        struct plot_panel *pn = &fp->panels[np++];
        *pn = (struct plot_panel){.y_label = titles[k],
                                  .scale = PLOT_LINEAR,
                                  .unit = k == PLOT_FREQUENCY ? PLOT_PLAIN : PLOT_SECONDS,
                                  .fit_from = fit_from,
                                  .series = fp->series[k],
                                  .n_series = d->n_series[k]};
        if (k == PLOT_OFFSET) {
            pn->scale = log ? PLOT_LOG : PLOT_LINEAR;
            pn->symmetric = true;
            pn->guides = offset_guides;
            pn->n_guides = 2;
        } else if (k == PLOT_JITTER || k == PLOT_BOUND) {
            pn->scale = PLOT_LOG;
        }
    }
    return np;
}

static int draw(const struct cli_ctx *ctx, struct plot_data *d, const char *out_path, bool log)
{
    struct figure_parts *fp = calloc(1, sizeof(*fp));
    char start[64];

    if (fp == NULL) {
        return cli_fail(ctx, "out of memory");
    }
    if (!(d->t_max > d->t_min)) {
        free(fp);
        return cli_fail(ctx, "nothing to plot: fewer than two points in time");
    }
    double span = d->t_max - d->t_min;
    if (d->relative) {
        if (d->t_min == 0.0) {
            snprintf(fp->t_label, sizeof(fp->t_label), "time since the start of the run");
        } else {
            snprintf(fp->t_label, sizeof(fp->t_label), "time since %g s into the run",
                     d->t_min);
        }
    } else {
        cli_format_utc(d->t_min, start, sizeof(start));
        snprintf(fp->t_label, sizeof(fp->t_label), "time since %s", start);
    }
    rebase_times(d);
    snprintf(fp->title, sizeof(fp->title), "tsync: %s",
             d->relative ? "simulation run" : "clock statistics");
    struct plot_figure fig = {.title = fp->title,
                              .t_label = fp->t_label,
                              .t0 = 0,
                              .t1 = span,
                              .panels = fp->panels,
                              .n_panels = build_panels(d, fp, log, span),
                              .legend_title = d->relative ? "clients" : "series"};
    FILE *f = out_path == NULL || strcmp(out_path, "-") == 0 ? ctx->out : fopen(out_path, "w");
    if (f == NULL) {
        free(fp);
        return cli_fail(ctx, "cannot write %s: %s", out_path, strerror(errno));
    }
    int r = plot_svg_write(f, &fig);
    if (f != ctx->out && fclose(f) != 0) {
        r = -1;
    }
    free(fp);
    if (r != 0) {
        return cli_fail(ctx, "cannot write the figure to %s", out_path ? out_path : "stdout");
    }
    return 0;
}

int cmd_plot(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *dir = DEFAULT_DIR, *out_path = NULL;
    const char *files[MAX_FILES];
    size_t n_files = 0;
    double since = -INFINITY;
    bool log = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "-d") == 0 || strcmp(a, "--since") == 0) &&
            i + 1 >= argc) {
            return usage(ctx);
        }
        if (strcmp(a, "-o") == 0) {
            out_path = argv[++i];
        } else if (strcmp(a, "-d") == 0) {
            dir = argv[++i];
        } else if (strcmp(a, "--since") == 0) {
            double ago;
            if (!parse_duration(argv[++i], &ago)) {
                fprintf(ctx->err, "tsync plot: --since: expected a duration like 90s, 30m, 2h, "
                                  "7d, got \"%s\"\n",
                        argv[i]);
                return 2;
            }
            since = ctx->now - ago;
        } else if (strcmp(a, "--log") == 0) {
            log = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage(ctx);
        } else if (n_files < MAX_FILES) {
            files[n_files++] = a;
        } else {
            return cli_fail(ctx, "at most %d files", MAX_FILES);
        }
    }
    struct plot_data *d = malloc(sizeof(*d));
    if (d == NULL) {
        return cli_fail(ctx, "out of memory");
    }
    plot_data_init(d);
    int rc = 0;
    if (n_files > 0) {
        for (size_t i = 0; i < n_files && rc == 0; i++) {
            rc = read_one(ctx, d, files[i], since);
        }
    } else {
        /* The daemon's files: whichever of the two exist. */
        static const char *const names[] = {"tracking.log", "measurements.log"};
        size_t found = 0;
        char path[1024];
        for (size_t i = 0; i < 2 && rc == 0; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            FILE *probe = fopen(path, "r");
            if (probe == NULL) {
                continue;
            }
            fclose(probe);
            found++;
            rc = read_one(ctx, d, path, since);
        }
        if (rc == 0 && found == 0) {
            rc = cli_fail(ctx,
                          "no statistics in %s (tracking.log, measurements.log): tsyncd writes "
                          "them with \"statsdir %s\" and \"statistics loopstats peerstats\" (or "
                          "\"logdir\" and \"log tracking measurements\")",
                          dir, dir);
        }
    }
    if (rc == 0) {
        rc = draw(ctx, d, out_path, log);
    }
    plot_data_free(d);
    free(d);
    return rc;
}
