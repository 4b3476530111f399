/* Scenario parser: words split at blanks, "double quotes" keep blanks inside one word,
 * # starts a comment outside quotes. A client line ending in { takes the following
 * lines, up to a line holding only }, as engine config lines (sim_ecfg). Node names
 * must be declared before a link, outage, step or dns line uses them. */
#include "sim/sim_scn.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim_ecfg.h"

#define MAX_WORDS        64
#define LINE_MAX_LEN     4096
#define DEFAULT_START_NS (INT64_C(1735689600) * 1000000000) /* 2025-01-01T00:00:00Z */

struct word {
    char *s;
    bool quoted;
};

struct parser {
    struct sim_scn *s;
    const char *file;
    int line;
    char *err;
    size_t errlen;
    int block; /* client node taking config lines, -1 none */
    int block_line;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
    char msg[SIM_SCN_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->line > 0) {
        snprintf(p->err, p->errlen, "%s:%d: %s", p->file, p->line, msg);
    } else {
        snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
    }
    return -1;
}

/* Grows *arr (of *n elements of size sz) by one zeroed element; NULL when the limit is
 * reached or memory runs out. */
static void *append(struct parser *p, void **arr, size_t *n, size_t sz, size_t limit,
                    const char *what)
{
    if (*n >= limit) {
        fail(p, "more than %zu %s", limit, what);
        return NULL;
    }
    char *a = realloc(*arr, (*n + 1) * sz);
    if (a == NULL) {
        fail(p, "out of memory");
        return NULL;
    }
    *arr = a;
    memset(a + *n * sz, 0, sz);
    return a + (*n)++ * sz;
}

/* Splits a line in place; returns the number of words or -1 (message set). */
static int split(struct parser *p, char *line, struct word *w)
{
    int n = 0;
    char *c = line;

    for (;;) {
        while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') {
            c++;
        }
        if (*c == '\0' || *c == '#') {
            return n;
        }
        if (n == MAX_WORDS) {
            return fail(p, "more than %d words on a line", MAX_WORDS);
        }
        w[n].quoted = *c == '"';
        if (w[n].quoted) {
            w[n].s = ++c;
            c = strchr(c, '"');
            if (c == NULL) {
                return fail(p, "unterminated \"");
            }
        } else {
            w[n].s = c;
            c += strcspn(c, " \t\r\n#");
            if (*c == '#') {
                *c = '\0';
                return n + 1;
            }
        }
        n++;
        if (*c == '\0') {
            return n;
        }
        *c++ = '\0';
    }
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SIM_SCN_NAME_MAX || !isalpha((unsigned char)s[0])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.') {
            return false;
        }
    }
    return true;
}

int sim_scn_find_node(const struct sim_scn *s, const char *name)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (strcmp(s->nodes[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* A node name, or * (any: -1) when allowed. Returns 0 or -1. */
static int node_ref(struct parser *p, const char *w, bool any_ok, int *out)
{
    if (any_ok && strcmp(w, "*") == 0) {
        *out = -1;
        return 0;
    }
    *out = sim_scn_find_node(p->s, w);
    if (*out < 0) {
        return fail(p, "unknown node \"%s\" (declare it before this line)", w);
    }
    return 0;
}

/* ---- values ---- */

static int seconds(struct parser *p, const char *what, const char *w, double min, double *out)
{
    if (w == NULL || !sim_parse_seconds(w, out) || *out < min) {
        return fail(p, "%s: expected seconds >= %g (units ns us ms s min h d), got \"%s\"", what,
                    min, w ? w : "");
    }
    return 0;
}

static int signed_seconds(struct parser *p, const char *what, const char *w, double *out)
{
    if (w == NULL || !sim_parse_seconds(w, out) || fabs(*out) > 1e9) {
        return fail(p, "%s: expected seconds (units ns us ms s min h d), got \"%s\"", what,
                    w ? w : "");
    }
    return 0;
}

static int ppm(struct parser *p, const char *what, const char *w, double lim, double *out)
{
    if (w == NULL || !sim_parse_number(w, out) || fabs(*out) > lim) {
        return fail(p, "%s: expected ppm within +-%g, got \"%s\"", what, lim, w ? w : "");
    }
    return 0;
}

static int probability(struct parser *p, const char *what, const char *w, double *out)
{
    char buf[64];
    size_t n = w ? strlen(w) : 0;
    double scale = 1.0;

    if (n == 0 || n >= sizeof(buf)) {
        return fail(p, "%s: expected a probability", what);
    }
    snprintf(buf, sizeof(buf), "%s", w);
    if (buf[n - 1] == '%') {
        buf[n - 1] = '\0';
        scale = 0.01;
    }
    if (!sim_parse_number(buf, out) || *out * scale < 0 || *out * scale > 1) {
        return fail(p, "%s: expected a probability 0..1 or 0%%..100%%, got \"%s\"", what, w);
    }
    *out *= scale;
    return 0;
}

static int integer(struct parser *p, const char *what, const char *w, long min, long max, long *out)
{
    if (w == NULL || !sim_parse_int(w, min, max, out)) {
        return fail(p, "%s: expected an integer %ld..%ld, got \"%s\"", what, min, max, w ? w : "");
    }
    return 0;
}

static int seed_value(struct parser *p, const char *w, uint64_t *out)
{
    char *end;

    errno = 0;
    unsigned long long v = w ? strtoull(w, &end, 0) : 0;
    if (w == NULL || w[0] == '-' || end == w || *end != '\0' || errno != 0) {
        return fail(p, "seed: expected an unsigned integer, got \"%s\"", w ? w : "");
    }
    *out = v;
    return 0;
}

/* ---- global settings ---- */

static int global_line(struct parser *p, struct word *w, int n)
{
    struct sim_scn *s = p->s;
    const char *k = w[0].s;
    const char *v = n == 2 ? w[1].s : NULL;

    if (n != 2) {
        return fail(p, "%s: expected one value", k);
    }
    if (strcmp(k, "duration") == 0) {
        return seconds(p, k, v, 1e-3, &s->duration);
    }
    if (strcmp(k, "warmup") == 0) {
        return seconds(p, k, v, 0, &s->warmup);
    }
    if (strcmp(k, "sample") == 0) {
        return seconds(p, k, v, 1e-3, &s->sample);
    }
    if (strcmp(k, "csv_interval") == 0) {
        return seconds(p, k, v, 1e-3, &s->csv_interval);
    }
    if (strcmp(k, "dns_delay") == 0) {
        return seconds(p, k, v, 0, &s->dns_delay);
    }
    if (strcmp(k, "seed") == 0) {
        return seed_value(p, v, &s->seed);
    }
    long start;
    if (integer(p, k, v, 0, 4000000000L, &start) != 0) { /* up to 2096: no overflow */
        return -1;
    }
    s->start_ns = (int64_t)start * 1000000000;
    return 0;
}

static bool is_global(const char *k)
{
    static const char *const names[] = {"duration",  "warmup", "sample", "csv_interval",
                                        "dns_delay", "seed",   "start"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(k, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- nodes ---- */

static int clock_opt(struct parser *p, struct sim_node_spec *nd, const char *k, const char *v)
{
    if (strcmp(k, "offset") == 0) {
        return signed_seconds(p, k, v, &nd->clock.offset);
    }
    if (strcmp(k, "freq") == 0) {
        return ppm(p, k, v, 1e5, &nd->clock.freq_ppm);
    }
    if (strcmp(k, "wander") == 0) {
        if (ppm(p, k, v, 1e3, &nd->clock.wander) != 0 || nd->clock.wander < 0) {
            return fail(p, "wander: expected ppm/sqrt(s) >= 0, got \"%s\"", v ? v : "");
        }
        return 0;
    }
    if (strcmp(k, "proc") == 0) {
        return seconds(p, k, v, 0, &nd->proc);
    }
    if (strcmp(k, "precision") == 0) {
        long pr;
        int r = integer(p, k, v, -30, 0, &pr);
        nd->precision_log2 = (int8_t)pr;
        return r;
    }
    return 1;
}

static int refid_opt(struct parser *p, struct sim_node_spec *nd, const char *v)
{
    uint8_t b[4] = {0, 0, 0, 0};
    size_t n = v ? strlen(v) : 0;

    if (n == 0 || n > 4) {
        return fail(p, "refid: expected 1 to 4 characters, got \"%s\"", v ? v : "");
    }
    memcpy(b, v, n);
    memcpy(&nd->refid, b, sizeof(b));
    return 0;
}

static int server_opt(struct parser *p, struct sim_node_spec *nd, const char *k, const char *v)
{
    long st;

    if (strcmp(k, "stratum") == 0) {
        int r = integer(p, k, v, 1, 15, &st);
        nd->stratum = (uint8_t)st;
        return r;
    }
    if (strcmp(k, "refid") == 0) {
        return refid_opt(p, nd, v);
    }
    if (strcmp(k, "rootdelay") == 0) {
        return seconds(p, k, v, 0, &nd->root_delay);
    }
    if (strcmp(k, "rootdisp") == 0) {
        return seconds(p, k, v, 0, &nd->root_dispersion);
    }
    return 1;
}

static int client_opt(struct parser *p, struct sim_node_spec *nd, const char *k, const char *v)
{
    if (strcmp(k, "seed") == 0) {
        nd->has_seed = true;
        return seed_value(p, v, &nd->seed);
    }
    return 1;
}

static struct sim_node_spec *new_node(struct parser *p, const char *name, enum sim_node_kind kind)
{
    struct sim_scn *s = p->s;

    if (!valid_name(name)) {
        fail(p, "bad node name \"%s\" (a letter, then letters, digits, - _ .; at most %d)", name,
             SIM_SCN_NAME_MAX - 1);
        return NULL;
    }
    if (sim_scn_find_node(s, name) >= 0) {
        fail(p, "node \"%s\" declared twice", name);
        return NULL;
    }
    size_t i = s->n_nodes;
    struct sim_node_spec *nd =
        append(p, (void **)&s->nodes, &s->n_nodes, sizeof(*nd), SIM_SCN_MAX_NODES, "nodes");
    if (nd == NULL) {
        return NULL;
    }
    snprintf(nd->name, sizeof(nd->name), "%s", name);
    nd->kind = kind;
    nd->line = p->line;
    nd->addr.family = CORE_AF_INET;
    nd->addr.bytes[0] = 198;
    nd->addr.bytes[1] = 18;
    nd->addr.bytes[2] = (uint8_t)(i / 250);
    nd->addr.bytes[3] = (uint8_t)(i % 250 + 1);
    nd->addr.port = 123;
    nd->stratum = 1;
    nd->precision_log2 = -20;
    nd->proc = 20e-6;
    nd->root_dispersion = 1e-6;
    refid_opt(p, nd, kind == SIM_NODE_FALSETICKER ? "FAKE" : "GPS");
    return nd;
}

static int client_config_words(struct parser *p, struct sim_node_spec *nd, struct word *w, int n)
{
    char msg[SIM_SCN_ERR_MAX];

    for (int i = 0; i < n; i++) {
        if (sim_ecfg_line(nd->cfg, w[i].s, msg, sizeof(msg)) != 0) {
            return fail(p, "config \"%s\": %s", w[i].s, msg);
        }
    }
    return 0;
}

/* Options of a node line from w[2]; the handlers return 0 (used), 1 (not theirs), -1. */
static int node_opts(struct parser *p, struct sim_node_spec *nd, struct word *w, int n)
{
    for (int i = 2; i < n; i++) {
        const char *k = w[i].s;
        const char *v = i + 1 < n ? w[i + 1].s : NULL;
        int r = 1;
        if (nd->kind == SIM_NODE_CLIENT && strcmp(k, "serve") == 0) {
            nd->serve = true;
            continue;
        }
        if (nd->kind == SIM_NODE_CLIENT && strcmp(k, "{") == 0 && i == n - 1) {
            p->block = (int)(nd - p->s->nodes);
            p->block_line = p->line;
            return 0;
        }
        if (nd->kind == SIM_NODE_CLIENT && strcmp(k, "config") == 0) {
            int end = n > i + 1 && strcmp(w[n - 1].s, "{") == 0 && !w[n - 1].quoted ? n - 1 : n;
            if (client_config_words(p, nd, w + i + 1, end - i - 1) != 0) {
                return -1;
            }
            i = end - 1;
            continue;
        }
        r = clock_opt(p, nd, k, v);
        if (r == 1) {
            r = nd->kind == SIM_NODE_CLIENT ? client_opt(p, nd, k, v) : server_opt(p, nd, k, v);
        }
        if (r < 0) {
            return -1;
        }
        if (r == 1) {
            return fail(p, "%s: unknown option \"%s\"", w[0].s, k);
        }
        i++;
    }
    return 0;
}

static int node_line(struct parser *p, struct word *w, int n, enum sim_node_kind kind)
{
    if (n < 2) {
        return fail(p, "%s: expected a node name", w[0].s);
    }
    struct sim_node_spec *nd = new_node(p, w[1].s, kind);
    if (nd == NULL) {
        return -1;
    }
    if (kind == SIM_NODE_CLIENT) {
        nd->cfg = malloc(sizeof(*nd->cfg));
        if (nd->cfg == NULL) {
            return fail(p, "out of memory");
        }
        sim_ecfg_init(nd->cfg);
    }
    return node_opts(p, nd, w, n);
}

/* ---- links, outages, injected events, DNS ---- */

struct link_words {
    bool has_up, has_down, has_asym;
    double delay, up, down, asym;
};

static int link_opt(struct parser *p, struct sim_link_rule *r, struct link_words *lw, const char *k,
                    const char *v)
{
    if (strcmp(k, "delay") == 0) {
        return seconds(p, k, v, 0, &lw->delay);
    }
    if (strcmp(k, "up") == 0) {
        lw->has_up = true;
        return seconds(p, k, v, 0, &lw->up);
    }
    if (strcmp(k, "down") == 0) {
        lw->has_down = true;
        return seconds(p, k, v, 0, &lw->down);
    }
    if (strcmp(k, "asym") == 0) {
        lw->has_asym = true;
        return signed_seconds(p, k, v, &lw->asym);
    }
    if (strcmp(k, "jitter") == 0) {
        if (r->p.dist == SIM_JITTER_NONE) {
            r->p.dist = SIM_JITTER_EXP;
        }
        return seconds(p, k, v, 0, &r->p.jitter);
    }
    if (strcmp(k, "jitter_dist") == 0) {
        if (v == NULL || !sim_jitter_parse(v, &r->p.dist)) {
            return fail(p, "jitter_dist: expected exp, normal, uniform or none, got \"%s\"",
                        v ? v : "");
        }
        return 0;
    }
    if (strcmp(k, "loss") == 0) {
        return probability(p, k, v, &r->p.loss);
    }
    return fail(p, "link: unknown option \"%s\"", k);
}

/* up/down given explicitly win; otherwise both are delay, and asym moves half of its
 * value from the reply path to the request path (the offset error it causes is asym/2). */
static int link_bases(struct parser *p, struct sim_link_rule *r, const struct link_words *lw)
{
    double up = lw->has_up ? lw->up : lw->delay + (lw->has_asym ? lw->asym / 2 : 0);
    double down = lw->has_down ? lw->down : lw->delay - (lw->has_asym ? lw->asym / 2 : 0);

    if (up < 0 || down < 0) {
        return fail(p, "link: asym %g makes a one-way delay negative (delay %g)", lw->asym,
                    lw->delay);
    }
    r->p.base[SIM_DIR_UP] = up;
    r->p.base[SIM_DIR_DOWN] = down;
    return 0;
}

static int link_line(struct parser *p, struct word *w, int n)
{
    struct sim_scn *s = p->s;
    struct link_words lw = {.delay = 100e-6};

    if (n < 3) {
        return fail(p, "link: expected CLIENT SERVER [options]");
    }
    struct sim_link_rule *r =
        append(p, (void **)&s->links, &s->n_links, sizeof(*r), SIM_SCN_MAX_ITEMS, "links");
    if (r == NULL || node_ref(p, w[1].s, true, &r->client) != 0 ||
        node_ref(p, w[2].s, true, &r->server) != 0) {
        return -1;
    }
    r->line = p->line;
    sim_link_params_default(&r->p);
    for (int i = 3; i < n; i += 2) {
        if (link_opt(p, r, &lw, w[i].s, i + 1 < n ? w[i + 1].s : NULL) != 0) {
            return -1;
        }
    }
    return link_bases(p, r, &lw);
}

static int outage_line(struct parser *p, struct word *w, int n)
{
    struct sim_scn *s = p->s;

    if (n < 3 || n > 5) {
        return fail(p, "outage: expected START END [NODE [NODE]]");
    }
    struct sim_outage *o =
        append(p, (void **)&s->outages, &s->n_outages, sizeof(*o), SIM_SCN_MAX_ITEMS, "outages");
    if (o == NULL || seconds(p, "outage START", w[1].s, 0, &o->start) != 0 ||
        seconds(p, "outage END", w[2].s, 0, &o->end) != 0) {
        return -1;
    }
    if (o->end <= o->start) {
        return fail(p, "outage: END must be after START");
    }
    o->a = o->b = -1;
    if (n >= 4 && node_ref(p, w[3].s, true, &o->a) != 0) {
        return -1;
    }
    if (n == 5 && node_ref(p, w[4].s, true, &o->b) != 0) {
        return -1;
    }
    return 0;
}

static int inject_line(struct parser *p, struct word *w, int n, enum sim_inject_kind kind)
{
    struct sim_scn *s = p->s;

    if (n != 4) {
        return fail(p, "%s: expected NODE AT %s", w[0].s,
                    kind == SIM_INJECT_STEP ? "SECONDS" : "PPM");
    }
    struct sim_inject *in = append(p, (void **)&s->injects, &s->n_injects, sizeof(*in),
                                   SIM_SCN_MAX_ITEMS, "injected events");
    if (in == NULL || node_ref(p, w[1].s, false, &in->node) != 0 ||
        seconds(p, "AT", w[2].s, 0, &in->at) != 0) {
        return -1;
    }
    in->kind = kind;
    in->line = p->line;
    if (kind == SIM_INJECT_STEP) {
        return signed_seconds(p, w[0].s, w[3].s, &in->value);
    }
    return ppm(p, w[0].s, w[3].s, 1e5, &in->value);
}

static int dns_addr(struct parser *p, struct sim_dns_entry *d, const char *w)
{
    struct core_addr *a = &d->addrs[d->n];
    int node = sim_scn_find_node(p->s, w);

    if (d->n >= SIM_DNS_MAX_ADDRS) {
        return fail(p, "dns: more than %d addresses", SIM_DNS_MAX_ADDRS);
    }
    memset(a, 0, sizeof(*a));
    if (node >= 0) {
        *a = p->s->nodes[node].addr;
        a->port = 0;
    } else if (inet_pton(AF_INET, w, a->bytes) == 1) {
        a->family = CORE_AF_INET;
    } else if (inet_pton(AF_INET6, w, a->bytes) == 1) {
        a->family = CORE_AF_INET6;
    } else {
        return fail(p, "dns: \"%s\" is neither a declared node nor an address", w);
    }
    d->n++;
    return 0;
}

static int dns_line(struct parser *p, struct word *w, int n)
{
    struct sim_scn *s = p->s;

    if (n < 3) {
        return fail(p, "dns: expected NAME [delay S] [fail] [shuffle] ADDRESS|NODE...");
    }
    struct sim_dns_entry *d =
        append(p, (void **)&s->dns, &s->n_dns, sizeof(*d), SIM_SCN_MAX_ITEMS, "dns names");
    if (d == NULL) {
        return -1;
    }
    if (strlen(w[1].s) >= sizeof(d->name)) {
        return fail(p, "dns: name too long");
    }
    snprintf(d->name, sizeof(d->name), "%s", w[1].s);
    d->delay = -1;
    d->line = p->line;
    for (int i = 2; i < n; i++) {
        if (strcmp(w[i].s, "fail") == 0) {
            d->fail = true;
        } else if (strcmp(w[i].s, "shuffle") == 0) {
            d->shuffle = true;
        } else if (strcmp(w[i].s, "delay") == 0) {
            if (seconds(p, "dns delay", i + 1 < n ? w[i + 1].s : NULL, 0, &d->delay) != 0) {
                return -1;
            }
            i++;
        } else if (dns_addr(p, d, w[i].s) != 0) {
            return -1;
        }
    }
    if (d->fail == (d->n > 0)) {
        return fail(p, "dns: give either addresses or fail");
    }
    return 0;
}

static int leap_line(struct parser *p, struct word *w, int n)
{
    struct sim_scn *s = p->s;

    if ((n != 3 && n != 5) || (n == 5 && strcmp(w[3].s, "announce") != 0)) {
        return fail(p, "leap: expected insert|delete AT [announce SECONDS]");
    }
    if (s->leap_dir != 0) {
        return fail(p, "leap: one leap second a scenario");
    }
    if (strcmp(w[1].s, "insert") == 0) {
        s->leap_dir = 1;
    } else if (strcmp(w[1].s, "delete") == 0) {
        s->leap_dir = -1;
    } else {
        return fail(p, "leap: expected insert or delete, got \"%s\"", w[1].s);
    }
    s->leap_announce = 86400;
    s->leap_line = p->line;
    if (seconds(p, "leap AT", w[2].s, 1, &s->leap_at) != 0 ||
        (n == 5 && seconds(p, "leap announce", w[4].s, 1, &s->leap_announce) != 0)) {
        return -1;
    }
    return 0;
}

/* The leap must end at a UTC midnight inside the run: start + AT, whole seconds. */
static int check_leap(struct parser *p)
{
    struct sim_scn *s = p->s;

    if (s->leap_dir == 0) {
        return 0;
    }
    p->line = s->leap_line;
    if (s->leap_at >= s->duration || s->leap_at != floor(s->leap_at)) {
        return fail(p, "leap: AT must be whole seconds within the duration");
    }
    int64_t at_s = s->start_ns / 1000000000 + (int64_t)s->leap_at;
    if (s->start_ns % 1000000000 != 0 || at_s % 86400 != 0) {
        return fail(p, "leap: start + AT (Unix %lld) is not a UTC midnight", (long long)at_s);
    }
    return 0;
}

/* ---- lines and files ---- */

static int directive(struct parser *p, struct word *w, int n)
{
    const char *k = w[0].s;

    if (w[0].quoted) {
        return fail(p, "expected a directive, got a quoted string");
    }
    if (is_global(k)) {
        return global_line(p, w, n);
    }
    if (strcmp(k, "server") == 0) {
        return node_line(p, w, n, SIM_NODE_SERVER);
    }
    if (strcmp(k, "falseticker") == 0) {
        return node_line(p, w, n, SIM_NODE_FALSETICKER);
    }
    if (strcmp(k, "client") == 0) {
        return node_line(p, w, n, SIM_NODE_CLIENT);
    }
    if (strcmp(k, "link") == 0) {
        return link_line(p, w, n);
    }
    if (strcmp(k, "outage") == 0) {
        return outage_line(p, w, n);
    }
    if (strcmp(k, "step") == 0) {
        return inject_line(p, w, n, SIM_INJECT_STEP);
    }
    if (strcmp(k, "freqstep") == 0) {
        return inject_line(p, w, n, SIM_INJECT_FREQ_SHIFT);
    }
    if (strcmp(k, "dns") == 0) {
        return dns_line(p, w, n);
    }
    if (strcmp(k, "leap") == 0) {
        return leap_line(p, w, n);
    }
    return fail(p, "unknown directive \"%s\"", k);
}

/* A line inside a client's { } block: an engine config line, or the closing }. */
static int block_line(struct parser *p, char *line)
{
    char msg[SIM_SCN_ERR_MAX];
    char *hash = strchr(line, '#');

    if (hash != NULL) {
        *hash = '\0';
    }
    size_t b = strspn(line, " \t\r\n");
    size_t e = strlen(line);
    while (e > b && strchr(" \t\r\n", line[e - 1]) != NULL) {
        e--;
    }
    if (e == b + 1 && line[b] == '}') {
        p->block = -1;
        return 0;
    }
    if (sim_ecfg_line(p->s->nodes[p->block].cfg, line, msg, sizeof(msg)) != 0) {
        return fail(p, "%s", msg);
    }
    return 0;
}

static int one_line(struct parser *p, char *line)
{
    struct word w[MAX_WORDS];

    if (p->block >= 0) {
        return block_line(p, line);
    }
    int n = split(p, line, w);
    if (n <= 0) {
        return n;
    }
    return directive(p, w, n);
}

static int finish(struct parser *p)
{
    struct sim_scn *s = p->s;
    size_t clients = 0;

    if (p->block >= 0) {
        p->line = p->block_line;
        return fail(p, "client block opened here is not closed with }");
    }
    for (size_t i = 0; i < s->n_nodes; i++) {
        if (s->nodes[i].kind == SIM_NODE_CLIENT) {
            sim_ecfg_finish(s->nodes[i].cfg);
            clients++;
        }
    }
    p->line = 0;
    if (clients == 0) {
        return fail(p, "no client node: nothing to simulate");
    }
    if (s->warmup >= s->duration) {
        return fail(p, "warmup %g s is not shorter than duration %g s", s->warmup, s->duration);
    }
    if (check_leap(p) != 0) {
        return -1;
    }
    p->line = 0;
    /* Samples are kept in memory for every node: about 17 bytes each. */
    if (s->duration / s->sample * (double)s->n_nodes > 5e7) {
        return fail(p, "duration / sample x nodes is above 5e7 samples: raise sample");
    }
    return 0;
}

static void set_defaults(struct sim_scn *s, const char *name)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->path, sizeof(s->path), "%s", name);
    const char *base = strrchr(name, '/');
    snprintf(s->name, sizeof(s->name), "%s", base ? base + 1 : name);
    char *dot = strrchr(s->name, '.');
    if (dot != NULL && strcmp(dot, ".scn") == 0) {
        *dot = '\0';
    }
    s->duration = 3600;
    s->sample = 0.1;
    s->csv_interval = 1;
    s->dns_delay = 0.02;
    s->seed = 1;
    s->start_ns = DEFAULT_START_NS;
}

int sim_scn_parse(struct sim_scn *s, const char *text, const char *name, char *err, size_t errlen)
{
    struct parser p = {.s = s, .file = name, .err = err, .errlen = errlen, .block = -1};
    char line[LINE_MAX_LEN];

    set_defaults(s, name);
    for (const char *c = text; *c != '\0';) {
        size_t n = strcspn(c, "\n");
        p.line++;
        if (n >= sizeof(line)) {
            fail(&p, "line longer than %d bytes", LINE_MAX_LEN - 1);
            sim_scn_free(s);
            return -1;
        }
        memcpy(line, c, n);
        line[n] = '\0';
        c += n + (c[n] == '\n');
        if (one_line(&p, line) != 0) {
            sim_scn_free(s);
            return -1;
        }
    }
    if (finish(&p) != 0) {
        sim_scn_free(s);
        return -1;
    }
    return 0;
}

int sim_scn_load(struct sim_scn *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0, cap = 0;
    size_t got;

    memset(s, 0, sizeof(*s));
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    do {
        if (cap - len < 4096) {
            char *t = cap > (16u << 20) ? NULL : realloc(text, cap + 65536);
            if (t == NULL) {
                snprintf(err, errlen, "%s: too large or out of memory", path);
                free(text);
                fclose(f);
                return -1;
            }
            text = t;
            cap += 65536;
        }
        got = fread(text + len, 1, cap - len - 1, f);
        len += got;
    } while (got > 0);
    fclose(f);
    text[len] = '\0';
    if (strlen(text) != len) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        free(text);
        return -1;
    }
    int r = sim_scn_parse(s, text, path, err, errlen);
    free(text);
    return r;
}

void sim_scn_free(struct sim_scn *s)
{
    for (size_t i = 0; i < s->n_nodes; i++) {
        free(s->nodes[i].cfg);
    }
    free(s->nodes);
    free(s->links);
    free(s->outages);
    free(s->injects);
    free(s->dns);
    memset(s, 0, sizeof(*s));
}

static int specificity(const struct sim_link_rule *r, int client, int server)
{
    if ((r->client >= 0 && r->client != client) || (r->server >= 0 && r->server != server)) {
        return -1;
    }
    return (r->client >= 0 ? 2 : 0) + (r->server >= 0 ? 1 : 0);
}

void sim_scn_link_params(const struct sim_scn *s, int client, int server,
                         struct sim_link_params *out)
{
    int best = -1;

    sim_link_params_default(out);
    /* Later lines of the same specificity win, as in a config file. */
    for (size_t i = 0; i < s->n_links; i++) {
        int sp = specificity(&s->links[i], client, server);
        if (sp >= 0 && sp >= best) {
            best = sp;
            *out = s->links[i].p;
        }
    }
}
