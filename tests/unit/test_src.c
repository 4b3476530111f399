/* Unit tests for one source's state machine (src/core/src.c): address literals, MD5 and
 * reference IDs, config normalization, the reach register, back-off, poll adaptation and
 * the discipline's poll hint, iburst and burst timing (no iburst once backing off), kiss-o'-death RATE/DENY/RSTR, every reply check with its
 * counter (spoofed origins, duplicates, stale and foreign replies), request format, and
 * rebasing of the outstanding send time. A tiny server in the test answers requests. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/act.h"
#include "core/src.h"
#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

#define S(x)    ((int64_t)(x)*INT64_C(1000000000))
#define MS(x)   ((int64_t)(x)*INT64_C(1000000))
#define REAL0   S(1700000000) /* realtime = monotonic + REAL0 while the clock is right */
#define KISS(s) ((uint32_t)(s)[0] << 24 | (uint32_t)(s)[1] << 16 | (uint32_t)(s)[2] << 8 | (s)[3])

/* ---- a rig: one source, its environment, a server that answers ---- */

struct server {
    double offset; /* s: server time minus true time (= our offset, clock right) */
    double owd;    /* s: one-way delay */
    double hold;   /* s: server processing time */
    uint8_t leap, stratum, mode, version;
    uint32_t refid;
    int8_t poll;
    double root_delay, root_dispersion;
};

struct rig {
    struct src s;
    struct core_rng rng;
    struct src_env env;
    struct act_list out;
    struct server srv;
    int64_t now;        /* monotonic ns */
    double clock_error; /* s: our clock minus true time */
    int events[EV_KIND_COUNT];
    double last_event_v[2];
    int sends;
};

static struct rig rig;

static struct core_addr addr4(uint8_t d)
{
    struct core_addr a;
    memset(&a, 0, sizeof(a));
    a.family = CORE_AF_INET;
    a.bytes[0] = 198;
    a.bytes[1] = 18;
    a.bytes[2] = 0;
    a.bytes[3] = d;
    a.port = 123;
    return a;
}

static void set_now(struct rig *r, int64_t mono)
{
    r->now = mono;
    r->env.now.mono_ns = mono;
    r->env.now.real_ns = mono + REAL0 + (int64_t)llround(r->clock_error * 1e9);
    r->env.frame.now_mono_ns = mono;
}

static void rig_init(struct rig *r, const char *name, bool iburst, int minpoll, int maxpoll)
{
    struct eng_source_config c;

    memset(r, 0, sizeof(*r));
    core_rng_seed(&r->rng, 42);
    r->env.rng = &r->rng;
    r->env.precision_log2 = -20;
    r->env.maxdistance = 1.5;
    r->env.poll_hint = SRC_POLL_MAX;
    set_now(r, S(1000));
    r->srv =
        (struct server){0.0, 0.001, 0.00001, 0, 2, NTP_MODE_SERVER, 4, 0xc6120063, 6, 0.01, 0.01};
    eng_source_default(&c, name, false);
    c.iburst = iburst;
    c.minpoll = minpoll;
    c.maxpoll = maxpoll;
    src_init(&r->s, &c, -1, &r->env);
}

static void count_events(struct rig *r)
{
    for (size_t i = 0; i < r->out.n; i++) {
        if (r->out.a[i].kind == ACT_EVENT) {
            r->events[r->out.a[i].u.event.kind]++;
            r->last_event_v[0] = r->out.a[i].u.event.v[0];
            r->last_event_v[1] = r->out.a[i].u.event.v[1];
        }
    }
}

/* The reply of the rig's server to request rq sent at our real time t1 (ns). */
static void build_reply(const struct rig *r, const struct act_send *rq, int64_t t1,
                        uint8_t buf[NTP_HEADER_LEN], int64_t *t4)
{
    struct ntp_header q, h;
    assert_int_equal(ntp_header_decode(rq->pkt, rq->len, &q), NTP_DECODE_OK);
    double true_t1 = (double)(t1 - REAL0) / 1e9 - r->clock_error;
    memset(&h, 0, sizeof(h));
    h.leap = r->srv.leap;
    h.version = r->srv.version;
    h.mode = r->srv.mode;
    h.stratum = r->srv.stratum;
    h.poll = r->srv.poll;
    h.precision = -20;
    h.refid = r->srv.refid;
    h.root_delay = ntp_short_from_seconds(r->srv.root_delay);
    h.root_dispersion = ntp_short_from_seconds(r->srv.root_dispersion);
    h.origin_ts = q.tx_ts;
    double t2 = true_t1 + r->srv.owd + r->srv.offset;
    h.rx_ts = ntp_ts_from_unix_ns(REAL0 + (int64_t)llround(t2 * 1e9));
    h.tx_ts = ntp_ts_from_unix_ns(REAL0 + (int64_t)llround((t2 + r->srv.hold) * 1e9));
    ntp_header_encode(&h, buf);
    *t4 = t1 + (int64_t)llround((2 * r->srv.owd + r->srv.hold) * 1e9);
}

/* Delivers a reply (buf) to the source at our real time t4; returns the reason. */
static enum flt_reason deliver(struct rig *r, uint32_t seq, const struct core_addr *from,
                               const uint8_t *buf, size_t len, int64_t t4)
{
    struct src_reply_result rr;
    act_list_clear(&r->out);
    src_on_reply(&r->s, 3, seq, from, buf, len, t4, &r->env, &r->out, &rr);
    count_events(r);
    return rr.reason;
}

/* Runs the source's timer at its next due time; answers each request when answer. */
static int rig_step(struct rig *r, bool answer)
{
    struct src_poll_result pr;
    int64_t t = src_next_timer(&r->s);
    assert_true(t != INT64_MAX);
    set_now(r, t);
    act_list_clear(&r->out);
    src_on_timer(&r->s, 3, &r->env, &r->out, &pr);
    count_events(r);
    struct act_list sends = r->out;
    int n = 0;
    for (size_t i = 0; i < sends.n; i++) {
        if (sends.a[i].kind != ACT_SEND) {
            continue;
        }
        const struct act_send *rq = &sends.a[i].u.send;
        assert_int_equal(rq->source, 3);
        assert_int_equal(rq->seq, r->s.seq);
        n++;
        r->sends++;
        src_on_sent(&r->s, rq->seq, r->env.now.real_ns);
        if (answer) {
            uint8_t buf[NTP_HEADER_LEN];
            int64_t t4;
            build_reply(r, rq, r->env.now.real_ns, buf, &t4);
            assert_int_equal(deliver(r, rq->seq, &rq->to, buf, sizeof(buf), t4), FLT_OK);
        }
    }
    return n;
}

/* ---- address literals, MD5, refid, config ---- */

static void test_parse_addr(void **state)
{
    (void)state;
    struct core_addr a;
    assert_true(src_parse_addr("198.18.0.1", 123, &a));
    assert_int_equal(a.family, CORE_AF_INET);
    assert_memory_equal(a.bytes, ((uint8_t[]){198, 18, 0, 1}), 4);
    assert_int_equal(a.port, 123);
    assert_true(src_parse_addr("0.0.0.0", 1, &a));
    assert_true(src_parse_addr("255.255.255.255", 1, &a));
    const char *bad[] = {"",
                         "198.18.0",
                         "198.18.0.1.",
                         "198.18.0.256",
                         "198.18.00.1",
                         "198.18.0.1a",
                         "-1.2.3.4",
                         "1..2.3",
                         "host.example",
                         ":::",
                         "1:2:3:4:5:6:7:8:9",
                         "2001:db8::1::2",
                         "12345::",
                         "2001:db8:",
                         "fe80::1%eth0",
                         "[2001:db8::1",
                         "2001:db8::1]",
                         "::1.2.3.4.5",
                         "1.2.3.4::",
                         "2001:db8::g",
                         "1:2:3:4:5:6:7::8:9",
                         "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(src_parse_addr(bad[i], 123, &a));
    }
    assert_true(src_parse_addr("2001:db8::1", 123, &a));
    assert_int_equal(a.family, CORE_AF_INET6);
    assert_memory_equal(
        a.bytes, ((uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 16);
    assert_true(src_parse_addr("[2001:db8:1:2:3:4:5:6]", 123, &a));
    assert_int_equal(a.bytes[15], 6);
    assert_int_equal(a.bytes[3], 0xb8);
    assert_true(src_parse_addr("::", 123, &a));
    assert_int_equal(a.family, CORE_AF_INET6);
    assert_true(src_parse_addr("::1", 123, &a));
    assert_int_equal(a.bytes[15], 1);
    assert_true(src_parse_addr("1::", 123, &a));
    assert_int_equal(a.bytes[1], 1);
    assert_true(src_parse_addr("64:ff9b::198.18.0.7", 123, &a));
    assert_int_equal(a.family, CORE_AF_INET6);
    assert_memory_equal(a.bytes + 12, ((uint8_t[]){198, 18, 0, 7}), 4);
    /* IPv4-mapped literals become IPv4 (core.h). */
    assert_true(src_parse_addr("::ffff:198.18.0.9", 123, &a));
    assert_int_equal(a.family, CORE_AF_INET);
    assert_memory_equal(a.bytes, ((uint8_t[]){198, 18, 0, 9}), 4);
}

static void hex16(const uint8_t d[16], char out[33])
{
    for (int i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* RFC 1321 appendix A.5 test suite. */
static void test_md5(void **state)
{
    (void)state;
    static const char *const in[] = {
        "",
        "a",
        "abc",
        "message digest",
        "abcdefghijklmnopqrstuvwxyz",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890"};
    static const char *const want[] = {
        "d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
        "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
        "c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
        "57edf4a22be3c955ac49da2e2107b67a"};
    uint8_t d[16];
    char hex[33];
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        src_md5((const uint8_t *)in[i], strlen(in[i]), d);
        hex16(d, hex);
        assert_string_equal(hex, want[i]);
    }
}

static void test_refid(void **state)
{
    (void)state;
    struct core_addr a = addr4(99);
    uint32_t r = src_refid(&a);
    assert_memory_equal(&r, ((uint8_t[]){198, 18, 0, 99}), 4);
    /* IPv6: the first four bytes of MD5 over the 16 address bytes (RFC 5905 7.3). */
    assert_true(src_parse_addr("2001:db8::1", 123, &a));
    uint8_t d[16];
    src_md5(a.bytes, 16, d);
    r = src_refid(&a);
    assert_memory_equal(&r, d, 4);
    assert_memory_not_equal(&r, a.bytes, 4);
    struct core_addr none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(src_refid(&none), 0);
}

static void test_normalize_config(void **state)
{
    (void)state;
    struct eng_source_config in, out;
    memset(&in, 0, sizeof(in));
    memset(in.name, 'x', sizeof(in.name)); /* not terminated */
    in.minpoll = 12;
    in.maxpoll = 4;
    in.version = 9;
    in.pool = true;
    in.maxdelay = NAN;
    src_normalize_config(&in, &out);
    assert_int_equal(strlen(out.name), ENG_NAME_MAX - 1);
    assert_int_equal(out.minpoll, 12);
    assert_int_equal(out.maxpoll, 12);
    assert_int_equal(out.version, 4);
    assert_int_equal(out.port, 123);
    assert_int_equal(out.maxsources, 4);
    assert_true(out.maxdelay == 0.0);
    in.minpoll = -3;
    in.maxpoll = 40;
    in.maxsources = 99;
    in.version = 3;
    in.port = 1123;
    src_normalize_config(&in, &out);
    assert_int_equal(out.minpoll, 0);
    assert_int_equal(out.maxpoll, 17);
    assert_int_equal(out.maxsources, 16);
    assert_int_equal(out.version, 3);
    assert_int_equal(out.port, 1123);
}

static void test_init_states(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", true, 6, 10);
    assert_int_equal(rig.s.state, SRC_ACTIVE);
    assert_true(rig.s.literal);
    assert_int_equal(src_next_timer(&rig.s), rig.now); /* iburst: at once */
    rig_init(&rig, "ntp.example", false, 6, 10);
    assert_int_equal(rig.s.state, SRC_UNRESOLVED);
    assert_int_equal(src_next_timer(&rig.s), rig.now); /* resolve due */
    struct src_poll_result pr;
    src_on_timer(&rig.s, 0, &rig.env, &rig.out, &pr);
    assert_true(pr.resolve);
    assert_false(pr.polled);
    rig.s.resolve_at_mono_ns = INT64_MAX; /* the engine's part: the resolve was sent */
    struct core_addr a = addr4(7);
    a.port = 999;
    src_activate(&rig.s, &a, &rig.env);
    assert_int_equal(rig.s.addr.port, 123);
    int64_t first = src_next_timer(&rig.s) - rig.now;
    assert_true(first >= MS(900) && first <= MS(1100)); /* no iburst: within ~1 s */
}

/* ---- polling ---- */

static void test_request_format(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    assert_int_equal(rig_step(&rig, false), 1);
    /* rig_step cleared out; redo one poll to look at the packet */
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    set_now(&rig, src_next_timer(&rig.s));
    struct src_poll_result pr;
    act_list_clear(&rig.out);
    src_on_timer(&rig.s, 3, &rig.env, &rig.out, &pr);
    assert_int_equal(rig.out.n, 1);
    const struct act_send *rq = &rig.out.a[0].u.send;
    struct ntp_header h;
    assert_int_equal(rq->len, NTP_HEADER_LEN);
    assert_int_equal(ntp_header_decode(rq->pkt, rq->len, &h), NTP_DECODE_OK);
    assert_int_equal(h.mode, NTP_MODE_CLIENT);
    assert_int_equal(h.version, 4);
    assert_int_equal(h.poll, 6);
    assert_true(h.tx_ts == rig.s.nonce && h.tx_ts != 0);
    /* Data minimization: nothing else about us. */
    assert_true(h.stratum == 0 && h.leap == 0 && h.origin_ts == 0 && h.rx_ts == 0 &&
                h.ref_ts == 0 && h.refid == 0 && h.root_delay == 0);
    assert_true(rq->to.family == CORE_AF_INET && rq->to.port == 123);
    /* Nonces differ from request to request. */
    uint64_t first = h.tx_ts;
    set_now(&rig, src_next_timer(&rig.s));
    act_list_clear(&rig.out);
    src_on_timer(&rig.s, 3, &rig.env, &rig.out, &pr);
    assert_int_equal(ntp_header_decode(rig.out.a[0].u.send.pkt, NTP_HEADER_LEN, &h), NTP_DECODE_OK);
    assert_true(h.tx_ts != first);
}

static void test_reach_register(void **state)
{
    (void)state;
    static const uint8_t want[] = {0x01, 0x03, 0x07, 0x0e, 0x1c, 0x38,
                                   0x70, 0xe0, 0xc0, 0x80, 0x00, 0x00};
    rig_init(&rig, "198.18.0.5", false, 4, 4);
    for (size_t i = 0; i < sizeof(want); i++) {
        rig_step(&rig, i < 3);
        assert_int_equal(rig.s.reach, want[i]);
        assert_int_equal(rig.events[EV_SOURCE_UNREACHABLE], i >= 10 ? 1 : 0);
    }
    assert_int_equal(rig.events[EV_SOURCE_REACHABLE], 1);
    /* Back again: one answer makes it reachable. */
    rig_step(&rig, true);
    assert_int_equal(rig.s.reach, 1);
    assert_int_equal(rig.events[EV_SOURCE_REACHABLE], 2);
}

/* Never answered: 4 periods at minpoll, then the poll doubles up to maxpoll. */
static void test_backoff_while_unreachable(void **state)
{
    (void)state;
    static const int want_poll[] = {6, 6, 6, 6, 7, 8, 9, 10, 10, 10};
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    for (size_t i = 0; i < sizeof(want_poll) / sizeof(want_poll[0]); i++) {
        int64_t before = rig.now;
        rig_step(&rig, false);
        assert_int_equal(rig.s.poll, want_poll[i]);
        if (i > 0) {
            double gap = (double)(rig.now - before) / 1e9;
            double p = ldexp(1.0, want_poll[i - 1]);
            assert_true(gap >= 0.95 * p && gap <= 1.05 * p);
        }
    }
    /* Never reachable: said once, after its first 8 silent polls. */
    assert_int_equal(rig.events[EV_SOURCE_UNREACHABLE], 1);
    /* An answer brings the poll back to minpoll. */
    rig_step(&rig, true);
    assert_int_equal(rig.s.poll, 6);
    assert_int_equal(rig.s.unanswered, 0);
    /* The discipline's poll hint also caps the back-off: an outage must not leave the
     * clock waiting maxpoll after the servers are back. */
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    rig.env.poll_hint = 8;
    for (int i = 0; i < 12; i++) {
        rig_step(&rig, false);
        assert_true(rig.s.poll <= 8);
    }
    assert_int_equal(rig.s.poll, 8);
}

/* A reachable source at poll 10 that stops answering is asked again at minpoll, so it
 * is found unreachable after minutes, not after 8 x 1024 s; then the back-off begins
 * from where its poll was. One lost answer costs one early request only. */
static void test_missed_answer_rechecks_at_minpoll(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    for (int i = 0; i < 100 && rig.s.poll < 10; i++) {
        rig_step(&rig, true);
    }
    assert_int_equal(rig.s.poll, 10);
    for (int i = 0; i < 4 && rig_step(&rig, true) == 0; i++) {
        /* up to the first period that starts at poll 10 */
    }
    /* Answered periods: a checkpoint at minpoll finds the answer and sends nothing. */
    int64_t t0 = rig.now;
    int sends = rig.sends;
    assert_int_equal(rig_step(&rig, true), 0);
    double gap = (double)(rig.now - t0) / 1e9;
    assert_true(gap > 55 && gap < 70);
    assert_int_equal(rig_step(&rig, false), 1); /* the next period; this answer is lost */
    gap = (double)(rig.now - t0) / 1e9;
    assert_true(gap > 900 && gap < 1100);
    assert_int_equal(rig.sends, sends + 1);
    /* One lost answer: asked again at the checkpoint, then the full interval again. */
    t0 = rig.now;
    assert_int_equal(rig_step(&rig, true), 1);
    gap = (double)(rig.now - t0) / 1e9;
    assert_true(gap > 55 && gap < 70);
    assert_int_equal(rig.s.unanswered, 0);
    t0 = rig.now;
    assert_int_equal(rig_step(&rig, true), 0); /* checkpoint */
    assert_int_equal(rig_step(&rig, true), 1);
    gap = (double)(rig.now - t0) / 1e9;
    assert_true(gap > 900 && gap < 1100);
    assert_int_equal(rig.s.poll, 10);
    /* Silent from now on: unreachable about 8 short periods later. */
    int64_t silent_at = rig.now;
    for (int i = 0; i < 20 && rig.events[EV_SOURCE_UNREACHABLE] == 0; i++) {
        rig_step(&rig, false);
    }
    assert_int_equal(rig.events[EV_SOURCE_UNREACHABLE], 1);
    double took = (double)(rig.now - silent_at) / 1e9;
    assert_true(took < 1024 + 8 * 70);
    /* Unreachable: no more short periods; the interval is the (backing-off) poll. */
    t0 = rig.now;
    rig_step(&rig, false);
    assert_true((double)(rig.now - t0) / 1e9 > 900);
}

/* A KoD RATE floor is respected by the re-check too. */
static void test_recheck_respects_rate_floor(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    for (int i = 0; i < 100 && rig.s.poll < 10; i++) {
        rig_step(&rig, true);
    }
    for (int i = 0; i < 4 && rig_step(&rig, true) == 0; i++) {
    }
    rig.s.poll_floor = 9;
    rig_step(&rig, false); /* a checkpoint or a period: either way now unanswered */
    int64_t t0 = rig.now;
    rig_step(&rig, false);
    rig_step(&rig, false);
    double gap = (double)(rig.now - t0) / 1e9;
    assert_true(gap > 2 * 480 && gap < 2 * 560 + 1100);
    assert_true(gap > 2 * 480);
}

/* iburst while unreachable, but only until the back-off: then one request a period. */
static void test_iburst_stops_when_backing_off(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", true, 6, 10);
    for (int period = 0; period < 12; period++) {
        int sends = rig_step(&rig, false);
        uint32_t unanswered = rig.s.unanswered; /* as the period began */
        for (int k = 0; k < 20 && rig.s.burst_left > 0; k++) {
            sends += rig_step(&rig, false);
        }
        assert_int_equal(sends, unanswered < 4 ? SRC_IBURST : 1);
    }
    assert_int_equal(rig.s.poll, 10);
}

static void test_poll_adapts(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    /* Steady, tiny offsets: up to maxpoll. */
    for (int i = 0; i < 80 && rig.s.poll < 10; i++) {
        rig_step(&rig, true);
    }
    assert_int_equal(rig.s.poll, 10);
    for (int i = 0; i < 10; i++) {
        rig_step(&rig, true);
        assert_int_equal(rig.s.poll, 10);
    }
    /* Our clock drifts away from the source (10 ms and growing): back down. */
    for (int i = 0; i < 200 && rig.s.poll > 6; i++) {
        rig.clock_error -= 0.01;
        rig_step(&rig, true);
    }
    assert_int_equal(rig.s.poll, 6);
}

/* The discipline's poll hint caps the interval (the clock wanders too much for longer
 * polls), at once when the poll is above it, but never below minpoll or a KoD floor. */
static void test_poll_hint_caps(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 4, 10);
    rig.env.poll_hint = 7;
    for (int i = 0; i < 200; i++) {
        rig_step(&rig, true);
        assert_true(rig.s.poll <= 7);
    }
    assert_int_equal(rig.s.poll, 7);
    rig.env.poll_hint = 5; /* the clock started to wander more: down at the next answer */
    rig_step(&rig, true);
    assert_int_equal(rig.s.poll, 5);
    /* ... and the next request goes out after the new interval, not the old one. */
    int64_t before = rig.now;
    rig_step(&rig, true);
    assert_true(rig.now - before <= S(34));
    rig.env.poll_hint = 2; /* never below minpoll */
    for (int i = 0; i < 5; i++) {
        rig_step(&rig, true);
    }
    assert_int_equal(rig.s.poll, 4);
    rig.s.poll_floor = 8; /* a KoD RATE asked for 256 s: the server's wish wins */
    rig.s.poll = 8;
    for (int i = 0; i < 5; i++) {
        rig_step(&rig, true);
        assert_int_equal(rig.s.poll, 8);
    }
}

static void test_iburst_timing(void **state)
{
    (void)state;
    int64_t times[16];
    int n = 0;
    rig_init(&rig, "198.18.0.5", true, 6, 10);
    int64_t start = rig.now;
    while (n < 8) {
        int k = rig_step(&rig, true);
        for (int i = 0; i < k && n < 16; i++) {
            times[n++] = rig.now - start;
        }
    }
    assert_int_equal(times[0], 0);
    for (int i = 1; i < SRC_IBURST; i++) {
        double gap = (double)(times[i] - times[i - 1]) / 1e9;
        assert_true(gap >= 1.9 && gap <= 2.1);
    }
    assert_true(times[3] <= S(7)); /* four requests within about 6 s */
    assert_true(times[SRC_IBURST - 1] <= S(11));
    /* Reachable now: the next period is one request after about 64 s. */
    double gap = (double)(times[SRC_IBURST] - times[SRC_IBURST - 1]) / 1e9;
    assert_true(gap >= 60.8 && gap <= 67.2);
    assert_true(times[SRC_IBURST + 1] - times[SRC_IBURST] > S(60));
    assert_int_equal(rig.s.reach, 7); /* three periods answered */
}

static void test_burst_when_reachable(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    rig.s.cfg.burst = true;
    assert_int_equal(rig_step(&rig, true), 1); /* unreachable: a single request */
    int sends = 0;
    int64_t t0 = rig.now;
    for (int i = 0; i < SRC_BURST; i++) {
        sends += rig_step(&rig, true);
    }
    assert_int_equal(sends, SRC_BURST);
    assert_true(rig.now - t0 < S(64 + 3 * 2 + 5)); /* all of one period */
    assert_int_equal(rig.s.reach, 3);
}

/* ---- replies ---- */

/* One open request: returns its send action (copied), T1 recorded. */
static struct act_send open_request(struct rig *r)
{
    struct src_poll_result pr;
    set_now(r, src_next_timer(&r->s));
    act_list_clear(&r->out);
    src_on_timer(&r->s, 3, &r->env, &r->out, &pr);
    assert_int_equal(r->out.n, 1);
    struct act_send rq = r->out.a[0].u.send;
    src_on_sent(&r->s, rq.seq, r->env.now.real_ns);
    return rq;
}

static void test_reply_checks(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN], bad[NTP_HEADER_LEN];
    int64_t t4;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    struct act_send rq = open_request(&rig);
    build_reply(&rig, &rq, rig.env.now.real_ns, buf, &t4);
    struct core_addr other = addr4(6);
    struct core_addr wrong_port = rq.to;
    wrong_port.port = 1234;

    assert_int_equal(deliver(&rig, rq.seq + 1, &rq.to, buf, sizeof(buf), t4), FLT_STALE);
    assert_int_equal(deliver(&rig, rq.seq - 1, &rq.to, buf, sizeof(buf), t4), FLT_STALE);
    assert_int_equal(deliver(&rig, rq.seq, &other, buf, sizeof(buf), t4), FLT_SENDER);
    assert_int_equal(deliver(&rig, rq.seq, &wrong_port, buf, sizeof(buf), t4), FLT_SENDER);
    assert_int_equal(deliver(&rig, rq.seq, NULL, buf, sizeof(buf), t4), FLT_SENDER);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, buf, 47, t4), FLT_SHORT);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, NULL, 0, t4), FLT_SHORT);
    memcpy(bad, buf, sizeof(bad));
    bad[0] = (uint8_t)((bad[0] & 0xc7) | (5 << 3));
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, bad, sizeof(bad), t4), FLT_VERSION);
    memcpy(bad, buf, sizeof(bad));
    bad[0] = (uint8_t)((bad[0] & 0xf8) | NTP_MODE_CLIENT);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, bad, sizeof(bad), t4), FLT_MODE);
    /* Spoofed: the origin is not our nonce. The request stays open. */
    memcpy(bad, buf, sizeof(bad));
    bad[24 + 7] ^= 1;
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, bad, sizeof(bad), t4), FLT_BOGUS);
    assert_int_equal(rig.s.reach, 0);
    /* The genuine answer is still taken, once. */
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, buf, sizeof(buf), t4), FLT_OK);
    assert_int_equal(rig.s.reach, 1);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, buf, sizeof(buf), t4), FLT_DUPLICATE);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, bad, sizeof(bad), t4), FLT_BOGUS);

    const int want[FLT_REASON_COUNT] = {
        [FLT_OK] = 1,      [FLT_STALE] = 2, [FLT_SENDER] = 3, [FLT_SHORT] = 2,
        [FLT_VERSION] = 1, [FLT_MODE] = 1,  [FLT_BOGUS] = 2,  [FLT_DUPLICATE] = 1};
    for (int k = 0; k < FLT_REASON_COUNT; k++) {
        assert_int_equal(rig.s.drops[k], want[k]);
    }
}

/* A reply variant for the next request: mutate(h) then deliver; returns the reason. */
static enum flt_reason reply_with(struct rig *r, void (*mutate)(struct ntp_header *h), bool sent,
                                  int64_t t4_shift)
{
    struct src_poll_result pr;
    uint8_t buf[NTP_HEADER_LEN];
    struct ntp_header h;
    int64_t t4;
    set_now(r, src_next_timer(&r->s));
    act_list_clear(&r->out);
    src_on_timer(&r->s, 3, &r->env, &r->out, &pr);
    struct act_send rq = r->out.a[r->out.n - 1].u.send;
    if (sent) {
        src_on_sent(&r->s, rq.seq, r->env.now.real_ns);
    }
    build_reply(r, &rq, r->env.now.real_ns, buf, &t4);
    assert_int_equal(ntp_header_decode(buf, sizeof(buf), &h), NTP_DECODE_OK);
    if (mutate != NULL) {
        mutate(&h);
    }
    ntp_header_encode(&h, buf);
    return deliver(r, rq.seq, &rq.to, buf, sizeof(buf), t4 + t4_shift);
}

static void leap3(struct ntp_header *h)
{
    h->leap = NTP_LEAP_UNSYNC;
}
static void stratum16(struct ntp_header *h)
{
    h->stratum = 16;
}
static void stratum0_norefid(struct ntp_header *h)
{
    h->stratum = 0;
    h->refid = 0;
}
static void zero_rx(struct ntp_header *h)
{
    h->rx_ts = 0;
}
static void zero_tx(struct ntp_header *h)
{
    h->tx_ts = 0;
}
static void t3_before_t2(struct ntp_header *h)
{
    h->tx_ts = h->rx_ts - 1000;
}
static void far_root(struct ntp_header *h)
{
    h->root_dispersion = ntp_short_from_seconds(2.0);
}

static void test_reply_sanity_reasons(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 4, 4);
    assert_int_equal(reply_with(&rig, leap3, true, 0), FLT_UNSYNC);
    assert_int_equal(rig.s.reach, 1); /* it answered: reachable, but unsynchronized */
    assert_int_equal(rig.s.leap, NTP_LEAP_UNSYNC);
    assert_int_equal(reply_with(&rig, stratum16, true, 0), FLT_UNSYNC);
    assert_int_equal(reply_with(&rig, stratum0_norefid, true, 0), FLT_UNSYNC);
    assert_int_equal(reply_with(&rig, zero_rx, true, 0), FLT_ZERO_TS);
    assert_int_equal(reply_with(&rig, zero_tx, true, 0), FLT_ZERO_TS);
    assert_int_equal(reply_with(&rig, NULL, false, 0), FLT_NOT_SENT);
    assert_int_equal(reply_with(&rig, t3_before_t2, true, 0), FLT_TIME_ORDER);
    assert_int_equal(reply_with(&rig, NULL, true, -MS(10)), FLT_TIME_ORDER); /* T4 < T1 */
    assert_int_equal(reply_with(&rig, far_root, true, 0), FLT_DISTANCE);
    rig.s.cfg.maxdelay = 0.001; /* the round trip is 2 ms */
    assert_int_equal(reply_with(&rig, NULL, true, 0), FLT_DELAY);
    rig.s.cfg.maxdelay = 0.0;
    assert_int_equal(reply_with(&rig, NULL, true, 0), FLT_OK);
    assert_int_equal(rig.s.drops[FLT_UNSYNC], 3);
    assert_int_equal(rig.s.drops[FLT_ZERO_TS], 2);
    assert_int_equal(rig.s.drops[FLT_TIME_ORDER], 2);
    assert_int_equal(rig.s.drops[FLT_OK], 1);
    assert_int_equal(rig.s.replies, 1);
}

static void test_measured_offset(void **state)
{
    (void)state;
    struct flt_estimate e;
    rig_init(&rig, "198.18.0.5", false, 4, 4);
    rig.clock_error = -0.25; /* our clock 250 ms behind: offset +0.25 */
    rig.srv.owd = 0.003;
    rig_step(&rig, true);
    assert_true(src_estimate(&rig.s, &rig.env, &e));
    assert_true(fabs(e.offset - 0.25) < 1e-6);
    assert_true(fabs(e.delay - 0.006) < 1e-6);
    assert_int_equal(rig.s.stratum, 2);
    assert_true(rig.s.refid == 0xc6120063);
}

static void rate(struct ntp_header *h)
{
    h->stratum = 0;
    h->refid = KISS("RATE");
    h->poll = 9;
}
static void deny(struct ntp_header *h)
{
    h->stratum = 0;
    h->refid = KISS("DENY");
}
static void rstr(struct ntp_header *h)
{
    h->stratum = 0;
    h->refid = KISS("RSTR");
}
static void init(struct ntp_header *h)
{
    h->stratum = 0;
    h->refid = KISS("INIT");
}

static void test_kod_rate(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", true, 6, 10);
    assert_int_equal(reply_with(&rig, rate, true, 0), FLT_KOD);
    assert_int_equal(rig.events[EV_KOD], 1);
    assert_true(rig.last_event_v[0] == (double)KISS("RATE") && rig.last_event_v[1] == 0.0);
    assert_int_equal(rig.s.poll, 9); /* the server's poll, above ours + 1 */
    assert_int_equal(rig.s.poll_floor, 9);
    assert_int_equal(rig.s.burst_left, 0); /* the iburst stops */
    assert_true(src_next_timer(&rig.s) - rig.now >= (int64_t)(0.95 * 512e9));
    assert_int_equal(rig.s.reach, 0); /* a kiss carries no time */
    /* A second RATE: at least one step slower again. */
    assert_int_equal(reply_with(&rig, rate, true, 0), FLT_KOD);
    assert_int_equal(rig.s.poll, 10);
    /* Never below the floor afterwards, even when answers are good. */
    assert_int_equal(reply_with(&rig, NULL, true, 0), FLT_OK);
    assert_true(rig.s.poll >= 10);
    assert_int_equal(rig.s.drops[FLT_KOD], 2);
}

static void test_kod_deny_rstr_and_others(void **state)
{
    (void)state;
    void (*codes[])(struct ntp_header *) = {deny, rstr};
    for (int i = 0; i < 2; i++) {
        rig_init(&rig, "198.18.0.5", true, 6, 10);
        rig_step(&rig, true);
        assert_int_equal(reply_with(&rig, codes[i], true, 0), FLT_KOD);
        assert_int_equal(rig.s.state, SRC_DENIED);
        assert_true(src_next_timer(&rig.s) == INT64_MAX);
        assert_int_equal(rig.events[EV_KOD], 1);
        assert_true(rig.last_event_v[1] == 1.0);
        struct flt_estimate e;
        assert_false(src_estimate(&rig.s, &rig.env, &e));
    }
    /* Other kiss codes are counted, nothing else. */
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    assert_int_equal(reply_with(&rig, init, true, 0), FLT_KOD);
    assert_int_equal(rig.s.state, SRC_ACTIVE);
    assert_int_equal(rig.s.poll, 6);
    assert_int_equal(rig.events[EV_KOD], 0);
}

/* A spoofed DENY (wrong origin) does nothing. */
static void test_spoofed_kod_ignored(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN];
    struct ntp_header h;
    int64_t t4;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    struct act_send rq = open_request(&rig);
    build_reply(&rig, &rq, rig.env.now.real_ns, buf, &t4);
    ntp_header_decode(buf, sizeof(buf), &h);
    deny(&h);
    h.origin_ts ^= 0x10000;
    ntp_header_encode(&h, buf);
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, buf, sizeof(buf), t4), FLT_BOGUS);
    assert_int_equal(rig.s.state, SRC_ACTIVE);
}

/* A step between send and receive: the send time moves with the clock. */
static void test_rebase_step(void **state)
{
    (void)state;
    uint8_t buf[NTP_HEADER_LEN];
    int64_t t4;
    struct flt_estimate e;
    rig_init(&rig, "198.18.0.5", false, 4, 4);
    rig.clock_error = -2.0;
    struct act_send rq = open_request(&rig);
    build_reply(&rig, &rq, rig.env.now.real_ns, buf, &t4);
    /* The clock is stepped by +2 s before the answer arrives. */
    src_rebase_step(&rig.s, 2.0);
    rig.env.frame.phase += 2.0;
    rig.clock_error = 0.0;
    assert_int_equal(deliver(&rig, rq.seq, &rq.to, buf, sizeof(buf), t4 + S(2)), FLT_OK);
    assert_true(src_estimate(&rig.s, &rig.env, &e));
    assert_true(fabs(e.offset) < 1e-6);
    assert_true(fabs(e.delay - 0.002) < 1e-6);
}

static void test_remeasure(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    for (int i = 0; i < 6; i++) {
        rig_step(&rig, true);
    }
    set_now(&rig, rig.now + S(5));
    src_remeasure(&rig.s, &rig.env);
    struct flt_estimate e;
    assert_false(src_estimate(&rig.s, &rig.env, &e)); /* old samples retired */
    int64_t t0 = rig.now;
    int n = 0;
    while (n < SRC_STEP_BURST) {
        n += rig_step(&rig, true);
    }
    assert_true(rig.now - t0 <= S(7));
    assert_true(src_estimate(&rig.s, &rig.env, &e));
    assert_int_equal(e.n, SRC_STEP_BURST);
}

/* A jump the loop did not report shows as a shift: a confirmation burst follows. */
static void test_shift_triggers_burst(void **state)
{
    (void)state;
    rig_init(&rig, "198.18.0.5", false, 6, 10);
    for (int i = 0; i < 8; i++) {
        rig_step(&rig, true);
    }
    rig.clock_error += 300.0;
    rig_step(&rig, true);
    int64_t t0 = rig.now;
    int n = 0;
    while (n < SRC_STEP_BURST) {
        n += rig_step(&rig, true);
    }
    assert_true(rig.now - t0 <= S(10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_refid),
        cmocka_unit_test(test_normalize_config),
        cmocka_unit_test(test_init_states),
        cmocka_unit_test(test_request_format),
        cmocka_unit_test(test_reach_register),
        cmocka_unit_test(test_backoff_while_unreachable),
        cmocka_unit_test(test_poll_adapts),
        cmocka_unit_test(test_poll_hint_caps),
        cmocka_unit_test(test_iburst_stops_when_backing_off),
        cmocka_unit_test(test_missed_answer_rechecks_at_minpoll),
        cmocka_unit_test(test_recheck_respects_rate_floor),
        cmocka_unit_test(test_iburst_timing),
        cmocka_unit_test(test_burst_when_reachable),
        cmocka_unit_test(test_reply_checks),
        cmocka_unit_test(test_reply_sanity_reasons),
        cmocka_unit_test(test_measured_offset),
        cmocka_unit_test(test_kod_rate),
        cmocka_unit_test(test_kod_deny_rstr_and_others),
        cmocka_unit_test(test_spoofed_kod_ignored),
        cmocka_unit_test(test_rebase_step),
        cmocka_unit_test(test_remeasure),
        cmocka_unit_test(test_shift_triggers_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
