/* The engine: the client half of tsyncd as a pure state machine. It owns the sources
 * (poll, reach, iburst, KoD, pools), their filters, source selection, the clock
 * discipline (estimator, step policy, slew plan) and the error bound, and turns every
 * event into a list of actions (act.h). It never reads a clock, a socket or a file:
 * the daemon (src/daemon/drv.c) and the simulator (sim/) feed it the same events.
 * Every call takes "now" and clears and fills out. */
#ifndef TSYNC_ENG_H
#define TSYNC_ENG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/core.h"

#define ENG_MAX_CONFIG_SOURCES 64
#define ENG_NAME_MAX 256
#define ENG_MAX_SOURCES 64   /* sources of one engine: servers, pool prototypes, members */
#define ENG_DROP_REASONS 16  /* per-source reply counters (eng_drop_reason_name) */

/* The discipline's estimator of offset and frequency (doc/ has the measurements behind
 * the default). */
enum eng_estimator {
    ENG_EST_KALMAN = 0,  /* adaptive bank of Kalman filters (default) */
    ENG_EST_REGRESS = 1, /* weighted linear regression with a runs test, as chrony */
};

/* One server or pool line (ntp.conf / chrony.conf meaning). */
struct eng_source_config {
    char name[ENG_NAME_MAX]; /* host name or address literal */
    bool pool;
    bool iburst, burst, prefer, noselect;
    int minpoll, maxpoll;    /* log2 s, 0..17 */
    int maxsources;          /* pool: addresses used at once (default 4) */
    double maxdelay;         /* s; replies with a larger round trip are dropped; 0 none */
    uint16_t port;           /* default 123 */
    uint8_t version;         /* NTP version of requests, default 4 */
};

struct eng_config {
    size_t n_sources;
    struct eng_source_config sources[ENG_MAX_CONFIG_SOURCES];

    /* Step policy (chrony makestep THRESHOLD LIMIT, ntpd tinker step/panic/stepout). */
    double step_threshold;  /* s: offsets above it may be stepped (default 0.1 at
                               start-up, see below) */
    int step_limit;         /* the first N clock updates step above step_threshold
                               (default 3); negative = always */
    double running_step_threshold; /* s: while running, an offset above this that persists
                               and the selected sources confirm is stepped (default 0.5;
                               0 = never step while running) */
    double panic_threshold; /* s: a running step above it is refused and reported
                               (default 1000; 0 = no limit) */
    /* A running step (or refusal) needs both: step_confirm consecutive updates above
     * running_step_threshold that the selected sources agree on and that are consistent
     * with each other (one jump, not noise), and, when stepout > 0, the first of them at
     * least stepout seconds ago. step_confirm is the protection against spikes and a
     * lone falseticker; stepout is ntpd's "tinker stepout" (ntpd waits 300-900 s before
     * stepping, which is why it took 15 minutes and more to repair a 5-minute error).
     * While an offset waits for confirmation it is neither stepped nor slewed. An
     * external jump the loop reported counts as the first confirmation. */
    int step_confirm;       /* updates (default 3; values below 2 count as 2, 0 = default) */
    double stepout;         /* s (default 0: the confirmations alone decide) */
    int estimator;          /* enum eng_estimator: the discipline's frequency estimator */
    bool no_clock_control;  /* -x: the clock runs free: its offset and drift are tracked,
                               nothing is stepped or slewed, no ACT_STEP/ACT_FREQ/ACT_STATUS */

    bool have_drift;        /* drift file read at start */
    double drift_ppm;       /* its frequency correction */
    double start_freq_ppm;  /* without a drift file: the frequency correction the kernel
                               runs at now, kept until the estimator knows better (it is
                               no estimate of the drift, so it does not seed one) */
    double drift_save_interval; /* s between ACT_DRIFT_SAVE (default 3600) */

    double holdover;        /* s without any usable source before the state turns
                               unsynchronized (default 3600) */
    int minsources;         /* selectable sources needed to update the clock (default 1) */
    double maxdistance;     /* s: root distance limit (default 1.5, RFC 5905 MAXDIST) */
    double max_freq_ppm;    /* |frequency correction| limit (default 100000, with tick) */

    bool local;             /* "local stratum N": serve as stratum N when no source is
                               selected (orphan-style fallback) */
    uint8_t local_stratum;
    int8_t precision_log2;  /* of the local clock, measured by the caller */

    /* The next leap second from a leap-seconds.list (ntpd "leapfile"), read by the
     * daemon. During the last day before it (at - 86400 <= now < at, Unix seconds of
     * the realtime clock) the engine announces it in ACT_STATUS and ACT_REFERENCE (leap
     * 1 insert, 2 delete), whatever the sources' majority says: like ntpd, the file is
     * preferred. Outside that day, and always without a file, the majority of the
     * selected sources decides. From at on the file's leap is over and is dropped. */
    int64_t leap_at_unix_s; /* 0 = none: the second after the leap (00:00:00 UTC) */
    int leap_dir;           /* +1 insert, -1 delete */
};

/* The leap indicator to announce at unix_s given the sources' majority (enum ntp_leap,
 * 0..2): the file's leap during its last day (rule above), else majority. */
uint8_t eng_leap_indicator(const struct eng_config *c, int64_t unix_s, uint8_t majority);

/* Defaults as documented above; no sources. */
void eng_config_default(struct eng_config *c);

/* A server (pool = false) or pool line with the ntp.conf/chrony.conf defaults: minpoll 6,
 * maxpoll 10, maxsources 4 for a pool, port 123, version 4, no options. name is copied
 * (truncated to ENG_NAME_MAX - 1 bytes). */
void eng_source_default(struct eng_source_config *s, const char *name, bool pool);

struct eng; /* opaque: all state of one engine, no pointers to outside memory */

/* Bytes of storage one engine needs; the caller provides it (aligned like max_align_t),
 * so the core allocates nothing and the simulator can run many engines. */
size_t eng_size(void);

/* Starts an engine in storage mem with a copy of cfg. seed drives poll jitter, request
 * nonces and every other random choice. Emits the first actions (resolve pool names,
 * initial frequency from the drift file, unsynchronized status, reference). */
struct eng *eng_init(void *mem, const struct eng_config *cfg, struct core_time now,
                     uint64_t seed, struct act_list *out);

/* Monotonic time (ns) at which eng_on_timer wants to run next; INT64_MAX for never. */
int64_t eng_next_timer(const struct eng *e);

/* Timers due: polls, bursts, holdover, drift saves, slew plan steps. */
void eng_on_timer(struct eng *e, struct core_time now, struct act_list *out);

/* The request (source, seq) of an ACT_SEND left at tx_real_ns (clock read right before
 * sendmsg, or a later kernel transmit stamp: a later call for the same request
 * replaces the earlier time). */
void eng_on_sent(struct eng *e, struct core_time now, int source, uint32_t seq,
                 int64_t tx_real_ns, struct act_list *out);

/* A datagram from the socket of request (source, seq): from = its sender, rx_real_ns =
 * kernel receive stamp (or a clock reading right after the receive). */
void eng_on_reply(struct eng *e, struct core_time now, int source, uint32_t seq,
                  const struct core_addr *from, const uint8_t *buf, size_t len,
                  int64_t rx_real_ns, struct act_list *out);

/* Answer to an ACT_RESOLVE: n addresses (n = 0 on failure). */
void eng_on_resolved(struct eng *e, struct core_time now, int source,
                     const struct core_addr *addrs, size_t n, struct act_list *out);

/* Result of an ACT_STEP: ok, and the offset actually applied (s). All stored samples and
 * timers are rebased here (DESIGN.md "parameter-change handlers") and EV_STEP reports
 * the step. A failed step (ok false: EPERM, ...) gives EV_STEP_FAILED; the offset is
 * slewed meanwhile and steps are asked for again only after a back-off (60 s doubling
 * to an hour). */
void eng_on_stepped(struct eng *e, struct core_time now, bool ok, double applied,
                    struct act_list *out);

/* Result of an ACT_FREQ: the frequency the clock actually runs with now (maybe clamped;
 * when the kernel refused, its unchanged frequency). Samples are rebased on it; a
 * difference from the request gives EV_FREQ_CLAMPED once, not at every update. */
void eng_on_freq_set(struct eng *e, struct core_time now, double applied_ppm,
                     struct act_list *out);

/* The loop saw the clock jump by jump seconds that the engine did not ask for (date -s,
 * a VM pause): stored samples are rebased and the sources re-measured at once. */
void eng_on_external_step(struct eng *e, struct core_time now, double jump,
                          struct act_list *out);

/* Operator's "makestep": accept the next large step even above the panic threshold. */
void eng_allow_step(struct eng *e, struct core_time now, struct act_list *out);

/* Operator's "online"/"offline" (a link that is down or up again): the sources of the
 * config line called name (ASCII case ignored; a pool with its members, also those it
 * adds later), or of every line when name is NULL, stop polling or poll again at once.
 * Returns the number of config lines (servers, pools) it applied to: 0 = no such name. */
int eng_set_online(struct eng *e, struct core_time now, const char *name, bool online,
                   struct act_list *out);

/* Run-time changes of the source list (the daemon's reload). eng_add_source starts a
 * server or pool line as at eng_init and returns its slot, or -1 when every slot is in
 * use. eng_remove_source stops the server or pool line in slot i, with the pool's
 * members; selection runs again (the system peer may go). false when slot i holds no
 * config line (free, or a pool member). Other sources keep all their state. */
int eng_add_source(struct eng *e, struct core_time now, const struct eng_source_config *c,
                   struct act_list *out);
bool eng_remove_source(struct eng *e, struct core_time now, size_t i, struct act_list *out);

/* The line a slot runs (normalized as src.c does); false for free slots and pool
 * members, which are not config lines of their own. */
bool eng_get_source_config(const struct eng *e, size_t i, struct eng_source_config *c);

/* Whether two lines mean the same source once normalized (a reload keeps it). */
bool eng_source_config_same(const struct eng_source_config *a,
                            const struct eng_source_config *b);

/* Read-only view for the control socket, logs and the simulator's reports. */
struct eng_status {
    bool synced;
    int selected;           /* source index, -1 none */
    uint8_t stratum, leap;
    uint32_t refid;
    double offset;          /* last estimate of the clock's offset (s, to add) */
    double freq_ppm;        /* frequency correction now applied (slew included) */
    double drift_ppm;       /* estimated correction that cancels the clock's drift */
    double skew_ppm;        /* 1-sigma uncertainty of drift_ppm */
    double root_delay, root_dispersion;
    double bound;           /* max error (s): root_delay/2 + root_dispersion + ... */
    int64_t last_update_mono_ns;
    uint32_t steps;         /* clock steps so far */
    uint64_t stray_replies; /* eng_on_reply calls naming no source */
    uint32_t updates;       /* clock updates from the system peer so far */
    double last_offset;     /* s: offset measured at the last clock update (0 before) */
    double rms_offset;      /* s: RMS of those offsets, recent updates weighing more */
    double update_interval; /* s: mean time between clock updates; 0 before two */
};
void eng_get_status(const struct eng *e, struct core_time now, struct eng_status *st);

/* One past the highest slot in use. */
size_t eng_source_count(const struct eng *e);

struct eng_source_status {
    char name[ENG_NAME_MAX];
    struct core_addr addr;  /* family 0 while unresolved */
    char tally;             /* ntpq tally: '*' '+' '-' 'x' '#' '.' ' ' */
    uint8_t stratum;
    uint32_t refid;
    uint8_t reach;
    int poll_log2;
    double offset, delay, jitter; /* s */
    int64_t last_rx_mono_ns; /* 0 = never */
    uint8_t kind;           /* 0 server, 1 pool (the prototype: name only), 2 pool member */
    bool denied;            /* stopped by a kiss-o'-death DENY/RSTR */
    uint8_t leap;           /* of its last answer */
    uint64_t drops[ENG_DROP_REASONS]; /* replies per reason: [0] = used, others dropped */
    /* The last reply (statistics files): what it measured (NAN where it did not get that
     * far) and what was done with it (index into drops, eng_drop_reason_name). */
    double meas_offset, meas_delay, meas_dispersion;
    uint8_t meas_reason;
    int pool_slot;          /* a pool member's pool (its prototype's slot), else -1 */
    bool has_estimate;      /* offset, delay and jitter are known (else 0) */
    bool offline;           /* stopped by the operator (eng_set_online) */
};

/* Slots are stable: a removed pool member leaves a free slot (false) that a new one may
 * take later. i < eng_source_count(). refid is as on the wire (network byte order in
 * memory), like act_reference.refid. */
bool eng_get_source(const struct eng *e, size_t i, struct core_time now,
                    struct eng_source_status *st);

/* Stable lower_snake name of a drop counter ("ok", "stale", "wrong_sender", "bogus",
 * "duplicate", "kod", "unsynchronized", ...); NULL beyond the last one. */
const char *eng_drop_reason_name(size_t i);

/* The frequency worth saving in the drift file now (also at exit): false when the
 * estimate is not good enough yet and no drift file was read. */
bool eng_drift_value(const struct eng *e, struct core_time now, double *ppm);

#endif
