/* Alert conditions and their repetition (alerts.h). */
#include "daemon/alerts.h"

#include <string.h>

#define NS_PER_S 1e9

void alerts_init(struct alerts *a)
{
    memset(a, 0, sizeof(*a));
}

static int64_t after(int64_t now, double s)
{
    double ns = s * NS_PER_S;
    return now > INT64_MAX - (int64_t)ns ? INT64_MAX : now + (int64_t)ns;
}

static void begin(struct alert *al, const struct act_event *ev, int64_t now)
{
    if (al->active) {
        al->ev = *ev; /* the newest numbers; the schedule stays */
        return;
    }
    al->active = true;
    al->ev = *ev;
    al->since_mono_ns = now;
    al->backoff_s = ALERTS_FIRST_S;
    al->next_mono_ns = after(now, al->backoff_s);
}

static void end(struct alert *al)
{
    al->active = false;
}

void alerts_on_event(struct alerts *a, const struct act_event *ev, int64_t now)
{
    bool slot = ev->source >= 0 && (size_t)ev->source < ENG_MAX_SOURCES;

    switch ((enum act_event_kind)ev->kind) {
    case EV_NO_SELECTABLE:
        begin(&a->global[ALERT_NO_SELECTABLE], ev, now);
        break;
    case EV_ALL_UNREACHABLE:
        begin(&a->global[ALERT_ALL_UNREACHABLE], ev, now);
        break;
    case EV_UNSYNCHRONIZED:
        begin(&a->global[ALERT_UNSYNCHRONIZED], ev, now);
        break;
    case EV_SOURCE_UNREACHABLE:
        if (slot) {
            begin(&a->source[ev->source], ev, now);
        }
        break;
    case EV_SOURCE_REACHABLE:
        if (slot) {
            end(&a->source[ev->source]);
        }
        end(&a->global[ALERT_ALL_UNREACHABLE]);
        break;
    case EV_SOURCE_REMOVED:
        if (slot) {
            end(&a->source[ev->source]); /* a replaced pool member is no longer ours */
        }
        break;
    case EV_SYNCED:
        for (int k = 0; k < ALERT_GLOBAL_KINDS; k++) {
            end(&a->global[k]);
        }
        break;
    default:
        break;
    }
}

static size_t take(struct alert *al, int64_t now, struct act_event *out, double *for_s,
                   size_t n, size_t max)
{
    if (!al->active || al->next_mono_ns > now || n >= max) {
        return n;
    }
    out[n] = al->ev;
    for_s[n] = (double)(now - al->since_mono_ns) / NS_PER_S;
    al->backoff_s = al->backoff_s * 2 < ALERTS_MAX_S ? al->backoff_s * 2 : ALERTS_MAX_S;
    al->next_mono_ns = after(now, al->backoff_s);
    return n + 1;
}

size_t alerts_due(struct alerts *a, int64_t now, struct act_event *out, double *for_s, size_t max)
{
    size_t n = 0;

    for (int k = 0; k < ALERT_GLOBAL_KINDS; k++) {
        n = take(&a->global[k], now, out, for_s, n, max);
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        n = take(&a->source[i], now, out, for_s, n, max);
    }
    return n;
}

static int64_t next_of(const struct alert *al, int64_t t)
{
    return al->active && al->next_mono_ns < t ? al->next_mono_ns : t;
}

int64_t alerts_next(const struct alerts *a)
{
    int64_t t = INT64_MAX;

    for (int k = 0; k < ALERT_GLOBAL_KINDS; k++) {
        t = next_of(&a->global[k], t);
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        t = next_of(&a->source[i], t);
    }
    return t;
}

size_t alerts_active(const struct alerts *a)
{
    size_t n = 0;

    for (int k = 0; k < ALERT_GLOBAL_KINDS; k++) {
        n += a->global[k].active;
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        n += a->source[i].active;
    }
    return n;
}
