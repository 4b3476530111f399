/* The control directives: where the control socket lives and which group may change
 * things (controlsocket, controlgroup, chrony's bindcmdaddress), and who may send NTP
 * mode 6 queries (chrony's cmdallow/cmddeny, filling cfg->query_acl). Parsing only;
 * the socket is made by ctl.c and the queries are answered by the mode 6 code. */
#include <stdio.h>
#include <string.h>

#include "daemon/cfg_private.h"

/* sizeof(struct sockaddr_un.sun_path) on Linux, less the terminating NUL. */
#define SOCKET_PATH_MAX 107
/* Group names: what shadow-utils accepts (32 characters, no ':' or blanks). */
#define GROUP_NAME_MAX 32

void cfg_init_control(struct cfg *c)
{
    struct acl_rule v4 = {.family = CORE_AF_INET, .prefix_len = 8, .addr = {127}};
    struct acl_rule v6 = {.family = CORE_AF_INET6, .prefix_len = 128, .addr = {[15] = 1}};

    snprintf(c->controlsocket, sizeof c->controlsocket, "%s", CFG_CONTROLSOCKET);
    c->controlgroup[0] = '\0';
    acl_init(&c->query_acl);
    (void)acl_add(&c->query_acl, &v4, ACL_ADD_REPLACE);
    (void)acl_add(&c->query_acl, &v6, ACL_ADD_REPLACE);
}

static int set_socket_path(struct cfg_parser *p, const char *ctx, const char *word)
{
    if (word[0] != '/') {
        return cfg_fail(p, "%s: expected an absolute path (starting with /) or none, got " CFG_TOK,
                        ctx, word);
    }
    if (strlen(word) > SOCKET_PATH_MAX) {
        return cfg_fail(p, "%s: a Unix socket path has at most %d characters, got %zu", ctx,
                        SOCKET_PATH_MAX, strlen(word));
    }
    return cfg_get_path(p, ctx, word, p->c->controlsocket);
}

/* controlsocket PATH|none (tsyncd's own). */
int cfg_do_controlsocket(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "controlsocket: missing value: expected a socket path or none");
    }
    if (cfg_is(l->argv[1], "none")) {
        p->c->controlsocket[0] = '\0';
    } else if (set_socket_path(p, "controlsocket", l->argv[1]) < 0) {
        return -1;
    }
    return cfg_expect_end(p, l, 2);
}

/* chrony: bindcmdaddress ADDRESS|/PATH. A path is the Unix command socket, "/" alone turns
 * it off (chrony.conf(5)); an address would be chrony's UDP command port, which tsyncd
 * does not have, so it is accepted with a warning and changes nothing. */
int cfg_do_bindcmdaddress(struct cfg_parser *p, struct cfg_line *l)
{
    struct core_addr a;

    if (l->argc < 2) {
        return cfg_fail(p, "bindcmdaddress: missing value: expected an address or a socket "
                           "path");
    }
    const char *w = l->argv[1];
    if (strcmp(w, "/") == 0) {
        p->c->controlsocket[0] = '\0';
    } else if (w[0] == '/') {
        if (set_socket_path(p, "bindcmdaddress", w) < 0) {
            return -1;
        }
    } else if (cfg_parse_addr(w, &a)) {
        cfg_note(p, "bindcmdaddress: tsyncd has no UDP command port (the control socket is "
                    "a Unix socket); the address is accepted without effect");
    } else {
        return cfg_fail(p,
                        "bindcmdaddress: expected an IPv4/IPv6 address or an absolute socket "
                        "path, got " CFG_TOK,
                        w);
    }
    return cfg_expect_end(p, l, 2);
}

static bool group_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-' || ch == '.';
}

/* controlgroup NAME: the group is looked up when tsyncd starts (an unknown group is an
 * error then), here only its spelling is checked. */
int cfg_do_controlgroup(struct cfg_parser *p, struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "controlgroup: missing value: expected a group name");
    }
    const char *w = l->argv[1];
    size_t n = strlen(w);
    bool ok = n > 0 && n <= GROUP_NAME_MAX && w[0] != '-';
    for (size_t i = 0; ok && i < n; i++) {
        ok = group_char_ok(w[i]);
    }
    if (!ok) {
        return cfg_fail(p,
                        "controlgroup: expected a group name (letters, digits, _ - ., at "
                        "most %d characters), got " CFG_TOK,
                        GROUP_NAME_MAX, w);
    }
    memcpy(p->c->controlgroup, w, n + 1);
    return cfg_expect_end(p, l, 2);
}

static int add_query_rule(struct cfg_parser *p, const struct acl_rule *r, enum acl_add_mode mode)
{
    switch (acl_add(&p->c->query_acl, r, mode)) {
    case ACL_OK:
        return 0;
    case ACL_FULL:
        return cfg_fail(p, "too many query rules: at most %d cmdallow/cmddeny prefixes",
                        ACL_MAX_RULES);
    case ACL_BAD_PREFIX:
    default:
        return cfg_fail(p, "internal error: the query table refused prefix length %u",
                        (unsigned)r->prefix_len);
    }
}

/* chrony: cmdallow|cmddeny [all] [SUBNET], with allow/deny's meaning, on the query table:
 * without a subnet the line covers every address of both families. */
static int cmd_allow_deny(struct cfg_parser *p, struct cfg_line *l, uint32_t flags)
{
    enum acl_add_mode mode = ACL_ADD_REPLACE;
    size_t i = 1;
    struct acl_rule r = {0};

    if (i < l->argc && cfg_is(l->argv[i], "all")) {
        mode = ACL_ADD_REPLACE_ALL;
        i++;
    }
    if (i == l->argc) {
        r = (struct acl_rule){.family = CORE_AF_INET, .flags = flags};
        if (add_query_rule(p, &r, mode) < 0) {
            return -1;
        }
        r.family = CORE_AF_INET6;
        return add_query_rule(p, &r, mode);
    }
    if (!cfg_parse_subnet(l->argv[i], &r)) {
        return cfg_fail(p,
                        "%s: expected an address or subnet (like 198.18.0.0/15, 198.18 or "
                        "2001:db8::/32), got " CFG_TOK,
                        l->name, l->argv[i]);
    }
    if (cfg_expect_end(p, l, i + 1) < 0) {
        return -1;
    }
    r.flags = flags;
    return add_query_rule(p, &r, mode);
}

int cfg_do_cmdallow(struct cfg_parser *p, struct cfg_line *l)
{
    return cmd_allow_deny(p, l, 0);
}

int cfg_do_cmddeny(struct cfg_parser *p, struct cfg_line *l)
{
    return cmd_allow_deny(p, l, ACL_IGNORE);
}

/* The port after the address: 1 to 65535, decimal digits only. */
static bool parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;

    if (*s == '\0' || strlen(s) > 5) {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
        v = v * 10 + (unsigned long)(*s - '0');
    }
    *port = (uint16_t)v;
    return v >= 1 && v <= 65535;
}

/* "198.18.0.1:9123" or "[2001:db8::1]:9123" into a with its port. */
static bool parse_addr_port(const char *w, struct core_addr *a)
{
    char host[64];
    const char *colon;
    size_t n;
    uint16_t port;
    bool bracketed = w[0] == '[';

    if (bracketed) {
        const char *close = strchr(w, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        n = (size_t)(close - w - 1);
        colon = close + 1;
        w++;
    } else {
        colon = strrchr(w, ':');
        if (colon == NULL || memchr(w, ':', (size_t)(colon - w)) != NULL) {
            return false; /* an IPv6 address needs its brackets */
        }
        n = (size_t)(colon - w);
    }
    if (n == 0 || n >= sizeof(host) || !parse_port(colon + 1, &port)) {
        return false;
    }
    memcpy(host, w, n);
    host[n] = '\0';
    if (!cfg_parse_addr(host, a) || bracketed != (a->family == CORE_AF_INET6)) {
        return false;
    }
    a->port = port;
    return true;
}

/* metrics ADDR:PORT|none (tsyncd's own): the Prometheus endpoint. Only an explicit
 * address is taken, so it listens on loopback unless the operator writes another. */
int cfg_do_metrics(struct cfg_parser *p, struct cfg_line *l)
{
    struct core_addr a;

    if (l->argc < 2) {
        return cfg_fail(p, "metrics: missing value: expected ADDRESS:PORT (like "
                           "127.0.0.1:9123 or [::1]:9123) or none");
    }
    if (cfg_is(l->argv[1], "none")) {
        p->c->metrics = false;
        memset(&p->c->metrics_addr, 0, sizeof(p->c->metrics_addr));
    } else if (parse_addr_port(l->argv[1], &a)) {
        p->c->metrics = true;
        p->c->metrics_addr = a;
    } else {
        return cfg_fail(p,
                        "metrics: expected ADDRESS:PORT with a port from 1 to 65535 (like "
                        "127.0.0.1:9123 or [::1]:9123) or none, got " CFG_TOK,
                        l->argv[1]);
    }
    return cfg_expect_end(p, l, 2);
}
