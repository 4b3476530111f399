/* tsyncd's configuration parser: splits text into lines and words, dispatches each
 * directive of either dialect (ntp.conf, chrony.conf) to its handler, and handles the
 * simple directives itself. A parse works on a copy so a failing file leaves the
 * caller's struct cfg untouched. Access control, sources and includes live in
 * cfg_access.c, cfg_source.c and cfg_include.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg_private.h"

void cfg_init(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    c->port = 123;
    c->local_stratum = 10;
    acl_init(&c->acl);
    rlim_params_default(&c->rlim);
    snprintf(c->pidfile, sizeof c->pidfile, "/run/tsyncd.pid");
    c->driftfile_interval = 3600; /* chrony's default: once an hour */
    cfg_init_control(c);
    cfg_init_log(c);
}

void cfg_format_error(const struct cfg_error *e, char *buf, size_t n)
{
    if (e->line > 0) {
        snprintf(buf, n, "%s:%d: %s", e->file, e->line, e->msg);
    } else {
        snprintf(buf, n, "%s: %s", e->file[0] != '\0' ? e->file : "config", e->msg);
    }
}

static int do_port(struct cfg_parser *p, struct cfg_line *l)
{
    long v;

    /* chrony: port 0 disables the server, the client still runs. */
    if (cfg_get_int(p, "port", "a UDP port number, 0 to disable serving",
                    l->argc > 1 ? l->argv[1] : NULL, 0, 65535, &v) < 0) {
        return -1;
    }
    p->c->port = (uint16_t)v;
    return cfg_expect_end(p, l, 2);
}

static int do_bindaddress(struct cfg_parser *p, struct cfg_line *l)
{
    struct core_addr a;

    if (l->argc < 2) {
        return cfg_fail(p, "bindaddress: missing value: expected an IPv4 or IPv6 address");
    }
    if (!cfg_parse_addr(l->argv[1], &a)) {
        return cfg_fail(p,
                        "bindaddress: expected an IPv4 or IPv6 address (like 198.18.0.1 "
                        "or 2001:db8::1), got " CFG_TOK,
                        l->argv[1]);
    }
    if (p->c->n_bind >= CFG_MAX_BIND) {
        return cfg_fail(p, "bindaddress: too many addresses (at most %d)", CFG_MAX_BIND);
    }
    p->c->bind[p->c->n_bind++] = a;
    return cfg_expect_end(p, l, 2);
}

static int do_pidfile(struct cfg_parser *p, struct cfg_line *l)
{
    if (cfg_get_path(p, "pidfile", l->argc > 1 ? l->argv[1] : NULL, p->c->pidfile) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}

/* leapfile PATH (ntpd): the file is read and checked when tsyncd starts, not here. */
static int do_leapfile(struct cfg_parser *p, struct cfg_line *l)
{
    if (cfg_get_path(p, "leapfile", l->argc > 1 ? l->argv[1] : NULL, p->c->leapfile) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}

/* ntpd's trailing numbers (4.2.8: wander tolerance; older: minutes and tolerance) tune
 * its own drift-file writes: accepted with a warning. */
static int drift_ntpd_numbers(struct cfg_parser *p, struct cfg_line *l)
{
    double d;

    for (size_t i = 2; i < l->argc && i < 4; i++) {
        if (cfg_get_double(p, "driftfile", "interval (chrony) or ntpd's tolerance", l->argv[i], 0,
                           1e6, &d) < 0) {
            return -1;
        }
    }
    if (cfg_expect_end(p, l, 4) < 0) {
        return -1;
    }
    cfg_note(p, "driftfile: ntpd's minutes/tolerance numbers are accepted but have no effect");
    return 0;
}

/* driftfile PATH [interval SECONDS] (chrony 4.7), or PATH [N [N]] (ntpd). */
static int do_driftfile(struct cfg_parser *p, struct cfg_line *l)
{
    long v;

    if (cfg_get_path(p, "driftfile", l->argc > 1 ? l->argv[1] : NULL, p->c->driftfile) < 0) {
        return -1;
    }
    if (l->argc <= 2) {
        return 0;
    }
    if (!cfg_is(l->argv[2], "interval")) {
        return drift_ntpd_numbers(p, l);
    }
    if (cfg_get_int(p, "driftfile: interval", "seconds between updates",
                    l->argc > 3 ? l->argv[3] : NULL, 1, 86400, &v) < 0) {
        return -1;
    }
    p->c->driftfile_interval = (int)v;
    return cfg_expect_end(p, l, 4);
}

/* Lines that would loosen a security property if ignored, or that only make sense as
 * run-time commands: failing is the only honest answer. */
static int do_refuse(struct cfg_parser *p, struct cfg_line *l)
{
    if (strncmp(l->name, "nts", 3) == 0) {
        return cfg_fail(p,
                        "%s: NTS is not supported yet; remove the line (tsyncd would "
                        "otherwise serve or use time without the protection it asks for)",
                        l->name);
    }
    return cfg_fail(p,
                    "%s: not a configuration directive (it is an ntpq/ntpdc run-time "
                    "command); edit or remove the matching restrict line instead",
                    l->name);
}

typedef int (*handler_fn)(struct cfg_parser *p, struct cfg_line *l);

struct directive {
    const char *name;
    handler_fn fn;
};

static const struct directive directives[] = {
    {"port", do_port},
    {"bindaddress", do_bindaddress},
    {"pidfile", do_pidfile},
    {"driftfile", do_driftfile},
    {"leapfile", do_leapfile},
    {"allow", cfg_do_allow},
    {"deny", cfg_do_deny},
    {"restrict", cfg_do_restrict},
    {"ratelimit", cfg_do_ratelimit},
    {"discard", cfg_do_discard},
    {"local", cfg_do_local},
    {"server", cfg_do_server},
    {"pool", cfg_do_server},
    {"peer", cfg_do_server},
    {"fudge", cfg_do_fudge},
    {"makestep", cfg_do_makestep},
    {"tinker", cfg_do_tinker},
    {"tos", cfg_do_tos},
    {"minsources", cfg_do_minsources},
    {"maxdistance", cfg_do_maxdistance},
    {"holdover", cfg_do_holdover},
    {"estimator", cfg_do_estimator},
    {"include", cfg_do_include},
    {"includefile", cfg_do_include},
    {"confdir", cfg_do_confdir},
    {"statsdir", cfg_do_statsdir},
    {"logdir", cfg_do_statsdir},
    {"statistics", cfg_do_statistics},
    {"log", cfg_do_statistics},
    {"filegen", cfg_do_filegen},
    {"logfile", cfg_do_logfile},
    {"logconfig", cfg_do_logconfig},
    {"logchange", cfg_do_logchange},
    {"controlsocket", cfg_do_controlsocket},
    {"controlgroup", cfg_do_controlgroup},
    {"bindcmdaddress", cfg_do_bindcmdaddress},
    {"cmdallow", cfg_do_cmdallow},
    {"cmddeny", cfg_do_cmddeny},
    {"metrics", cfg_do_metrics},
    {"unrestrict", do_refuse},
    {"delrestrict", do_refuse},
    {"nts", do_refuse},
    {"ntsserverkey", do_refuse},
    {"ntsservercert", do_refuse},
    {"ntsport", do_refuse},
    {"ntsprocesses", do_refuse},
    {"ntstrustedcerts", do_refuse},
    {"ntsntpserver", do_refuse},
    {"ntsrotate", do_refuse},
    {"ntsrefresh", do_refuse},
    {"ntscachedir", do_refuse},
};

/* Known ntpd/chrony directives that tsyncd accepts without acting on them yet; each
 * use is reported, never silently dropped. The hint, if any, says what to expect. */
struct known {
    const char *name;
    const char *hint;
};

static const struct known accepted[] = {
    /* clock discipline and its policy */
    {"rtcsync", NULL},
    {"maxupdateskew", NULL},
    {"maxchange", NULL},
    {"maxdrift", NULL},
    {"maxslewrate", NULL},
    {"corrtimeratio", NULL},
    {"maxclockerror", NULL},
    {"fallbackdrift", NULL},
    {"initstepslew", NULL},
    {"clockprecision", NULL},
    {"tempcomp", NULL},
    {"manual", NULL},
    /* leap seconds */
    {"leapsectz", NULL},
    {"leapseclist", NULL},
    {"leapsecmode", NULL},
    {"smoothtime", NULL},
    /* logs and statistics */
    {"logbanner", NULL},
    {"mailonchange", "tsyncd sends no mail; use logchange and the log"},
    /* keys (a source that uses one is an error, see server "key") */
    {"keys", NULL},
    {"keyfile", NULL},
    {"trustedkey", NULL},
    {"controlkey", NULL},
    {"requestkey", NULL},
    {"keysdir", NULL},
    {"crypto", "autokey is not supported"},
    {"revoke", NULL},
    {"automax", NULL},
    {"ident", NULL},
    /* source selection */
    {"reselectdist", NULL},
    {"stratumweight", NULL},
    {"combinelimit", NULL},
    {"maxjitter", NULL},
    {"maxsamples", NULL},
    {"minsamples", NULL},
    {"maxunreach", NULL},
    {"refclock", "reference clocks are not read yet"},
    {"sourcedir", "sources from that directory are not read"},
    {"unpeer", NULL},
    {"mdnstries", NULL},
    /* daemon, sockets, monitoring */
    {"enable", NULL},
    {"disable", NULL},
    {"interface", "tsyncd listens as bindaddress says"},
    {"nic", "tsyncd listens as bindaddress says"},
    {"hwtimestamp", NULL},
    {"binddevice", NULL},
    {"bindacqaddress", NULL},
    {"bindacqdevice", NULL},
    {"acquisitionport", NULL},
    {"dscp", NULL},
    {"ptpport", NULL},
    {"ptpdomain", NULL},
    {"dumpdir", NULL},
    {"dumponexit", NULL},
    {"ntsdumpdir", NULL},
    {"bindcmddevice", NULL},
    {"cmdport", NULL},
    {"opencommands", NULL},
    {"commandkey", NULL},
    {"generatecommandkey", NULL},
    {"user", "the package or service manager decides the user"},
    {"setvar", NULL},
    {"mru", NULL},
    {"rlimit", NULL},
    {"phone", NULL},
    {"trap", NULL},
    {"ttl", NULL},
    {"broadcast", "no broadcasts are sent"},
    {"broadcastclient", NULL},
    {"broadcastdelay", NULL},
    {"manycastserver", NULL},
    {"manycastclient", NULL},
    {"multicastclient", NULL},
    {"clientloglimit", NULL},
    {"noclientlog", NULL},
    {"sched_priority", NULL},
    {"lock_all", NULL},
    {"saveconfigdir", NULL},
    {"maxntsconnections", NULL},
    {"rtcfile", NULL},
    {"rtcautotrim", NULL},
    {"rtconutc", NULL},
    {"rtcdevice", NULL},
    {"hwclockfile", NULL},
    {"linux_hz", NULL},
    {"linux_freq_scale", NULL},
};

static int dispatch(struct cfg_parser *p, struct cfg_line *l)
{
    for (size_t i = 0; i < sizeof directives / sizeof directives[0]; i++) {
        if (cfg_is(l->argv[0], directives[i].name)) {
            l->name = directives[i].name;
            return directives[i].fn(p, l);
        }
    }
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        if (cfg_is(l->argv[0], accepted[i].name)) {
            cfg_note(p, "%s: accepted but has no effect in this version%s%s", accepted[i].name,
                     accepted[i].hint ? "; " : "", accepted[i].hint ? accepted[i].hint : "");
            return 0;
        }
    }
    return cfg_fail(p, "unknown directive " CFG_TOK, l->argv[0]);
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Comments: '#' anywhere (ntpd, and chrony at line start), and '!', ';', '%' as the first
 * character that is not blank (chrony). Words are separated by blanks. */
static void split_words(char *s, struct cfg_line *l)
{
    l->argc = 0;
    while (is_space(*s)) {
        s++;
    }
    if (*s == '!' || *s == ';' || *s == '%') {
        return;
    }
    while (*s && *s != '#') {
        l->argv[l->argc++] = s;
        while (*s && *s != '#' && !is_space(*s)) {
            s++;
        }
        bool comment = *s == '#';
        if (*s) {
            *s++ = '\0';
        }
        if (comment) {
            break;
        }
        while (is_space(*s)) {
            s++;
        }
    }
}

static int parse_line(struct cfg_parser *p, const char *text, size_t len)
{
    char buf[CFG_LINE_MAX + 1];
    struct cfg_line l;

    if (len > CFG_LINE_MAX) {
        return cfg_fail(p, "line too long: %zu characters, at most %d", len, CFG_LINE_MAX);
    }
    if (memchr(text, '\0', len)) {
        return cfg_fail(p, "line contains a NUL byte: expected text");
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    split_words(buf, &l);
    if (l.argc == 0) {
        return 0;
    }
    l.name = l.argv[0];
    return dispatch(p, &l);
}

int cfg_parse_text(struct cfg_parser *p, const char *text, size_t len)
{
    struct cfg_frame *f = &p->frames[p->depth - 1];
    size_t pos = 0;

    f->line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        f->line++;
        if (parse_line(p, text + pos, n) < 0) {
            return -1;
        }
        pos += n + (nl ? 1 : 0);
    }
    return 0;
}

static int finish(struct cfg_parser *p)
{
    if (cfg_finish_sources(p) < 0) {
        return -1;
    }
    cfg_finish_access(p);
    return 0;
}

/* Runs a parse on a heap copy of c (struct cfg is large) and copies it back only when
 * the whole configuration was accepted. */
static int run(struct cfg *c, const char *path, const char *text, size_t len, const char *name,
               unsigned flags, struct cfg_error *err, cfg_warn_fn warn, void *warn_ctx)
{
    struct cfg_parser *p = calloc(1, sizeof *p);
    struct cfg *work = malloc(sizeof *work);
    int rc = -1;

    memset(err, 0, sizeof *err);
    if (!p || !work) {
        snprintf(err->file, sizeof err->file, "%s", path ? path : name);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        goto out;
    }
    *work = *c;
    *p = (struct cfg_parser){.c = work,
                             .err = err,
                             .warn = warn,
                             .warn_ctx = warn_ctx,
                             .flags = flags,
                             .refclock_unit = -1};
    for (size_t i = 0; i < CFG_LOCAL_UNITS; i++) {
        p->fudge_stratum[i] = -1;
    }
    if (path) {
        rc = cfg_parse_file(p, NULL, path);
    } else {
        p->depth = 1;
        snprintf(p->frames[0].path, sizeof p->frames[0].path, "%s", name);
        rc = cfg_parse_text(p, text, len);
        p->depth = 0;
    }
    if (rc == 0) {
        rc = finish(p);
    }
    if (rc == 0) {
        *c = *work;
    }
out:
    free(work);
    free(p);
    return rc;
}

int cfg_load_file(struct cfg *c, const char *path, struct cfg_error *err, cfg_warn_fn warn,
                  void *warn_ctx)
{
    return run(c, path, NULL, 0, NULL, 0, err, warn, warn_ctx);
}

int cfg_load_buffer(struct cfg *c, const char *text, size_t len, const char *name, unsigned flags,
                    struct cfg_error *err, cfg_warn_fn warn, void *warn_ctx)
{
    return run(c, NULL, text, len, name ? name : "(string)", flags, err, warn, warn_ctx);
}

int cfg_load_string(struct cfg *c, const char *text, const char *name, struct cfg_error *err,
                    cfg_warn_fn warn, void *warn_ctx)
{
    return cfg_load_buffer(c, text, strlen(text), name, 0, err, warn, warn_ctx);
}
