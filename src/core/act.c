/* The engine's action list and the event vocabulary: stable kind names for counters and
 * JSON, and the human templates the daemon renders (the core formats no text). Pure:
 * appends to caller storage, never allocates; a full list drops and counts. */
#include "core/act.h"

#include <stddef.h>
#include <string.h>

void act_list_clear(struct act_list *l)
{
    l->n = 0;
    l->overflow = 0;
}

struct act *act_push(struct act_list *l, enum act_kind kind)
{
    if (l->n >= ACT_MAX) {
        l->overflow++;
        return NULL;
    }
    struct act *a = &l->a[l->n++];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    return a;
}

/* Copies at most ACT_EVENT_NAME_MAX - 1 bytes and always terminates. */
static void copy_name(char *dst, const char *src)
{
    size_t n = 0;

    if (src != NULL) {
        n = strlen(src);
        if (n > ACT_EVENT_NAME_MAX - 1) {
            n = ACT_EVENT_NAME_MAX - 1;
        }
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

void act_event(struct act_list *l, enum act_event_kind kind, enum act_severity sev, int source,
               const char *name, double v0, double v1)
{
    struct act *a = act_push(l, ACT_EVENT);

    if (a == NULL) {
        return;
    }
    a->u.event.kind = (uint16_t)kind;
    a->u.event.severity = (uint8_t)sev;
    a->u.event.source = source;
    copy_name(a->u.event.name, name);
    a->u.event.v[0] = v0;
    a->u.event.v[1] = v1;
}

struct kind_text {
    const char *name;
    const char *text;
};

/* Indexed by enum act_event_kind; the names are part of the log and JSON interface. */
static const struct kind_text kind_texts[EV_KIND_COUNT] = {
    [EV_STEP] = {"step", "stepped the clock by {v0} s, {v1} sources agreed"},
    [EV_STEP_REFUSED] = {"step_refused",
                         "refused to step the clock by {v0} s: above the panic threshold of "
                         "{v1} s; the clock is unsynchronized until an operator allows the "
                         "step (makestep) or the sources change"},
    [EV_SYNCED] = {"synced", "synchronized to {name}, offset {v0} s"},
    [EV_SYNC_LOST] = {"sync_lost", "no source is selectable any more; keeping the last "
                                   "frequency (holdover)"},
    [EV_UNSYNCHRONIZED] = {"unsynchronized",
                           "holdover ended {v0} s after the last update: the clock is "
                           "unsynchronized"},
    [EV_SOURCE_REACHABLE] = {"source_reachable", "source {name} is reachable"},
    [EV_SOURCE_UNREACHABLE] = {"source_unreachable",
                               "source {name} is unreachable: no answer to the last {v0} "
                               "polls"},
    [EV_NO_SELECTABLE] = {"no_selectable", "no selectable source: {v0} reachable, {v1} "
                                           "falsetickers"},
    [EV_FALSETICKER] = {"falseticker", "source {name} is a falseticker, offset {v0} s"},
    [EV_KOD] = {"kod", "source {name} sent kiss-o'-death {v0}: {v1} (0: RATE, polling less "
                       "often; 1: DENY or RSTR, the source is no longer used)"},
    [EV_RESOLVE_FAILED] = {"resolve_failed", "could not resolve {name}; retrying in {v0} s"},
    [EV_EXTERNAL_STEP] = {"external_step", "the clock jumped by {v0} s (not by us); "
                                           "re-measuring every source"},
    [EV_FREQ_CLAMPED] = {"freq_clamped", "frequency {v0} ppm was clamped to {v1} ppm"},
    [EV_LEAP] = {"leap", "leap second armed in the kernel: {v0} (1 insert, 2 delete), "
                         "at midnight UTC in {v1} s"},
    [EV_LEAP_APPLIED] = {"leap_applied", "the kernel applied the leap second: the clock "
                                         "moved by {v0} s, as the sources' did"},
    [EV_SMEAR_MIX] = {"smear_mix", "source {name} serves leap-smeared time but is mixed "
                                   "with unsmeared sources"},
    [EV_ALL_UNREACHABLE] = {"all_unreachable",
                            "none of {v0} sources has answered in {v1} s: is outgoing UDP "
                            "port 123 blocked by a firewall?"},
    [EV_SOURCE_ADDED] = {"source_added", "source {name} added (pool member)"},
    [EV_SOURCE_REMOVED] = {"source_removed",
                           "source {name} removed: {v0} (1 unreachable, 2 falseticker, 3 "
                           "kiss-o'-death); replacing it"},
    [EV_STEP_FAILED] = {"step_failed", "could not step the clock by {v0} s; slewing it "
                                       "instead, the next step is tried in {v1} s"},
};

const char *act_event_kind_name(enum act_event_kind k)
{
    if ((unsigned)k >= EV_KIND_COUNT || kind_texts[k].name == NULL) {
        return "unknown";
    }
    return kind_texts[k].name;
}

const char *act_event_template(enum act_event_kind k)
{
    if ((unsigned)k >= EV_KIND_COUNT || kind_texts[k].text == NULL) {
        return "unknown event";
    }
    return kind_texts[k].text;
}
