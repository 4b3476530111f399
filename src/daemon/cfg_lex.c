/* The configuration parser's word-level helpers: numbers, paths, addresses, subnets and
 * netmasks, and the error/warning messages that name file:line and what was expected.
 * Nothing here keeps state of its own; the parser state is passed in. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/cfg_private.h"

/* Messages are shown on a terminal or in a log: keep them plain printable ASCII. */
static void sanitize(char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch >= 0x7f) {
            *s = '?';
        }
    }
}

static void format_msg(char *dst, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void format_msg(char *dst, size_t n, const char *fmt, va_list ap)
{
    vsnprintf(dst, n, fmt, ap);
    sanitize(dst);
}

static const struct cfg_frame *top(const struct cfg_parser *p)
{
    return p->depth > 0 ? &p->frames[p->depth - 1] : NULL;
}

int cfg_fail(struct cfg_parser *p, const char *fmt, ...)
{
    const struct cfg_frame *f = top(p);
    va_list ap;

    snprintf(p->err->file, sizeof p->err->file, "%s", f ? f->path : "");
    p->err->line = f ? f->line : 0;
    va_start(ap, fmt);
    format_msg(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int cfg_fail_at(struct cfg_parser *p, const struct cfg_where *w, const char *fmt, ...)
{
    va_list ap;

    snprintf(p->err->file, sizeof p->err->file, "%s", w->file);
    p->err->line = w->line;
    va_start(ap, fmt);
    format_msg(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static void vnote(struct cfg_parser *p, const char *file, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vnote(struct cfg_parser *p, const char *file, int line, const char *fmt, va_list ap)
{
    char msg[256];

    if (!p->warn) {
        return;
    }
    format_msg(msg, sizeof msg, fmt, ap);
    p->warn(p->warn_ctx, file, line, msg);
}

void cfg_note(struct cfg_parser *p, const char *fmt, ...)
{
    const struct cfg_frame *f = top(p);
    va_list ap;

    va_start(ap, fmt);
    vnote(p, f ? f->path : "", f ? f->line : 0, fmt, ap);
    va_end(ap);
}

void cfg_note_at(struct cfg_parser *p, const struct cfg_where *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vnote(p, w->file, w->line, fmt, ap);
    va_end(ap);
}

void cfg_mark(const struct cfg_parser *p, struct cfg_where *w)
{
    const struct cfg_frame *f = top(p);

    snprintf(w->file, sizeof w->file, "%s", f ? f->path : "");
    w->line = f ? f->line : 0;
}

bool cfg_is(const char *word, const char *keyword)
{
    return word && strcasecmp(word, keyword) == 0;
}

/* Strict decimal integer: optional '-', digits, nothing else. ERANGE reported apart so
 * that a huge value is "out of range" rather than "not a number". */
static int parse_long(const char *s, long *out, bool *overflow)
{
    char *end;

    *overflow = false;
    if (!(s[0] == '-' ? s[1] >= '0' && s[1] <= '9' : s[0] >= '0' && s[0] <= '9')) {
        return -1;
    }
    errno = 0;
    *out = strtol(s, &end, 10);
    if (*end != '\0') {
        return -1;
    }
    *overflow = errno == ERANGE;
    return 0;
}

int cfg_get_int(struct cfg_parser *p, const char *ctx, const char *what, const char *word, long min,
                long max, long *out)
{
    bool overflow;

    if (!word) {
        return cfg_fail(p, "%s: missing value: expected %s (%ld..%ld)", ctx, what, min, max);
    }
    if (parse_long(word, out, &overflow) < 0) {
        return cfg_fail(p, "%s: expected %s (%ld..%ld), got " CFG_TOK, ctx, what, min, max, word);
    }
    if (overflow || *out < min || *out > max) {
        return cfg_fail(p, "%s: " CFG_TOK " is out of range: expected %s (%ld..%ld)", ctx, word,
                        what, min, max);
    }
    return 0;
}

/* Plain decimal notation only (no hex floats, inf or nan, which strtod would take). */
static bool is_decimal(const char *s)
{
    bool digits = false;

    if (*s == '-' || *s == '+') {
        s++;
    }
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            digits = true;
        } else if (*s != '.' && *s != 'e' && *s != 'E' && *s != '-' && *s != '+') {
            return false;
        }
    }
    return digits;
}

int cfg_get_double(struct cfg_parser *p, const char *ctx, const char *what, const char *word,
                   double min, double max, double *out)
{
    char *end;

    if (!word) {
        return cfg_fail(p, "%s: missing value: expected %s (%g..%g)", ctx, what, min, max);
    }
    *out = is_decimal(word) ? strtod(word, &end) : 0.0;
    if (!is_decimal(word) || *end != '\0') {
        return cfg_fail(p, "%s: expected %s (%g..%g), got " CFG_TOK, ctx, what, min, max, word);
    }
    if (!isfinite(*out) || *out < min || *out > max) {
        return cfg_fail(p, "%s: " CFG_TOK " is out of range: expected %s (%g..%g)", ctx, word, what,
                        min, max);
    }
    return 0;
}

int cfg_get_path(struct cfg_parser *p, const char *ctx, const char *word, char *dst)
{
    if (!word) {
        return cfg_fail(p, "%s: missing value: expected a file path", ctx);
    }
    if (strlen(word) >= CFG_PATH_LEN) {
        return cfg_fail(p, "%s: path too long (at most %d characters): " CFG_TOK "...", ctx,
                        CFG_PATH_LEN - 1, word);
    }
    memcpy(dst, word, strlen(word) + 1);
    return 0;
}

int cfg_expect_end(struct cfg_parser *p, const struct cfg_line *l, size_t i)
{
    if (i < l->argc) {
        return cfg_fail(p,
                        "%s: unexpected " CFG_TOK " after " CFG_TOK " (expected the end of "
                        "the line)",
                        l->name, l->argv[i], l->argv[i - 1]);
    }
    return 0;
}

bool cfg_parse_addr(const char *s, struct core_addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->bytes) == 1) {
        a->family = CORE_AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->bytes) == 1) {
        a->family = CORE_AF_INET6;
        return true;
    }
    memset(a, 0, sizeof *a);
    return false;
}

/* Decimal in [0, max] without sign, leading zeros or trailing junk up to len chars. */
static bool parse_small(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 3 || (len > 1 && s[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* chrony's shortened IPv4 prefix: 1 to 3 dotted octets, the prefix length 8 per octet. */
static bool parse_short_v4(const char *s, size_t len, struct acl_rule *r)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            continue;
        }
        unsigned v;
        if (n == 3 || !parse_small(s + start, i - start, 255, &v)) {
            return false;
        }
        r->addr[n++] = (uint8_t)v;
        start = i + 1;
    }
    r->family = CORE_AF_INET;
    r->prefix_len = (uint8_t)(8 * n);
    return true;
}

/* Splits "ADDR[/BITS]"; shortened says whether chrony's short IPv4 forms are allowed. */
static bool parse_prefix(const char *s, struct acl_rule *r, bool shortened)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    struct core_addr a;

    memset(r, 0, sizeof *r);
    if (alen == 0 || alen >= sizeof addr) {
        return false;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (cfg_parse_addr(addr, &a)) {
        r->family = a.family;
        memcpy(r->addr, a.bytes, sizeof r->addr);
        r->prefix_len = a.family == CORE_AF_INET ? 32 : 128;
    } else if (!shortened || !parse_short_v4(addr, alen, r)) {
        return false;
    }
    if (slash) {
        unsigned bits;
        unsigned max = r->family == CORE_AF_INET ? 32 : 128;
        if (!parse_small(slash + 1, strlen(slash + 1), max, &bits)) {
            return false;
        }
        r->prefix_len = (uint8_t)bits;
    }
    return true;
}

bool cfg_parse_subnet(const char *s, struct acl_rule *r)
{
    return parse_prefix(s, r, true);
}

bool cfg_parse_cidr(const char *s, struct acl_rule *r)
{
    return parse_prefix(s, r, false);
}

int cfg_mask_prefix(const struct core_addr *mask)
{
    int bytes = mask->family == CORE_AF_INET ? 4 : 16;
    int len = 0;
    bool zeros = false;

    for (int i = 0; i < bytes * 8; i++) {
        bool bit = (mask->bytes[i / 8] >> (7 - i % 8)) & 1;
        if (bit && zeros) {
            return -1;
        }
        if (bit) {
            len++;
        } else {
            zeros = true;
        }
    }
    return len;
}

int cfg_add_rule(struct cfg_parser *p, const struct acl_rule *r, enum acl_add_mode mode)
{
    switch (acl_add(&p->c->acl, r, mode)) {
    case ACL_OK:
        return 0;
    case ACL_FULL:
        return cfg_fail(p, "too many access rules: at most %d allow/deny/restrict prefixes",
                        ACL_MAX_RULES);
    case ACL_BAD_PREFIX:
    default:
        return cfg_fail(p, "internal error: the access table refused prefix length %u",
                        (unsigned)r->prefix_len);
    }
}
