/* leap-seconds.list parsing (leapfile.h): line splitting, number fields, the "#@" / "#$"
 * special comments and the consistency checks on the table. Pure: a buffer in, a
 * struct out. */
#include "daemon/leapfile.h"

#include <stdio.h>
#include <string.h>

/* The table starts in 1972 (NTP 2272060800) and a 64-bit count of seconds far beyond
 * any plausible file is still refused, so no sum below can overflow. */
#define LEAP_NTP_MAX 100000000000LL
#define LEAP_TAI_MAX 10000

struct lf_cursor {
    const char *p, *end;
    int line;
};

static int fail(struct leapfile_error *err, int line, const char *msg)
{
    err->line = line;
    snprintf(err->msg, sizeof(err->msg), "%s", msg);
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && is_space(*p)) {
        p++;
    }
    return p;
}

/* A decimal number with an optional leading '-' (offsets) within [lo, hi]. Moves *pp
 * past it; false when there is none or it is out of range. */
static bool get_int(const char **pp, const char *end, int64_t lo, int64_t hi, int64_t *out)
{
    const char *p = skip_space(*pp, end);
    bool neg = false;
    int64_t v = 0;
    int digits = 0;

    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        if (v > LEAP_NTP_MAX) {
            return false;
        }
        v = v * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || (p < end && !is_space(*p) && *p != '#')) {
        return false;
    }
    v = neg ? -v : v;
    if (v < lo || v > hi) {
        return false;
    }
    *out = v;
    *pp = p;
    return true;
}

/* Nothing but blanks, or a "# comment", may follow the fields. */
static bool rest_is_comment(const char *p, const char *end)
{
    p = skip_space(p, end);
    return p == end || *p == '#';
}

static int special_line(const char *p, const char *end, int line, struct leapfile *lf,
                        struct leapfile_error *err)
{
    char kind = p + 1 < end ? p[1] : '\0';
    int64_t v;

    if (kind != '@' && kind != '$') {
        return 0; /* "#h" hash (not verified, see leapfile.h) or an ordinary comment */
    }
    p += 2;
    if (!get_int(&p, end, 0, LEAP_NTP_MAX, &v) || !rest_is_comment(p, end)) {
        return fail(err, line, kind == '@' ? "\"#@\" expects the expiry in NTP seconds"
                                           : "\"#$\" expects the update time in NTP seconds");
    }
    if (kind == '@') {
        lf->have_expiry = true;
        lf->expiry_ntp_s = v;
    } else {
        lf->updated_ntp_s = v;
    }
    return 0;
}

static int data_line(const char *p, const char *end, int line, struct leapfile *lf,
                     struct leapfile_error *err)
{
    int64_t t, off;

    if (!get_int(&p, end, 1, LEAP_NTP_MAX, &t) ||
        !get_int(&p, end, -LEAP_TAI_MAX, LEAP_TAI_MAX, &off) || !rest_is_comment(p, end)) {
        return fail(err, line, "expected \"NTP_SECONDS TAI_OFFSET [# comment]\"");
    }
    if (lf->n > 0) {
        const struct leapfile_entry *prev = &lf->e[lf->n - 1];
        if (t <= prev->ntp_s) {
            return fail(err, line, "entries must be in increasing time");
        }
        /* Each entry is one leap; an excerpt (as in tests) may skip some, so only a
         * change is required, and its sign gives the leap's direction. */
        if (off == prev->tai_offset) {
            return fail(err, line, "the TAI offset must change from one entry to the next");
        }
    }
    if (lf->n >= LEAPFILE_MAX) {
        return fail(err, line, "too many entries");
    }
    lf->e[lf->n].ntp_s = t;
    lf->e[lf->n].tai_offset = (int)off;
    lf->n++;
    return 0;
}

static int parse_line(const char *p, const char *end, int line, struct leapfile *lf,
                      struct leapfile_error *err)
{
    for (const char *q = p; q < end; q++) {
        if (*q == '\0') {
            return fail(err, line, "NUL byte in the file");
        }
    }
    p = skip_space(p, end);
    if (p == end) {
        return 0;
    }
    if (*p == '#') {
        return special_line(p, end, line, lf, err);
    }
    return data_line(p, end, line, lf, err);
}

int leapfile_parse(const char *buf, size_t len, struct leapfile *lf, struct leapfile_error *err)
{
    struct lf_cursor c = {buf, buf + len, 0};

    memset(lf, 0, sizeof(*lf));
    memset(err, 0, sizeof(*err));
    while (c.p < c.end) {
        const char *nl = memchr(c.p, '\n', (size_t)(c.end - c.p));
        const char *eol = nl != NULL ? nl : c.end;
        c.line++;
        if (parse_line(c.p, eol, c.line, lf, err) < 0) {
            memset(lf, 0, sizeof(*lf));
            return -1;
        }
        c.p = nl != NULL ? nl + 1 : c.end;
    }
    if (lf->n == 0) {
        return fail(err, 0, "no leap second entries");
    }
    return 0;
}

bool leapfile_next(const struct leapfile *lf, int64_t unix_s, int64_t *at_unix_s, int *dir)
{
    /* The first entry only states the 1972 offset (10 s): it is no leap. */
    for (size_t i = 1; i < lf->n; i++) {
        int64_t at = lf->e[i].ntp_s - LEAPFILE_NTP_UNIX;
        if (at > unix_s) {
            *at_unix_s = at;
            *dir = lf->e[i].tai_offset > lf->e[i - 1].tai_offset ? 1 : -1;
            return true;
        }
    }
    return false;
}

bool leapfile_expired(const struct leapfile *lf, int64_t unix_s)
{
    return lf->have_expiry && unix_s >= lf->expiry_ntp_s - LEAPFILE_NTP_UNIX;
}
