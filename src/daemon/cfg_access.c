/* Who may get time: chrony's allow/deny and ntpd's restrict turned into ACL rules, and
 * the rate limits of chrony's ratelimit and ntpd's discard turned into rlim_params.
 * The decisions themselves are made by core/acl and core/rlim; this only parses. */
#include <stdio.h>
#include <string.h>

#include "daemon/cfg_private.h"

#define SUBNET_HINT "an address or subnet (like 198.18.0.0/15, 198.18, 2001:db8::/32 or ::/0)"

static int add_both_families(struct cfg_parser *p, uint32_t flags, enum acl_add_mode mode)
{
    struct acl_rule r = {.family = CORE_AF_INET, .prefix_len = 0, .flags = flags};

    if (cfg_add_rule(p, &r, mode) < 0) {
        return -1;
    }
    r.family = CORE_AF_INET6;
    return cfg_add_rule(p, &r, mode);
}

/* chrony: allow|deny [all] [SUBNET]. Without a subnet the line covers every address of
 * both families; "all" also drops the earlier, more specific rules inside the prefix. */
static int allow_deny(struct cfg_parser *p, struct cfg_line *l, uint32_t flags)
{
    enum acl_add_mode mode = ACL_ADD_REPLACE;
    size_t i = 1;
    struct acl_rule r;

    if (i < l->argc && cfg_is(l->argv[i], "all")) {
        mode = ACL_ADD_REPLACE_ALL;
        i++;
    }
    if (i == l->argc) {
        return add_both_families(p, flags, mode);
    }
    if (!cfg_parse_subnet(l->argv[i], &r)) {
        return cfg_fail(p, "%s: expected " SUBNET_HINT ", got " CFG_TOK, l->name, l->argv[i]);
    }
    if (cfg_expect_end(p, l, i + 1) < 0) {
        return -1;
    }
    r.flags = flags;
    return cfg_add_rule(p, &r, mode);
}

int cfg_do_allow(struct cfg_parser *p, struct cfg_line *l)
{
    return allow_deny(p, l, 0);
}

int cfg_do_deny(struct cfg_parser *p, struct cfg_line *l)
{
    return allow_deny(p, l, ACL_IGNORE);
}

struct flag_name {
    const char *name;
    uint32_t flag; /* 0: accepted, warned, no effect */
};

/* ntp.conf(5) restrict flags. notrust is refused before this table is consulted. */
static const struct flag_name restrict_flags[] = {
    {"ignore", ACL_IGNORE},
    {"noserve", ACL_NOSERVE},
    {"kod", ACL_KOD},
    {"limited", ACL_LIMITED},
    {"nomodify", ACL_NOMODIFY},
    {"notrap", ACL_NOTRAP},
    {"nopeer", ACL_NOPEER},
    {"noquery", ACL_NOQUERY},
    {"version", 0},
    {"ntpport", 0},
    {"nomrulist", 0},
    {"flake", 0},
    {"mssntp", 0},
    {"lowpriotrap", 0},
    {"noepeer", 0},
};

static int parse_flag(struct cfg_parser *p, const char *word, uint32_t *flags)
{
    if (cfg_is(word, "notrust")) {
        return cfg_fail(p, "restrict: notrust is not supported: tsyncd cannot require "
                           "authenticated clients, so it will not pretend to");
    }
    for (size_t i = 0; i < sizeof restrict_flags / sizeof restrict_flags[0]; i++) {
        if (cfg_is(word, restrict_flags[i].name)) {
            if (restrict_flags[i].flag == 0) {
                cfg_note(p, "restrict: flag %s is accepted but has no effect in this version",
                         restrict_flags[i].name);
            }
            *flags |= restrict_flags[i].flag;
            return 0;
        }
    }
    return cfg_fail(p,
                    "restrict: unknown flag " CFG_TOK " (expected ignore, noserve, kod, "
                    "limited, nomodify, notrap, nopeer or noquery)",
                    word);
}

/* "mask M" after a plain address: M must be a contiguous netmask of the same family. */
static int parse_mask(struct cfg_parser *p, struct cfg_line *l, size_t *i, struct acl_rule *r,
                      bool plain)
{
    struct core_addr m;
    int len;

    if (*i >= l->argc || !cfg_is(l->argv[*i], "mask")) {
        return 0;
    }
    if (!plain) {
        return cfg_fail(p, "restrict: mask only follows a plain address (not default, source "
                           "or ADDR/BITS)");
    }
    if (*i + 1 >= l->argc) {
        return cfg_fail(p, "restrict: mask: missing value: expected a netmask (like "
                           "255.255.255.0)");
    }
    const char *w = l->argv[*i + 1];
    if (!cfg_parse_addr(w, &m) || m.family != r->family) {
        return cfg_fail(p,
                        "restrict: mask: expected a netmask of the address's family (like "
                        "255.255.255.0 or ffff:ffff::), got " CFG_TOK,
                        w);
    }
    len = cfg_mask_prefix(&m);
    if (len < 0) {
        return cfg_fail(p,
                        "restrict: mask " CFG_TOK " is not a contiguous netmask (expected "
                        "ones then zeros, like 255.255.255.0)",
                        w);
    }
    r->prefix_len = (uint8_t)len;
    *i += 2;
    return 0;
}

enum target { TARGET_ADDR, TARGET_DEFAULT, TARGET_SOURCE };

/* restrict [-4|-6] default|source|ADDR[/BITS] -> target, family and rule prefix. */
static int parse_target(struct cfg_parser *p, struct cfg_line *l, size_t *i, uint8_t *family,
                        enum target *t, struct acl_rule *r)
{
    *family = CORE_AF_NONE;
    if (*i < l->argc && (strcmp(l->argv[*i], "-4") == 0 || strcmp(l->argv[*i], "-6") == 0)) {
        *family = l->argv[*i][1] == '4' ? CORE_AF_INET : CORE_AF_INET6;
        (*i)++;
    }
    if (*i >= l->argc) {
        return cfg_fail(p, "restrict: missing value: expected default, source or an address");
    }
    const char *w = l->argv[(*i)++];
    if (cfg_is(w, "default") || cfg_is(w, "source")) {
        *t = cfg_is(w, "default") ? TARGET_DEFAULT : TARGET_SOURCE;
        return 0;
    }
    *t = TARGET_ADDR;
    if (!cfg_parse_cidr(w, r)) {
        return cfg_fail(p,
                        "restrict: expected default, source or an address (like 198.18.0.1, "
                        "198.18.0.0/15 or 2001:db8::1), got " CFG_TOK,
                        w);
    }
    if (*family != CORE_AF_NONE && *family != r->family) {
        return cfg_fail(p, "restrict: address " CFG_TOK " is not of the family -%c asks for", w,
                        *family == CORE_AF_INET ? '4' : '6');
    }
    return parse_mask(p, l, i, r, strchr(w, '/') == NULL);
}

/* ntpd: restrict TARGET [mask M] [flag...]; lines for the same prefix merge their flags.
 * "default" is /0 of both families (or the one -4/-6 names). */
int cfg_do_restrict(struct cfg_parser *p, struct cfg_line *l)
{
    struct acl_rule r = {0};
    uint8_t family;
    enum target t;
    size_t i = 1;
    uint32_t flags = 0;

    if (parse_target(p, l, &i, &family, &t, &r) < 0) {
        return -1;
    }
    if (i < l->argc && cfg_is(l->argv[i], "mask")) {
        return parse_mask(p, l, &i, &r, false);
    }
    for (; i < l->argc; i++) {
        if (parse_flag(p, l->argv[i], &flags) < 0) {
            return -1;
        }
    }
    if (t == TARGET_SOURCE) {
        cfg_note(p, "restrict source: applies to the addresses of sources, which are not used "
                    "yet; accepted without effect");
        return 0;
    }
    r.flags = flags;
    if (t == TARGET_ADDR) {
        return cfg_add_rule(p, &r, ACL_ADD_MERGE);
    }
    if (family != CORE_AF_NONE) {
        r = (struct acl_rule){.family = family, .prefix_len = 0, .flags = flags};
        return cfg_add_rule(p, &r, ACL_ADD_MERGE);
    }
    return add_both_families(p, flags, ACL_ADD_MERGE);
}

struct limit_opt {
    const char *name;
    long min, max;
    int *dst;
};

/* chrony: ratelimit [interval N] [burst N] [leak N] [kod N]; the limit then applies to
 * every client. Unnamed options keep their defaults (interval 3, burst 8, leak 2). */
int cfg_do_ratelimit(struct cfg_parser *p, struct cfg_line *l)
{
    struct rlim_params *rp = &p->c->rlim;
    const struct limit_opt opts[] = {
        {"interval", -4, 12, &rp->interval_log2},
        {"burst", 1, 255, &rp->burst},
        {"leak", 0, 4, &rp->leak_log2},
        {"kod", 0, 4, &rp->kod_log2},
    };
    char ctx[64];

    for (size_t i = 1; i < l->argc; i += 2) {
        size_t k = 0;
        while (k < 4 && !cfg_is(l->argv[i], opts[k].name)) {
            k++;
        }
        if (k == 4) {
            return cfg_fail(p,
                            "ratelimit: unknown option " CFG_TOK " (expected interval, "
                            "burst, leak or kod)",
                            l->argv[i]);
        }
        long v;
        snprintf(ctx, sizeof ctx, "ratelimit: %s", opts[k].name);
        if (cfg_get_int(p, ctx, k == 1 ? "a number of requests" : "a log2 value",
                        i + 1 < l->argc ? l->argv[i + 1] : NULL, opts[k].min, opts[k].max,
                        &v) < 0) {
            return -1;
        }
        *opts[k].dst = (int)v;
    }
    p->c->ratelimit_all = true;
    p->ratelimit_line = true;
    return 0;
}

/* ntpd: discard [average LOG2] [minimum S] [monitor N]; the limit applies to clients
 * whose restrict line says "limited". */
int cfg_do_discard(struct cfg_parser *p, struct cfg_line *l)
{
    struct rlim_params *rp = &p->c->rlim;

    for (size_t i = 1; i < l->argc; i += 2) {
        const char *w = l->argv[i], *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
        long n;
        if (cfg_is(w, "average")) {
            if (cfg_get_int(p, "discard: average", "a log2 interval in seconds", v, -4, 12, &n) <
                0) {
                return -1;
            }
            rp->interval_log2 = (int)n;
        } else if (cfg_is(w, "minimum")) {
            if (cfg_get_int(p, "discard: minimum", "seconds", v, 0, 3600, &n) < 0) {
                return -1;
            }
            rp->min_spacing = (double)n;
        } else if (cfg_is(w, "monitor")) {
            if (cfg_get_int(p, "discard: monitor", "a number", v, 0, 1000000000, &n) < 0) {
                return -1;
            }
            cfg_note(p, "discard: monitor is accepted but has no effect in this version");
        } else {
            return cfg_fail(p,
                            "discard: unknown option " CFG_TOK " (expected average, minimum "
                            "or monitor)",
                            w);
        }
    }
    return 0;
}

/* ntpd sends a KoD to limited clients whose rule has "kod". Without a chrony ratelimit
 * line saying how often, send one for every second limited request (kod_log2 = 1). */
void cfg_finish_access(struct cfg_parser *p)
{
    const struct acl *a = &p->c->acl;

    if (p->ratelimit_line) {
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        uint32_t both = ACL_KOD | ACL_LIMITED;
        if ((a->rules[i].flags & both) == both) {
            p->c->rlim.kod_log2 = 1;
            return;
        }
    }
}
