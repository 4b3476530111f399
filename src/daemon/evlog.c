/* Template rendering for engine events. Bounded: every write checks the space left, and
 * the template is only read up to its NUL. */
#include "daemon/evlog.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "daemon/cfg.h"

struct out {
    char *buf;
    size_t cap, len;
};

static void put_char(struct out *o, char c)
{
    if (o->cap > 0 && o->len + 1 < o->cap) {
        o->buf[o->len++] = c;
        o->buf[o->len] = '\0';
    }
}

static void put_str(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_char(o, s[i]);
    }
}

/* Printable ASCII only: names can come from DNS answers or the config. */
static void put_name(struct out *o, const char *name, size_t max)
{
    size_t n = strnlen(name, max);

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        put_char(o, c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
}

/* A kiss code (RFC 5905 section 7.4) travels as the refid's 4 ASCII bytes read as a
 * big-endian number. */
static void put_ascii4(struct out *o, double v)
{
    if (!(v >= 0.0 && v <= 4294967295.0)) {
        put_str(o, "????", 4);
        return;
    }
    uint32_t code = (uint32_t)v;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned char c = (unsigned char)(code >> shift);
        put_char(o, c >= 0x20 && c < 0x7f ? (char)c : '?');
    }
}

/* Integers in full; seconds and ppm in fixed point to the nanosecond (no exponent in a
 * log line), trailing zeros dropped, so 300.5 s reads "300.5" and 12.3 us "0.0000123". */
static void put_number(struct out *o, double v)
{
    char tmp[48];
    int n;

    if (isfinite(v) && fabs(v) < 9007199254740992.0 && v == trunc(v)) {
        n = snprintf(tmp, sizeof(tmp), "%.0f", v + 0.0); /* counts, codes: every digit */
    } else if (!isfinite(v) || fabs(v) >= 1e9) {
        n = snprintf(tmp, sizeof(tmp), "%.9g", v);
    } else {
        n = snprintf(tmp, sizeof(tmp), "%.9f", v);
        while (n > 1 && tmp[n - 1] == '0') {
            tmp[--n] = '\0';
        }
        if (n > 1 && tmp[n - 1] == '.') {
            tmp[--n] = '\0';
        }
        if (strcmp(tmp, "-0") == 0) {
            n = snprintf(tmp, sizeof(tmp), "0");
        }
    }
    if (n > 0) {
        put_str(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
    }
}

/* Handles the placeholder at *t (a '{'); returns the bytes consumed, 0 if none. */
static size_t put_placeholder(struct out *o, const char *t, const struct act_event *ev,
                              const enum evlog_value_style *v_style)
{
    if (strncmp(t, "{name}", 6) == 0) {
        put_name(o, ev->name, sizeof(ev->name));
        return 6;
    }
    if (t[1] == 'v' && t[2] >= '0' && t[2] <= '3' && t[3] == '}') {
        int i = t[2] - '0';
        if (v_style != NULL && v_style[i] == EVLOG_ASCII4) {
            put_ascii4(o, ev->v[i]);
        } else {
            put_number(o, ev->v[i]);
        }
        return 4;
    }
    return 0;
}

size_t evlog_render(const char *tmpl, const struct act_event *ev,
                    const enum evlog_value_style *v_style, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0};

    if (cap > 0) {
        buf[0] = '\0';
    }
    for (const char *t = tmpl; *t != '\0';) {
        size_t used = *t == '{' ? put_placeholder(&o, t, ev, v_style) : 0;
        if (used == 0) {
            put_char(&o, *t);
            used = 1;
        }
        t += used;
    }
    return o.len;
}

size_t evlog_format(const struct act_event *ev, char *buf, size_t cap)
{
    static const enum evlog_value_style kod_styles[4] = {EVLOG_ASCII4, EVLOG_NUMBER, EVLOG_NUMBER,
                                                         EVLOG_NUMBER};
    const enum evlog_value_style *styles = ev->kind == EV_KOD ? kod_styles : NULL;
    const char *kind = act_event_kind_name((enum act_event_kind)ev->kind);
    int n = snprintf(buf, cap, "%s: ", kind);

    if (n < 0 || (size_t)n >= cap) {
        return cap > 0 ? strlen(buf) : 0;
    }
    return (size_t)n + evlog_render(act_event_template((enum act_event_kind)ev->kind), ev, styles,
                                    buf + n, cap - (size_t)n);
}

enum sys_log_level evlog_level(unsigned severity)
{
    switch (severity) {
    case ACT_SEV_ERR:
        return SYS_LOG_ERR;
    case ACT_SEV_WARNING:
        return SYS_LOG_WARNING;
    case ACT_SEV_NOTICE:
        return SYS_LOG_NOTICE;
    case ACT_SEV_DEBUG:
        return SYS_LOG_DEBUG;
    case ACT_SEV_INFO:
    default:
        return SYS_LOG_INFO;
    }
}

void evlog_log(const struct act_event *ev)
{
    char line[SYS_LOG_LINE_MAX];
    enum sys_log_level level = evlog_level(ev->severity);

    if (!sys_log_enabled(level)) {
        return;
    }
    evlog_format(ev, line, sizeof(line));
    sys_log(level, "%s", line);
}

unsigned evlog_class(enum act_event_kind kind)
{
    switch (kind) {
    case EV_STEP:
    case EV_STEP_REFUSED:
    case EV_STEP_FAILED:
    case EV_EXTERNAL_STEP:
    case EV_FREQ_CLAMPED:
    case EV_LEAP:
    case EV_LEAP_APPLIED:
        return CFG_LOG_CLOCK;
    case EV_SOURCE_REACHABLE:
    case EV_SOURCE_UNREACHABLE:
    case EV_FALSETICKER:
    case EV_KOD:
    case EV_RESOLVE_FAILED:
    case EV_SOURCE_ADDED:
    case EV_SOURCE_REMOVED:
    case EV_SMEAR_MIX:
        return CFG_LOG_PEER;
    case EV_NO_SELECTABLE:
    case EV_ALL_UNREACHABLE:
        return CFG_LOG_SYS;
    case EV_SYNCED:
    case EV_SYNC_LOST:
    case EV_UNSYNCHRONIZED:
        return CFG_LOG_SYNC;
    case EV_KIND_COUNT:
    default:
        return CFG_LOG_SYS;
    }
}

bool evlog_log_if(const struct act_event *ev, unsigned classes)
{
    if (ev->severity != ACT_SEV_ERR && (evlog_class((enum act_event_kind)ev->kind) & classes) == 0) {
        return false;
    }
    evlog_log(ev);
    return true;
}

void evlog_log_again(const struct act_event *ev, double for_s)
{
    char line[SYS_LOG_LINE_MAX];
    enum sys_log_level level = evlog_level(ev->severity);

    if (!sys_log_enabled(level)) {
        return;
    }
    evlog_format(ev, line, sizeof(line));
    sys_log(level, "still (for %.0f s) %s", for_s, line);
}
