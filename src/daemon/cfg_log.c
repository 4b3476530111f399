/* Logs and statistics: where they go and what they hold. ntpd's logfile, logconfig,
 * statsdir, statistics and filegen; chrony's logdir, log and logchange. Parsing only:
 * the daemon writes the files (stats.c) and filters its event lines (evlog.c). */
#include <stdio.h>
#include <string.h>

#include "daemon/cfg_private.h"

struct stats_name {
    const char *name;
    unsigned file; /* CFG_STATS_* bit, 0: accepted, no file of its own */
};

/* ntpd's statistics names and chrony's log names onto tsyncd's two files. */
static const struct stats_name stats_names[] = {
    {"loopstats", CFG_STATS_TRACKING},
    {"peerstats", CFG_STATS_MEASUREMENTS},
    {"tracking", CFG_STATS_TRACKING},
    {"measurements", CFG_STATS_MEASUREMENTS},
    {"rawmeasurements", CFG_STATS_MEASUREMENTS},
    {"clockstats", 0},
    {"rawstats", 0},
    {"sysstats", 0},
    {"protostats", 0},
    {"usestats", 0},
    {"timingstats", 0},
    {"cryptostats", 0},
    {"statistics", 0},
    {"selection", 0},
    {"rtc", 0},
    {"refclocks", 0},
    {"tempcomp", 0},
};

void cfg_init_log(struct cfg *c)
{
    c->statsdir[0] = '\0';
    c->stats_files = 0;
    c->logfile[0] = '\0';
    c->log_classes = CFG_LOG_ALL;
    c->logchange = 0.0;
}

static const struct stats_name *stats_name(const char *w)
{
    for (size_t i = 0; i < sizeof(stats_names) / sizeof(stats_names[0]); i++) {
        if (cfg_is(w, stats_names[i].name)) {
            return &stats_names[i];
        }
    }
    return NULL;
}

/* statsdir DIR (ntpd), logdir DIR (chrony). */
int cfg_do_statsdir(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "%s: missing value: expected a directory", l->name);
    }
    if (l->argv[1][0] != '/') {
        return cfg_fail(p, "%s: expected an absolute directory (starting with /), got " CFG_TOK,
                        l->name, l->argv[1]);
    }
    if (cfg_get_path(p, l->name, l->argv[1], p->c->statsdir) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}

/* statistics NAME... (ntpd), log NAME... (chrony): the files to write. */
int cfg_do_statistics(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "%s: missing value: expected names like %s", l->name,
                        cfg_is(l->name, "log") ? "tracking measurements"
                                               : "loopstats peerstats");
    }
    for (size_t i = 1; i < l->argc; i++) {
        const struct stats_name *s = stats_name(l->argv[i]);
        if (s == NULL) {
            return cfg_fail(p,
                            "%s: unknown name " CFG_TOK " (tsyncd writes tracking.log for "
                            "loopstats/tracking and measurements.log for "
                            "peerstats/measurements)",
                            l->name, l->argv[i]);
        }
        if (s->file == 0) {
            cfg_note(p, "%s %s: tsyncd keeps no such file; accepted without effect", l->name,
                     s->name);
        }
        p->c->stats_files |= s->file;
    }
    return 0;
}

/* filegen NAME [file F] [type T] [link|nolink] [enable|disable] (ntpd): enable/disable
 * switch the file on or off; tsyncd names and rotates its files itself (logrotate and
 * SIGHUP), so file and type are accepted without effect. */
int cfg_do_filegen(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "filegen: missing value: expected a statistics name");
    }
    const struct stats_name *s = stats_name(l->argv[1]);
    if (s == NULL) {
        return cfg_fail(p, "filegen: unknown statistics name " CFG_TOK, l->argv[1]);
    }
    for (size_t i = 2; i < l->argc; i++) {
        const char *w = l->argv[i];
        if (cfg_is(w, "file") || cfg_is(w, "type")) {
            if (i + 1 >= l->argc) {
                return cfg_fail(p, "filegen: %s: missing value", w);
            }
            i++;
        } else if (cfg_is(w, "enable")) {
            p->c->stats_files |= s->file;
        } else if (cfg_is(w, "disable")) {
            p->c->stats_files &= ~s->file;
        } else if (!cfg_is(w, "link") && !cfg_is(w, "nolink")) {
            return cfg_fail(p,
                            "filegen: unknown option " CFG_TOK
                            " (expected file, type, link, nolink, enable or disable)",
                            w);
        }
    }
    return 0;
}

/* logfile PATH (ntpd): log lines go to the file instead of syslog. */
int cfg_do_logfile(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "logfile: missing value: expected a file path");
    }
    if (l->argv[1][0] != '/') {
        return cfg_fail(p, "logfile: expected an absolute path (starting with /), got " CFG_TOK,
                        l->argv[1]);
    }
    if (cfg_get_path(p, "logfile", l->argv[1], p->c->logfile) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}

struct log_class {
    const char *name;
    unsigned bits;
};

static const struct log_class log_classes[] = {
    {"clock", CFG_LOG_CLOCK}, {"peer", CFG_LOG_PEER}, {"sys", CFG_LOG_SYS},
    {"sync", CFG_LOG_SYNC},   {"all", CFG_LOG_ALL},
};

/* One logconfig word, "[=+-]CLASS[TYPE]" (ntp.conf(5)): CLASS clock, peer, sys, sync or
 * all; TYPE info, events, statistics, status or all, which tsyncd does not split (its
 * events are one type; statistics are files of their own). */
static int class_bits(struct cfg_parser *p, const char *word, unsigned *bits)
{
    static const char *const types[] = {"", "info", "events", "statistics", "status", "all"};

    for (size_t i = 0; i < sizeof(log_classes) / sizeof(log_classes[0]); i++) {
        size_t n = strlen(log_classes[i].name);
        if (strncmp(word, log_classes[i].name, n) != 0) {
            continue;
        }
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            if (cfg_is(word + n, types[t])) {
                *bits = log_classes[i].bits;
                return 0;
            }
        }
    }
    return cfg_fail(p,
                    "logconfig: unknown class " CFG_TOK
                    " (expected clock, peer, sys, sync or all, optionally followed by info, "
                    "events, statistics, status or all, like =syncall or +clockevents)",
                    word);
}

/* logconfig [=|+|-]CLASS...: "=" sets the mask, "+" adds, "-" removes; a first word
 * without a prefix sets it. */
int cfg_do_logconfig(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "logconfig: missing value: expected classes like =syncall +clockall");
    }
    for (size_t i = 1; i < l->argc; i++) {
        const char *w = l->argv[i];
        char op = (w[0] == '=' || w[0] == '+' || w[0] == '-') ? w[0] : (i == 1 ? '=' : '+');
        unsigned bits = 0;
        if (class_bits(p, w[0] == op ? w + 1 : w, &bits) < 0) {
            return -1;
        }
        if (op == '=') {
            p->c->log_classes = bits;
        } else if (op == '+') {
            p->c->log_classes |= bits;
        } else {
            p->c->log_classes &= ~bits;
        }
    }
    return 0;
}

/* logchange SECONDS (chrony): any correction of the clock larger than this is logged
 * as a warning. */
int cfg_do_logchange(struct cfg_parser *p, struct cfg_line *l)
{
    if (cfg_get_double(p, "logchange", "seconds", l->argc > 1 ? l->argv[1] : NULL, 0.0, 1e9,
                       &p->c->logchange) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}
