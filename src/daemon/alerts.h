/* Loud alerts: conditions that last (no selectable source, every source unreachable,
 * unsynchronized after holdover, a source unreachable) are logged when they begin by
 * the engine's events and then repeated, with back-off, for as long as they last, so
 * a firewall that blocks UDP 123 is in the log every hour, not once weeks ago. The end
 * of a condition is the engine's own event (synced, source reachable). Pure: events
 * and monotonic times in, the events to log again out. */
#ifndef TSYNC_ALERTS_H
#define TSYNC_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/eng.h"

#define ALERTS_FIRST_S 60.0   /* first repetition after the condition began */
#define ALERTS_MAX_S   3600.0 /* repetitions back off by doubling up to this */

enum alert_kind {
    ALERT_NO_SELECTABLE,
    ALERT_ALL_UNREACHABLE,
    ALERT_UNSYNCHRONIZED,
    ALERT_GLOBAL_KINDS,
};

struct alert {
    bool active;
    int64_t since_mono_ns, next_mono_ns;
    double backoff_s;
    struct act_event ev; /* the event that began it, logged again */
};

struct alerts {
    struct alert global[ALERT_GLOBAL_KINDS];
    struct alert source[ENG_MAX_SOURCES]; /* EV_SOURCE_UNREACHABLE per source slot */
};

void alerts_init(struct alerts *a);

/* Takes one engine event: begins or ends conditions. */
void alerts_on_event(struct alerts *a, const struct act_event *ev, int64_t now_mono_ns);

/* The repetitions due at now, at most max into out (each a copy of the beginning
 * event; *for_s receives how long each has lasted, s). Returns how many. */
size_t alerts_due(struct alerts *a, int64_t now_mono_ns, struct act_event *out, double *for_s,
                  size_t max);

/* When the next repetition is due (INT64_MAX: none). */
int64_t alerts_next(const struct alerts *a);

/* How many conditions are active now (for the status line). */
size_t alerts_active(const struct alerts *a);

#endif
