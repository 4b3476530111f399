/* cfg -> eng_config. The two dialects' step settings overlap: chrony's makestep governs
 * the first updates after start, ntpd's tinker step the threshold at any time; where
 * both are given each keeps its own part (doc/tsyncd.conf.5, "CLOCK DISCIPLINE"). */
#include "daemon/drv_config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void send_note(drv_config_note_fn note, void *ctx, const char *msg)
{
    if (note != NULL) {
        note(ctx, msg);
    }
}

static void map_source(const struct cfg_server *s, struct eng_source_config *e)
{
    eng_source_default(e, s->name, s->pool);
    e->iburst = s->iburst;
    e->burst = s->burst;
    e->prefer = s->prefer;
    e->noselect = s->noselect;
    e->minpoll = s->minpoll;
    e->maxpoll = s->maxpoll;
    if (s->pool && s->maxsources > 0) {
        e->maxsources = s->maxsources;
    }
    e->maxdelay = s->maxdelay;
    if (s->port != 0) {
        e->port = s->port;
    }
    if (s->version != 0) {
        e->version = (uint8_t)s->version;
    }
}

static void map_sources(const struct cfg *c, struct eng_config *out, drv_config_note_fn note,
                        void *ctx)
{
    size_t n = c->n_servers < CFG_MAX_SERVERS ? c->n_servers : CFG_MAX_SERVERS;
    char msg[128];

    if (n > ENG_MAX_CONFIG_SOURCES) {
        snprintf(msg, sizeof(msg), "only the first %d server/pool lines are used",
                 ENG_MAX_CONFIG_SOURCES);
        send_note(note, ctx, msg);
        n = ENG_MAX_CONFIG_SOURCES;
    }
    for (size_t i = 0; i < n; i++) {
        map_source(&c->servers[i], &out->sources[i]);
    }
    out->n_sources = n;
}

static void map_step_policy(const struct cfg_clock *k, struct eng_config *out)
{
    if (k->makestep_set) {
        out->step_threshold = k->makestep_threshold;
        out->step_limit = k->makestep_limit;
    }
    if (k->step_set && k->step > 0.0) {
        out->running_step_threshold = k->step;
        if (!k->makestep_set) {
            out->step_threshold = k->step;
        }
    } else if (k->step_set) {
        /* ntpd: "tinker step 0" never steps; makestep, if given, still rules start-up. */
        out->running_step_threshold = 0.0;
        if (!k->makestep_set) {
            out->step_limit = 0;
        }
    }
    if (k->panic_set) {
        out->panic_threshold = k->panic;
    }
    /* ntpd's stepout: a running step also waits until the first confirmation of the
     * offset is this old. Without the line the engine's 0 applies, not ntpd's 300 s:
     * the confirmations alone decide, so a wrong clock is put right in minutes. */
    if (k->stepout_set) {
        out->stepout = k->stepout;
    }
}

void drv_config_build(const struct cfg *c, bool no_clock_control, int8_t precision_log2,
                      struct eng_config *out, drv_config_note_fn note, void *ctx)
{
    const struct cfg_clock *k = &c->clock;

    eng_config_default(out);
    map_sources(c, out, note, ctx);
    map_step_policy(k, out);
    if (k->minsources > 0) {
        out->minsources = k->minsources;
    }
    if (k->maxdistance > 0.0) {
        out->maxdistance = k->maxdistance;
    }
    out->estimator = k->estimator;
    if (k->holdover_set) {
        out->holdover = k->holdover;
    }
    if (c->driftfile_interval > 0) {
        out->drift_save_interval = (double)c->driftfile_interval;
    }
    out->local = c->local;
    out->local_stratum = c->local_stratum;
    out->no_clock_control = no_clock_control;
    out->precision_log2 = precision_log2;
}

void drv_config_leap(const struct leapfile *lf, int64_t unix_s, struct eng_config *out,
                     drv_config_note_fn note, void *ctx)
{
    int64_t at = 0;
    int dir = 0;

    out->leap_at_unix_s = 0;
    out->leap_dir = 0;
    if (lf == NULL) {
        return;
    }
    if (leapfile_expired(lf, unix_s)) {
        send_note(note, ctx, "the leap seconds file has expired: a leap it does not list "
                             "is not announced (update tzdata)");
    }
    if (leapfile_next(lf, unix_s, &at, &dir)) {
        out->leap_at_unix_s = at;
        out->leap_dir = dir;
    }
}

int drv_config_family(const struct cfg *c, const char *name)
{
    size_t n = c->n_servers < CFG_MAX_SERVERS ? c->n_servers : CFG_MAX_SERVERS;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(c->servers[i].name, name) != 0) {
            continue;
        }
        if (c->servers[i].family == CORE_AF_INET) {
            return AF_INET;
        }
        return c->servers[i].family == CORE_AF_INET6 ? AF_INET6 : AF_UNSPEC;
    }
    return AF_UNSPEC;
}
