/* Time sources and the local reference: server/pool/peer lines (both dialects' options),
 * ntpd's LOCAL clock driver (server 127.127.1.u + fudge) and chrony's "local". Options
 * that would change whom tsyncd trusts are refused rather than ignored. */
#include <stdio.h>
#include <string.h>

#include "daemon/cfg_private.h"

#define LOCAL_DRIVER_STRATUM 5 /* ntpd's refclock_local.c default when there is no fudge */
#define HOST_HINT            "a host name or address (like ntp.example.org, 198.18.0.1 or [2001:db8::1])"

static bool is_host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

static bool is_host_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_host_char(s[i])) {
            return false;
        }
    }
    return true;
}

/* HOST is a name, an address, or [IPv6] as ntpd writes it; the brackets are dropped. */
static int parse_host(struct cfg_parser *p, const char *ctx, const char *w, struct cfg_server *s,
                      struct core_addr *lit)
{
    size_t n = strlen(w);
    char inner[CFG_NAME_LEN];

    lit->family = CORE_AF_NONE;
    if (w[0] == '[') {
        if (n < 3 || w[n - 1] != ']' || n - 2 >= sizeof inner) {
            return cfg_fail(p, "%s: expected an IPv6 address inside [ ], got " CFG_TOK, ctx, w);
        }
        memcpy(inner, w + 1, n - 2);
        inner[n - 2] = '\0';
        if (!cfg_parse_addr(inner, lit) || lit->family != CORE_AF_INET6) {
            return cfg_fail(p, "%s: expected an IPv6 address inside [ ], got " CFG_TOK, ctx, w);
        }
        snprintf(s->name, sizeof s->name, "%s", inner);
        return 0;
    }
    if (!cfg_parse_addr(w, lit) && !is_host_name(w)) {
        return cfg_fail(p, "%s: expected " HOST_HINT ", got " CFG_TOK, ctx, w);
    }
    snprintf(s->name, sizeof s->name, "%s", w);
    return 0;
}

enum opt_kind {
    OPT_FLAG,   /* no value, sets a bool */
    OPT_INT,    /* integer value in [min, max] */
    OPT_DOUBLE, /* decimal value in [min, max] */
    OPT_IGNORE, /* accepted and warned; nargs values (numbers unless word) */
    OPT_REFUSE, /* error: would change trust or be misread */
};

struct src_opt {
    const char *name;
    enum opt_kind kind;
    double min, max;
    int nargs;       /* OPT_IGNORE: values that follow */
    const char *why; /* OPT_REFUSE: the reason */
};

static const struct src_opt src_opts[] = {
    {"iburst", OPT_FLAG, 0, 0, 0, NULL},
    {"burst", OPT_FLAG, 0, 0, 0, NULL},
    {"prefer", OPT_FLAG, 0, 0, 0, NULL},
    {"noselect", OPT_FLAG, 0, 0, 0, NULL},
    {"minpoll", OPT_INT, 0, 17, 0, NULL},
    {"maxpoll", OPT_INT, 0, 17, 0, NULL},
    {"version", OPT_INT, 1, 4, 0, NULL},
    {"maxsources", OPT_INT, 1, 16, 0, NULL},
    {"port", OPT_INT, 1, 65535, 0, NULL},
    {"maxdelay", OPT_DOUBLE, 0, 1000, 0, NULL},
    {"key", OPT_REFUSE, 0, 0, 0, "symmetric keys are not supported yet"},
    {"autokey", OPT_REFUSE, 0, 0, 0, "autokey is not supported"},
    {"nts", OPT_REFUSE, 0, 0, 0, "NTS is not supported yet"},
    {"certset", OPT_REFUSE, 0, 0, 0, "NTS is not supported yet"},
    {"true", OPT_REFUSE, 0, 0, 0, "a source is never trusted blindly"},
    {"trust", OPT_REFUSE, 0, 0, 0, "a source is never trusted blindly"},
    {"require", OPT_REFUSE, 0, 0, 0, "source selection does not honour it yet"},
    {"xleave", OPT_IGNORE, 0, 0, 0, NULL},
    {"offline", OPT_IGNORE, 0, 0, 0, NULL},
    {"auto_offline", OPT_IGNORE, 0, 0, 0, NULL},
    {"preempt", OPT_IGNORE, 0, 0, 0, NULL},
    {"copy", OPT_IGNORE, 0, 0, 0, NULL},
    {"minstratum", OPT_IGNORE, 0, 0, 1, NULL},
    {"polltarget", OPT_IGNORE, 0, 0, 1, NULL},
    {"presend", OPT_IGNORE, 0, 0, 1, NULL},
    {"maxdelayratio", OPT_IGNORE, 0, 0, 1, NULL},
    {"maxdelaydevratio", OPT_IGNORE, 0, 0, 1, NULL},
    {"maxdelayquant", OPT_IGNORE, 0, 0, 1, NULL},
    {"minsamples", OPT_IGNORE, 0, 0, 1, NULL},
    {"maxsamples", OPT_IGNORE, 0, 0, 1, NULL},
    {"filter", OPT_IGNORE, 0, 0, 1, NULL},
    {"offset", OPT_IGNORE, 0, 0, 1, NULL},
    {"asymmetry", OPT_IGNORE, 0, 0, 1, NULL},
    {"bias", OPT_IGNORE, 0, 0, 1, NULL},
    {"ttl", OPT_IGNORE, 0, 0, 1, NULL},
    {"mode", OPT_IGNORE, 0, 0, 1, NULL},
    {"extfield", OPT_IGNORE, 0, 0, -1, NULL}, /* -1: one value, a word (hex field type) */
};

struct src_state {
    struct cfg_server s;
    bool minpoll_set, maxpoll_set;
};

static const struct src_opt *find_opt(const char *w)
{
    for (size_t i = 0; i < sizeof src_opts / sizeof src_opts[0]; i++) {
        if (cfg_is(w, src_opts[i].name)) {
            return &src_opts[i];
        }
    }
    return NULL;
}

static void set_flag(struct cfg_server *s, const char *name)
{
    bool *b = strcmp(name, "iburst") == 0   ? &s->iburst
              : strcmp(name, "burst") == 0  ? &s->burst
              : strcmp(name, "prefer") == 0 ? &s->prefer
                                            : &s->noselect;
    *b = true;
}

static void set_int(struct src_state *st, const char *name, int v)
{
    if (strcmp(name, "minpoll") == 0) {
        st->s.minpoll = v;
        st->minpoll_set = true;
    } else if (strcmp(name, "maxpoll") == 0) {
        st->s.maxpoll = v;
        st->maxpoll_set = true;
    } else if (strcmp(name, "version") == 0) {
        st->s.version = v;
    } else if (strcmp(name, "port") == 0) {
        st->s.port = (uint16_t)v;
    } else {
        st->s.maxsources = v;
    }
}

/* One option at argv[*i] (and its value); *i is left on the last word used. */
static int parse_opt(struct cfg_parser *p, const struct cfg_line *l, size_t *i,
                     struct src_state *st)
{
    const struct src_opt *o = find_opt(l->argv[*i]);
    const char *v = *i + 1 < l->argc ? l->argv[*i + 1] : NULL;
    char ctx[64];
    long n;
    double d;

    if (!o) {
        return cfg_fail(p,
                        "%s: unknown option " CFG_TOK " (expected iburst, burst, prefer, "
                        "noselect, minpoll, maxpoll, maxdelay, version, port or maxsources)",
                        l->name, l->argv[*i]);
    }
    snprintf(ctx, sizeof ctx, "%s: %s", l->name, o->name);
    switch (o->kind) {
    case OPT_FLAG:
        set_flag(&st->s, o->name);
        return 0;
    case OPT_INT:
        if (cfg_get_int(p, ctx, "an integer", v, (long)o->min, (long)o->max, &n) < 0) {
            return -1;
        }
        set_int(st, o->name, (int)n);
        break;
    case OPT_DOUBLE:
        if (cfg_get_double(p, ctx, "seconds", v, o->min, o->max, &d) < 0) {
            return -1;
        }
        st->s.maxdelay = d;
        break;
    case OPT_REFUSE:
        return cfg_fail(p, "%s: not supported: %s; remove the option", ctx, o->why);
    case OPT_IGNORE:
        if (o->nargs > 0 && cfg_get_double(p, ctx, "a number", v, -1e9, 1e9, &d) < 0) {
            return -1;
        }
        if (o->nargs < 0 && !v) {
            return cfg_fail(p, "%s: missing value", ctx);
        }
        cfg_note(p, "%s: accepted but has no effect in this version", ctx);
        *i += o->nargs != 0 ? 1 : 0;
        return 0;
    }
    (*i)++;
    return 0;
}

/* ntpd raises nothing and chrony raises maxpoll to minpoll; an explicit contradiction is
 * an error, a lone minpoll/maxpoll pulls the other default along. */
static int check_polls(struct cfg_parser *p, const struct cfg_line *l, struct src_state *st)
{
    struct cfg_server *s = &st->s;

    if (s->minpoll <= s->maxpoll) {
        return 0;
    }
    if (st->minpoll_set && st->maxpoll_set) {
        return cfg_fail(p,
                        "%s: minpoll %d is larger than maxpoll %d (expected minpoll <= "
                        "maxpoll)",
                        l->name, s->minpoll, s->maxpoll);
    }
    if (st->minpoll_set) {
        s->maxpoll = s->minpoll;
    } else {
        s->minpoll = s->maxpoll;
    }
    return 0;
}

/* -4/-6 before the host (ntpd) or ipv4/ipv6 after it (chrony). */
static uint8_t family_word(const char *w)
{
    if (strcmp(w, "-4") == 0 || cfg_is(w, "ipv4")) {
        return CORE_AF_INET;
    }
    if (strcmp(w, "-6") == 0 || cfg_is(w, "ipv6")) {
        return CORE_AF_INET6;
    }
    return CORE_AF_NONE;
}

static int parse_opts(struct cfg_parser *p, const struct cfg_line *l, size_t i,
                      struct src_state *st)
{
    for (; i < l->argc; i++) {
        uint8_t fam = family_word(l->argv[i]);
        if (fam != CORE_AF_NONE && l->argv[i][0] != '-') {
            st->s.family = fam;
            continue;
        }
        if (parse_opt(p, l, &i, st) < 0) {
            return -1;
        }
    }
    return check_polls(p, l, st);
}

static bool is_refclock(const struct core_addr *a)
{
    return a->family == CORE_AF_INET && a->bytes[0] == 127 && a->bytes[1] == 127;
}

/* ntpd's LOCAL driver: 127.127.1.u. Its options do nothing here; other drivers would
 * be sources tsyncd cannot read, so they are refused. */
static int local_refclock(struct cfg_parser *p, const struct cfg_line *l, size_t i,
                          const struct core_addr *a)
{
    struct src_state scratch = {.s = {.minpoll = 6, .maxpoll = 10}};

    if (a->bytes[2] != 1) {
        return cfg_fail(p,
                        "%s: reference clock driver %u is not supported (only the LOCAL "
                        "driver, 127.127.1.u)",
                        l->name, (unsigned)a->bytes[2]);
    }
    if (cfg_is(l->name, "pool")) {
        return cfg_fail(p, "pool: 127.127.1.%u is the local clock driver; use server",
                        (unsigned)a->bytes[3]);
    }
    if (parse_opts(p, l, i + 1, &scratch) < 0) {
        return -1;
    }
    if (i + 1 < l->argc) {
        cfg_note(p, "%s 127.127.1.%u: options have no effect on the local clock", l->name,
                 (unsigned)a->bytes[3]);
    }
    if (p->refclock_at.line > 0) {
        cfg_note(p,
                 "%s 127.127.1.%u: a local clock is already configured at %s:%d; this line "
                 "is ignored",
                 l->name, (unsigned)a->bytes[3], p->refclock_at.file, p->refclock_at.line);
        return 0;
    }
    cfg_mark(p, &p->refclock_at);
    p->refclock_unit = a->bytes[3];
    return 0;
}

/* server|pool|peer [-4|-6] HOST [options]: stored for the client. */
int cfg_do_server(struct cfg_parser *p, struct cfg_line *l)
{
    bool pool = cfg_is(l->name, "pool");
    struct src_state st = {
        .s = {.pool = pool, .minpoll = 6, .maxpoll = 10, .maxsources = pool ? 4 : 0}};
    struct core_addr lit;
    size_t i = 1;

    if (i < l->argc && l->argv[i][0] == '-' && family_word(l->argv[i]) != CORE_AF_NONE) {
        st.s.family = family_word(l->argv[i++]);
    }
    if (i >= l->argc) {
        return cfg_fail(p, "%s: missing value: expected " HOST_HINT, l->name);
    }
    if (parse_host(p, l->name, l->argv[i], &st.s, &lit) < 0) {
        return -1;
    }
    if (is_refclock(&lit)) {
        return local_refclock(p, l, i, &lit);
    }
    if (cfg_is(l->name, "peer")) {
        cfg_note(p, "peer: symmetric mode is not supported; treated as a server line");
    }
    if (parse_opts(p, l, i + 1, &st) < 0) {
        return -1;
    }
    if (lit.family != CORE_AF_NONE && st.s.family != CORE_AF_NONE && lit.family != st.s.family) {
        return cfg_fail(p, "%s: address " CFG_TOK " is not of the IPv%d family asked for", l->name,
                        l->argv[i], st.s.family == CORE_AF_INET ? 4 : 6);
    }
    if (!pool && st.s.maxsources != 0) {
        cfg_note(p, "%s: maxsources only applies to pool lines; ignored", l->name);
        st.s.maxsources = 0;
    }
    if (p->c->n_servers >= CFG_MAX_SERVERS) {
        return cfg_fail(p, "%s: too many sources (at most %d server/pool lines)", l->name,
                        CFG_MAX_SERVERS);
    }
    p->c->servers[p->c->n_servers++] = st.s;
    return 0;
}

/* Options of fudge other than stratum: accepted, warned. */
static int fudge_other(struct cfg_parser *p, const char *w, const char *v)
{
    static const char *const numeric[] = {"time1", "time2", "flag1", "flag2", "flag3", "flag4"};
    char ctx[64];
    double d;

    snprintf(ctx, sizeof ctx, "fudge: %.20s", w);
    if (cfg_is(w, "refid")) {
        if (!v) {
            return cfg_fail(p, "fudge: refid: missing value: expected up to 4 characters");
        }
        cfg_note(p, "fudge: refid is accepted but has no effect in this version");
        return 0;
    }
    for (size_t k = 0; k < sizeof numeric / sizeof numeric[0]; k++) {
        if (cfg_is(w, numeric[k])) {
            if (cfg_get_double(p, ctx, "a number", v, -1e9, 1e9, &d) < 0) {
                return -1;
            }
            cfg_note(p, "fudge: %s is accepted but has no effect in this version", numeric[k]);
            return 0;
        }
    }
    return cfg_fail(p,
                    "fudge: unknown option " CFG_TOK " (expected stratum, refid, time1, "
                    "time2 or flag1..flag4)",
                    w);
}

/* ntpd: fudge 127.127.1.u [stratum N] [refid ID] [time1 S] [time2 S] [flagN 0|1].
 * Only stratum matters: ntpd serves one stratum below its reference clock's. */
int cfg_do_fudge(struct cfg_parser *p, struct cfg_line *l)
{
    struct core_addr a;
    long n;

    if (l->argc < 2) {
        return cfg_fail(p, "fudge: missing value: expected a reference clock address "
                           "(127.127.1.u)");
    }
    if (!cfg_parse_addr(l->argv[1], &a) || !is_refclock(&a)) {
        return cfg_fail(p, "fudge: expected a reference clock address (127.127.1.u), got " CFG_TOK,
                        l->argv[1]);
    }
    if (a.bytes[2] != 1) {
        return cfg_fail(p,
                        "fudge: reference clock driver %u is not supported (only the LOCAL "
                        "driver, 127.127.1.u)",
                        (unsigned)a.bytes[2]);
    }
    for (size_t i = 2; i < l->argc; i += 2) {
        const char *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
        if (!cfg_is(l->argv[i], "stratum")) {
            if (fudge_other(p, l->argv[i], v) < 0) {
                return -1;
            }
            continue;
        }
        /* 15 would make tsyncd announce 16, "unsynchronized": not a usable reference. */
        if (cfg_get_int(p, "fudge: stratum", "the driver's stratum (tsyncd serves one more)", v, 0,
                        14, &n) < 0) {
            return -1;
        }
        p->fudge_stratum[a.bytes[3]] = (int16_t)n;
    }
    cfg_mark(p, &p->fudge_at[a.bytes[3]]);
    return 0;
}

/* chrony: local [stratum N] [orphan] [distance D] [waitsynced S] [waitunsynced S]. */
int cfg_do_local(struct cfg_parser *p, struct cfg_line *l)
{
    long n = 10;
    double d;

    for (size_t i = 1; i < l->argc; i++) {
        const char *w = l->argv[i], *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
        if (cfg_is(w, "stratum")) {
            if (cfg_get_int(p, "local: stratum", "a stratum", v, 1, 15, &n) < 0) {
                return -1;
            }
            i++;
        } else if (cfg_is(w, "orphan")) {
            cfg_note(p, "local: orphan is accepted but has no effect in this version");
        } else if (cfg_is(w, "distance") || cfg_is(w, "waitsynced") || cfg_is(w, "waitunsynced")) {
            char ctx[32];
            snprintf(ctx, sizeof ctx, "local: %s",
                     cfg_is(w, "distance")     ? "distance"
                     : cfg_is(w, "waitsynced") ? "waitsynced"
                                               : "waitunsynced");
            if (cfg_get_double(p, ctx, "seconds", v, 0, 1e6, &d) < 0) {
                return -1;
            }
            cfg_note(p, "%s is accepted but has no effect in this version", ctx);
            i++;
        } else {
            return cfg_fail(p,
                            "local: unknown option " CFG_TOK " (expected stratum, orphan, "
                            "distance, waitsynced or waitunsynced)",
                            w);
        }
    }
    p->c->local = true;
    p->c->local_stratum = (uint8_t)n;
    cfg_mark(p, &p->local_at);
    return 0;
}

int cfg_finish_sources(struct cfg_parser *p)
{
    for (int u = 0; u < CFG_LOCAL_UNITS; u++) {
        if (p->fudge_at[u].line > 0 && u != p->refclock_unit) {
            cfg_note_at(p, &p->fudge_at[u],
                        "fudge: there is no \"server 127.127.1.%d\" line; "
                        "this fudge has no effect",
                        u);
        }
    }
    if (p->refclock_unit < 0) {
        return 0;
    }
    if (p->local_at.line > 0) {
        return cfg_fail_at(p, &p->refclock_at,
                           "server 127.127.1.%d: the local reference is "
                           "also set by \"local\" at %s:%d; keep only one",
                           p->refclock_unit, p->local_at.file, p->local_at.line);
    }
    int driver = p->fudge_stratum[p->refclock_unit];
    p->c->local = true;
    p->c->local_stratum = (uint8_t)((driver >= 0 ? driver : LOCAL_DRIVER_STRATUM) + 1);
    return 0;
}
