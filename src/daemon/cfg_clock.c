/* Clock discipline directives of both dialects: chrony's makestep, minsources and
 * maxdistance, ntpd's tinker (step, panic, stepout) and tos (minsane, maxdist), and
 * tsyncd's own holdover. Values are stored as given; what they mean to the engine is
 * settled in drv_config.c. Options of tinker/tos that tsyncd has no use for are warned
 * about, unknown ones are errors. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/eng.h"
#include "daemon/cfg_private.h"

/* Longest threshold that still means something (about 31 years), and the most sources
 * a selection could ever need (CFG_MAX_SERVERS lines). */
#define MAX_THRESHOLD_S 1e9
#define MAX_STEPOUT_S   1e7
#define MIN_HOLDOVER_S  1.0 /* the engine needs a positive holdover */
#define MAX_HOLDOVER_S  1e8
#define MAX_MINSOURCES  CFG_MAX_SERVERS
#define MIN_DISTANCE_S  0.001
#define MAX_DISTANCE_S  1000.0

static const char *arg(const struct cfg_line *l, size_t i)
{
    return i < l->argc ? l->argv[i] : NULL;
}

/* chrony: makestep THRESHOLD LIMIT; a negative limit means every update (-1 stored). */
int cfg_do_makestep(struct cfg_parser *p, struct cfg_line *l)
{
    struct cfg_clock *c = &p->c->clock;
    double threshold;
    long limit;

    if (cfg_get_double(p, "makestep", "a step threshold in seconds", arg(l, 1), 0.0,
                       MAX_THRESHOLD_S, &threshold) < 0) {
        return -1;
    }
    if (cfg_get_int(p, "makestep: limit",
                    "how many clock updates may step, negative for all of them", arg(l, 2),
                    -1000000000L, 1000000000L, &limit) < 0) {
        return -1;
    }
    if (cfg_expect_end(p, l, 3) < 0) {
        return -1;
    }
    c->makestep_set = true;
    c->makestep_threshold = threshold;
    c->makestep_limit = limit < 0 ? -1 : (int)limit;
    return 0;
}

/* A tinker threshold in seconds, 0 to max. */
static int tinker_seconds(struct cfg_parser *p, const char *name, const char *val, double max,
                          bool *set, double *dst)
{
    char ctx[48];
    double v;

    snprintf(ctx, sizeof ctx, "tinker: %s", name);
    if (cfg_get_double(p, ctx, "seconds", val, 0.0, max, &v) < 0) {
        return -1;
    }
    *set = true;
    *dst = v;
    return 0;
}

/* One "tinker KEY VALUE" pair. */
static int tinker_pair(struct cfg_parser *p, const char *key, const char *val)
{
    static const char *const ignored[] = {"allan",    "dispersion", "freq", "huffpuff",
                                          "stepback", "stepfwd",    "tick"};
    struct cfg_clock *c = &p->c->clock;
    char ctx[48];
    double v;

    if (cfg_is(key, "step")) {
        return tinker_seconds(p, "step", val, MAX_THRESHOLD_S, &c->step_set, &c->step);
    }
    if (cfg_is(key, "panic")) {
        return tinker_seconds(p, "panic", val, MAX_THRESHOLD_S, &c->panic_set, &c->panic);
    }
    if (cfg_is(key, "stepout")) {
        return tinker_seconds(p, "stepout", val, MAX_STEPOUT_S, &c->stepout_set, &c->stepout);
    }
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        if (cfg_is(key, ignored[i])) {
            snprintf(ctx, sizeof ctx, "tinker: %s", ignored[i]);
            if (cfg_get_double(p, ctx, "a number", val, -1e9, 1e9, &v) < 0) {
                return -1;
            }
            cfg_note(p, "%s is accepted but has no effect in this version", ctx);
            return 0;
        }
    }
    return cfg_fail(p,
                    "tinker: unknown option " CFG_TOK " (expected step, panic, stepout, "
                    "allan, dispersion, freq, huffpuff, stepback, stepfwd or tick)",
                    key);
}

/* ntpd: tinker KEY VALUE [KEY VALUE ...]. */
int cfg_do_tinker(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "tinker: missing value: expected step, panic or stepout and a "
                           "number of seconds");
    }
    for (size_t i = 1; i < l->argc; i += 2) {
        if (tinker_pair(p, l->argv[i], arg(l, i + 1)) < 0) {
            return -1;
        }
    }
    return 0;
}

/* tos options tsyncd does not use: numbers, except basedate (a date). */
static int tos_ignored(struct cfg_parser *p, const char *key, const char *val)
{
    static const char *const ignored[] = {"minclock",   "maxclock",    "mindist", "orphan",
                                          "orphanwait", "floor",       "ceiling", "cohort",
                                          "beacon",     "bcpollbstep", "basedate"};
    char ctx[48];
    double v;

    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        if (!cfg_is(key, ignored[i])) {
            continue;
        }
        snprintf(ctx, sizeof ctx, "tos: %s", ignored[i]);
        if (strcmp(ignored[i], "basedate") == 0) {
            if (val == NULL) {
                return cfg_fail(p, "%s: missing value: expected a date", ctx);
            }
        } else if (cfg_get_double(p, ctx, "a number", val, -1e9, 1e9, &v) < 0) {
            return -1;
        }
        cfg_note(p, "%s is accepted but has no effect in this version", ctx);
        return 0;
    }
    return cfg_fail(p,
                    "tos: unknown option " CFG_TOK " (expected minsane, maxdist, minclock, "
                    "maxclock, mindist, orphan, orphanwait, floor, ceiling, cohort, beacon, "
                    "bcpollbstep or basedate)",
                    key);
}

/* ntpd: tos KEY VALUE [KEY VALUE ...]; minsane and maxdist take effect. */
int cfg_do_tos(struct cfg_parser *p, struct cfg_line *l)
{
    struct cfg_clock *c = &p->c->clock;

    if (l->argc < 2) {
        return cfg_fail(p, "tos: missing value: expected minsane or maxdist and a number");
    }
    for (size_t i = 1; i < l->argc; i += 2) {
        const char *key = l->argv[i], *val = arg(l, i + 1);
        long n;
        double d;
        if (cfg_is(key, "minsane")) {
            if (cfg_get_int(p, "tos: minsane", "sources that must agree", val, 1, MAX_MINSOURCES,
                            &n) < 0) {
                return -1;
            }
            c->minsources = (int)n;
        } else if (cfg_is(key, "maxdist")) {
            if (cfg_get_double(p, "tos: maxdist", "a root distance in seconds", val, MIN_DISTANCE_S,
                               MAX_DISTANCE_S, &d) < 0) {
                return -1;
            }
            c->maxdistance = d;
        } else if (tos_ignored(p, key, val) < 0) {
            return -1;
        }
    }
    return 0;
}

/* chrony: minsources N. */
int cfg_do_minsources(struct cfg_parser *p, struct cfg_line *l)
{
    long n;

    if (cfg_get_int(p, "minsources", "sources that must agree", arg(l, 1), 1, MAX_MINSOURCES, &n) <
        0) {
        return -1;
    }
    p->c->clock.minsources = (int)n;
    return cfg_expect_end(p, l, 2);
}

/* chrony: maxdistance SECONDS. */
int cfg_do_maxdistance(struct cfg_parser *p, struct cfg_line *l)
{
    double d;

    if (cfg_get_double(p, "maxdistance", "a root distance in seconds", arg(l, 1), MIN_DISTANCE_S,
                       MAX_DISTANCE_S, &d) < 0) {
        return -1;
    }
    p->c->clock.maxdistance = d;
    return cfg_expect_end(p, l, 2);
}

/* tsyncd: estimator kalman|regression, the frequency and phase estimator behind the
 * discipline (doc/discipline.md has the measurements that made Kalman the default). */
int cfg_do_estimator(struct cfg_parser *p, struct cfg_line *l)
{
    const char *w = arg(l, 1);

    if (w != NULL && strcasecmp(w, "kalman") == 0) {
        p->c->clock.estimator = ENG_EST_KALMAN;
    } else if (w != NULL && strcasecmp(w, "regression") == 0) {
        p->c->clock.estimator = ENG_EST_REGRESS;
    } else {
        return cfg_fail(p, "estimator: expected kalman or regression, got \"%s\"",
                        w != NULL ? w : "");
    }
    return cfg_expect_end(p, l, 2);
}

/* tsyncd: holdover SECONDS, how long the clock counts as synchronized on its last
 * frequency after every source is lost. */
int cfg_do_holdover(struct cfg_parser *p, struct cfg_line *l)
{
    double d;

    if (cfg_get_double(p, "holdover", "seconds", arg(l, 1), MIN_HOLDOVER_S, MAX_HOLDOVER_S, &d) <
        0) {
        return -1;
    }
    p->c->clock.holdover_set = true;
    p->c->clock.holdover = d;
    return cfg_expect_end(p, l, 2);
}
