/* Engine config lines for simulated clients. tsyncd.conf lines go through tsyncd's own
 * parser and mapping (the tsync_cfg library: libc and core, never sys), so a client
 * config means in a scenario exactly what it means to the daemon. Only the simulator's
 * own lines are read here; must not grow a second reading of any tsyncd.conf directive. */
#include "sim/sim_ecfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/drv_config.h"

#define OWN_LINE_MAX 256 /* the simulator's own lines are short; longer ones are tsyncd's */
#define OWN_WORDS    3
#define CONFIG_NAME  "config" /* the node's config text, "config:N" in messages */

bool sim_parse_number(const char *s, double *out)
{
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v)) {
        return false;
    }
    *out = v;
    return true;
}

bool sim_parse_seconds(const char *s, double *out)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1.0},    {"s", 1.0},    {"ms", 1e-3},  {"us", 1e-6},
                 {"ns", 1e-9}, {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}};
    char *end;

    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno != 0 || !isfinite(v)) {
        return false;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *out = v * units[i].scale;
            return isfinite(*out);
        }
    }
    return false;
}

bool sim_parse_int(const char *s, long min, long max, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the simulator's own lines ---- */

/* Splits line in place at blanks, up to a # comment; keeps the first OWN_WORDS words
 * and returns how many there are in all. */
static int split(char *line, char **w)
{
    char *save = NULL;
    int n = 0;

    line[strcspn(line, "#")] = '\0';
    for (char *p = strtok_r(line, " \t\r\n", &save); p != NULL;
         p = strtok_r(NULL, " \t\r\n", &save)) {
        if (n < OWN_WORDS) {
            w[n] = p;
        }
        n++;
    }
    return n;
}

static bool is_own(const char *name)
{
    static const char *const names[] = {"noclockcontrol", "drift", "precision", "maxfreq",
                                        "driftsave"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* One value v of the line named k into o; 0 or -1 with the message. */
static int own_value(struct sim_ecfg_own *o, const char *k, const char *v, char *err, size_t errlen)
{
    double d;
    long n;

    if (strcmp(k, "drift") == 0) {
        if (!sim_parse_number(v, &d)) {
            return fail(err, errlen, "drift: expected ppm, got \"%s\"", v);
        }
        o->have_drift = true;
        o->drift_ppm = d;
    } else if (strcmp(k, "precision") == 0) {
        if (!sim_parse_int(v, -30, 0, &n)) {
            return fail(err, errlen, "precision: expected an integer -30..0, got \"%s\"", v);
        }
        o->precision_log2 = (int8_t)n;
    } else if (strcmp(k, "maxfreq") == 0) {
        if (!sim_parse_number(v, &d) || d <= 0) {
            return fail(err, errlen, "maxfreq: expected ppm > 0, got \"%s\"", v);
        }
        o->max_freq_set = true;
        o->max_freq_ppm = d;
    } else {
        if (!sim_parse_seconds(v, &d) || d < 1) {
            return fail(err, errlen, "driftsave: expected seconds >= 1, got \"%s\"", v);
        }
        o->drift_save_set = true;
        o->drift_save_interval = d;
    }
    return 0;
}

/* 0 done, 1 not one of the simulator's own lines, -1 error. */
static int own_line(struct sim_ecfg_own *o, char **w, int n, char *err, size_t errlen)
{
    if (!is_own(w[0])) {
        return 1;
    }
    if (strcmp(w[0], "noclockcontrol") == 0) {
        if (n != 1) {
            return fail(err, errlen, "noclockcontrol: takes no value");
        }
        o->no_clock_control = true;
        return 0;
    }
    if (n != 2) {
        return fail(err, errlen, "%s: expected one value", w[0]);
    }
    return own_value(o, w[0], w[1], err, errlen);
}

/* ---- tsyncd.conf lines ---- */

/* The first warning of tsyncd's parser or mapping, and the config line it names. */
struct heard {
    bool seen;
    int line;
    char msg[256];
};

static void hear_warning(void *ctx, const char *file, int line, const char *msg)
{
    struct heard *h = ctx;

    (void)file;
    if (!h->seen) {
        h->seen = true;
        h->line = line;
        snprintf(h->msg, sizeof(h->msg), "%s", msg);
    }
}

static void hear_note(void *ctx, const char *msg)
{
    hear_warning(ctx, NULL, 0, msg);
}

/* A message of tsyncd's about config line `line`: the caller names the scenario line of
 * the newest config line, so an older one is named here. */
static int tell(const struct sim_ecfg *c, int line, const char *msg, const char *tail, char *err,
                size_t errlen)
{
    if (line > 0 && line != c->n_lines) {
        return fail(err, errlen, "%s:%d: %s%s", CONFIG_NAME, line, msg, tail);
    }
    return fail(err, errlen, "%s%s", msg, tail);
}

/* Parses all tsyncd.conf lines so far as one file and maps them as tsyncd would; keeps
 * the parse when nothing was wrong and nothing was warned about. */
static int check_text(struct sim_ecfg *c, char *err, size_t errlen)
{
    struct work {
        struct cfg cfg;
        struct eng_config eng;
    } *wk = malloc(sizeof(*wk));
    struct cfg_error e;
    struct heard h = {.seen = false};
    int r = -1;

    if (wk == NULL) {
        return fail(err, errlen, "out of memory");
    }
    cfg_init(&wk->cfg);
    if (cfg_load_buffer(&wk->cfg, c->text, c->len, CONFIG_NAME, CFG_NO_INCLUDES, &e, hear_warning,
                        &h) != 0) {
        tell(c, e.line, e.msg, "", err, errlen);
    } else {
        drv_config_build(&wk->cfg, c->own.no_clock_control, c->own.precision_log2, &wk->eng,
                         hear_note, &h);
        if (h.seen) {
            tell(c, h.line, h.msg,
                 " (tsyncd would warn and go on; a scenario line must take effect)", err, errlen);
        } else if (wk->cfg.leapfile[0] != '\0') {
            /* The simulator reads no files: a leap is the scenario's own directive. */
            tell(c, c->n_lines,
                 "leapfile: not supported in a scenario (no files are read; the scenario's "
                 "\"leap\" directive makes one)",
                 "", err, errlen);
        } else if (wk->cfg.logfile[0] != '\0' || wk->cfg.statsdir[0] != '\0') {
            tell(c, c->n_lines,
                 "logfile/statsdir: not supported in a scenario (no files are written; "
                 "tsync-sim --csv writes the run)",
                 "", err, errlen);
        } else {
            c->parsed = wk->cfg;
            r = 0;
        }
    }
    free(wk);
    return r;
}

static int tsyncd_line(struct sim_ecfg *c, const char *line, char *err, size_t errlen)
{
    size_t n = strlen(line);
    size_t old_len = c->len;

    if (strchr(line, '\n') != NULL) {
        return fail(err, errlen, "a config line may not hold a line break");
    }
    if (c->n_lines >= SIM_ECFG_LINES_MAX) {
        return fail(err, errlen, "more than %d config lines", SIM_ECFG_LINES_MAX);
    }
    if (n >= sizeof(c->text) - c->len) {
        return fail(err, errlen, "config text longer than %d bytes", SIM_ECFG_TEXT_MAX);
    }
    memcpy(c->text + c->len, line, n);
    c->text[c->len + n] = '\n';
    c->len += n + 1;
    c->n_lines++;
    if (check_text(c, err, errlen) != 0) {
        c->len = old_len;
        c->n_lines--;
        return -1;
    }
    return 0;
}

/* ---- the interface ---- */

void sim_ecfg_init(struct sim_ecfg *c)
{
    memset(c, 0, sizeof(*c));
    eng_config_default(&c->eng);
    c->own.precision_log2 = c->eng.precision_log2;
    cfg_init(&c->parsed);
    sim_ecfg_finish(c);
}

int sim_ecfg_line(struct sim_ecfg *c, const char *line, char *err, size_t errlen)
{
    char buf[OWN_LINE_MAX];
    char *w[OWN_WORDS];
    size_t n = strlen(line);

    if (n < sizeof(buf)) {
        memcpy(buf, line, n + 1);
        int words = split(buf, w);
        if (words == 0) {
            return 0;
        }
        int r = own_line(&c->own, w, words, err, errlen);
        if (r <= 0) {
            return r;
        }
    }
    return tsyncd_line(c, line, err, errlen);
}

void sim_ecfg_finish(struct sim_ecfg *c)
{
    const struct sim_ecfg_own *o = &c->own;

    drv_config_build(&c->parsed, o->no_clock_control, o->precision_log2, &c->eng, NULL, NULL);
    /* What tsyncd's driver adds from elsewhere (drv.c reads the drift file here). */
    if (o->have_drift) {
        c->eng.have_drift = true;
        c->eng.drift_ppm = o->drift_ppm;
    }
    if (o->max_freq_set) {
        c->eng.max_freq_ppm = o->max_freq_ppm;
    }
    if (o->drift_save_set) {
        c->eng.drift_save_interval = o->drift_save_interval;
    }
}
