/* The actions the engine asks for: the whole contract between the sans-IO core and
 * whoever carries it out (src/daemon/drv.c on a real machine, sim/ in the simulator).
 * Actions are carried out in list order; results come back as engine events
 * (eng_on_sent, eng_on_stepped, eng_on_freq_set, eng_on_resolved). */
#ifndef TSYNC_ACT_H
#define TSYNC_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define ACT_MAX 64           /* actions one engine call may emit */
#define ACT_PKT_MAX 128      /* bytes of one request (48 now; room for extensions) */
#define ACT_NAME_MAX 256     /* host names to resolve */
#define ACT_EVENT_NAME_MAX 64

enum act_kind {
    ACT_SEND,       /* send .send.pkt to .send.to from a fresh random port */
    ACT_RESOLVE,    /* resolve .resolve.name off the loop; answer with eng_on_resolved */
    ACT_STEP,       /* step the clock: add .step.offset seconds (ADJ_SETOFFSET) */
    ACT_FREQ,       /* set the clock's frequency correction to .freq.ppm (positive = the
                       clock runs faster); beyond +-500 ppm the driver uses ADJ_TICK */
    ACT_STATUS,     /* kernel status: STA_UNSYNC, leap bits, maxerror, esterror */
    ACT_REFERENCE,  /* what the NTP server tells clients now (srv_set_reference) */
    ACT_DRIFT_SAVE, /* write the drift file with .drift.freq_ppm (atomically) */
    ACT_EVENT,      /* something for the log: stable kind, severity, text */
};

enum act_severity {
    ACT_SEV_ERR,
    ACT_SEV_WARNING,
    ACT_SEV_NOTICE,
    ACT_SEV_INFO,
    ACT_SEV_DEBUG,
};

struct act_send {
    int source;          /* engine source index, to pass back in eng_on_sent/eng_on_reply */
    uint32_t seq;        /* request number of that source, passed back too */
    struct core_addr to; /* port set (123 unless configured) */
    uint8_t pkt[ACT_PKT_MAX];
    size_t len;          /* transmit timestamp field already holds a random nonce */
};

struct act_status {
    bool synced;        /* false: STA_UNSYNC set */
    uint8_t leap;       /* enum ntp_leap: 1 arms STA_INS, 2 STA_DEL */
    double maxerror;    /* seconds (kernel keeps microseconds, capped at 16 s) */
    double esterror;    /* seconds */
};

struct act_reference {
    bool valid;         /* false: no reference (serve leap 3 / stratum 16) */
    uint8_t leap;
    uint8_t stratum;
    uint32_t refid;     /* as on the wire (network byte order in memory) */
    double root_delay;
    double root_dispersion;
    int64_t ref_unix_ns;
};

/* Events are structured, not text (the core formats nothing): a kind with a stable
 * name, the source it concerns, a name and up to four numbers. The daemon renders
 * them through act_event_template(); the simulator and tests assert on kinds. The
 * core owns this list and adds kinds as it needs them. */
enum act_event_kind {
    EV_STEP,               /* a step was applied (its result came back): v0 = step (s),
                              v1 = sources that agreed */
    EV_STEP_REFUSED,       /* v0 = offset (s), v1 = panic threshold (s) */
    EV_SYNCED,             /* name = selected source, v0 = offset (s) */
    EV_SYNC_LOST,          /* no source selectable any more */
    EV_UNSYNCHRONIZED,     /* holdover ended: v0 = seconds since the last update */
    EV_SOURCE_REACHABLE,   /* name = source */
    EV_SOURCE_UNREACHABLE, /* name = source */
    EV_NO_SELECTABLE,      /* v0 = reachable sources, v1 = falsetickers */
    EV_FALSETICKER,        /* name = source, v0 = its offset (s) */
    EV_KOD,                /* name = source, v0 = kiss code as 4 ASCII bytes (uint32),
                              v1 = 1 when the source is no longer used (DENY, RSTR),
                              0 for RATE (polling less often) */
    EV_RESOLVE_FAILED,     /* name = host name, v0 = retry in (s) */
    EV_EXTERNAL_STEP,      /* v0 = jump of the clock seen by the loop (s) */
    EV_FREQ_CLAMPED,       /* v0 = wanted ppm, v1 = applied ppm; once when the carrier
                              starts to apply another frequency than asked (a limit, or a
                              refusal: EPERM), again only when the applied value moves */
    EV_LEAP,               /* v0 = leap (1 insert, 2 delete) armed in the kernel, v1 = s
                              until the midnight it ends at */
    EV_LEAP_APPLIED,       /* v0 = the jump (s) the kernel's leap made, seen by the loop */
    EV_SMEAR_MIX,          /* name = smeared source mixed with unsmeared ones */
    EV_ALL_UNREACHABLE,    /* no source ever answered: v0 = sources polled, v1 = seconds
                              since the first request (the template asks about UDP 123) */
    EV_SOURCE_ADDED,       /* name = pool, source = the new member's index */
    EV_SOURCE_REMOVED,     /* name = pool, source = member index, v0 = why (1 unreachable,
                              2 falseticker, 3 kiss-o'-death) */
    EV_STEP_FAILED,        /* v0 = step asked for (s), v1 = seconds until steps are tried
                              again (the offset is slewed meanwhile) */
    EV_KIND_COUNT,
};

struct act_event {
    uint16_t kind;     /* enum act_event_kind */
    uint8_t severity;  /* enum act_severity */
    int source;        /* engine source index, -1 when none */
    char name[ACT_EVENT_NAME_MAX];
    double v[4];
};

/* Stable lower_snake name of an event kind ("step", "source_unreachable", ...). */
const char *act_event_kind_name(enum act_event_kind k);

/* Human template of an event: plain text with {name} and {v0}..{v3} placeholders that
 * the renderer replaces, e.g. "stepped the clock by {v0} s, {v1} sources agreed". */
const char *act_event_template(enum act_event_kind k);

struct act {
    enum act_kind kind;
    union {
        struct act_send send;
        struct {
            int source; /* source (pool) the name belongs to */
            char name[ACT_NAME_MAX];
        } resolve;
        struct {
            double offset; /* seconds to add to the clock */
        } step;
        struct {
            double ppm;
        } freq;
        struct act_status status;
        struct act_reference reference;
        struct {
            double freq_ppm;
        } drift;
        struct act_event event;
    } u;
};

/* Bounded list filled by one engine call; when full, later actions are dropped and
 * .overflow counted (a bug to report, never a crash). */
struct act_list {
    size_t n;
    uint32_t overflow;
    struct act a[ACT_MAX];
};

void act_list_clear(struct act_list *l);

/* Appends an action of the given kind and returns it zeroed but for .kind, or NULL when
 * the list is full. */
struct act *act_push(struct act_list *l, enum act_kind kind);

/* Appends an ACT_EVENT; name may be NULL; unused values are 0. */
void act_event(struct act_list *l, enum act_event_kind kind, enum act_severity sev, int source,
               const char *name, double v0, double v1);

#endif
