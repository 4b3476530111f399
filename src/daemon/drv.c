/* The driver between the engine (src/core/eng.h) and this machine. Every engine call
 * fills lists[0]; run() carries out a list in order and gathers the actions the
 * results asked for (eng_on_sent, eng_on_stepped, ...) into the next list, which is
 * carried out after it (later decisions win over earlier ones), for at most
 * DRV_MAX_ROUNDS rounds. Clock changes never happen with -x: the engine is told so by
 * no_clock_control and the driver refuses them itself too. */
#include "daemon/drv.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/eng.h"
#include "daemon/drift.h"
#include "daemon/drv_config.h"
#include "daemon/evlog.h"
#include "daemon/leapfile.h"
#include "daemon/alerts.h"
#include "daemon/stats.h"
#include "daemon/netaddr.h"
#include "ntp/ntp_pkt.h"
#include "sys/sys_adjtime.h"
#include "sys/sys_client.h"
#include "sys/sys_clock.h"
#include "sys/sys_dns.h"
#include "sys/sys_log.h"
#include "sys/sys_notify.h"
#include "sys/sys_rand.h"

#define NS_PER_S       INT64_C(1000000000)
#define NTP_PORT       123
#define REPLY_MAX      1024 /* bytes of a reply read; a longer one is dropped as truncated */
#define READS_PER_WAKE 4    /* datagrams taken from one request socket per wake-up */
#define STUCK_WAIT_MS  10   /* poll timeout while the engine's timer fails to advance */
#define EMPTY_WAKES    4    /* wake-ups with nothing to read a request socket may cause */
#define MAX_WAIT_MS    3600000

struct drv_request {
    bool used;
    int source;
    uint32_t seq;
    struct sys_client sock;
    int loop_index; /* reserved sys_loop slot; its fd is the socket's while used */
    int64_t sent_mono_ns;
    int64_t deadline_mono_ns;
    int64_t tx_read_ns; /* CLOCK_REALTIME read right before send() */
    bool tx_kernel;     /* the engine has the kernel's transmit stamp instead */
    uint32_t clock_gen; /* d->clock_gen at the send */
    uint8_t empty_wakes;
};

struct drv_counters {
    uint64_t sent, send_failed, replies, bad_replies, recv_errors, timeouts, superseded, evicted,
        resolves, resolve_refused, steps, clock_failures, refused_x, jumps, actions_dropped,
        tx_stamped, tx_unstamped, tx_stamp_unfit, rx_unstamped;
};

struct drv {
    struct eng *eng;
    void *eng_mem;
    const struct cfg *cfg;
    bool no_clock;
    struct sys_loop *loop;
    struct srv *srv;
    struct sys_dns *dns;
    int dns_index;
    int watch_fd; /* wakes the loop when the clock is set; -1 without */
    int watch_index;
    struct drv_request req[DRV_MAX_REQUESTS];
    size_t n_req;          /* slots with a reserved loop index */
    struct core_time base; /* last wake-up (or our last step): jump detection */
    uint32_t clock_gen; /* counts steps, ours and seen: the timescale of sends */
    bool timer_stuck, timer_stuck_logged, x_refusal_logged, overflow_logged, loop_error_logged;
    bool freq_failed; /* the last ACT_FREQ could not be carried out */
    int last_clock_err, last_send_err, last_drift_err;
    struct drv_counters cnt;
    bool synced;            /* as the engine said after the last run */
    bool sync_change_known; /* ...and it changed once at least, at sync_change_unix_s */
    double sync_change_unix_s;
    uint32_t updates_seen; /* the engine's clock updates already logged/written */
    struct stats stats;    /* statistics files (statsdir); fds -1 when off */
    uint64_t meas_seen[ENG_MAX_SOURCES]; /* replies per source already written */
    struct alerts alerts;  /* lasting conditions logged again with back-off */
    int notify_state;      /* what sd_notify's STATUS last said (enum below), -1 none */
    int notify_peer;
    struct sys_dns_answer answer; /* scratch for sys_dns_take (2.5 KiB) */
    struct act_list lists[3];     /* [0] engine calls, [1] next round, [2] one result */
};

static struct core_time now_time(void)
{
    struct core_time t;

    t.real_ns = sys_clock_realtime_ns();
    t.mono_ns = sys_clock_monotonic_ns();
    return t;
}

/* Puts fd (-1: nothing) in a loop slot reserved by open_io or open_watch. A refusal
 * means a slot index of ours is wrong: a bug, logged once; a request's reply then goes
 * unseen and the request times out. */
static void loop_watch(struct drv *d, int index, int fd)
{
    int err = sys_loop_set_fd(d->loop, index, fd);

    if (err != 0 && !d->loop_error_logged) {
        sys_log_err("event loop: slot %d refused fd %d: %s (a bug; further cases are not "
                    "logged)",
                    index, fd, strerror(-err));
        d->loop_error_logged = true;
    }
}

/* ---- carrying out lists ------------------------------------------------------------ */

static struct act_list *result_list(struct drv *d)
{
    act_list_clear(&d->lists[2]);
    return &d->lists[2];
}

/* Appends the last result's actions to the next round's list. */
static void merge_result(struct drv *d, struct act_list *next)
{
    const struct act_list *r = &d->lists[2];

    next->overflow += r->overflow;
    for (size_t i = 0; i < r->n; i++) {
        struct act *a = act_push(next, r->a[i].kind);
        if (a != NULL) {
            *a = r->a[i];
        }
    }
}

static void carry(struct drv *d, const struct act *a, struct act_list *next);

static void report_overflow(struct drv *d, const struct act_list *l)
{
    if (l->overflow == 0) {
        return;
    }
    d->cnt.actions_dropped += l->overflow;
    if (!d->overflow_logged) {
        sys_log_err("engine: %u actions did not fit in one list and were dropped (a bug; "
                    "further cases are only counted)",
                    (unsigned)l->overflow);
        d->overflow_logged = true;
    }
}

/* Records changes between synchronized and not, for drv_sync_since. */
/* The system peer's name ("LOCL" for the local reference, "" for none). */
static void reference_name(const struct drv *d, const struct eng_status *st, struct core_time t,
                           char *buf, size_t n)
{
    struct eng_source_status ss;

    buf[0] = '\0';
    if (st->selected >= 0 && eng_get_source(d->eng, (size_t)st->selected, t, &ss)) {
        snprintf(buf, n, "%s", ss.name);
    } else if (d->cfg->local && st->stratum < 16) {
        snprintf(buf, n, "LOCL");
    }
}

/* A clock update: chrony's logchange warning, and a line of tracking.log. */
static void note_update(struct drv *d, const struct eng_status *st, struct core_time t)
{
    char ref[ENG_NAME_MAX];

    if (st->updates == d->updates_seen) {
        return;
    }
    d->updates_seen = st->updates;
    if (d->cfg->logchange > 0.0 && fabs(st->last_offset) > d->cfg->logchange) {
        sys_log_warning("clock correction of %+.6f s (the clock was %s), above logchange %g s",
                        st->last_offset, st->last_offset > 0 ? "behind" : "ahead",
                        d->cfg->logchange);
    }
    reference_name(d, st, t, ref, sizeof(ref));
    struct stats_tracking_row row = {.reference = ref,
                                     .stratum = st->stratum,
                                     .offset = st->last_offset,
                                     .frequency_ppm = st->drift_ppm,
                                     .skew_ppm = st->skew_ppm,
                                     .root_delay = st->root_delay,
                                     .root_dispersion = st->root_dispersion,
                                     .bound = st->bound,
                                     .synchronized = st->synced,
                                     .leap = st->leap};
    stats_tracking(&d->stats, t.real_ns, &row);
}

/* Replies the engine took since the last look: a line of measurements.log each (the
 * last one when several came in one wake-up). */
static void note_measurements(struct drv *d, struct core_time t)
{
    struct eng_source_status ss;
    char addr[64]; /* an IPv6 address as text: 46 bytes at most */

    if (d->stats.fd[STATS_MEASUREMENTS] < 0) {
        return;
    }
    for (size_t i = 0; i < eng_source_count(d->eng) && i < ENG_MAX_SOURCES; i++) {
        uint64_t total = 0;
        if (!eng_get_source(d->eng, i, t, &ss)) {
            continue;
        }
        for (size_t k = 0; k < ENG_DROP_REASONS; k++) {
            total += ss.drops[k];
        }
        if (total <= d->meas_seen[i]) {
            d->meas_seen[i] = total; /* a new source in a reused slot starts again */
            continue;
        }
        d->meas_seen[i] = total;
        netaddr_text(&ss.addr, addr, sizeof(addr));
        const char *why = eng_drop_reason_name(ss.meas_reason);
        struct stats_measurement_row row = {.source = ss.name,
                                            .address = addr,
                                            .stratum = ss.stratum,
                                            .leap = ss.leap,
                                            .offset = ss.meas_offset,
                                            .delay = ss.meas_delay,
                                            .dispersion = ss.meas_dispersion,
                                            .result = why != NULL ? why : "?"};
        stats_measurement(&d->stats, t.real_ns, &row);
    }
}

enum notify_state { NOTIFY_UNSYNC, NOTIFY_SYNC };

/* systemd's STATUS= line, sent when the state or the system peer changes (not at every
 * update: `systemctl status tsyncd` shows the state, the log shows the details). */
static void note_notify(struct drv *d, const struct eng_status *st, struct core_time t)
{
    char msg[ENG_NAME_MAX + 160], ref[ENG_NAME_MAX];
    int state = st->synced ? NOTIFY_SYNC : NOTIFY_UNSYNC;

    if (state == d->notify_state && st->selected == d->notify_peer) {
        return;
    }
    d->notify_state = state;
    d->notify_peer = st->selected;
    reference_name(d, st, t, ref, sizeof(ref));
    if (st->synced) {
        snprintf(msg, sizeof(msg), "STATUS=synchronized to %s, offset %+.6f s, bound %.6f s",
                 ref[0] ? ref : "?", st->offset, st->bound);
    } else {
        snprintf(msg, sizeof(msg), "STATUS=not synchronized%s",
                 alerts_active(&d->alerts) > 0 ? ": no usable source (see the log)" : "");
    }
    (void)sys_notify(msg);
}

static void note_sync(struct drv *d)
{
    struct eng_status st;
    struct core_time t = now_time();

    eng_get_status(d->eng, t, &st);
    if (st.synced != d->synced) {
        d->synced = st.synced;
        d->sync_change_known = true;
        d->sync_change_unix_s = (double)t.real_ns / (double)NS_PER_S;
    }
    note_update(d, &st, t);
    note_measurements(d, t);
    note_notify(d, &st, t);
}

/* Carries out lists[0] and whatever its results ask for. */
static void run(struct drv *d)
{
    struct act_list *cur = &d->lists[0], *next = &d->lists[1];

    for (int round = 0; round < DRV_MAX_ROUNDS && cur->n > 0; round++) {
        act_list_clear(next);
        report_overflow(d, cur);
        for (size_t i = 0; i < cur->n; i++) {
            carry(d, &cur->a[i], next);
        }
        struct act_list *t = cur;
        cur = next;
        next = t;
    }
    if (cur->n > 0) {
        d->cnt.actions_dropped += cur->n;
        sys_log_err("engine: still asking for %zu actions after %d rounds; dropped", cur->n,
                    DRV_MAX_ROUNDS);
    }
    act_list_clear(&d->lists[0]);
    act_list_clear(&d->lists[1]);
    note_sync(d);
}

/* ---- requests ---------------------------------------------------------------------- */

static void close_request(struct drv *d, struct drv_request *r)
{
    sys_client_close(&r->sock);
    loop_watch(d, r->loop_index, -1);
    r->used = false;
}

/* A new request of a source replaces its previous one: a reply to the old one would be
 * stale for the engine anyway. */
static void supersede(struct drv *d, int source)
{
    for (size_t i = 0; i < d->n_req; i++) {
        if (d->req[i].used && d->req[i].source == source) {
            d->cnt.superseded++;
            close_request(d, &d->req[i]);
        }
    }
}

/* A free slot, or the oldest request's (that one counts as lost). */
static struct drv_request *take_slot(struct drv *d)
{
    struct drv_request *oldest = NULL;

    for (size_t i = 0; i < d->n_req; i++) {
        if (!d->req[i].used) {
            return &d->req[i];
        }
        if (oldest == NULL || d->req[i].sent_mono_ns < oldest->sent_mono_ns) {
            oldest = &d->req[i];
        }
    }
    if (oldest != NULL) {
        d->cnt.evicted++;
        sys_log_debug("all %zu request sockets busy: dropping the oldest request", d->n_req);
        close_request(d, oldest);
    }
    return oldest;
}

static void send_failed(struct drv *d, const struct sockaddr_storage *ss, int err)
{
    char addr[NETADDR_TEXT_LEN];

    d->cnt.send_failed++;
    netaddr_format((const struct sockaddr *)ss, addr, sizeof(addr));
    if (err != d->last_send_err) {
        sys_log_warning("cannot send a request to %s: %s (repeats of this error are logged "
                        "at debug level)",
                        addr, strerror(-err));
        d->last_send_err = err;
    } else {
        sys_log_debug("cannot send a request to %s: %s", addr, strerror(-err));
    }
}

bool drv_tx_stamp_fits(int64_t read_ns, int64_t stamp_ns)
{
    /* In unsigned arithmetic the distance between any two int64 values is exact. */
    if (stamp_ns >= read_ns) {
        return (uint64_t)stamp_ns - (uint64_t)read_ns <= (uint64_t)(DRV_TX_STAMP_LATE_S * 1e9);
    }
    return (uint64_t)read_ns - (uint64_t)stamp_ns <= (uint64_t)(DRV_TX_STAMP_EARLY_S * 1e9);
}

/* The kernel's transmit stamp of r's request, or 0 when there is none (yet) or it cannot
 * stand for the request: it does not fit the reading before send(), or the clock was
 * stepped since the send (the engine rebased the reading; the stamp is of the old
 * timescale). */
static int64_t take_tx_stamp(struct drv *d, struct drv_request *r)
{
    int64_t ns = 0;

    if (sys_client_take_tx_stamp(&r->sock, &ns) != 1) {
        return 0;
    }
    if (r->clock_gen != d->clock_gen || !drv_tx_stamp_fits(r->tx_read_ns, ns)) {
        d->cnt.tx_stamp_unfit++;
        sys_log_debug("request of source %d: kernel transmit stamp %+.9f s from the clock "
                      "reading%s: not used",
                      r->source, ((double)ns - (double)r->tx_read_ns) * 1e-9,
                      r->clock_gen != d->clock_gen ? " and the clock stepped since" : "");
        return 0;
    }
    r->tx_kernel = true;
    d->cnt.tx_stamped++;
    sys_log_debug("request of source %d: kernel transmit stamp %.3f us after the clock reading",
                  r->source, (double)(ns - r->tx_read_ns) * 1e-3);
    return ns;
}

/* Opens a fresh socket, reads the clock, sends; the engine learns the send time: the
 * kernel's transmit stamp when it is there right after send() (it usually is: the stack
 * stamps the datagram on its way to the device within the call), else the reading, which
 * a stamp arriving later replaces (take_replies). */
static void do_send(struct drv *d, const struct act_send *s, struct act_list *next)
{
    struct sockaddr_storage ss;
    uint16_t port = s->to.port != 0 ? s->to.port : NTP_PORT;
    socklen_t len = netaddr_to_sockaddr(&s->to, port, &ss);

    if (len == 0 || s->len < NTP_HEADER_LEN || s->len > ACT_PKT_MAX) {
        d->cnt.send_failed++;
        sys_log_debug("engine: request of source %d has no address or a bad length", s->source);
        return;
    }
    supersede(d, s->source);
    struct drv_request *r = take_slot(d);
    if (r == NULL) {
        d->cnt.send_failed++;
        return;
    }
    int err = sys_client_open(&r->sock, (struct sockaddr *)&ss, len);
    if (err != 0) {
        send_failed(d, &ss, err);
        return;
    }
    int64_t tx_ns = sys_clock_realtime_ns(); /* right before the send */
    err = sys_client_send(&r->sock, s->pkt, s->len);
    if (err != 0) {
        sys_client_close(&r->sock);
        send_failed(d, &ss, err);
        return;
    }
    r->used = true;
    r->source = s->source;
    r->seq = s->seq;
    r->sent_mono_ns = sys_clock_monotonic_ns();
    r->deadline_mono_ns = r->sent_mono_ns + DRV_REPLY_TIMEOUT_S * NS_PER_S;
    r->tx_read_ns = tx_ns;
    r->tx_kernel = false;
    r->clock_gen = d->clock_gen;
    r->empty_wakes = 0;
    int64_t stamp = take_tx_stamp(d, r);
    loop_watch(d, r->loop_index, r->sock.fd);
    d->cnt.sent++;
    eng_on_sent(d->eng, now_time(), s->source, s->seq, stamp != 0 ? stamp : tx_ns, result_list(d));
    merge_result(d, next);
}

/* ---- names ------------------------------------------------------------------------- */

/* The resolver's pipe is polled only while a lookup is outstanding: the thread writes
 * to it when an answer is ready, and no pipe in the poll set is one fewer descriptor an
 * LD_PRELOAD simulator (clknetsim) would report ready for ever and spin the loop on. */
static void watch_resolver(struct drv *d)
{
    if (d->dns_index >= 0) {
        loop_watch(d, d->dns_index, sys_dns_pending(d->dns) > 0 ? sys_dns_fd(d->dns) : -1);
    }
}

static void do_resolve(struct drv *d, int source, const char *name, struct act_list *next)
{
    int family = drv_config_family(d->cfg, name);
    int err = sys_dns_submit(d->dns, name, family, (uint64_t)(uint32_t)source);
    struct core_addr none;

    if (err == 0) {
        d->cnt.resolves++;
        sys_log_debug("resolving %s", name);
        watch_resolver(d);
        return;
    }
    /* Answered at once as a failure: the engine retries with its back-off. */
    d->cnt.resolve_refused++;
    sys_log_debug("cannot resolve %s now: %s", name,
                  err == -EAGAIN ? "too many lookups pending" : strerror(-err));
    memset(&none, 0, sizeof(none));
    eng_on_resolved(d->eng, now_time(), source, &none, 0, result_list(d));
    merge_result(d, next);
}

static void take_answers(struct drv *d)
{
    struct sys_dns_answer *a = &d->answer;
    struct core_addr addrs[SYS_DNS_MAX_ADDRS];

    for (int i = 0; i < SYS_DNS_QUEUE && sys_dns_take(d->dns, a) == 1; i++) {
        size_t n = 0;
        for (size_t k = 0; k < a->n && k < SYS_DNS_MAX_ADDRS; k++) {
            if (netaddr_from_sockaddr((struct sockaddr *)&a->addr[k], a->addr_len[k], &addrs[n])) {
                n++;
            }
        }
        if (a->gai_error != 0) {
            sys_log_debug("resolving %s failed: %s", a->name, a->error);
        } else {
            sys_log_debug("resolved %s: %zu addresses", a->name, n);
        }
        eng_on_resolved(d->eng, now_time(), (int)(uint32_t)a->tag, addrs, n, &d->lists[0]);
        run(d);
    }
}

/* ---- the clock --------------------------------------------------------------------- */

/* -x: defence in depth, the engine was told already (no_clock_control). */
static bool refuse_with_x(struct drv *d, const char *what)
{
    if (!d->no_clock) {
        return false;
    }
    d->cnt.refused_x++;
    if (!d->x_refusal_logged) {
        sys_log_warning("-x: refused to %s: nothing touches the system clock with -x (the "
                        "engine should not have asked; further refusals are counted)",
                        what);
        d->x_refusal_logged = true;
    }
    return true;
}

/* Logged once per kind of error (EPERM above all, when CAP_SYS_TIME is missing), so a
 * daemon that cannot adjust the clock says so clearly without flooding the log. */
static void clock_failed(struct drv *d, const char *what, int err)
{
    d->cnt.clock_failures++;
    if (err == d->last_clock_err) {
        sys_log_debug("cannot %s: %s", what, strerror(-err));
        return;
    }
    d->last_clock_err = err;
    if (err == -EPERM) {
        sys_log_err("cannot %s: %s: adjusting the system clock needs CAP_SYS_TIME (run "
                    "tsyncd as root, or with -x to never touch the clock); the clock is left "
                    "as it is and further failures are only counted",
                    what, strerror(-err));
    } else {
        sys_log_err("cannot %s: %s (further failures of this kind are only counted)", what,
                    strerror(-err));
    }
}

static double kernel_freq(void)
{
    struct sys_adjtime_state st;

    return sys_adjtime_query(&st) == 0 ? st.freq_ppm : 0.0;
}

static void do_step(struct drv *d, double offset, struct act_list *next)
{
    double applied = 0.0;
    bool ok = false;

    if (!refuse_with_x(d, "step the clock")) {
        int err = sys_adjtime_step(offset, &applied);
        /* Our own jump: the detector's baseline starts after it. */
        d->base = now_time();
        if (err != 0) {
            clock_failed(d, "step the system clock", err);
        } else {
            d->cnt.steps++;
            d->clock_gen++;
            ok = true;
            sys_log_debug("clock stepped by %+.9f s", applied);
        }
    }
    eng_on_stepped(d->eng, now_time(), ok, ok ? applied : 0.0, result_list(d));
    merge_result(d, next);
}

static void do_freq(struct drv *d, double ppm, struct act_list *next)
{
    double applied = 0.0;
    int err = -EPERM;

    if (!refuse_with_x(d, "set the clock's frequency")) {
        err = sys_adjtime_set_freq(ppm, &applied);
        if (err != 0) {
            clock_failed(d, "set the clock's frequency", err);
        }
    }
    d->freq_failed = err != 0;
    if (err != 0) {
        applied = kernel_freq(); /* what the clock really runs at */
    }
    eng_on_freq_set(d->eng, now_time(), applied, result_list(d));
    merge_result(d, next);
}

static void do_status(struct drv *d, const struct act_status *s)
{
    enum sys_adjtime_leap leap = s->leap == 1   ? SYS_ADJTIME_LEAP_INSERT
                                 : s->leap == 2 ? SYS_ADJTIME_LEAP_DELETE
                                                : SYS_ADJTIME_LEAP_NONE;

    if (refuse_with_x(d, "set the kernel's clock status")) {
        return;
    }
    int err = sys_adjtime_set_status(s->synced, leap, s->maxerror, s->esterror);
    if (err != 0) {
        clock_failed(d, "set the kernel's clock status", err);
        return;
    }
}

/* ---- server reference, drift file, events ------------------------------------------- */

static void do_reference(struct drv *d, const struct act_reference *a)
{
    struct srv_reference ref;

    if (d->srv == NULL) {
        return;
    }
    if (!a->valid) {
        srv_set_reference(d->srv, NULL); /* answers say leap 3, stratum 16 */
        return;
    }
    memset(&ref, 0, sizeof(ref));
    ref.leap = a->leap;
    ref.stratum = a->stratum;
    ref.refid = a->refid;
    ref.root_delay = a->root_delay;
    ref.root_dispersion = a->root_dispersion;
    ref.ref_unix_ns = a->ref_unix_ns;
    srv_set_reference(d->srv, &ref);
}

static void save_drift(struct drv *d, double ppm)
{
    const char *path = d->cfg->driftfile;

    if (d->no_clock || path[0] == '\0') {
        return;
    }
    int err = drift_write(path, ppm);
    if (err == 0) {
        sys_log_debug("drift file %s: %.6f ppm", path, ppm);
        d->last_drift_err = 0;
    } else if (err != d->last_drift_err) {
        sys_log_warning("cannot write the drift file %s: %s", path, strerror(-err));
        d->last_drift_err = err;
    }
}

/* A frequency the kernel refused comes back as "clamped" at every update; the cause
 * was logged once by clock_failed, so the repeats go to debug. */
static void log_event(struct drv *d, const struct act_event *ev)
{
    char line[SYS_LOG_LINE_MAX];

    alerts_on_event(&d->alerts, ev, sys_clock_monotonic_ns());
    if (ev->kind == EV_FREQ_CLAMPED && d->freq_failed) {
        if (sys_log_enabled(SYS_LOG_DEBUG)) {
            evlog_format(ev, line, sizeof(line));
            sys_log_debug("%s", line);
        }
        return;
    }
    evlog_log_if(ev, d->cfg->log_classes);
}

/* Lasting conditions are logged again, with back-off, while they last (alerts.h). */
static void repeat_alerts(struct drv *d)
{
    struct act_event due[8];
    double for_s[8];
    size_t n = alerts_due(&d->alerts, sys_clock_monotonic_ns(), due, for_s, 8);

    for (size_t i = 0; i < n; i++) {
        if (due[i].severity == ACT_SEV_ERR ||
            (evlog_class((enum act_event_kind)due[i].kind) & d->cfg->log_classes) != 0) {
            evlog_log_again(&due[i], for_s[i]);
        }
    }
}

static void carry(struct drv *d, const struct act *a, struct act_list *next)
{
    switch (a->kind) {
    case ACT_SEND:
        do_send(d, &a->u.send, next);
        break;
    case ACT_RESOLVE:
        do_resolve(d, a->u.resolve.source, a->u.resolve.name, next);
        break;
    case ACT_STEP:
        do_step(d, a->u.step.offset, next);
        break;
    case ACT_FREQ:
        do_freq(d, a->u.freq.ppm, next);
        break;
    case ACT_STATUS:
        do_status(d, &a->u.status);
        break;
    case ACT_REFERENCE:
        do_reference(d, &a->u.reference);
        break;
    case ACT_DRIFT_SAVE:
        save_drift(d, a->u.drift.freq_ppm);
        break;
    case ACT_EVENT:
        log_event(d, &a->u.event);
        break;
    default:
        sys_log_debug("engine: unknown action kind %d ignored", (int)a->kind);
        break;
    }
}

/* ---- wake-ups ---------------------------------------------------------------------- */

double drv_jump_seen(int64_t real0_ns, int64_t mono0_ns, int64_t real1_ns, int64_t mono1_ns)
{
    double dmono = (double)(mono1_ns - mono0_ns) * 1e-9;
    double jump = (double)((real1_ns - real0_ns) - (mono1_ns - mono0_ns)) * 1e-9;
    double tolerance = DRV_JUMP_THRESHOLD_S + DRV_JUMP_RATE * fabs(dmono);

    return fabs(jump) > tolerance ? jump : 0.0;
}

static void check_jump(struct drv *d)
{
    struct core_time t = now_time();
    double jump = drv_jump_seen(d->base.real_ns, d->base.mono_ns, t.real_ns, t.mono_ns);

    d->base = t;
    if (jump == 0.0) {
        return;
    }
    d->cnt.jumps++;
    d->clock_gen++;
    /* The engine tells the kernel's own leap second from an external jump. */
    sys_log_debug("clock jump of %+.9f s seen (realtime against monotonic)", jump);
    eng_on_external_step(d->eng, t, jump, &d->lists[0]);
    run(d);
}

static void log_source(const struct drv *d, int source)
{
    struct eng_source_status st;

    if (source < 0 || !sys_log_enabled(SYS_LOG_DEBUG) ||
        !eng_get_source(d->eng, (size_t)source, now_time(), &st)) {
        return;
    }
    sys_log_debug("source %s [%c]: offset %+.9f s, delay %.6f s, jitter %.6f s, stratum %u, "
                  "reach %03o, poll 2^%d",
                  st.name, st.tally == '\0' ? ' ' : st.tally, st.offset, st.delay, st.jitter,
                  (unsigned)st.stratum, (unsigned)st.reach, st.poll_log2);
}

struct reply {
    uint8_t buf[REPLY_MAX];
    struct sys_client_msg m;
};

/* A kernel transmit stamp that came after send() returned: the engine replaces the
 * request's time with it (eng.h) before any reply to the request is handed over. Returns
 * false when r no longer holds the request (carrying out the results replaced it). */
static bool take_late_tx_stamp(struct drv *d, struct drv_request *r)
{
    int source = r->source;
    uint32_t seq = r->seq;
    int64_t stamp = take_tx_stamp(d, r);

    if (stamp == 0) {
        return true;
    }
    eng_on_sent(d->eng, now_time(), source, seq, stamp, &d->lists[0]);
    run(d);
    return r->used && r->source == source && r->seq == seq;
}

/* Reads up to READS_PER_WAKE datagrams into got: their number, or -1 when nothing ended
 * the request (no datagram, no error: the wake-up was the transmit stamp's). */
static int read_replies(struct drv *d, struct drv_request *r, struct reply *got)
{
    int n = 0;
    bool ended = false;

    for (int i = 0; i < READS_PER_WAKE; i++) {
        int err = sys_client_recv(&r->sock, got[n].buf, sizeof(got[n].buf), &got[n].m);
        if (err == 0) {
            break;
        }
        ended = true;
        if (err < 0) {
            d->cnt.recv_errors++; /* ECONNREFUSED: the ICMP answer of a closed port */
            sys_log_debug("request of source %d: %s", r->source, strerror(-err));
            break;
        }
        if (got[n].m.truncated) {
            d->cnt.bad_replies++;
            continue;
        }
        n++;
    }
    return ended ? n : -1;
}

/* Takes a late transmit stamp, reads what waits on a request's socket, closes it, then
 * hands the replies over (the engine may send the source's next request meanwhile,
 * reusing the slot). A wake-up that brought neither a reply nor an error leaves the
 * request waiting, a few times at most (poll() cannot keep waking for nothing). */
static void take_replies(struct drv *d, struct drv_request *r)
{
    struct reply got[READS_PER_WAKE];
    int source = r->source;
    uint32_t seq = r->seq;

    if (!take_late_tx_stamp(d, r)) {
        return;
    }
    int n = read_replies(d, r, got);
    if (n < 0 && ++r->empty_wakes <= EMPTY_WAKES) {
        return;
    }
    if (n < 0) {
        sys_log_debug("request of source %d: its socket keeps waking the loop with nothing "
                      "to read; given up",
                      source);
    }
    bool tx_kernel = r->tx_kernel;
    close_request(d, r);
    for (int i = 0; i < n; i++) {
        struct core_addr from;
        if (!netaddr_from_sockaddr((struct sockaddr *)&got[i].m.from, got[i].m.from_len, &from)) {
            d->cnt.bad_replies++;
            continue;
        }
        d->cnt.replies++;
        d->cnt.tx_unstamped += tx_kernel ? 0 : 1;
        d->cnt.rx_unstamped += got[i].m.rx_kernel ? 0 : 1;
        eng_on_reply(d->eng, now_time(), source, seq, &from, got[i].buf, got[i].m.len,
                     got[i].m.rx_unix_ns, &d->lists[0]);
        run(d);
        log_source(d, source);
    }
}

static void expire_requests(struct drv *d, int64_t now_mono_ns)
{
    for (size_t i = 0; i < d->n_req; i++) {
        if (d->req[i].used && d->req[i].deadline_mono_ns <= now_mono_ns) {
            d->cnt.timeouts++;
            close_request(d, &d->req[i]);
        }
    }
}

static void run_timers(struct drv *d)
{
    struct core_time t = now_time();

    if (eng_next_timer(d->eng) > t.mono_ns) {
        d->timer_stuck = false;
        return;
    }
    eng_on_timer(d->eng, t, &d->lists[0]);
    run(d);
    /* Never spin: a timer that stays due gets a short pause between runs. */
    d->timer_stuck = eng_next_timer(d->eng) <= t.mono_ns;
    if (d->timer_stuck && !d->timer_stuck_logged) {
        sys_log_err("engine: its timer did not advance after running; running it at most "
                    "every %d ms",
                    STUCK_WAIT_MS);
        d->timer_stuck_logged = true;
    }
}

void drv_after_wait(struct drv *d)
{
    if (d->watch_index >= 0 && sys_loop_readable(d->loop, d->watch_index)) {
        int err = sys_adjtime_watch_rearm(d->watch_fd);
        if (err != 0) {
            /* Without it, jumps are still seen, at the next wake-up. */
            sys_log_warning("cannot re-arm the clock-set watch: %s", strerror(-err));
            loop_watch(d, d->watch_index, -1);
            d->watch_index = -1;
        }
    }
    check_jump(d);
    if (d->dns_index >= 0 && sys_loop_readable(d->loop, d->dns_index)) {
        take_answers(d);
        watch_resolver(d);
    }
    for (size_t i = 0; i < d->n_req; i++) {
        if (d->req[i].used && sys_loop_readable(d->loop, d->req[i].loop_index)) {
            take_replies(d, &d->req[i]);
        }
    }
    expire_requests(d, sys_clock_monotonic_ns());
    run_timers(d);
    repeat_alerts(d);
}

int drv_timeout_ms(const struct drv *d)
{
    int64_t now = sys_clock_monotonic_ns();
    int64_t until = eng_next_timer(d->eng);
    int64_t alert = alerts_next(&d->alerts);

    until = alert < until ? alert : until;
    for (size_t i = 0; i < d->n_req; i++) {
        if (d->req[i].used && d->req[i].deadline_mono_ns < until) {
            until = d->req[i].deadline_mono_ns;
        }
    }
    if (until == INT64_MAX) {
        return -1;
    }
    int64_t ms = until <= now ? 0 : (until - now) / 1000000 + 1;
    if (d->timer_stuck && ms < STUCK_WAIT_MS) {
        ms = STUCK_WAIT_MS;
    }
    return ms > MAX_WAIT_MS ? MAX_WAIT_MS : (int)ms;
}

/* ---- start and stop ---------------------------------------------------------------- */

static void note_to_log(void *ctx, const char *msg)
{
    (void)ctx;
    sys_log_warning("%s", msg);
}

/* Without a usable drift file the engine starts from the frequency the kernel runs at
 * now (as chronyd does), so starting tsyncd never changes how fast the clock runs
 * before a source says so: on a machine without sources, nothing moves. */
static void seed_from_kernel(struct eng_config *ec)
{
    struct sys_adjtime_state st;

    if (sys_adjtime_query(&st) == 0) {
        ec->start_freq_ppm = st.freq_ppm;
        sys_log_info("starting from the kernel's frequency correction %.3f ppm", st.freq_ppm);
    }
}

/* The drift file seeds the engine's frequency; without one, the kernel's current value
 * does. Neither with -x: nothing is applied then. */
static void load_drift(const struct drv *d, struct eng_config *ec)
{
    const char *path = d->cfg->driftfile;
    double ppm;

    if (d->no_clock) {
        return;
    }
    if (path[0] == '\0') {
        seed_from_kernel(ec);
        return;
    }
    int err = drift_read(path, &ppm);
    if (err == 0) {
        ec->have_drift = true;
        ec->drift_ppm = ppm;
        sys_log_info("drift file %s: frequency correction %.3f ppm", path, ppm);
        return;
    }
    if (err == -ENOENT) {
        sys_log_info("drift file %s does not exist yet: it is written once the frequency "
                     "is known",
                     path);
    } else {
        sys_log_warning("cannot use the drift file %s: %s; starting without it", path,
                        err == -EINVAL ? "not one number (or chrony's two)" : strerror(-err));
    }
    seed_from_kernel(ec);
}

/* The resolver and the loop slots for request sockets (as many as fit, up to
 * DRV_MAX_REQUESTS). */
static int open_io(struct drv *d)
{
    int err = sys_dns_start(&d->dns);

    if (err != 0) {
        sys_log_err("cannot start the resolver thread: %s", strerror(-err));
        return err;
    }
    d->dns_index = sys_loop_add_fd(d->loop, -1); /* watched while lookups run */
    if (d->dns_index < 0) {
        sys_log_err("event loop full: no room for the resolver");
        return -ENOSPC;
    }
    for (size_t i = 0; i < DRV_MAX_REQUESTS; i++) {
        int idx = sys_loop_add_fd(d->loop, -1);
        if (idx < 0) {
            break;
        }
        d->req[i].loop_index = idx;
        d->req[i].sock.fd = -1;
        d->n_req++;
    }
    if (d->n_req == 0) {
        sys_log_err("event loop full: no room for request sockets");
        return -ENOSPC;
    }
    return 0;
}

/* Optional: the loop wakes when the clock is set instead of at its next timer. */
static void open_watch(struct drv *d)
{
    d->watch_fd = sys_adjtime_watch_open();
    if (d->watch_fd < 0) {
        sys_log_notice("no clock-set notification (%s): clock jumps are noticed at the next "
                       "wake-up",
                       strerror(-d->watch_fd));
        return;
    }
    d->watch_index = sys_loop_add_fd(d->loop, d->watch_fd);
    if (d->watch_index < 0) {
        sys_log_notice("event loop full: clock jumps are noticed at the next wake-up");
    }
}

static uint64_t engine_seed(void)
{
    int err = 0;
    uint64_t seed = sys_rand_u64(&err);

    if (err != 0) {
        /* The seed drives the requests' random transmit timestamps (anti-spoofing). */
        sys_log_warning("no kernel randomness (%s): request nonces are predictable",
                        strerror(-err));
        seed = (uint64_t)sys_clock_realtime_ns() ^ (uint64_t)sys_clock_monotonic_ns() << 17;
    }
    return seed;
}

#define DRV_LEAPFILE_MAX 65536

int drv_read_leapfile(const char *path, struct leapfile *lf, char *msg, size_t n)
{
    static char buf[DRV_LEAPFILE_MAX + 1]; /* start-up only, off the stack */
    struct leapfile_error err;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        snprintf(msg, n, "%s: cannot open the leap seconds file: %s", path, strerror(errno));
        return -1;
    }
    size_t len = fread(buf, 1, sizeof(buf), f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || len > DRV_LEAPFILE_MAX) {
        snprintf(msg, n, "%s: %s", path, bad ? "read error" : "larger than 64 KiB");
        return -1;
    }
    if (leapfile_parse(buf, len, lf, &err) < 0) {
        if (err.line > 0) {
            snprintf(msg, n, "%s:%d: %s", path, err.line, err.msg);
        } else {
            snprintf(msg, n, "%s: %s", path, err.msg);
        }
        return -1;
    }
    return 0;
}

/* The leapfile's next leap into ec; a file that cannot be used is a configuration error. */
static int load_leapfile(const struct drv_params *p, struct eng_config *ec)
{
    static struct leapfile lf;
    char msg[CFG_PATH_LEN + 200];

    if (p->cfg->leapfile[0] == '\0') {
        return 0;
    }
    if (drv_read_leapfile(p->cfg->leapfile, &lf, msg, sizeof(msg)) < 0) {
        sys_log_err("%s", msg);
        return -EINVAL;
    }
    drv_config_leap(&lf, sys_clock_realtime_ns() / 1000000000, ec, note_to_log, NULL);
    if (ec->leap_at_unix_s > 0) {
        sys_log_info("leap seconds file %s: next leap (%s) at Unix time %lld", p->cfg->leapfile,
                     ec->leap_dir > 0 ? "insert" : "delete", (long long)ec->leap_at_unix_s);
    }
    return 0;
}

static int start_engine(struct drv *d, const struct drv_params *p)
{
    struct eng_config *ec = malloc(sizeof(*ec));

    d->eng_mem = calloc(1, eng_size());
    if (ec == NULL || d->eng_mem == NULL) {
        free(ec);
        sys_log_err("cannot allocate the engine: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    drv_config_build(p->cfg, p->no_clock, p->precision_log2, ec, note_to_log, NULL);
    if (load_leapfile(p, ec) < 0) {
        free(ec);
        return -EINVAL;
    }
    load_drift(d, ec);
    d->base = now_time();
    d->eng = eng_init(d->eng_mem, ec, d->base, engine_seed(), &d->lists[0]);
    free(ec);
    if (d->eng == NULL) {
        sys_log_err("the engine refused its configuration");
        return -EINVAL;
    }
    run(d);
    return 0;
}

/* The statistics files the configuration names (a failure is a warning: statistics
 * never stop the clock); without them every descriptor stays -1. */
static void open_stats(struct drv *d)
{
    const struct cfg *c = d->cfg;
    unsigned which = ((c->stats_files & CFG_STATS_TRACKING) ? 1u << STATS_TRACKING : 0) |
                     ((c->stats_files & CFG_STATS_MEASUREMENTS) ? 1u << STATS_MEASUREMENTS : 0);

    if (c->statsdir[0] == '\0' || which == 0) {
        which = 0;
    }
    int err = stats_open(&d->stats, c->statsdir[0] ? c->statsdir : "/", which);
    if (err != 0) {
        sys_log_warning("statistics in %s: %s (the others, if any, are written)", c->statsdir,
                        strerror(-err));
    } else if (which != 0) {
        sys_log_info("statistics: %s%s%s in %s",
                     (which & (1u << STATS_TRACKING)) ? "tracking.log" : "",
                     which == ((1u << STATS_TRACKING) | (1u << STATS_MEASUREMENTS)) ? " and " : "",
                     (which & (1u << STATS_MEASUREMENTS)) ? "measurements.log" : "", c->statsdir);
    }
}

int drv_reopen_files(struct drv *d)
{
    int err = stats_reopen(&d->stats);

    if (err != 0) {
        sys_log_warning("cannot reopen the statistics files in %s: %s", d->cfg->statsdir,
                        strerror(-err));
    }
    return err;
}

int drv_start(struct drv **out, const struct drv_params *p)
{
    struct drv *d = calloc(1, sizeof(*d));
    int err;

    *out = NULL;
    if (d == NULL) {
        sys_log_err("cannot allocate the driver: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    d->cfg = p->cfg;
    d->no_clock = p->no_clock;
    d->loop = p->loop;
    d->srv = p->srv;
    d->notify_state = -1;
    d->notify_peer = -2;
    alerts_init(&d->alerts);
    open_stats(d);
    d->dns_index = -1;
    d->watch_fd = -1;
    d->watch_index = -1;
    open_watch(d);
    err = open_io(d);
    if (err == 0 && !d->no_clock) {
        /* A failure (EPERM without CAP_SYS_TIME) is logged and not fatal: tsyncd keeps
         * measuring and serving. */
        int r = sys_adjtime_reset();
        if (r != 0) {
            clock_failed(d, "take over the kernel's clock discipline", r);
        }
    }
    if (err == 0) {
        err = start_engine(d, p);
    }
    if (err != 0) {
        drv_stop(d);
        return err;
    }
    *out = d;
    return 0;
}

const struct eng *drv_engine(const struct drv *d)
{
    return d != NULL ? d->eng : NULL;
}

struct core_time drv_now(void)
{
    return now_time();
}

void drv_allow_step(struct drv *d)
{
    eng_allow_step(d->eng, now_time(), &d->lists[0]);
    run(d);
}

int drv_set_online(struct drv *d, const char *name, bool online)
{
    int n = eng_set_online(d->eng, now_time(), name, online, &d->lists[0]);
    run(d);
    return n;
}

/* Whether line (a normalized engine line) is among the new lines not taken yet. */
static bool take_line(const struct eng_config *ec, bool *taken,
                      const struct eng_source_config *line)
{
    for (size_t k = 0; k < ec->n_sources; k++) {
        if (!taken[k] && eng_source_config_same(&ec->sources[k], line)) {
            taken[k] = true;
            return true;
        }
    }
    return false;
}

static void log_reload(const char *what, const struct eng_source_config *line)
{
    sys_log_notice("reload: %s %s %s", what, line->pool ? "pool" : "server", line->name);
}

int drv_reload_sources(struct drv *d, const struct cfg *c, int *added, int *removed)
{
    struct eng_config *ec = malloc(sizeof(*ec));
    bool taken[ENG_MAX_CONFIG_SOURCES] = {false};
    struct eng_source_config line;
    int r = 0;

    *added = *removed = 0;
    if (ec == NULL) {
        return -ENOMEM;
    }
    drv_config_build(c, d->no_clock, 0, ec, note_to_log, NULL);
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        if (eng_get_source_config(d->eng, i, &line) && !take_line(ec, taken, &line)) {
            log_reload("removed", &line);
            eng_remove_source(d->eng, now_time(), i, &d->lists[0]);
            run(d);
            (*removed)++;
        }
    }
    for (size_t k = 0; k < ec->n_sources; k++) {
        if (taken[k]) {
            continue;
        }
        if (eng_add_source(d->eng, now_time(), &ec->sources[k], &d->lists[0]) < 0) {
            sys_log_err("reload: no free source slot for %s", ec->sources[k].name);
            r = -ENOSPC;
            continue;
        }
        run(d);
        log_reload("added", &ec->sources[k]);
        (*added)++;
    }
    free(ec);
    return r;
}

bool drv_sync_since(const struct drv *d, double *unix_s)
{
    *unix_s = d->sync_change_unix_s;
    return d->sync_change_known;
}

void drv_log_status(const struct drv *d)
{
    const struct drv_counters *c = &d->cnt;
    struct eng_status st;
    struct core_time t = now_time();

    eng_get_status(d->eng, t, &st);
    sys_log_info("clock: %s, offset %+.9f s, frequency %+.3f ppm, steps %u, bound %.6f s",
                 st.synced ? "synchronized" : "unsynchronized", st.offset, st.freq_ppm,
                 (unsigned)st.steps, st.bound);
    for (size_t i = 0; i < eng_source_count(d->eng); i++) {
        struct eng_source_status s;
        if (eng_get_source(d->eng, i, t, &s)) {
            sys_log_info("source %s [%c]: reach %03o, stratum %u, offset %+.9f s, delay %.6f s",
                         s.name, s.tally == '\0' ? ' ' : s.tally, (unsigned)s.reach,
                         (unsigned)s.stratum, s.offset, s.delay);
        }
    }
    sys_log_info("client: sent=%llu send_failed=%llu replies=%llu bad_replies=%llu "
                 "recv_errors=%llu timeouts=%llu superseded=%llu evicted=%llu resolves=%llu "
                 "clock_failures=%llu steps=%llu jumps=%llu",
                 (unsigned long long)c->sent, (unsigned long long)c->send_failed,
                 (unsigned long long)c->replies, (unsigned long long)c->bad_replies,
                 (unsigned long long)c->recv_errors, (unsigned long long)c->timeouts,
                 (unsigned long long)c->superseded, (unsigned long long)c->evicted,
                 (unsigned long long)c->resolves, (unsigned long long)c->clock_failures,
                 (unsigned long long)c->steps, (unsigned long long)c->jumps);
    /* Replies whose times are clock readings around send()/recvmsg() rather than kernel
     * stamps: each such reading biases the offset by half the stack's latency. */
    sys_log_info("client stamps: tx_kernel=%llu tx_unfit=%llu replies_without_tx_stamp=%llu "
                 "replies_without_rx_stamp=%llu",
                 (unsigned long long)c->tx_stamped, (unsigned long long)c->tx_stamp_unfit,
                 (unsigned long long)c->tx_unstamped, (unsigned long long)c->rx_unstamped);
}

void drv_stop(struct drv *d)
{
    double ppm;

    if (d == NULL) {
        return;
    }
    if (d->eng != NULL && eng_drift_value(d->eng, now_time(), &ppm)) {
        save_drift(d, ppm);
    }
    for (size_t i = 0; i < d->n_req; i++) {
        if (d->req[i].used) {
            close_request(d, &d->req[i]);
        }
    }
    if (d->dns_index >= 0) {
        loop_watch(d, d->dns_index, -1);
    }
    if (d->watch_index >= 0) {
        loop_watch(d, d->watch_index, -1);
    }
    if (d->watch_fd >= 0) {
        close(d->watch_fd);
    }
    sys_dns_stop(d->dns);
    stats_close(&d->stats);
    free(d->eng_mem);
    free(d);
}
