/* One time source as a state machine (RFC 5905 sections 8, 13): its address, the 8-bit
 * reach register, the poll interval adapting between minpoll and maxpoll, iburst and
 * burst, back-off while unreachable, kiss-o'-death, the outstanding request (sequence
 * number and random transmit nonce) and the checks every reply goes through before its
 * sample enters the filter. Pure: time, randomness and the clock frame are inputs; the
 * engine (eng.c) owns the array of sources, pools and selection. */
#ifndef TSYNC_SRC_H
#define TSYNC_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/core.h"
#include "core/eng.h"
#include "core/flt.h"

#define SRC_POLL_MIN      0 /* log2 s (RFC 5905 allows 4; ntp.conf and chrony.conf 0) */
#define SRC_POLL_MAX      17
#define SRC_IBURST        6   /* requests of an iburst (NTPsec 6, chrony 4, classic ntpd 8) */
#define SRC_RECHECK_MIN   8.0 /* s: earliest check whether a period was answered (src.c) */
#define SRC_BURST         4   /* requests of a burst while reachable (chrony's "up to 4") */
#define SRC_STEP_BURST    4   /* re-measurement after an external clock jump */
#define SRC_BURST_SPACING 2.0 /* s between the requests of a burst (ntpd, chrony) */
#define SRC_DEFAULT_PORT  123

enum src_state {
    SRC_FREE = 0,   /* unused slot */
    SRC_UNRESOLVED, /* a server host name waiting for its address */
    SRC_POOL,       /* a pool's prototype: resolves, owns members, never polls */
    SRC_ACTIVE,     /* polling its address */
    SRC_DENIED,     /* stopped by a kiss-o'-death DENY or RSTR */
};

struct src {
    enum src_state state;
    int pool;                     /* slot of the owning pool prototype, -1 none */
    struct eng_source_config cfg; /* normalized line (a member keeps its pool's line) */
    struct core_addr addr;        /* family 0 until resolved */
    bool literal;                 /* cfg.name is an address literal: never resolved */

    /* Polling (RFC 5905 section 13). */
    uint8_t reach;             /* 8-bit shift register, bit 0 = this poll period */
    int poll;                  /* log2 s now */
    int poll_floor;            /* minpoll, raised by KoD RATE */
    bool rate_limited;         /* a KoD RATE came: no bursts to this server any more */
    int jiggle;                /* poll adaptation counter (ntpd's "jiggle") */
    int burst_left;            /* requests of the current poll period still to send */
    int forced_burst;          /* requests to send at the next poll (external step) */
    uint32_t unanswered;       /* completed poll periods without an answer */
    uint32_t periods;          /* poll periods started */
    bool answered;             /* an answer arrived in this poll period */
    bool adapted;              /* the poll was adapted in this poll period */
    int64_t next_poll_mono_ns; /* INT64_MAX: not polling */
    int64_t period_end_mono_ns; /* a checkpoint is pending: when the period ends if it
                                   was answered (0 none; see src.c, recheck) */
    bool offline;               /* the operator's "offline": no polls until "online" */

    /* The outstanding request: replies must match seq and echo nonce. */
    uint32_t seq; /* never reset, also across slot reuse */
    uint64_t nonce;
    int64_t t1_ns;       /* real send time from eng_on_sent */
    bool sent;           /* t1_ns is known */
    bool open;           /* not answered yet */
    uint64_t last_tx_ts; /* server transmit time of the last answer */

    /* The last answer that passed the origin check. */
    uint8_t leap, stratum;
    int8_t precision;
    uint32_t refid; /* host order as decoded */
    double root_delay, root_dispersion;
    int64_t last_rx_mono_ns; /* 0 = never */

    struct flt flt;
    char tally;            /* enum sel_verdict of the last selection */
    int false_runs;        /* own fresh samples judged falseticker in a row */
    uint32_t shift_period; /* poll period of the last confirmation burst */

    /* Name resolution (servers by name, pools). */
    bool resolving;             /* an ACT_RESOLVE is outstanding */
    int64_t resolve_at_mono_ns; /* next (re)try or watchdog; INT64_MAX none */
    double resolve_backoff;     /* s, doubles on each failure */

    uint64_t replies; /* samples accepted */
    uint64_t drops[FLT_REASON_COUNT];
    struct flt_meas last_meas; /* of the last reply that got that far (NAN before) */
    uint8_t last_reason;       /* enum flt_reason of the last reply */
};

/* Shared inputs of one engine call. */
struct src_env {
    struct core_time now;
    struct flt_frame frame; /* phase/drift for raw offsets (flt.h) */
    double freq;            /* s/s: rate at which the phase grows now, per
                               monotonic second */
    int8_t precision_log2;  /* local clock */
    double maxdistance;     /* s */
    int poll_hint;          /* log2 s: the discipline's longest useful poll interval
                               (dsc_poll_hint); SRC_POLL_MAX for no limit */
    struct core_rng *rng;
};

/* Parses an IPv4 dotted quad or an IPv6 literal (optionally in brackets; no zone) into
 * a; false when s is not such a literal (then it is a name to resolve). */
bool src_parse_addr(const char *s, uint16_t port, struct core_addr *a);

/* Normalized copy of a config line: polls clamped to 0..17 and ordered, port 0 -> 123,
 * version outside 1..4 -> 4, pool maxsources 1..16 (0 -> 4), NaN maxdelay -> none. */
void src_normalize_config(const struct eng_source_config *in, struct eng_source_config *out);

/* Fills slot s for a config line (pool = prototype slot of a member, else -1). A
 * literal address starts SRC_ACTIVE via src_activate; a name starts SRC_UNRESOLVED,
 * a pool SRC_POOL; both with a resolve due now. */
void src_init(struct src *s, const struct eng_source_config *cfg, int pool,
              const struct src_env *env);

/* Starts polling addr (port from the config): reach 0, poll = minpoll, the first request
 * now (iburst) or about a second later. Keeps seq and counters. */
void src_activate(struct src *s, const struct core_addr *addr, const struct src_env *env);

/* The operator's offline/online (a link that is down): offline stops the polls (the
 * reach register keeps its value, as nothing was asked); online polls again at once,
 * a new poll period at the current poll interval. Other states only keep the flag. */
void src_set_offline(struct src *s, bool offline, const struct src_env *env);

/* Frees the slot; seq survives so late replies to the old source never match. */
void src_free(struct src *s);

/* Earliest monotonic time at which src_on_timer has work; INT64_MAX none. */
int64_t src_next_timer(const struct src *s);

/* What a poll did, for the engine. */
struct src_poll_result {
    bool polled;             /* a request was sent */
    bool became_unreachable; /* the reach register just emptied */
    bool resolve;            /* a resolve (retry or watchdog) is due: the engine emits it */
};

/* Runs what is due at env->now: the poll (sending ACT_SEND with source index idx) and
 * resolve retries. */
void src_on_timer(struct src *s, int idx, const struct src_env *env, struct act_list *out,
                  struct src_poll_result *r);

/* The send time of request seq (later calls replace it: kernel transmit stamps). */
void src_on_sent(struct src *s, uint32_t seq, int64_t tx_real_ns);

/* What a reply did, for the engine. */
struct src_reply_result {
    enum flt_reason reason;   /* FLT_OK: a sample entered the filter */
    enum flt_verdict verdict; /* with FLT_OK: is there a new filtered sample */
    bool became_reachable;
    bool denied;   /* KoD DENY/RSTR: the source stopped */
    uint32_t kiss; /* kiss code when reason == FLT_KOD */
};

/* A datagram for request seq from `from`, received at rx_real_ns. */
void src_on_reply(struct src *s, int idx, uint32_t seq, const struct core_addr *from,
                  const uint8_t *buf, size_t len, int64_t rx_real_ns, const struct src_env *env,
                  struct act_list *out, struct src_reply_result *r);

/* The filter's estimate for selection; false when none (or not polling). */
bool src_estimate(const struct src *s, const struct src_env *env, struct flt_estimate *e);

/* The clock was stepped by step s: the send time of the outstanding request moves with
 * it (stored samples move through the engine's phase, see flt_frame). */
void src_rebase_step(struct src *s, double step);

/* After an external clock jump: retire the stored samples from selection and send a
 * short burst right away. */
void src_remeasure(struct src *s, const struct src_env *env);

/* The reference ID a server downstream shows for this source (RFC 5905 section 7.3):
 * the IPv4 address, or the first four bytes of the MD5 digest of the IPv6 address. In
 * wire order (the value's memory bytes are the four bytes on the wire). */
uint32_t src_refid(const struct core_addr *a);

/* MD5 (RFC 1321) of len bytes, for src_refid; exposed for its unit test. */
void src_md5(const uint8_t *data, size_t len, uint8_t digest[16]);

#endif
