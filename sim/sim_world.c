/* The event loop and the nodes. A node's "loop" is modelled on the daemon's: on every
 * wake-up it reads both clocks, reports a realtime jump the engine did not ask for, and
 * carries out the engine's actions in list order, feeding each result back at once.
 * Requests and replies travel as bytes through sim_net; servers answer with srv_answer
 * and ntp_pkt_finalize, stamping with their own virtual clocks. */
#include "sim/sim_world.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"
#include "sim/sim_rand.h"

#define NS_PER_S               1e9
#define MAX_EVENTS             UINT64_C(500000000) /* runaway guard, far above real runs */
#define MAX_TIMER_SPINS        100000 /* timer wake-ups in a row that find nothing due */
#define KERNEL_MAXERROR_GROWTH 500e-6 /* s/s: Linux adds MAXFREQ to maxerror each second */
#define REFCLOCK_UPDATE_NS     INT64_C(16000000000)
#define DAY_NS                 INT64_C(86400000000000)

/* Streams derived from the scenario seed: (kind, index) pairs never collide. */
enum stream { STREAM_CLOCK = 1, STREAM_ENGINE, STREAM_LINK, STREAM_DNS, STREAM_SRV };

static int64_t to_ns(double s)
{
    return llround(s * NS_PER_S);
}

static double t_s(const struct sim_world *w)
{
    return (double)w->t_ns / NS_PER_S;
}

static void set_error(struct sim_world *w, const char *msg, const struct sim_node *nd)
{
    if (w->error[0] == '\0') {
        snprintf(w->error, sizeof(w->error), "t=%.3f s%s%s: %s", t_s(w), nd ? " node " : "",
                 nd ? nd->spec->name : "", msg);
    }
}

static bool push(struct sim_world *w, const struct sim_ev *ev)
{
    if (!sim_evq_push(&w->q, ev)) {
        set_error(w, "event queue full or out of memory", NULL);
        return false;
    }
    return true;
}

int sim_world_find_addr(const struct sim_world *w, const struct core_addr *a)
{
    for (size_t i = 0; i < w->n; i++) {
        const struct core_addr *b = &w->nodes[i].spec->addr;
        if (a->family == b->family && memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static struct sim_link *link_for(struct sim_world *w, int client, int server)
{
    struct sim_link **slot = &w->links[(size_t)client * w->n + (size_t)server];

    if (*slot == NULL) {
        struct sim_link_params p;
        *slot = malloc(sizeof(**slot));
        if (*slot == NULL) {
            return NULL;
        }
        sim_scn_link_params(w->scn, client, server, &p);
        sim_link_init(
            *slot, &p,
            sim_rand_derive(w->scn->seed, STREAM_LINK, (uint64_t)client * w->n + (uint64_t)server));
    }
    return *slot;
}

/* ---- engine calls and their actions ---- */

static void run_actions(struct sim_world *w, struct sim_node *nd, int depth);

/* The list for a call at depth, or NULL (counted) when nesting goes too deep. */
static struct act_list *list_at(struct sim_world *w, struct sim_node *nd, int depth)
{
    if (depth >= SIM_MAX_DEPTH) {
        nd->st.too_deep++;
        return NULL;
    }
    act_list_clear(&w->lists[depth]);
    return &w->lists[depth];
}

static void schedule_timer(struct sim_world *w, struct sim_node *nd)
{
    int64_t next = eng_next_timer(nd->eng);
    struct sim_ev ev = {.kind = SIM_EV_TIMER, .node = nd->index};

    if (next == nd->timer_mono_ns) {
        return; /* the pending event still stands */
    }
    nd->timer_gen++;
    nd->timer_mono_ns = next;
    if (next == INT64_MAX) {
        return;
    }
    ev.t_ns = sim_clock_when_mono(&nd->clk, w->t_ns, next);
    ev.gen = nd->timer_gen;
    if (ev.t_ns <= w->end_ns) {
        push(w, &ev);
    }
}

/* The loop's clock reading on every wake-up: realtime that moved by more than
 * monotonic since the last reading was stepped by someone else (date -s, a VM pause),
 * as the daemon tells with a cancel-on-set timer and the same comparison. */
static struct core_time wake(struct sim_world *w, struct sim_node *nd, int depth)
{
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);
    double jump =
        ((double)(now.real_ns - nd->last_real_ns) - (double)(now.mono_ns - nd->last_mono_ns)) /
        NS_PER_S;

    nd->last_real_ns = now.real_ns;
    nd->last_mono_ns = now.mono_ns;
    if (nd->eng != NULL && fabs(jump) > SIM_JUMP_TOLERANCE) {
        struct act_list *l = list_at(w, nd, depth);
        if (l != NULL) {
            nd->st.ext_steps++;
            eng_on_external_step(nd->eng, now, jump, l);
            run_actions(w, nd, depth);
        }
    }
    return now;
}

static void deliver_request(struct sim_world *w, struct sim_node *nd, const struct act_send *s)
{
    int dst = sim_world_find_addr(w, &s->to);
    struct sim_ev ev = {.kind = SIM_EV_TO_SERVER,
                        .peer = nd->index,
                        .source = s->source,
                        .seq = s->seq,
                        .len = s->len};

    nd->st.sent++;
    if (dst < 0 || s->to.port != 123 || !w->nodes[dst].answers || s->len > ACT_PKT_MAX) {
        nd->st.no_listener++;
        return;
    }
    if (sim_net_cut(w->scn->outages, w->scn->n_outages, t_s(w), nd->index, dst)) {
        nd->st.cut++;
        return;
    }
    struct sim_link *l = link_for(w, nd->index, dst);
    double transit = l ? sim_link_transit(l, SIM_DIR_UP) : -1.0;
    if (transit < 0) {
        nd->st.lost++;
        return;
    }
    ev.node = dst;
    ev.t_ns = w->t_ns + to_ns(transit);
    memcpy(ev.u.pkt, s->pkt, s->len);
    push(w, &ev);
}

static void do_send(struct sim_world *w, struct sim_node *nd, const struct act_send *s, int depth)
{
    /* The carrier reads the clock right before sendmsg: T1 is the send instant. */
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);

    deliver_request(w, nd, s);
    struct act_list *l = list_at(w, nd, depth + 1);
    if (l != NULL) {
        eng_on_sent(nd->eng, now, s->source, s->seq, now.real_ns, l);
        run_actions(w, nd, depth + 1);
    }
}

static const struct sim_dns_entry *dns_entry(const struct sim_scn *s, const char *name)
{
    for (size_t i = 0; i < s->n_dns; i++) {
        if (strcasecmp(s->dns[i].name, name) == 0) {
            return &s->dns[i];
        }
    }
    return NULL;
}

/* Fills ev with the answer for name: a dns line, a node name, an address literal. */
static void resolve_name(struct sim_world *w, const char *name, struct sim_ev *ev, double *delay)
{
    const struct sim_dns_entry *d = dns_entry(w->scn, name);
    int node = sim_scn_find_node(w->scn, name);

    *delay = w->scn->dns_delay;
    ev->len = 0;
    if (d != NULL) {
        *delay = d->delay >= 0 ? d->delay : *delay;
        ev->len = d->n;
        memcpy(ev->u.addrs, d->addrs, d->n * sizeof(d->addrs[0]));
        for (size_t i = d->n; d->shuffle && i > 1; i--) {
            size_t j = (size_t)(core_rng_uniform(&w->dns_rng) * (double)i);
            struct core_addr t = ev->u.addrs[i - 1];
            ev->u.addrs[i - 1] = ev->u.addrs[j];
            ev->u.addrs[j] = t;
        }
    } else if (node >= 0) {
        ev->len = 1;
        ev->u.addrs[0] = w->scn->nodes[node].addr;
        ev->u.addrs[0].port = 0;
    } else {
        struct core_addr *a = &ev->u.addrs[0];
        memset(a, 0, sizeof(*a));
        if (inet_pton(AF_INET, name, a->bytes) == 1) {
            a->family = CORE_AF_INET;
            ev->len = 1;
        } else if (inet_pton(AF_INET6, name, a->bytes) == 1) {
            a->family = CORE_AF_INET6;
            ev->len = 1;
        }
    }
}

static void do_resolve(struct sim_world *w, struct sim_node *nd, int source, const char *name)
{
    struct sim_ev ev = {.kind = SIM_EV_RESOLVED, .node = nd->index, .source = source};
    double delay;
    char n[ACT_NAME_MAX];

    snprintf(n, sizeof(n), "%.*s", (int)(sizeof(n) - 1), name);
    nd->st.resolves++;
    resolve_name(w, n, &ev, &delay);
    /* The resolver needs the network too: an outage that cuts this node off (or
     * everything) makes the lookup fail after its delay. */
    if (sim_net_cut(w->scn->outages, w->scn->n_outages, t_s(w), nd->index, -2)) {
        ev.len = 0;
    }
    nd->st.resolve_failures += ev.len == 0;
    ev.t_ns = w->t_ns + to_ns(delay);
    push(w, &ev);
}

static void do_step(struct sim_world *w, struct sim_node *nd, double offset, int depth)
{
    double applied = sim_clock_step(&nd->clk, w->t_ns, offset);
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);

    nd->st.steps++;
    nd->st.step_abs_total += fabs(applied);
    /* The loop knows this step is its own: the baseline moves with it. */
    nd->last_real_ns = now.real_ns;
    nd->last_mono_ns = now.mono_ns;
    struct act_list *l = list_at(w, nd, depth + 1);
    if (l != NULL) {
        eng_on_stepped(nd->eng, now, true, applied, l);
        run_actions(w, nd, depth + 1);
    }
}

static void do_freq(struct sim_world *w, struct sim_node *nd, double ppm, int depth)
{
    double applied = sim_clock_set_freq(&nd->clk, w->t_ns, ppm);
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);

    nd->st.freq_sets++;
    nd->st.freq_clamped += !(fabs(applied - ppm) < 1e-3);
    /* The monotonic clock changed rate: the pending timer event is re-planned. */
    nd->timer_mono_ns = INT64_MIN;
    struct act_list *l = list_at(w, nd, depth + 1);
    if (l != NULL) {
        eng_on_freq_set(nd->eng, now, applied, l);
        run_actions(w, nd, depth + 1);
    }
}

static void do_reference(struct sim_node *nd, const struct act_reference *r)
{
    nd->st.references++;
    if (!nd->answers) {
        return;
    }
    if (!r->valid) {
        srv_set_reference(&nd->srv, NULL);
        return;
    }
    struct srv_reference ref = {
        .leap = r->leap,
        .stratum = r->stratum,
        .refid = r->refid,
        .root_delay = r->root_delay,
        .root_dispersion = r->root_dispersion,
        .ref_unix_ns = r->ref_unix_ns,
    };
    srv_set_reference(&nd->srv, &ref);
}

static const char *severity_name(uint8_t s)
{
    static const char *const names[] = {"err", "warning", "notice", "info", "debug"};

    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* Renders act_event_template: {name} and {v0}..{v3} replaced, the rest copied. */
static void render_event(const struct act_event *e, char *out, size_t n)
{
    const char *t = act_event_template((enum act_event_kind)e->kind);
    size_t o = 0;

    for (; t != NULL && *t != '\0' && o + 1 < n; t++) {
        int k = -1;
        if (strncmp(t, "{name}", 6) == 0) {
            o += (size_t)snprintf(out + o, n - o, "%s", e->name);
            t += 5;
        } else if (strncmp(t, "{v", 2) == 0 && t[2] >= '0' && t[2] <= '3' && t[3] == '}') {
            k = t[2] - '0';
            o += (size_t)snprintf(out + o, n - o, "%.6g", e->v[k]);
            t += 3;
        } else {
            out[o++] = *t;
        }
        if (o >= n) {
            o = n - 1;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

static void do_event(struct sim_world *w, struct sim_node *nd, const struct act_event *e)
{
    char text[512];

    if (e->kind < EV_KIND_COUNT) {
        nd->st.events[e->kind]++;
    }
    if (!w->opts.verbose) {
        return;
    }
    render_event(e, text, sizeof(text));
    fprintf(w->opts.log ? w->opts.log : stderr, "[%12.3f] %-10s %-7s %-18s %s\n", t_s(w),
            nd->spec->name, severity_name(e->severity),
            act_event_kind_name((enum act_event_kind)e->kind), text);
}

/* The kernel's leap bits follow the status, as adjtimex STA_INS/STA_DEL: the leap acts
 * at the next midnight of the node's own clock. */
static void arm_leap(struct sim_world *w, struct sim_node *nd, uint8_t leap)
{
    int dir = leap == NTP_LEAP_INSERT ? 1 : leap == NTP_LEAP_DELETE ? -1 : 0;
    int64_t real_ns = sim_clock_read(&nd->clk, w->t_ns).real_ns;
    int64_t midnight_ns = (real_ns / DAY_NS + 1) * DAY_NS;

    if (dir != 0 && isnan(nd->st.leap_lead)) {
        nd->st.leap_lead = (double)(midnight_ns - real_ns) / NS_PER_S;
    }
    sim_clock_set_leap(&nd->clk, w->t_ns, dir, midnight_ns);
}

static void do_status(struct sim_world *w, struct sim_node *nd, const struct act_status *s)
{
    arm_leap(w, nd, s->leap);
    nd->st.status_updates++;
    nd->has_status = true;
    nd->status = *s;
    nd->status_t_ns = w->t_ns;
    if (s->synced && nd->st.first_synced < 0) {
        nd->st.first_synced = t_s(w);
    }
}

static void do_action(struct sim_world *w, struct sim_node *nd, const struct act *a, int depth)
{
    switch (a->kind) {
    case ACT_SEND:
        do_send(w, nd, &a->u.send, depth);
        break;
    case ACT_RESOLVE:
        do_resolve(w, nd, a->u.resolve.source, a->u.resolve.name);
        break;
    case ACT_STEP:
        do_step(w, nd, a->u.step.offset, depth);
        break;
    case ACT_FREQ:
        do_freq(w, nd, a->u.freq.ppm, depth);
        break;
    case ACT_STATUS:
        do_status(w, nd, &a->u.status);
        break;
    case ACT_REFERENCE:
        do_reference(nd, &a->u.reference);
        break;
    case ACT_DRIFT_SAVE:
        nd->st.drift_saves++;
        nd->st.last_drift_ppm = a->u.drift.freq_ppm;
        break;
    case ACT_EVENT:
        do_event(w, nd, &a->u.event);
        break;
    }
}

/* Carries out the list filled at depth, in order. Results fed back from inside
 * (eng_on_sent, eng_on_stepped, ...) fill the lists of deeper levels, never this one. */
static void run_actions(struct sim_world *w, struct sim_node *nd, int depth)
{
    struct act_list *l = &w->lists[depth];

    nd->st.overflow += l->overflow;
    for (size_t i = 0; i < l->n; i++) {
        do_action(w, nd, &l->a[i], depth);
    }
    if (depth == 0) {
        schedule_timer(w, nd);
    }
}

/* ---- events ---- */

static void on_timer(struct sim_world *w, struct sim_node *nd, const struct sim_ev *ev)
{
    if (ev->gen != nd->timer_gen || nd->eng == NULL) {
        return; /* superseded */
    }
    struct core_time now = wake(w, nd, 0);
    if (ev->gen != nd->timer_gen) {
        return; /* the jump report rescheduled it */
    }
    if (now.mono_ns < nd->timer_mono_ns) {
        /* The rate changed since the event was planned: not due yet. */
        if (++nd->timer_spins > MAX_TIMER_SPINS) {
            set_error(w, "engine timer never comes due", nd);
            return;
        }
        nd->timer_mono_ns = INT64_MIN; /* force a new event */
        schedule_timer(w, nd);
        return;
    }
    struct act_list *l = list_at(w, nd, 0);
    nd->timer_mono_ns = INT64_MIN; /* whatever it asks for next gets an event */
    eng_on_timer(nd->eng, now, l);
    run_actions(w, nd, 0);
    if (eng_next_timer(nd->eng) > now.mono_ns) {
        nd->timer_spins = 0;
    } else if (++nd->timer_spins > MAX_TIMER_SPINS) {
        set_error(w, "engine timer stays due after eng_on_timer", nd);
    }
}

/* Reference servers (a refclock behind them) refresh their reference every 16 s. */
static void refresh_reference(const struct sim_world *w, struct sim_node *nd, int64_t real_ns)
{
    const struct sim_node_spec *sp = nd->spec;
    const struct sim_scn *scn = w->scn;
    int64_t midnight_ns = scn->start_ns + (int64_t)scn->leap_at * 1000000000;
    bool announce = scn->leap_dir != 0 && real_ns < midnight_ns &&
                    real_ns >= midnight_ns - (int64_t)(scn->leap_announce * NS_PER_S);
    struct srv_reference ref = {
        .leap = !announce             ? NTP_LEAP_NONE
                : scn->leap_dir > 0 ? NTP_LEAP_INSERT
                                    : NTP_LEAP_DELETE,
        .stratum = sp->stratum,
        .refid = sp->refid,
        .root_delay = sp->root_delay,
        .root_dispersion = sp->root_dispersion,
        .ref_unix_ns =
            real_ns - (real_ns % REFCLOCK_UPDATE_NS + REFCLOCK_UPDATE_NS) % REFCLOCK_UPDATE_NS,
    };

    srv_set_reference(&nd->srv, &ref);
}

static void on_request(struct sim_world *w, struct sim_node *nd, const struct sim_ev *ev)
{
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);
    struct sim_ev tx = {.kind = SIM_EV_SERVER_TX,
                        .node = nd->index,
                        .peer = ev->peer,
                        .source = ev->source,
                        .seq = ev->seq};
    struct srv_request rq = {.buf = ev->u.pkt,
                             .len = ev->len,
                             .from = w->nodes[ev->peer].spec->addr,
                             .rx_unix_ns = now.real_ns,
                             .rx_mono_ns = now.mono_ns};

    /* Every request comes from a fresh random port (the engine's carrier's job). */
    rq.from.port = (uint16_t)(32768 + (ev->seq * 7919u + (uint32_t)ev->source * 104729u) % 28000);
    if (nd->spec->kind != SIM_NODE_CLIENT) {
        refresh_reference(w, nd, now.real_ns);
    }
    enum srv_reason why = srv_answer(&nd->srv, &rq, tx.u.pkt, sizeof(tx.u.pkt), &tx.len);
    if (why != SRV_ANSWERED && why != SRV_KOD_RATE) {
        nd->st.refused++;
        return;
    }
    nd->st.answered++;
    tx.t_ns = w->t_ns + to_ns(nd->spec->proc);
    push(w, &tx);
}

static void on_server_tx(struct sim_world *w, struct sim_node *nd, struct sim_ev *ev)
{
    struct core_time now = sim_clock_read(&nd->clk, w->t_ns);
    struct sim_node *client = &w->nodes[ev->peer];

    /* Transmit timestamp written last, right before the packet leaves (two-phase send). */
    ntp_pkt_finalize(ev->u.pkt, ev->len, ntp_ts_from_unix_ns(now.real_ns));
    if (sim_net_cut(w->scn->outages, w->scn->n_outages, t_s(w), client->index, nd->index)) {
        client->st.cut++;
        return;
    }
    struct sim_link *l = link_for(w, client->index, nd->index);
    double transit = l ? sim_link_transit(l, SIM_DIR_DOWN) : -1.0;
    if (transit < 0) {
        client->st.lost++;
        return;
    }
    ev->kind = SIM_EV_TO_CLIENT;
    ev->node = client->index;
    ev->peer = nd->index;
    ev->t_ns = w->t_ns + to_ns(transit);
    push(w, ev);
}

static void on_reply(struct sim_world *w, struct sim_node *nd, const struct sim_ev *ev)
{
    struct core_time now = wake(w, nd, 0);
    struct core_addr from = w->nodes[ev->peer].spec->addr;
    struct act_list *l = list_at(w, nd, 0);

    nd->st.received++;
    /* The receive stamp is the client's clock at arrival (a kernel RX stamp). */
    eng_on_reply(nd->eng, now, ev->source, ev->seq, &from, ev->u.pkt, ev->len, now.real_ns, l);
    run_actions(w, nd, 0);
}

static void on_resolved(struct sim_world *w, struct sim_node *nd, const struct sim_ev *ev)
{
    struct core_time now = wake(w, nd, 0);
    struct act_list *l = list_at(w, nd, 0);

    eng_on_resolved(nd->eng, now, ev->source, ev->u.addrs, ev->len, l);
    run_actions(w, nd, 0);
}

static void on_ext_step(struct sim_world *w, struct sim_node *nd, const struct sim_ev *ev)
{
    sim_clock_step(&nd->clk, w->t_ns, ev->value);
    if (nd->eng != NULL) {
        /* A cancel-on-set timer wakes the daemon's loop at once. */
        wake(w, nd, 0);
        schedule_timer(w, nd);
    }
}

/* The selected source of an engine is a falseticker node. */
static bool selected_false(struct sim_world *w, struct sim_node *nd, struct core_time now)
{
    struct eng_status st;
    struct eng_source_status ss;

    eng_get_status(nd->eng, now, &st);
    if (st.selected < 0 || !eng_get_source(nd->eng, (size_t)st.selected, now, &ss)) {
        return false;
    }
    int i = sim_world_find_addr(w, &ss.addr);
    return i >= 0 && w->nodes[i].spec->kind == SIM_NODE_FALSETICKER;
}

/* The kernel's maxerror now: the last status value grown as Linux grows it. */
static double maxerror_now(const struct sim_world *w, const struct sim_node *nd)
{
    double age = (double)(w->t_ns - nd->status_t_ns) / NS_PER_S;

    return nd->has_status ? nd->status.maxerror + KERNEL_MAXERROR_GROWTH * age : NAN;
}

static uint8_t sample_flags(struct sim_world *w, struct sim_node *nd, double offset)
{
    uint8_t f = 0;

    if (nd->eng == NULL) {
        return 0;
    }
    if (nd->has_status && nd->status.synced) {
        f |= SIM_SAMPLE_SYNCED;
        if (fabs(offset) > maxerror_now(w, nd)) {
            f |= SIM_SAMPLE_BOUND_BAD;
        }
    }
    if (selected_false(w, nd, sim_clock_read(&nd->clk, w->t_ns))) {
        f |= SIM_SAMPLE_FALSE_SEL;
    }
    return f;
}

static void on_sample(struct sim_world *w)
{
    size_t k = w->n_samples;

    if (k >= w->cap_samples) {
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        struct sim_node *nd = &w->nodes[i];
        double off = 0.0 - sim_clock_error(&nd->clk, w->t_ns); /* never -0 in the CSV */
        nd->offset[k] = off;
        nd->corr_ppm[k] = (float)nd->clk.corr_ppm;
        nd->rate_ppm[k] = (float)sim_clock_rate_ppm(&nd->clk);
        nd->maxerror[k] = (float)maxerror_now(w, nd);
        nd->flags[k] = sample_flags(w, nd, off);
    }
    w->n_samples++;
    if (w->n_samples < w->cap_samples) {
        struct sim_ev ev = {.kind = SIM_EV_SAMPLE, .t_ns = (int64_t)w->n_samples * w->sample_ns};
        push(w, &ev);
    }
}

static void dispatch(struct sim_world *w, struct sim_ev *ev)
{
    struct sim_node *nd = &w->nodes[ev->node];

    switch (ev->kind) {
    case SIM_EV_SAMPLE:
        on_sample(w);
        break;
    case SIM_EV_TIMER:
        on_timer(w, nd, ev);
        break;
    case SIM_EV_TO_SERVER:
        on_request(w, nd, ev);
        break;
    case SIM_EV_SERVER_TX:
        on_server_tx(w, nd, ev);
        break;
    case SIM_EV_TO_CLIENT:
        on_reply(w, nd, ev);
        break;
    case SIM_EV_RESOLVED:
        on_resolved(w, nd, ev);
        break;
    case SIM_EV_EXT_STEP:
        on_ext_step(w, nd, ev);
        break;
    case SIM_EV_FREQ_SHIFT:
        sim_clock_shift_freq(&nd->clk, w->t_ns, ev->value);
        break;
    }
}

/* ---- set-up ---- */

static int init_server(struct sim_world *w, struct sim_node *nd)
{
    struct srv_config sc;
    struct acl_rule all4 = {.family = CORE_AF_INET, .prefix_len = 0};
    struct acl_rule all6 = {.family = CORE_AF_INET6, .prefix_len = 0};

    memset(&sc, 0, sizeof(sc));
    sc.precision_log2 = nd->spec->precision_log2;
    acl_init(&sc.acl);
    if (acl_add(&sc.acl, &all4, ACL_ADD_REPLACE) != ACL_OK ||
        acl_add(&sc.acl, &all6, ACL_ADD_REPLACE) != ACL_OK) {
        set_error(w, "cannot build the server's access list", nd);
        return -1;
    }
    rlim_params_default(&sc.rlim);
    srv_init(&nd->srv, &sc, nd->rlim, SIM_RLIM_ENTRIES,
             sim_rand_derive(w->scn->seed, STREAM_SRV, (uint64_t)nd->index));
    nd->answers = true;
    return 0;
}

static int init_engine(struct sim_world *w, struct sim_node *nd)
{
    const struct sim_node_spec *sp = nd->spec;
    size_t align = alignof(max_align_t);
    size_t size = (eng_size() + align - 1) / align * align;

    nd->eng_mem = aligned_alloc(align, size ? size : align);
    if (nd->eng_mem == NULL) {
        set_error(w, "out of memory for the engine", nd);
        return -1;
    }
    struct core_time now = sim_clock_read(&nd->clk, 0);
    uint64_t seed =
        sp->has_seed ? sp->seed : sim_rand_derive(w->scn->seed, STREAM_ENGINE, (uint64_t)nd->index);
    struct act_list *l = list_at(w, nd, 0);
    nd->last_real_ns = now.real_ns;
    nd->last_mono_ns = now.mono_ns;
    nd->eng = eng_init(nd->eng_mem, &sp->cfg->eng, now, seed, l);
    if (nd->eng == NULL) {
        set_error(w, "eng_init refused the configuration", nd);
        return -1;
    }
    run_actions(w, nd, 0);
    return 0;
}

/* The scenario's leap: UTC leaps for everyone; reference servers' kernels know it (a
 * refclock or a leap file behind them) and apply it at the midnight. */
static void init_leap(const struct sim_world *w, struct sim_node *nd)
{
    const struct sim_scn *scn = w->scn;
    int64_t at_ns = (int64_t)scn->leap_at * 1000000000;

    if (scn->leap_dir == 0) {
        return;
    }
    sim_clock_set_utc_leap(&nd->clk, scn->leap_dir > 0 ? at_ns : at_ns - 1000000000,
                           scn->leap_dir);
    if (nd->spec->kind != SIM_NODE_CLIENT) {
        sim_clock_set_leap(&nd->clk, 0, scn->leap_dir, scn->start_ns + at_ns);
    }
}

static int init_node(struct sim_world *w, size_t i)
{
    struct sim_node *nd = &w->nodes[i];
    const struct sim_node_spec *sp = &w->scn->nodes[i];
    size_t cap = w->cap_samples;

    nd->spec = sp;
    nd->index = (int)i;
    nd->timer_mono_ns = INT64_MAX;
    nd->st.first_synced = -1;
    nd->st.leap_lead = NAN;
    /* Each node booted at its own time: monotonic readings differ between nodes. */
    sim_clock_init(&nd->clk, &sp->clock, w->scn->start_ns, (int64_t)(1000 + 37 * i) * 1000000000,
                   sim_rand_derive(w->scn->seed, STREAM_CLOCK, i));
    init_leap(w, nd);
    nd->offset = calloc(cap, sizeof(*nd->offset));
    nd->corr_ppm = calloc(cap, sizeof(*nd->corr_ppm));
    nd->rate_ppm = calloc(cap, sizeof(*nd->rate_ppm));
    nd->flags = calloc(cap, sizeof(*nd->flags));
    nd->maxerror = calloc(cap, sizeof(*nd->maxerror));
    if (!nd->offset || !nd->corr_ppm || !nd->rate_ppm || !nd->flags || !nd->maxerror) {
        set_error(w, "out of memory for samples", nd);
        return -1;
    }
    if ((sp->kind != SIM_NODE_CLIENT || sp->serve) && init_server(w, nd) != 0) {
        return -1;
    }
    return 0;
}

static int schedule_injects(struct sim_world *w)
{
    for (size_t i = 0; i < w->scn->n_injects; i++) {
        const struct sim_inject *in = &w->scn->injects[i];
        struct sim_ev ev = {.t_ns = to_ns(in->at), .node = in->node, .value = in->value};
        ev.kind = in->kind == SIM_INJECT_STEP ? SIM_EV_EXT_STEP : SIM_EV_FREQ_SHIFT;
        if (ev.t_ns <= w->end_ns && !push(w, &ev)) {
            return -1;
        }
    }
    return 0;
}

int sim_world_init(struct sim_world *w, const struct sim_scn *s, const struct sim_opts *o)
{
    memset(w, 0, sizeof(*w));
    w->scn = s;
    w->opts = *o;
    w->n = s->n_nodes;
    w->end_ns = to_ns(s->duration);
    w->sample_ns = to_ns(s->sample);
    w->cap_samples = (size_t)(w->end_ns / w->sample_ns) + 1;
    sim_evq_init(&w->q);
    core_rng_seed(&w->dns_rng, sim_rand_derive(s->seed, STREAM_DNS, 0));
    w->nodes = calloc(w->n, sizeof(*w->nodes));
    w->links = calloc(w->n * w->n, sizeof(*w->links));
    w->lists = calloc(SIM_MAX_DEPTH, sizeof(*w->lists));
    if (w->nodes == NULL || w->links == NULL || w->lists == NULL) {
        set_error(w, "out of memory", NULL);
        return -1;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (init_node(w, i) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        if (s->nodes[i].kind == SIM_NODE_CLIENT && init_engine(w, &w->nodes[i]) != 0) {
            return -1;
        }
    }
    struct sim_ev first = {.kind = SIM_EV_SAMPLE, .t_ns = 0};
    if (!push(w, &first) || schedule_injects(w) != 0) {
        return -1;
    }
    return w->error[0] ? -1 : 0;
}

int sim_world_run(struct sim_world *w)
{
    struct sim_ev ev;

    while (w->error[0] == '\0' && sim_evq_peek_time(&w->q) <= w->end_ns) {
        if (++w->n_events > MAX_EVENTS) {
            set_error(w, "too many events: a runaway engine or scenario", NULL);
            break;
        }
        sim_evq_pop(&w->q, &ev);
        w->t_ns = ev.t_ns;
        dispatch(w, &ev);
    }
    return w->error[0] ? -1 : 0;
}

void sim_world_free(struct sim_world *w)
{
    for (size_t i = 0; w->nodes != NULL && i < w->n; i++) {
        struct sim_node *nd = &w->nodes[i];
        free(nd->eng_mem);
        free(nd->offset);
        free(nd->corr_ppm);
        free(nd->rate_ppm);
        free(nd->flags);
        free(nd->maxerror);
    }
    for (size_t i = 0; w->links != NULL && i < w->n * w->n; i++) {
        free(w->links[i]);
    }
    free(w->nodes);
    free(w->links);
    free(w->lists);
    sim_evq_free(&w->q);
    memset(w, 0, sizeof(*w));
}
