/* The engine: owns the sources (src.c) and pools, the seeded rng and the discipline
 * (dsc.c), whose correction model P is the one that rebases every stored sample; it
 * turns events into actions: requests, resolves, selection (sel.c) after each new
 * filtered sample, clock updates when the system peer has a new sample, kernel status,
 * the reference served downstream, drift saves and events. Pure and allocation-free:
 * the caller gives the storage (eng_size) and every "now". */
#include "core/eng.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/act.h"
#include "core/bnd.h"
#include "core/dsc.h"
#include "core/flt.h"
#include "core/leap.h"
#include "core/sel.h"
#include "core/src.h"
#include "ntp/ntp_pkt.h"

#define NS_PER_S          1e9
#define ROOM_PER_SOURCE   16     /* free actions kept before running one source's timer */
#define RESOLVE_FIRST     8.0    /* s: first retry of a failed resolve, doubling */
#define RESOLVE_MAX       3600.0 /* s: longest retry interval */
#define RESOLVE_WATCHDOG  60.0   /* s: an unanswered resolve counts as failed */
#define POOL_REFILL       64.0   /* s: re-resolve a pool short of members, doubling */
#define POOL_UNANSWERED   4      /* unanswered poll periods before a member is replaced */
#define POOL_FALSE_RUNS   4      /* own samples judged falseticker before replacement */
#define SERVER_RERESOLVE  8      /* unanswered poll periods between re-resolves of a name */
#define ALL_UNREACH_AFTER 20.0   /* s after the first request: nobody answered? */
#define LOCAL_REFRESH     64.0   /* s: the local reference is re-dated, so its dispersion
                                    (15 ppm since then) stays under 1 ms */
#define REMOVED_MEMORY    8      /* replaced pool addresses not taken again soon */
#define STARTUP_WAIT      6.0    /* s after the first request: select with what answered */
#define LOCAL_REFID       "LOCL"
#define STRATUM_UNSYNC    16
#define UPDATE_AVG        16 /* clock updates the views' RMS offset and interval average */

_Static_assert(FLT_REASON_COUNT <= ENG_DROP_REASONS, "eng_source_status.drops too small");
_Static_assert(ENG_MAX_SOURCES <= SEL_MAX, "selection takes every source");

struct eng {
    struct eng_config cfg;
    struct core_rng rng;
    struct src src[ENG_MAX_SOURCES];
    struct dsc dsc;
    struct sel_params selp;
    int sys_peer;                 /* slot, -1 none */
    int64_t last_dsc_sample_mono; /* system peer sample last given to the discipline */
    bool sel_dirty;               /* sources changed: selection must run again */
    bool selected_once;           /* the start-up wait for a majority is over */
    bool no_sel_reported;         /* EV_NO_SELECTABLE sent for the current episode */

    struct act_reference ref; /* what the server was last told */
    uint8_t leap;             /* of the last good selection */
    struct leap_state lp;     /* what the kernel was told, and its last leap */
    bool smear_mix;

    int64_t drift_save_at;
    int64_t local_refresh_at;
    int64_t first_send_mono;  /* 0: nothing sent yet */
    int64_t last_answer_mono; /* 0: no answer yet */
    int64_t unreach_check_at;
    int64_t startup_sel_at; /* end of the start-up wait (a selection then) */
    bool unreach_reported;
    struct core_addr removed[REMOVED_MEMORY];
    unsigned removed_next;
    uint64_t stray;

    /* Clock updates, for the views (chronyc tracking's last/RMS offset, interval). */
    uint32_t updates;
    int64_t last_update_mono; /* 0 none */
    double last_offset, offset_sq_mean, mean_interval;
};

/* ---- configuration ---- */

void eng_config_default(struct eng_config *c)
{
    memset(c, 0, sizeof(*c));
    c->step_threshold = 0.1;
    c->step_limit = 3;
    c->running_step_threshold = 0.5;
    c->panic_threshold = 1000.0;
    c->step_confirm = 3;
    c->stepout = 0.0;
    c->estimator = ENG_EST_KALMAN;
    c->drift_save_interval = 3600.0;
    c->holdover = 3600.0;
    c->minsources = 1;
    c->maxdistance = 1.5;
    c->max_freq_ppm = 100000.0;
    c->local_stratum = 10;
    c->precision_log2 = -20;
}

void eng_source_default(struct eng_source_config *s, const char *name, bool pool)
{
    memset(s, 0, sizeof(*s));
    if (name != NULL) {
        size_t n = strlen(name);
        n = n < ENG_NAME_MAX - 1 ? n : ENG_NAME_MAX - 1;
        memcpy(s->name, name, n);
    }
    s->pool = pool;
    s->minpoll = 6;
    s->maxpoll = 10;
    s->maxsources = pool ? 4 : 0;
    s->port = SRC_DEFAULT_PORT;
    s->version = 4;
}

/* Values that make no sense are replaced by defaults: bad config never misbehaves. */
static void sanitize(struct eng_config *c)
{
    struct eng_config d;

    eng_config_default(&d);
    if (c->n_sources > ENG_MAX_CONFIG_SOURCES) {
        c->n_sources = ENG_MAX_CONFIG_SOURCES;
    }
    if (!(c->maxdistance > 0.0) || !isfinite(c->maxdistance)) {
        c->maxdistance = d.maxdistance;
    }
    if (c->minsources < 1 || c->minsources > ENG_MAX_SOURCES) {
        c->minsources = d.minsources;
    }
    if (!(c->drift_save_interval >= 1.0) || !isfinite(c->drift_save_interval)) {
        c->drift_save_interval = d.drift_save_interval;
    }
    if (c->local_stratum < 1 || c->local_stratum > 15) {
        c->local_stratum = d.local_stratum;
    }
    if (c->precision_log2 < -32 || c->precision_log2 > 0) {
        c->precision_log2 = d.precision_log2;
    }
}

size_t eng_size(void)
{
    return sizeof(struct eng);
}

/* ---- small helpers ---- */

static int64_t after_s(int64_t t, double s)
{
    double ns = s * NS_PER_S;
    if (!(ns < 9e18) || t > INT64_MAX - (int64_t)ns) {
        return INT64_MAX;
    }
    return t + (int64_t)ns;
}

static double seconds_between(int64_t a, int64_t b)
{
    return ((double)b - (double)a) / NS_PER_S;
}

static bool room(const struct act_list *out, size_t need)
{
    return out->n + need <= ACT_MAX;
}

static bool clock_synced(const struct eng *e)
{
    return e->dsc.state != DSC_UNSYNC;
}

static bool control(const struct eng *e)
{
    return !e->cfg.no_clock_control;
}

/* Keeps the discipline's P small: what it takes out is folded into every stored sample
 * in the same call (the offsets they stand for do not change). */
static void renormalize(struct eng *e, int64_t mono)
{
    double shift = dsc_renormalize(&e->dsc, mono);
    if (shift == 0.0) {
        return;
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        flt_shift(&e->src[i].flt, shift);
    }
}

/* The shared inputs of source calls; rng stays NULL (read-only uses). Samples are stored
 * raw against the discipline's P (dsc.h, "Model"): the one clock model of the engine. */
static void fill_env(const struct eng *e, struct core_time now, struct src_env *env)
{
    struct dsc_status ds;

    dsc_get_status(&e->dsc, now.mono_ns, &ds);
    env->now = now;
    env->frame.now_mono_ns = now.mono_ns;
    env->frame.phase = dsc_total_correction(&e->dsc, now.mono_ns);
    /* The slope of the raw offsets (dsc_drift), not the correction that cancels it
     * (drift_ppm): they differ by drift^2, 4 ppm at 2000 ppm. */
    double drift = dsc_drift(&e->dsc, now.mono_ns);
    env->frame.drift = isfinite(drift) ? drift : 0.0;
    env->frame.skew = isfinite(ds.skew_ppm) && ds.skew_ppm < 1e6 ? ds.skew_ppm * 1e-6 : 1.0;
    env->freq = dsc_correction_rate(&e->dsc);
    env->precision_log2 = e->cfg.precision_log2;
    env->maxdistance = e->cfg.maxdistance;
    env->poll_hint = dsc_poll_hint(&e->dsc, now.mono_ns);
    env->rng = NULL;
}

static void make_env(struct eng *e, struct core_time now, struct src_env *env)
{
    fill_env(e, now, env);
    env->rng = &e->rng;
}

static bool same_addr(const struct core_addr *a, const struct core_addr *b)
{
    size_t n = a->family == CORE_AF_INET ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->bytes, b->bytes, n) == 0;
}

static bool usable_addr(const struct core_addr *a)
{
    return a->family == CORE_AF_INET || a->family == CORE_AF_INET6;
}

/* ---- reference and kernel status ---- */

uint8_t eng_leap_indicator(const struct eng_config *c, int64_t unix_s, uint8_t majority)
{
    struct leap_state none = {0, 0, 0};

    return leap_indicator(&none, c->leap_at_unix_s, c->leap_dir, unix_s, majority);
}

/* The leap to announce now: the file's during its last day; the file's leap is dropped
 * once it has passed, so the engine's copy never announces it again. */
static uint8_t current_leap(struct eng *e, struct core_time now, uint8_t majority)
{
    int64_t unix_s = now.real_ns / 1000000000;

    if (e->cfg.leap_at_unix_s > 0 && unix_s >= e->cfg.leap_at_unix_s) {
        e->cfg.leap_at_unix_s = 0;
        e->cfg.leap_dir = 0;
    }
    return leap_indicator(&e->lp, e->cfg.leap_at_unix_s, e->cfg.leap_dir, unix_s, majority);
}

static void push_reference(struct eng *e, const struct act_reference *ref, bool force,
                           struct act_list *out)
{
    bool same = e->ref.valid == ref->valid && e->ref.stratum == ref->stratum &&
                e->ref.refid == ref->refid && e->ref.leap == ref->leap &&
                e->ref.root_delay == ref->root_delay &&
                e->ref.root_dispersion == ref->root_dispersion;
    e->ref = *ref;
    if (same && !force) {
        return;
    }
    struct act *a = act_push(out, ACT_REFERENCE);
    if (a != NULL) {
        a->u.reference = *ref;
    }
}

/* Not synchronized: "local stratum N" serves as an orphan-style fallback, otherwise
 * clients are told we have no time (leap 3, stratum 16). */
static void fallback_reference(struct eng *e, struct core_time now, bool force,
                               struct act_list *out)
{
    struct act_reference ref;

    memset(&ref, 0, sizeof(ref));
    ref.leap = NTP_LEAP_UNSYNC;
    ref.stratum = STRATUM_UNSYNC;
    if (e->cfg.local) {
        ref.valid = true;
        ref.leap = NTP_LEAP_NONE;
        ref.stratum = e->cfg.local_stratum;
        memcpy(&ref.refid, LOCAL_REFID, 4);
        ref.ref_unix_ns = now.real_ns;
    }
    push_reference(e, &ref, force, out);
}

/* Synchronized: stratum = system peer's + 1, refid = its address (RFC 5905 7.3), root
 * delay and dispersion accumulated by the selection. */
static void peer_reference(struct eng *e, const struct sel_result *res, struct core_time now,
                           struct act_list *out)
{
    const struct src *sp = &e->src[e->sys_peer];
    struct act_reference ref;

    if (!clock_synced(e) || sp->stratum + 1 >= STRATUM_UNSYNC) {
        fallback_reference(e, now, false, out);
        return;
    }
    memset(&ref, 0, sizeof(ref));
    ref.valid = true;
    ref.leap = current_leap(e, now, res->leap <= NTP_LEAP_DELETE ? res->leap : NTP_LEAP_NONE);
    ref.stratum = (uint8_t)(sp->stratum + 1);
    ref.refid = src_refid(&sp->addr);
    ref.root_delay = res->root_delay;
    ref.root_dispersion = res->root_dispersion;
    ref.ref_unix_ns = now.real_ns;
    push_reference(e, &ref, true, out);
}

static void emit_status(struct eng *e, struct core_time now, struct act_list *out)
{
    struct bnd_input in;

    if (!control(e)) {
        return;
    }
    struct act *a = act_push(out, ACT_STATUS);
    if (a == NULL) {
        return;
    }
    dsc_bound_input(&e->dsc, now.mono_ns, &in);
    bnd_fill_status(&in, clock_synced(e) ? current_leap(e, now, e->leap) : 0, &a->u.status);
    int was = e->lp.armed;
    int64_t unix_s = now.real_ns / 1000000000;
    leap_note_armed(&e->lp, a->u.status.leap, unix_s);
    if (e->lp.armed != 0 && e->lp.armed != was) {
        act_event(out, EV_LEAP, ACT_SEV_NOTICE, -1, NULL, a->u.status.leap,
                  (double)(e->lp.midnight_s - unix_s));
    }
}

/* Carries out a discipline result. With no_clock_control the plan is computed but no
 * clock action is emitted (dsc_emit). */
static void carry_out(struct eng *e, struct core_time now, const struct dsc_result *r,
                      struct act_list *out)
{
    dsc_emit(&e->dsc, r, control(e), out);
    if (r->synced && e->sys_peer >= 0) {
        act_event(out, EV_SYNCED, ACT_SEV_NOTICE, e->sys_peer, e->src[e->sys_peer].cfg.name,
                  r->offset, 0);
    }
    if (r->unsynced) {
        fallback_reference(e, now, false, out);
    }
    if (r->status) {
        emit_status(e, now, out);
    }
}

/* ---- pools and name resolution ---- */

static void resolve_failed(struct eng *e, int i, struct core_time now, struct act_list *out)
{
    struct src *s = &e->src[i];

    s->resolving = false;
    s->resolve_backoff = s->resolve_backoff > 0.0 ? s->resolve_backoff * 2.0 : RESOLVE_FIRST;
    if (s->resolve_backoff > RESOLVE_MAX) {
        s->resolve_backoff = RESOLVE_MAX;
    }
    s->resolve_at_mono_ns = after_s(now.mono_ns, s->resolve_backoff);
    act_event(out, EV_RESOLVE_FAILED, ACT_SEV_WARNING, i, s->cfg.name, s->resolve_backoff, 0);
}

/* A resolve is due: ask for it, or (the watchdog fired) count the silence as failure. */
static void resolve_due(struct eng *e, int i, struct core_time now, struct act_list *out)
{
    struct src *s = &e->src[i];

    if (s->resolving) {
        resolve_failed(e, i, now, out);
        return;
    }
    struct act *a = act_push(out, ACT_RESOLVE);
    if (a == NULL) {
        return;
    }
    a->u.resolve.source = i;
    memcpy(a->u.resolve.name, s->cfg.name, sizeof(a->u.resolve.name) - 1);
    a->u.resolve.name[sizeof(a->u.resolve.name) - 1] = '\0';
    s->resolving = true;
    s->resolve_at_mono_ns = after_s(now.mono_ns, RESOLVE_WATCHDOG);
}

static int count_members(const struct eng *e, int pool)
{
    int n = 0;
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        n += e->src[i].state != SRC_FREE && e->src[i].pool == pool ? 1 : 0;
    }
    return n;
}

static bool addr_in_use(const struct eng *e, const struct core_addr *a)
{
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        const struct src *s = &e->src[i];
        if ((s->state == SRC_ACTIVE || s->state == SRC_DENIED) && same_addr(&s->addr, a)) {
            return true;
        }
    }
    for (size_t i = 0; i < REMOVED_MEMORY; i++) {
        if (same_addr(&e->removed[i], a) && usable_addr(a)) {
            return true;
        }
    }
    return false;
}

static int free_slot(const struct eng *e)
{
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        if (e->src[i].state == SRC_FREE) {
            return (int)i;
        }
    }
    return -1;
}

/* Each new address of a pool becomes a source of its own (named after the pool), up to
 * maxsources; a pool still short of members re-resolves later, backing off. */
static void fill_pool(struct eng *e, int p, const struct core_addr *addrs, size_t n,
                      const struct src_env *env, struct act_list *out)
{
    struct src *proto = &e->src[p];
    int members = count_members(e, p);
    int added = 0;

    for (size_t k = 0; k < n && members < proto->cfg.maxsources; k++) {
        struct core_addr a = addrs[k];
        a.port = proto->cfg.port;
        int slot = usable_addr(&a) && !addr_in_use(e, &a) ? free_slot(e) : -1;
        if (slot < 0) {
            continue;
        }
        src_init(&e->src[slot], &proto->cfg, p, env);
        e->src[slot].offline = proto->offline;
        src_activate(&e->src[slot], &a, env);
        act_event(out, EV_SOURCE_ADDED, ACT_SEV_INFO, slot, proto->cfg.name, 0, 0);
        members++;
        added++;
    }
    if (members >= proto->cfg.maxsources) {
        proto->resolve_backoff = 0.0;
        return;
    }
    double b = proto->resolve_backoff;
    b = added > 0 || b < POOL_REFILL ? POOL_REFILL
                                     : (b * 2.0 < RESOLVE_MAX ? b * 2.0 : RESOLVE_MAX);
    proto->resolve_backoff = b;
    proto->resolve_at_mono_ns = after_s(env->now.mono_ns, b);
}

/* why: 1 unreachable, 2 falseticker, 3 kiss-o'-death (EV_SOURCE_REMOVED). */
static void remove_member(struct eng *e, int i, int why, struct core_time now, struct act_list *out)
{
    struct src *s = &e->src[i];
    int p = s->pool;

    e->removed[e->removed_next] = s->addr;
    e->removed_next = (e->removed_next + 1) % REMOVED_MEMORY;
    act_event(out, EV_SOURCE_REMOVED, ACT_SEV_NOTICE, i, e->src[p].cfg.name, why, 0);
    src_free(s);
    if (!e->src[p].resolving && e->src[p].resolve_at_mono_ns > now.mono_ns) {
        e->src[p].resolve_at_mono_ns = now.mono_ns;
    }
    e->sel_dirty = true;
}

/* ---- selection and clock updates ---- */

/* Leap-smearing services (AWS Time Sync) must not be mixed with unsmeared time. */
static bool is_smeared(const struct src *s)
{
    static const uint8_t aws4[4] = {169, 254, 169, 123};
    static const uint8_t aws6[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0,    0,
                                     0,    0,    0,    0,    0, 0, 0x01, 0x23};

    if (s->addr.family == CORE_AF_INET && memcmp(s->addr.bytes, aws4, 4) == 0) {
        return true;
    }
    if (s->addr.family == CORE_AF_INET6 && memcmp(s->addr.bytes, aws6, 16) == 0) {
        return true;
    }
    return strcmp(s->cfg.name, "time.aws.com") == 0;
}

static size_t build_candidates(struct eng *e, const struct src_env *env, struct sel_candidate *c)
{
    struct flt_estimate est;
    size_t n = 0;

    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        struct src *s = &e->src[i];
        s->tally = ' ';
        if (!src_estimate(s, env, &est)) {
            continue;
        }
        memset(&c[n], 0, sizeof(c[n]));
        c[n].index = (int)i;
        c[n].offset = est.offset;
        c[n].delay = est.delay;
        c[n].dispersion = est.dispersion;
        c[n].jitter = est.jitter;
        c[n].root_delay = s->root_delay;
        c[n].root_dispersion = s->root_dispersion;
        c[n].stratum = s->stratum;
        c[n].leap = s->leap;
        c[n].prefer = s->cfg.prefer;
        c[n].noselect = s->cfg.noselect;
        c[n].reach_ok = s->reach != 0;
        c[n].smeared = is_smeared(s);
        n++;
    }
    return n;
}

static void apply_verdicts(struct eng *e, const struct sel_candidate *c, size_t n,
                           const struct sel_result *res, int trigger, struct act_list *out,
                           const char *old_tally)
{
    for (size_t k = 0; k < n; k++) {
        struct src *s = &e->src[c[k].index];
        s->tally = res->verdict[k];
        if (s->tally == SEL_FALSETICKER && old_tally[c[k].index] != SEL_FALSETICKER) {
            act_event(out, EV_FALSETICKER, ACT_SEV_NOTICE, c[k].index, s->cfg.name, c[k].offset, 0);
        }
    }
    if (trigger >= 0) {
        struct src *t = &e->src[trigger];
        t->false_runs = t->tally == SEL_FALSETICKER ? t->false_runs + 1 : 0;
    }
}

static int reachable_count(const struct eng *e)
{
    int n = 0;
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        n += e->src[i].state == SRC_ACTIVE && e->src[i].reach != 0 ? 1 : 0;
    }
    return n;
}

/* No selection: holdover if we had a system peer; EV_NO_SELECTABLE once per episode, but
 * only when some source has data (before any answer EV_ALL_UNREACHABLE speaks). */
static void lose_selection(struct eng *e, struct core_time now, const struct sel_result *res,
                           size_t n, struct act_list *out)
{
    struct dsc_result r;

    if (e->sys_peer >= 0) {
        e->sys_peer = -1;
        act_event(out, EV_SYNC_LOST, ACT_SEV_WARNING, -1, NULL, 0, 0);
        dsc_sources_lost(&e->dsc, now.mono_ns, &r);
        carry_out(e, now, &r, out);
    }
    if (!e->no_sel_reported && n > 0) {
        e->no_sel_reported = true;
        act_event(out, EV_NO_SELECTABLE, ACT_SEV_WARNING, -1, NULL, reachable_count(e),
                  res->n_falsetickers);
    }
}

/* Leap by majority and the smear warning, each reported when it changes. */
static void note_leap_and_smear(struct eng *e, const struct sel_result *res, struct act_list *out)
{
    /* Announcements are only recorded here; EV_LEAP says when the kernel is armed. */
    e->leap = res->leap <= NTP_LEAP_DELETE ? res->leap : NTP_LEAP_NONE;
    if (res->smear_mix && !e->smear_mix) {
        act_event(out, EV_SMEAR_MIX, ACT_SEV_WARNING, e->sys_peer, e->src[e->sys_peer].cfg.name, 0,
                  0);
    }
    e->smear_mix = res->smear_mix;
}

/* Running means over about the last UPDATE_AVG clock updates (the first ones weigh
 * equally, so the start does not lean on a zero). */
static void note_update(struct eng *e, double offset, int64_t mono)
{
    e->updates++;
    double w = e->updates < UPDATE_AVG ? 1.0 / e->updates : 1.0 / UPDATE_AVG;
    e->offset_sq_mean += w * (offset * offset - e->offset_sq_mean);
    if (e->last_update_mono != 0 && mono > e->last_update_mono) {
        double iv = seconds_between(e->last_update_mono, mono);
        double wi = e->updates <= UPDATE_AVG ? 1.0 / (e->updates - 1) : 1.0 / UPDATE_AVG;
        e->mean_interval += wi * (iv - e->mean_interval);
    }
    e->last_update_mono = mono;
    e->last_offset = offset;
}

static void update_clock(struct eng *e, struct core_time now, const struct sel_result *res,
                         int64_t sample_mono_ns, struct act_list *out)
{
    struct dsc_update u;
    struct dsc_result r;

    memset(&u, 0, sizeof(u));
    u.offset = res->offset;
    u.error = res->error;
    u.n_agree = res->n_truechimers;
    u.n_candidates = res->n_candidates;
    u.root_delay = res->root_delay;
    u.root_dispersion = res->root_dispersion;
    /* The combination is projected to now; the discipline gets it at the time of the
     * newest sample in it (dsc_update says why). */
    u.mono_ns = now.mono_ns;
    if (sample_mono_ns < now.mono_ns && sample_mono_ns > INT64_MIN) {
        u.offset = dsc_project_offset(&e->dsc, res->offset, now.mono_ns, sample_mono_ns);
        u.mono_ns = sample_mono_ns;
    }
    dsc_update(&e->dsc, &u, now.mono_ns, &r);
    if (!r.spike) {
        note_update(e, u.offset, now.mono_ns);
    }
    carry_out(e, now, &r, out);
    if (!r.spike || r.step) {
        peer_reference(e, res, now, out);
    }
}

/* The first selection waits until more than half of the expected sources have a sample
 * (servers, resolved or not, and each pool's maxsources), or STARTUP_WAIT has passed:
 * otherwise the first source to answer would be a majority of one, and a falseticker
 * answering first could step the clock. */
static bool startup_ready(struct eng *e, const struct src_env *env)
{
    struct flt_estimate est;
    int active = 0, with_data = 0;

    if (e->selected_once) {
        return true;
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        const struct src *s = &e->src[i];
        if (s->state == SRC_ACTIVE) {
            with_data += src_estimate(s, env, &est) ? 1 : 0;
        }
        if (s->state == SRC_POOL) {
            int missing = s->cfg.maxsources - count_members(e, (int)i);
            active += missing > 0 ? missing : 0;
        }
        active += s->state == SRC_ACTIVE || (s->state == SRC_UNRESOLVED && s->pool < 0);
    }
    bool waited =
        e->first_send_mono != 0 && env->now.mono_ns >= after_s(e->first_send_mono, STARTUP_WAIT);
    e->selected_once = with_data > 0 && (2 * with_data > active || waited);
    return e->selected_once;
}

/* Time of the newest filtered sample among the survivors. Every survivor's new sample
 * updates the clock, not only the system peer's (as chrony, unlike ntpd): when the
 * system peer's answers are lost for a while the others keep the discipline fed (at
 * 20 % loss, waiting for the peer left a poorly known start-up frequency uncorrected
 * for 5 minutes), and the iburst answers of every source reach the estimator. */
static int64_t newest_survivor_sample(const struct eng *e, const struct sel_candidate *c, size_t n,
                                      const struct sel_result *res)
{
    int64_t newest = INT64_MIN;

    for (size_t i = 0; i < n && i < SEL_MAX; i++) {
        if (res->verdict[i] != SEL_SYSPEER && res->verdict[i] != SEL_CANDIDATE) {
            continue;
        }
        int64_t t = e->src[c[i].index].flt.used_mono_ns;
        newest = t > newest ? t : newest;
    }
    return newest;
}

/* RFC 5905 11.2 after a new filtered sample (trigger = its source, -1 none): verdicts,
 * the system peer, and a clock update when the system peer has a sample the discipline
 * has not seen. */
static void run_selection(struct eng *e, const struct src_env *env, int trigger,
                          struct act_list *out)
{
    struct sel_candidate c[SEL_MAX];
    struct sel_result res;
    char old_tally[ENG_MAX_SOURCES];

    if (!startup_ready(e, env)) {
        return;
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        old_tally[i] = e->src[i].tally;
    }
    size_t n = build_candidates(e, env, c);
    sel_select(c, n, &e->selp, e->sys_peer, &res);
    apply_verdicts(e, c, n, &res, trigger, out, old_tally);
    if (res.status != SEL_OK || res.sys_index < 0 || res.sys_index >= ENG_MAX_SOURCES) {
        lose_selection(e, env->now, &res, n, out);
    } else {
        int prev = e->sys_peer;
        e->no_sel_reported = false;
        e->sys_peer = res.sys_index;
        note_leap_and_smear(e, &res, out);
        const struct src *sp = &e->src[e->sys_peer];
        int64_t newest = newest_survivor_sample(e, c, n, &res);
        if (newest > e->last_dsc_sample_mono) {
            e->last_dsc_sample_mono = newest;
            update_clock(e, env->now, &res, newest, out);
        } else if (prev != e->sys_peer && clock_synced(e)) {
            act_event(out, EV_SYNCED, ACT_SEV_NOTICE, e->sys_peer, sp->cfg.name, res.offset, 0);
        }
    }
    if (trigger >= 0 && e->src[trigger].pool >= 0 &&
        e->src[trigger].false_runs >= POOL_FALSE_RUNS) {
        remove_member(e, trigger, 2, env->now, out);
    }
}

/* Selection again when sources went away or changed (bounded: a second pass only). */
static void finish(struct eng *e, const struct src_env *env, struct act_list *out)
{
    for (int k = 0; k < 2 && e->sel_dirty; k++) {
        e->sel_dirty = false;
        run_selection(e, env, -1, out);
    }
    renormalize(e, env->now.mono_ns);
}

/* ---- timers ---- */

/* EV_ALL_UNREACHABLE once per episode in which no polled source answers at all. */
static void check_all_unreachable(struct eng *e, struct core_time now, struct act_list *out)
{
    int active = 0;

    if (e->unreach_reported || e->first_send_mono == 0) {
        return;
    }
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        if (e->src[i].state == SRC_ACTIVE) {
            if (e->src[i].reach != 0) {
                return;
            }
            active++;
        }
    }
    if (active == 0) {
        return;
    }
    int64_t since = e->last_answer_mono != 0 ? e->last_answer_mono : e->first_send_mono;
    e->unreach_reported = true;
    act_event(out, EV_ALL_UNREACHABLE, ACT_SEV_WARNING, -1, NULL, active,
              seconds_between(since, now.mono_ns));
}

/* After one source's poll: back-off consequences (pool replacement, re-resolving a
 * server name) and the reachability bookkeeping. */
static void after_poll(struct eng *e, int i, const struct src_poll_result *r, struct core_time now,
                       struct act_list *out)
{
    struct src *s = &e->src[i];

    if (r->polled && e->first_send_mono == 0) {
        e->first_send_mono = now.mono_ns;
        e->unreach_check_at = after_s(now.mono_ns, ALL_UNREACH_AFTER);
        e->startup_sel_at = after_s(now.mono_ns, STARTUP_WAIT);
    }
    if (r->became_unreachable) {
        e->sel_dirty = true;
        check_all_unreachable(e, now, out);
    }
    if (!r->polled || s->state != SRC_ACTIVE) {
        return;
    }
    if (s->pool >= 0 && s->unanswered >= POOL_UNANSWERED) {
        remove_member(e, i, 1, now, out);
    } else if (s->pool < 0 && !s->literal && s->unanswered > 0 && s->burst_left == 0 &&
               s->unanswered % SERVER_RERESOLVE == 0 && !s->resolving) {
        s->resolve_at_mono_ns = now.mono_ns; /* the name may point elsewhere by now */
    }
}

static void run_sources(struct eng *e, const struct src_env *env, struct act_list *out)
{
    struct src_poll_result r;

    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        if (src_next_timer(&e->src[i]) > env->now.mono_ns) {
            continue;
        }
        if (!room(out, ROOM_PER_SOURCE)) {
            return; /* still due: eng_next_timer says now, the caller comes back */
        }
        src_on_timer(&e->src[i], (int)i, env, out, &r);
        if (r.resolve) {
            resolve_due(e, (int)i, env->now, out);
        }
        after_poll(e, (int)i, &r, env->now, out);
    }
}

static void run_engine_timers(struct eng *e, struct core_time now, struct act_list *out)
{
    struct dsc_result r;
    double ppm;

    if (dsc_next_timer(&e->dsc) <= now.mono_ns) {
        dsc_on_timer(&e->dsc, now.mono_ns, &r);
        carry_out(e, now, &r, out);
    }
    if (now.mono_ns >= e->drift_save_at) {
        e->drift_save_at = after_s(now.mono_ns, e->cfg.drift_save_interval);
        if (dsc_drift_to_save(&e->dsc, now.mono_ns, &ppm)) {
            struct act *a = act_push(out, ACT_DRIFT_SAVE);
            if (a != NULL) {
                a->u.drift.freq_ppm = ppm;
            }
        }
    }
    if (now.mono_ns >= e->local_refresh_at) {
        e->local_refresh_at = after_s(now.mono_ns, LOCAL_REFRESH);
        if (e->cfg.local && !clock_synced(e)) {
            fallback_reference(e, now, true, out);
        }
    }
    if (now.mono_ns >= e->unreach_check_at) {
        e->unreach_check_at = INT64_MAX;
        check_all_unreachable(e, now, out);
    }
    if (now.mono_ns >= e->startup_sel_at) {
        e->startup_sel_at = INT64_MAX;
        e->sel_dirty = !e->selected_once;
    }
}

static void run_due(struct eng *e, struct core_time now, struct act_list *out)
{
    struct src_env env;

    make_env(e, now, &env);
    run_sources(e, &env, out);
    run_engine_timers(e, now, out);
    finish(e, &env, out);
}

/* ---- public entry points ---- */

struct eng *eng_init(void *mem, const struct eng_config *cfg, struct core_time now, uint64_t seed,
                     struct act_list *out)
{
    struct dsc_config dc;
    struct dsc_result r;
    struct src_env env;

    act_list_clear(out);
    if (mem == NULL || cfg == NULL) {
        return NULL;
    }
    struct eng *e = mem;
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    sanitize(&e->cfg);
    core_rng_seed(&e->rng, seed);
    e->sys_peer = -1;
    e->last_dsc_sample_mono = INT64_MIN;
    e->leap = NTP_LEAP_NONE;
    e->unreach_check_at = INT64_MAX;
    e->startup_sel_at = INT64_MAX;
    e->drift_save_at = after_s(now.mono_ns, e->cfg.drift_save_interval);
    e->local_refresh_at = after_s(now.mono_ns, LOCAL_REFRESH);
    sel_params_default(&e->selp);
    e->selp.minsources = e->cfg.minsources;
    e->selp.maxdistance = e->cfg.maxdistance;
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        src_free(&e->src[i]);
    }
    dsc_config_from_eng(&dc, &e->cfg);
    dsc_init(&e->dsc, &dc, now.mono_ns, &r);
    carry_out(e, now, &r, out);
    fallback_reference(e, now, true, out);
    make_env(e, now, &env);
    for (size_t i = 0; i < e->cfg.n_sources; i++) {
        src_init(&e->src[i], &e->cfg.sources[i], -1, &env);
    }
    run_due(e, now, out);
    return e;
}

int64_t eng_next_timer(const struct eng *e)
{
    int64_t t = dsc_next_timer(&e->dsc);

    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        int64_t s = src_next_timer(&e->src[i]);
        t = s < t ? s : t;
    }
    int64_t other[] = {e->drift_save_at, e->local_refresh_at, e->unreach_check_at,
                       e->startup_sel_at};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        t = other[i] < t ? other[i] : t;
    }
    return t;
}

void eng_on_timer(struct eng *e, struct core_time now, struct act_list *out)
{
    act_list_clear(out);
    run_due(e, now, out);
}

static struct src *source_at(struct eng *e, int source)
{
    if (source < 0 || source >= ENG_MAX_SOURCES || e->src[source].state == SRC_FREE) {
        e->stray++;
        return NULL;
    }
    return &e->src[source];
}

void eng_on_sent(struct eng *e, struct core_time now, int source, uint32_t seq, int64_t tx_real_ns,
                 struct act_list *out)
{
    (void)now;
    act_list_clear(out);
    struct src *s = source_at(e, source);
    if (s != NULL) {
        src_on_sent(s, seq, tx_real_ns);
    }
}

void eng_on_reply(struct eng *e, struct core_time now, int source, uint32_t seq,
                  const struct core_addr *from, const uint8_t *buf, size_t len, int64_t rx_real_ns,
                  struct act_list *out)
{
    struct src_env env;
    struct src_reply_result rr;

    act_list_clear(out);
    struct src *s = source_at(e, source);
    if (s == NULL) {
        return;
    }
    make_env(e, now, &env);
    src_on_reply(s, source, seq, from, buf, len, rx_real_ns, &env, out, &rr);
    if (s->state == SRC_ACTIVE && s->last_rx_mono_ns == now.mono_ns && s->reach != 0) {
        e->last_answer_mono = now.mono_ns;
        e->unreach_reported = false;
    }
    if (rr.denied) {
        e->sel_dirty = true;
        if (s->pool >= 0) {
            remove_member(e, source, 3, now, out);
        }
    }
    if (rr.reason == FLT_OK && rr.verdict != FLT_HELD) {
        run_selection(e, &env, source, out);
    }
    finish(e, &env, out);
}

/* A server's name resolved: start polling, or move to the new address of a name that
 * was re-resolved because the old one stopped answering. */
static void resolved_server(struct eng *e, struct src *s, const struct core_addr *first,
                            const struct src_env *env)
{
    struct core_addr a = *first;

    s->resolve_backoff = 0.0;
    a.port = s->cfg.port;
    if (s->state == SRC_UNRESOLVED || (s->state == SRC_ACTIVE && !same_addr(&a, &s->addr))) {
        src_activate(s, &a, env);
        e->sel_dirty = true;
    }
}

void eng_on_resolved(struct eng *e, struct core_time now, int source, const struct core_addr *addrs,
                     size_t n, struct act_list *out)
{
    struct src_env env;
    const struct core_addr *first = NULL;

    act_list_clear(out);
    if (source < 0 || source >= ENG_MAX_SOURCES || !e->src[source].resolving) {
        e->stray++;
        return;
    }
    struct src *s = &e->src[source];
    for (size_t k = 0; addrs != NULL && k < n && first == NULL; k++) {
        first = usable_addr(&addrs[k]) ? &addrs[k] : NULL;
    }
    s->resolving = false;
    s->resolve_at_mono_ns = INT64_MAX;
    if (first == NULL) {
        resolve_failed(e, source, now, out);
        return;
    }
    make_env(e, now, &env);
    if (s->state == SRC_POOL) {
        fill_pool(e, source, addrs, n, &env, out);
    } else {
        resolved_server(e, s, first, &env);
    }
    finish(e, &env, out);
}

/* The clock moved by d seconds (our step or an external jump): the discipline's P took
 * it (dsc_on_stepped, dsc_on_external_step), which rebases every stored sample; send
 * times and the reference time move here. */
static void rebase_step(struct eng *e, double d)
{
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        src_rebase_step(&e->src[i], d);
    }
    if (fabs(d) < 9e9) {
        e->ref.ref_unix_ns += (int64_t)llround(d * NS_PER_S);
    }
}

void eng_on_stepped(struct eng *e, struct core_time now, bool ok, double applied,
                    struct act_list *out)
{
    struct dsc_result r;
    struct src_env env;

    act_list_clear(out);
    bool good = ok && isfinite(applied);
    dsc_on_stepped(&e->dsc, now.mono_ns, good, good ? applied : 0.0, &r);
    if (good) {
        rebase_step(e, applied);
    }
    carry_out(e, now, &r, out);
    make_env(e, now, &env);
    finish(e, &env, out);
}

void eng_on_freq_set(struct eng *e, struct core_time now, double applied_ppm, struct act_list *out)
{
    struct dsc_result r;

    act_list_clear(out);
    if (!isfinite(applied_ppm)) {
        return;
    }
    dsc_on_freq_set(&e->dsc, now.mono_ns, applied_ppm, &r);
    carry_out(e, now, &r, out);
    renormalize(e, now.mono_ns);
}

void eng_on_external_step(struct eng *e, struct core_time now, double jump, struct act_list *out)
{
    struct dsc_result r;
    struct src_env env;

    act_list_clear(out);
    if (!isfinite(jump)) {
        return;
    }
    if (leap_take_kernel_jump(&e->lp, now.real_ns / 1000000000, jump)) {
        /* The kernel did what it was told at the midnight: the servers' clocks did the
         * same, so offsets, samples and the model are unchanged. Only the leap bits go. */
        act_event(out, EV_LEAP_APPLIED, ACT_SEV_NOTICE, -1, NULL, jump, 0);
        emit_status(e, now, out);
        return;
    }
    act_event(out, EV_EXTERNAL_STEP, ACT_SEV_WARNING, -1, NULL, jump, 0);
    dsc_on_external_step(&e->dsc, now.mono_ns, jump, &r);
    rebase_step(e, jump);
    make_env(e, now, &env);
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        src_remeasure(&e->src[i], &env);
    }
    carry_out(e, now, &r, out);
    run_due(e, now, out);
}

void eng_allow_step(struct eng *e, struct core_time now, struct act_list *out)
{
    (void)now;
    act_list_clear(out);
    dsc_allow_step(&e->dsc);
}

/* ASCII case-insensitive: host names are (RFC 4343). */
static bool name_eq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y) {
            return false;
        }
        if (x == '\0') {
            return true;
        }
    }
}

int eng_set_online(struct eng *e, struct core_time now, const char *name, bool online,
                   struct act_list *out)
{
    struct src_env env;
    int lines = 0;

    act_list_clear(out);
    make_env(e, now, &env);
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        struct src *s = &e->src[i];
        int line = s->pool >= 0 ? s->pool : (int)i;
        if (s->state == SRC_FREE || (name != NULL && !name_eq(e->src[line].cfg.name, name))) {
            continue;
        }
        src_set_offline(s, !online, &env);
        lines += s->pool < 0 ? 1 : 0;
    }
    run_due(e, now, out);
    return lines;
}

int eng_add_source(struct eng *e, struct core_time now, const struct eng_source_config *c,
                   struct act_list *out)
{
    struct src_env env;
    int slot = free_slot(e);

    act_list_clear(out);
    if (slot < 0 || c == NULL) {
        return -1;
    }
    make_env(e, now, &env);
    src_init(&e->src[slot], c, -1, &env);
    run_due(e, now, out);
    return slot;
}

bool eng_remove_source(struct eng *e, struct core_time now, size_t i, struct act_list *out)
{
    act_list_clear(out);
    if (i >= ENG_MAX_SOURCES || e->src[i].state == SRC_FREE || e->src[i].pool >= 0) {
        return false;
    }
    for (size_t k = 0; k < ENG_MAX_SOURCES; k++) {
        if (e->src[k].state != SRC_FREE && e->src[k].pool == (int)i) {
            src_free(&e->src[k]);
        }
    }
    src_free(&e->src[i]);
    /* As for a replaced pool member: the next selection decides about the system peer
     * (and reports a loss of synchronization if nothing is left). */
    e->sel_dirty = true;
    run_due(e, now, out);
    return true;
}

bool eng_get_source_config(const struct eng *e, size_t i, struct eng_source_config *c)
{
    if (i >= ENG_MAX_SOURCES || e->src[i].state == SRC_FREE || e->src[i].pool >= 0) {
        return false;
    }
    *c = e->src[i].cfg;
    return true;
}

bool eng_source_config_same(const struct eng_source_config *a, const struct eng_source_config *b)
{
    struct eng_source_config x, y;

    src_normalize_config(a, &x);
    src_normalize_config(b, &y);
    return name_eq(x.name, y.name) && x.pool == y.pool && x.iburst == y.iburst &&
           x.burst == y.burst && x.prefer == y.prefer && x.noselect == y.noselect &&
           x.minpoll == y.minpoll && x.maxpoll == y.maxpoll && x.maxsources == y.maxsources &&
           x.maxdelay == y.maxdelay && x.port == y.port && x.version == y.version;
}

/* ---- views ---- */

void eng_get_status(const struct eng *e, struct core_time now, struct eng_status *st)
{
    struct dsc_status ds;
    struct bnd_input in;
    struct bnd_value bv;

    memset(st, 0, sizeof(*st));
    dsc_get_status(&e->dsc, now.mono_ns, &ds);
    dsc_bound_input(&e->dsc, now.mono_ns, &in);
    bnd_compute(&in, &bv);
    st->synced = clock_synced(e);
    st->selected = e->sys_peer;
    st->stratum = e->ref.valid ? e->ref.stratum : STRATUM_UNSYNC;
    st->leap = e->ref.valid ? e->ref.leap : NTP_LEAP_UNSYNC;
    st->refid = e->ref.refid;
    st->offset = ds.offset;
    st->freq_ppm = ds.freq_ppm;
    st->drift_ppm = ds.drift_ppm;
    st->skew_ppm = ds.skew_ppm;
    st->root_delay = e->ref.root_delay;
    st->root_dispersion = e->ref.root_dispersion;
    st->bound = bv.maxerror;
    st->last_update_mono_ns = ds.last_update_mono_ns;
    st->steps = ds.steps;
    st->stray_replies = e->stray;
    st->updates = e->updates;
    st->last_offset = e->last_offset;
    st->rms_offset = sqrt(e->offset_sq_mean);
    st->update_interval = e->updates >= 2 ? e->mean_interval : 0.0;
}

size_t eng_source_count(const struct eng *e)
{
    size_t n = 0;
    for (size_t i = 0; i < ENG_MAX_SOURCES; i++) {
        n = e->src[i].state != SRC_FREE ? i + 1 : n;
    }
    return n;
}

static uint32_t wire_refid(uint32_t host)
{
    uint8_t b[4] = {(uint8_t)(host >> 24), (uint8_t)(host >> 16), (uint8_t)(host >> 8),
                    (uint8_t)host};
    uint32_t r;
    memcpy(&r, b, 4);
    return r;
}

bool eng_get_source(const struct eng *e, size_t i, struct core_time now,
                    struct eng_source_status *st)
{
    struct flt_estimate est;
    struct src_env env;

    memset(st, 0, sizeof(*st));
    if (i >= ENG_MAX_SOURCES || e->src[i].state == SRC_FREE) {
        return false;
    }
    const struct src *s = &e->src[i];
    const char *name = s->pool >= 0 ? e->src[s->pool].cfg.name : s->cfg.name;
    memcpy(st->name, name, ENG_NAME_MAX);
    st->name[ENG_NAME_MAX - 1] = '\0';
    st->addr = s->addr;
    st->tally = s->tally;
    st->stratum = s->stratum;
    st->refid = s->state == SRC_POOL ? wire_refid(0x504f4f4c) : wire_refid(s->refid);
    st->reach = s->reach;
    st->poll_log2 = s->state == SRC_ACTIVE ? s->poll : s->cfg.minpoll;
    st->kind = s->state == SRC_POOL ? 1 : (s->pool >= 0 ? 2 : 0);
    st->denied = s->state == SRC_DENIED;
    st->leap = s->leap;
    st->last_rx_mono_ns = s->last_rx_mono_ns;
    for (size_t k = 0; k < FLT_REASON_COUNT; k++) {
        st->drops[k] = s->drops[k];
    }
    st->meas_offset = s->last_meas.offset;
    st->meas_delay = s->last_meas.delay;
    st->meas_dispersion = s->last_meas.dispersion;
    st->meas_reason = s->last_reason;
    st->offline = s->offline;
    st->pool_slot = s->pool;
    fill_env(e, now, &env);
    if (src_estimate(s, &env, &est)) {
        st->has_estimate = true;
        st->offset = est.offset;
        st->delay = est.delay;
        st->jitter = est.jitter;
    }
    return true;
}

const char *eng_drop_reason_name(size_t i)
{
    return i < FLT_REASON_COUNT ? flt_reason_name((enum flt_reason)i) : NULL;
}

bool eng_drift_value(const struct eng *e, struct core_time now, double *ppm)
{
    return dsc_drift_to_save(&e->dsc, now.mono_ns, ppm);
}
