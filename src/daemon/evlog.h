/* The engine's structured events (act.h) as log lines: the kind's template with {name}
 * and {v0}..{v3} filled in, at the syslog level of the event's severity. The core
 * formats no text; this is the only place its events become words. */
#ifndef TSYNC_EVLOG_H
#define TSYNC_EVLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/act.h"
#include "sys/sys_log.h"

/* How a value placeholder is written. */
enum evlog_value_style {
    EVLOG_NUMBER = 0, /* fixed point to 1e-9 without trailing zeros: "300", "0.0000123" */
    EVLOG_ASCII4,     /* a kiss code packed as 4 ASCII bytes, big-endian: "RATE" */
};

/* Renders tmpl into buf (cap bytes, always terminated when cap > 0): "{name}" becomes
 * ev->name (bytes outside printable ASCII as '?'), "{v0}".."{v3}" the values in the
 * style v_style[i] gives (NULL: all numbers); any other brace is copied as is. Text
 * that does not fit is cut. Returns the length written. */
size_t evlog_render(const char *tmpl, const struct act_event *ev,
                    const enum evlog_value_style *v_style, char *buf, size_t cap);

/* The event as a log line, "kind: text" (kind from act_event_kind_name, text from
 * act_event_template with the styles the kind needs). */
size_t evlog_format(const struct act_event *ev, char *buf, size_t cap);

/* Syslog level for an act_severity; unknown values log at info. */
enum sys_log_level evlog_level(unsigned severity);

/* Formats ev and logs it at its level. */
void evlog_log(const struct act_event *ev);

/* ntpd's logconfig class of an event kind (CFG_LOG_* of cfg.h). */
unsigned evlog_class(enum act_event_kind kind);

/* Logs ev when its class is among classes (CFG_LOG_* bits, logconfig); errors are
 * logged whatever the classes. Returns whether it was logged. */
bool evlog_log_if(const struct act_event *ev, unsigned classes);

/* A lasting condition logged again (alerts.h): "still KIND (for DURATION): text". */
void evlog_log_again(const struct act_event *ev, double for_s);

#endif
