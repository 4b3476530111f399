/* libFuzzer target for the engine's reply path: arbitrary bytes become replies (and a few
 * other events) for an engine with three literal servers and a pool. Requests the engine
 * sends are recorded, so a record can echo the right nonce, sequence number and address
 * and reach the deeper checks, the filter, selection and the discipline. Clock actions
 * are carried out on a virtual clock and reported back. Traps unless every action is
 * well-formed: sends of 48 bytes to a known source, finite clock requests, known event
 * kinds, no overflow of the list, nothing left due after the timer ran.
 *
 * Input: records of [op][flags][src][dt_hi][dt_lo][len][len bytes].
 *   op % 5: 0 reply, 1 timer, 2 external step (jump from the first payload bytes),
 *           3 resolve answer for the pool (addresses from the payload), 4 eng_on_sent late.
 *   flags: bit 0 patch the origin with the source's last nonce, bit 1 use its last seq,
 *          bit 2 send from its address, bit 3 put receive/transmit stamps near now,
 *          bit 4 mode 4 / version 4 / stratum 1, bit 5 make it a kiss (RATE/DENY/RSTR).
 *   dt: milliseconds the world advances first. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/act.h"
#include "core/eng.h"
#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define NSRC      8
#define REC_HEAD  6
#define MAX_STEPS 256
#define REAL0     INT64_C(1700000000000000000)

struct known {
    bool valid;
    uint32_t seq;
    uint64_t nonce;
    struct core_addr to;
};

struct world {
    struct eng *e;
    int64_t mono;
    double clock_off; /* s */
    double freq_ppm;
    struct known k[NSRC];
    int depth;
};

static _Alignas(max_align_t) unsigned char eng_mem[1 << 20];

static struct core_time now_of(const struct world *w)
{
    struct core_time t = {REAL0 + w->mono + (int64_t)(w->clock_off * 1e9), w->mono};
    return t;
}

static void check(bool ok)
{
    if (!ok) {
        __builtin_trap();
    }
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void process(struct world *w, const struct act_list *l);

static void on_send(struct world *w, const struct act_send *s)
{
    struct act_list l;
    check(s->len == NTP_HEADER_LEN && s->source >= 0 && s->source < ENG_MAX_SOURCES);
    check(s->to.family == CORE_AF_INET || s->to.family == CORE_AF_INET6);
    if (s->source < NSRC) {
        w->k[s->source] = (struct known){true, s->seq, load64(s->pkt + NTP_OFF_TX_TS), s->to};
    }
    eng_on_sent(w->e, now_of(w), s->source, s->seq, now_of(w).real_ns, &l);
    process(w, &l);
}

static void do_action(struct world *w, const struct act *a)
{
    struct act_list l;
    switch (a->kind) {
    case ACT_SEND:
        on_send(w, &a->u.send);
        break;
    case ACT_STEP:
        check(isfinite(a->u.step.offset));
        w->clock_off += a->u.step.offset;
        eng_on_stepped(w->e, now_of(w), true, a->u.step.offset, &l);
        process(w, &l);
        break;
    case ACT_FREQ:
        check(isfinite(a->u.freq.ppm));
        w->freq_ppm =
            a->u.freq.ppm > 500.0 ? 500.0 : (a->u.freq.ppm < -500.0 ? -500.0 : a->u.freq.ppm);
        eng_on_freq_set(w->e, now_of(w), w->freq_ppm, &l);
        process(w, &l);
        break;
    case ACT_STATUS:
        check(a->u.status.maxerror >= 0.0 && a->u.status.maxerror <= 16.0);
        break;
    case ACT_REFERENCE:
        check(!a->u.reference.valid ||
              (a->u.reference.stratum >= 1 && a->u.reference.stratum <= 15));
        break;
    case ACT_EVENT:
        check(a->u.event.kind < EV_KIND_COUNT);
        check(memchr(a->u.event.name, '\0', sizeof(a->u.event.name)) != NULL);
        break;
    case ACT_RESOLVE:
    case ACT_DRIFT_SAVE:
        break;
    default:
        check(false);
    }
}

static void process(struct world *w, const struct act_list *l)
{
    struct act_list copy = *l;
    check(copy.n <= ACT_MAX && copy.overflow == 0);
    if (++w->depth > 8) {
        check(false);
    }
    for (size_t i = 0; i < copy.n; i++) {
        do_action(w, &copy.a[i]);
    }
    w->depth--;
}

static void advance(struct world *w, int64_t dt_ns)
{
    w->clock_off += w->freq_ppm * 1e-6 * (double)dt_ns / 1e9;
    w->mono += dt_ns;
}

/* Builds the reply bytes of one record into pkt; returns the length to deliver. */
static size_t make_reply(const struct world *w, uint8_t flags, const struct known *k,
                         const uint8_t *p, size_t len, uint8_t *pkt)
{
    size_t out = len < 96 ? len : 96;
    memcpy(pkt, p, out);
    if (out < NTP_HEADER_LEN || k == NULL) {
        return out;
    }
    if (flags & 16) {
        pkt[0] = (uint8_t)((pkt[0] & 0xc0) | (4 << 3) | NTP_MODE_SERVER);
        pkt[1] = 1;
    }
    if (flags & 32) {
        static const char *const kiss[3] = {"RATE", "DENY", "RSTR"};
        pkt[1] = 0;
        memcpy(pkt + 12, kiss[p[0] % 3], 4);
    }
    if (flags & 8) {
        uint64_t t = ntp_ts_from_unix_ns(now_of(w).real_ns + (int64_t)(int8_t)p[1] * 1000000);
        for (int i = 0; i < 8; i++) {
            pkt[32 + i] = (uint8_t)(t >> (56 - 8 * i));
            pkt[40 + i] = (uint8_t)((t + 4096) >> (56 - 8 * i));
        }
    }
    if (flags & 1) {
        for (int i = 0; i < 8; i++) {
            pkt[24 + i] = (uint8_t)(k->nonce >> (56 - 8 * i));
        }
    }
    return out;
}

static void record(struct world *w, const uint8_t *r, const uint8_t *p, size_t len)
{
    struct act_list l;
    uint8_t op = r[0] % 5, flags = r[1];
    int src = (int)(r[2] % (NSRC + 2)) - 1; /* -1 and NSRC: out of range on purpose */
    const struct known *k = src >= 0 && src < NSRC && w->k[src].valid ? &w->k[src] : NULL;
    struct core_time now = now_of(w);

    if (op == 0) {
        uint8_t pkt[96];
        size_t plen = make_reply(w, flags, k, p, len, pkt);
        uint32_t seq = (flags & 2) && k != NULL ? k->seq : (uint32_t)r[3] << 8 | r[4];
        struct core_addr from;
        memset(&from, 0, sizeof(from));
        from.family = CORE_AF_INET;
        from.port = 123;
        if ((flags & 4) && k != NULL) {
            from = k->to;
        }
        eng_on_reply(w->e, now, src, seq, &from, pkt, plen, now.real_ns, &l);
    } else if (op == 1) {
        eng_on_timer(w->e, now, &l);
    } else if (op == 2) {
        double jump = len >= 2 ? (double)(int16_t)(p[0] << 8 | p[1]) / 16.0 : 300.0;
        w->clock_off += jump;
        eng_on_external_step(w->e, now_of(w), jump, &l);
    } else if (op == 3) {
        struct core_addr a[4];
        size_t na = len / 4 < 4 ? len / 4 : 4;
        memset(a, 0, sizeof(a));
        for (size_t i = 0; i < na; i++) {
            a[i].family = p[4 * i] & 1 ? CORE_AF_INET : (uint8_t)(p[4 * i] % 8);
            memcpy(a[i].bytes, p + 4 * i, 4);
        }
        eng_on_resolved(w->e, now, 3, a, na, &l);
    } else {
        eng_on_sent(w->e, now, src, k != NULL ? k->seq : 0, now.real_ns - (int64_t)r[3] * 1000, &l);
    }
    process(w, &l);
}

static void setup(struct world *w)
{
    static const char *const names[3] = {"198.18.0.1", "198.18.0.2", "2001:db8::3"};
    struct eng_config c;
    struct act_list l;

    memset(w, 0, sizeof(*w));
    w->mono = INT64_C(1000000000000);
    eng_config_default(&c);
    for (int i = 0; i < 3; i++) {
        eng_source_default(&c.sources[c.n_sources++], names[i], false);
        c.sources[i].iburst = true;
    }
    eng_source_default(&c.sources[c.n_sources++], "pool.example", true);
    c.local = true;
    w->e = eng_init(eng_mem, &c, now_of(w), 1, &l);
    check(w->e != NULL);
    process(w, &l);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static struct world w;
    size_t off = 0;

    setup(&w);
    for (int steps = 0; steps < MAX_STEPS && n - off >= REC_HEAD; steps++) {
        const uint8_t *r = d + off;
        size_t len = r[5];
        off += REC_HEAD;
        len = len < n - off ? len : n - off;
        advance(&w, ((int64_t)r[3] << 8 | r[4]) * 1000000);
        record(&w, r, d + off, len);
        off += len;
        /* Whatever is due gets done: a few timer calls leave nothing due now. */
        for (int i = 0; i < 4 && eng_next_timer(w.e) <= w.mono; i++) {
            struct act_list l;
            eng_on_timer(w.e, now_of(&w), &l);
            process(&w, &l);
        }
        check(eng_next_timer(w.e) > w.mono);
    }
    return 0;
}
