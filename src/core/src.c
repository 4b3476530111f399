/* One time source's state machine: polling with the reach register and adaptive poll
 * interval, iburst/burst, back-off while unreachable, kiss-o'-death, requests carrying a
 * random transmit nonce, and the RFC 5905 section 8 checks each reply passes (predicates
 * in flt.c) before its sample enters the clock filter. Also address literals and the
 * reference ID (with a small MD5 for IPv6). Pure: no clock, socket or global state. */
#include "core/src.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

#define NS_PER_S 1e9
/* Poll adaptation as ntpd's clock_update "jiggle" counter (RFC 5905 A.5.5.1): an update
 * within PGATE times the noise counts +poll, a larger one -2 poll; beyond +-LIMIT the poll
 * exponent moves by one. RFC 5905 has PGATE 4 against its jitter; our noise measure
 * leaves the clock's wander out (noise_of), so 2 suffices, and in the simulator it
 * halved the RMS offset of a wandering VM clock (lan 15 -> 9 us, vmnoisy 450 -> 160 us
 * over six seeds) for about a third more requests. */
#define PGATE       2.0
#define LIMIT       30
#define NOISE_FLOOR 1e-6 /* s: timestamps are never better than this in practice */
/* Unanswered poll periods before the poll interval starts backing off. */
#define BACKOFF_AFTER 4
/* A reply's receive stamp older than this is not trusted to place the sample in
 * monotonic time; the call's own time is used instead. */
#define RX_STAMP_MAX_AGE 10.0
/* Poll periods between two bursts confirming an offset shift. */
#define SHIFT_BURST_PERIODS 4
/* Samples expire after this many poll intervals (at least MIN_MAX_AGE s). */
#define MIN_MAX_AGE 60.0

/* Kiss codes (RFC 5905 section 7.4) as host-order values of their ASCII bytes. */
#define KISS_RATE UINT32_C(0x52415445)
#define KISS_DENY UINT32_C(0x44454e59)
#define KISS_RSTR UINT32_C(0x52535452)

/* ---- address literals ---- */

/* Dotted quad: four decimal parts 0..255 without leading zeros (as inet_pton). */
static bool parse_v4(const char *s, size_t len, uint8_t out[4])
{
    int part = 0, digits = 0;
    unsigned val = 0;

    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c >= '0' && c <= '9') {
            if (digits > 0 && val == 0) {
                return false;
            }
            val = val * 10 + (unsigned)(c - '0');
            if (++digits > 3 || val > 255) {
                return false;
            }
        } else if (c == '.' && digits > 0 && part < 4) {
            out[part++] = (uint8_t)val;
            val = 0;
            digits = 0;
        } else {
            return false;
        }
    }
    return part == 4;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* One group s[0..len) of an IPv6 literal: 1-4 hex digits, or (last) a dotted quad that
 * counts as two groups. Returns the number of groups written to g, 0 on error. */
static int parse_v6_group(const char *s, size_t len, bool last, uint16_t g[2])
{
    bool dotted = false;
    for (size_t i = 0; i < len; i++) {
        dotted = dotted || s[i] == '.';
    }
    if (dotted) {
        uint8_t q[4];
        if (!last || !parse_v4(s, len, q)) {
            return 0;
        }
        g[0] = (uint16_t)(q[0] << 8 | q[1]);
        g[1] = (uint16_t)(q[2] << 8 | q[3]);
        return 2;
    }
    if (len == 0 || len > 4) {
        return 0;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        int h = hex_value(s[i]);
        if (h < 0) {
            return 0;
        }
        v = v << 4 | (unsigned)h;
    }
    g[0] = (uint16_t)v;
    return 1;
}

/* RFC 4291 section 2.2 text forms: eight groups, or fewer around one "::". */
static bool parse_v6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t groups[9];
    int n = 0, gap = -1;
    size_t i = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ':') {
            j++;
        }
        if (n > 7) {
            return false;
        }
        int k = parse_v6_group(s + i, j - i, j == len, &groups[n]);
        if (k == 0 || n + k > 8) {
            return false;
        }
        n += k;
        if (j == len) {
            break;
        }
        if (j + 1 < len && s[j + 1] == ':') {
            if (gap >= 0) {
                return false;
            }
            gap = n;
            i = j + 2;
        } else if (j + 1 == len) {
            return false;
        } else {
            i = j + 1;
        }
    }
    if (gap < 0 ? n != 8 : n > 7) {
        return false;
    }
    memset(out, 0, 16);
    int tail = gap < 0 ? 0 : n - gap;
    for (int k = 0; k < n; k++) {
        int pos = (gap >= 0 && k >= gap) ? 8 - tail + (k - gap) : k;
        out[2 * pos] = (uint8_t)(groups[k] >> 8);
        out[2 * pos + 1] = (uint8_t)groups[k];
    }
    return true;
}

bool src_parse_addr(const char *s, uint16_t port, struct core_addr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    size_t len = s != NULL ? strlen(s) : 0;

    if (len == 0 || len > 64) {
        return false;
    }
    memset(a, 0, sizeof(*a));
    a->port = port;
    if (parse_v4(s, len, a->bytes)) {
        a->family = CORE_AF_INET;
        return true;
    }
    if (s[0] == '[') {
        if (s[len - 1] != ']') {
            return false;
        }
        s++;
        len -= 2;
    }
    if (!parse_v6(s, len, a->bytes)) {
        memset(a->bytes, 0, sizeof(a->bytes));
        return false;
    }
    a->family = CORE_AF_INET6;
    if (memcmp(a->bytes, mapped, sizeof(mapped)) == 0) {
        /* core.h: IPv4-mapped addresses reach the core as IPv4. */
        memmove(a->bytes, a->bytes + 12, 4);
        memset(a->bytes + 4, 0, 12);
        a->family = CORE_AF_INET;
    }
    return true;
}

/* ---- MD5 (RFC 1321), only for IPv6 reference IDs ---- */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_shift[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

static uint32_t rotl32(uint32_t x, unsigned k)
{
    return x << k | x >> (32 - k);
}

static void md5_block(uint32_t h[4], const uint8_t blk[64])
{
    uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];

    for (int i = 0; i < 16; i++) {
        m[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    }
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g, round = i / 16;
        if (round == 0) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (round == 1) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (round == 2) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rotl32(a + f + md5_k[i] + m[g], md5_shift[round * 4 + i % 4]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void src_md5(const uint8_t *data, size_t len, uint8_t digest[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    uint8_t blk[64];
    size_t off = 0;

    for (; len - off >= 64; off += 64) {
        md5_block(h, data + off);
    }
    size_t rest = len - off;
    memset(blk, 0, sizeof(blk));
    if (rest > 0) {
        memcpy(blk, data + off, rest);
    }
    blk[rest] = 0x80;
    if (rest >= 56) {
        md5_block(h, blk);
        memset(blk, 0, sizeof(blk));
    }
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) {
        blk[56 + i] = (uint8_t)(bits >> (8 * i));
    }
    md5_block(h, blk);
    for (int i = 0; i < 16; i++) {
        digest[i] = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
    }
}

uint32_t src_refid(const struct core_addr *a)
{
    uint8_t digest[16];
    uint32_t r = 0;

    if (a->family == CORE_AF_INET) {
        memcpy(&r, a->bytes, 4);
    } else if (a->family == CORE_AF_INET6) {
        src_md5(a->bytes, 16, digest);
        memcpy(&r, digest, 4);
    }
    return r;
}

/* ---- configuration and life cycle ---- */

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

void src_normalize_config(const struct eng_source_config *in, struct eng_source_config *out)
{
    *out = *in;
    out->name[ENG_NAME_MAX - 1] = '\0';
    out->minpoll = clamp_int(in->minpoll, SRC_POLL_MIN, SRC_POLL_MAX);
    out->maxpoll = clamp_int(in->maxpoll, SRC_POLL_MIN, SRC_POLL_MAX);
    if (out->maxpoll < out->minpoll) {
        out->maxpoll = out->minpoll; /* as chrony: maxpoll follows minpoll */
    }
    if (out->port == 0) {
        out->port = SRC_DEFAULT_PORT;
    }
    if (out->version < 1 || out->version > 4) {
        out->version = 4;
    }
    if (out->pool) {
        out->maxsources = out->maxsources <= 0 ? 4 : clamp_int(out->maxsources, 1, 16);
    }
    if (!(out->maxdelay > 0.0) || !isfinite(out->maxdelay)) {
        out->maxdelay = 0.0;
    }
}

/* Interval of s seconds with +-5 % of random jitter, so that many clients started
 * together do not poll in step (the pool's vendor rules ask for randomized queries). */
static int64_t jittered_ns(double s, struct core_rng *rng)
{
    return (int64_t)(s * (0.95 + 0.1 * core_rng_uniform(rng)) * NS_PER_S);
}

static int64_t add_ns(int64_t t, int64_t d)
{
    if (d > 0 && t > INT64_MAX - d) {
        return INT64_MAX;
    }
    return t + d;
}

void src_init(struct src *s, const struct eng_source_config *cfg, int pool,
              const struct src_env *env)
{
    uint32_t seq = s->seq;
    struct core_addr a;

    memset(s, 0, sizeof(*s));
    s->seq = seq;
    s->pool = pool;
    src_normalize_config(cfg, &s->cfg);
    s->tally = ' ';
    s->leap = NTP_LEAP_UNSYNC;
    s->stratum = 16;
    s->next_poll_mono_ns = INT64_MAX;
    s->resolve_at_mono_ns = INT64_MAX;
    flt_init(&s->flt);
    if (pool >= 0) {
        s->cfg.pool = false;
        s->state = SRC_UNRESOLVED; /* a member: the engine activates it with its address */
    } else if (s->cfg.pool) {
        s->state = SRC_POOL;
        s->resolve_at_mono_ns = env->now.mono_ns;
    } else if (src_parse_addr(s->cfg.name, s->cfg.port, &a)) {
        s->literal = true;
        src_activate(s, &a, env);
    } else {
        s->state = SRC_UNRESOLVED;
        s->resolve_at_mono_ns = env->now.mono_ns;
    }
}

void src_activate(struct src *s, const struct core_addr *addr, const struct src_env *env)
{
    s->addr = *addr;
    s->addr.port = s->cfg.port;
    s->state = SRC_ACTIVE;
    s->reach = 0;
    s->poll = s->cfg.minpoll;
    s->poll_floor = s->cfg.minpoll;
    s->rate_limited = false;
    s->jiggle = 0;
    s->burst_left = 0;
    s->forced_burst = 0;
    s->unanswered = 0;
    s->periods = 0;
    s->answered = false;
    s->open = false;
    s->sent = false;
    s->nonce = 0;
    s->last_tx_ts = 0;
    s->last_rx_mono_ns = 0;
    s->tally = ' ';
    s->false_runs = 0;
    flt_init(&s->flt);
    /* iburst asks at once; otherwise within two seconds, spread out. */
    int64_t delay = s->cfg.iburst ? 0 : jittered_ns(1.0, env->rng);
    s->next_poll_mono_ns = add_ns(env->now.mono_ns, delay);
    s->period_end_mono_ns = 0;
}

void src_free(struct src *s)
{
    uint32_t seq = s->seq;

    memset(s, 0, sizeof(*s));
    s->seq = seq;
    s->state = SRC_FREE;
    s->pool = -1;
    s->next_poll_mono_ns = INT64_MAX;
    s->resolve_at_mono_ns = INT64_MAX;
    s->tally = ' ';
}

int64_t src_next_timer(const struct src *s)
{
    int64_t t = s->resolve_at_mono_ns;

    if (s->state == SRC_ACTIVE && !s->offline && s->next_poll_mono_ns < t) {
        t = s->next_poll_mono_ns;
    }
    return t;
}

void src_set_offline(struct src *s, bool offline, const struct src_env *env)
{
    bool was = s->offline;

    s->offline = offline;
    if (s->state != SRC_ACTIVE || offline || !was) {
        return;
    }
    s->burst_left = 0;
    s->period_end_mono_ns = 0;
    s->next_poll_mono_ns = env->now.mono_ns;
}

/* ---- polling ---- */

static int burst_size(struct src *s)
{
    if (s->rate_limited) {
        s->forced_burst = 0;
        return 1;
    }
    if (s->forced_burst > 0) {
        int n = s->forced_burst;
        s->forced_burst = 0;
        return n;
    }
    /* iburst while unreachable, but only until the back-off begins: a server that
     * stays silent gets one request per (longer) period, not six. */
    if (s->reach == 0 && s->cfg.iburst && s->unanswered < BACKOFF_AFTER) {
        return SRC_IBURST;
    }
    if (s->reach != 0 && s->cfg.burst) {
        return SRC_BURST;
    }
    return 1;
}

/* The longest poll interval now: maxpoll, or the discipline's hint when that is
 * shorter (polling slower than the clock's wander allows only lets it drift between
 * samples), but never below the floor (minpoll, raised by a KoD RATE: the server's
 * wish comes first). */
static int poll_ceiling(const struct src *s, const struct src_env *env)
{
    int hi = s->cfg.maxpoll > s->poll_floor ? s->cfg.maxpoll : s->poll_floor;
    int hint = env->poll_hint > s->poll_floor ? env->poll_hint : s->poll_floor;
    return hi < hint ? hi : hint;
}

/* RFC 5905 section 13 (poll): the reach register shifts once per poll period, not per
 * request of a burst. Unanswered periods back the poll off (still trying), up to the
 * same ceiling as the adaptation: beyond the discipline's hint the clock drifts more
 * than the network's noise, so after an outage (a firewall change) the sources must be
 * heard again within that interval, not a maxpoll of 17 minutes later. */
static void start_period(struct src *s, int idx, const struct src_env *env, struct act_list *out,
                         struct src_poll_result *r)
{
    bool was_reachable = s->reach != 0;

    if (s->periods > 0 && !s->answered) {
        s->unanswered++;
    }
    s->periods++;
    s->answered = false;
    s->adapted = false;
    s->reach = (uint8_t)(s->reach << 1);
    /* Reachable before and silent for 8 polls now, or silent for the first 8 polls
     * since it started: a source that never answers is as loud as one that stopped. */
    bool never = !was_reachable && s->unanswered == 8 && s->periods == s->unanswered + 1;
    if ((was_reachable && s->reach == 0) || never) {
        r->became_unreachable = was_reachable;
        act_event(out, EV_SOURCE_UNREACHABLE, ACT_SEV_WARNING, idx, s->cfg.name, 8, 0);
    }
    if (s->unanswered >= BACKOFF_AFTER && s->poll < poll_ceiling(s, env)) {
        s->poll++;
    }
    s->burst_left = burst_size(s);
}

/* A 48-byte client request (mode 3) carrying only version, mode, poll and the transmit
 * nonce (draft-ietf-ntp-data-minimization: nothing else about us is revealed). */
static void send_request(struct src *s, int idx, const struct src_env *env, struct act_list *out)
{
    struct ntp_header h;

    s->seq++;
    s->nonce = core_rng_next(env->rng);
    if (s->nonce == 0) {
        s->nonce = 1;
    }
    s->open = true;
    s->sent = false;
    memset(&h, 0, sizeof(h));
    h.version = s->cfg.version;
    h.mode = NTP_MODE_CLIENT;
    h.poll = (int8_t)s->poll;
    h.tx_ts = s->nonce;
    struct act *a = act_push(out, ACT_SEND);
    if (a == NULL) {
        return;
    }
    a->u.send.source = idx;
    a->u.send.seq = s->seq;
    a->u.send.to = s->addr;
    ntp_header_encode(&h, a->u.send.pkt);
    a->u.send.len = NTP_HEADER_LEN;
}

static double burst_spacing(const struct src *s)
{
    double p = ldexp(1.0, s->cfg.minpoll);
    return p < SRC_BURST_SPACING ? p : SRC_BURST_SPACING;
}

/* A reachable source is checked on at the floor of its poll (minpoll, or a KoD RATE's,
 * at least SRC_RECHECK_MIN s): a period whose request went unanswered ends there and the
 * next one starts, instead of after a whole poll interval of up to 17 minutes. One
 * lost packet costs one early request, and a source that went silent is unreachable
 * after 8 short periods (minutes) instead of 8 long ones (2.3 hours at poll 10), so
 * sync loss and holdover start when the sources are really gone. Unreachable sources
 * back off (start_period). Returns the checkpoint's delay (s), or INFINITY for none. */
static double recheck_after(const struct src *s)
{
    int floor = s->cfg.minpoll > s->poll_floor ? s->cfg.minpoll : s->poll_floor;
    double check = ldexp(1.0, floor);

    if (s->reach == 0 || s->rate_limited) {
        return INFINITY;
    }
    return check > SRC_RECHECK_MIN ? check : SRC_RECHECK_MIN;
}

static void poll_now(struct src *s, int idx, const struct src_env *env, struct act_list *out,
                     struct src_poll_result *r)
{
    if (s->burst_left <= 0) {
        start_period(s, idx, env, out, r);
    }
    send_request(s, idx, env, out);
    r->polled = true;
    s->burst_left--;
    double wait = s->burst_left > 0 ? burst_spacing(s) : ldexp(1.0, s->poll);
    s->next_poll_mono_ns = add_ns(env->now.mono_ns, jittered_ns(wait, env->rng));
    s->period_end_mono_ns = 0;
    double check = recheck_after(s);
    if (s->burst_left <= 0 && check < wait) {
        s->period_end_mono_ns = s->next_poll_mono_ns;
        s->next_poll_mono_ns = add_ns(env->now.mono_ns, jittered_ns(check, env->rng));
    }
}

void src_on_timer(struct src *s, int idx, const struct src_env *env, struct act_list *out,
                  struct src_poll_result *r)
{
    memset(r, 0, sizeof(*r));
    if (s->resolve_at_mono_ns <= env->now.mono_ns) {
        r->resolve = true;
    }
    if (s->state == SRC_ACTIVE && !s->offline && s->next_poll_mono_ns <= env->now.mono_ns) {
        if (s->period_end_mono_ns > env->now.mono_ns && s->answered) {
            /* Checkpoint passed: the period runs its full length. */
            s->next_poll_mono_ns = s->period_end_mono_ns;
            s->period_end_mono_ns = 0;
            return;
        }
        poll_now(s, idx, env, out, r);
    }
}

void src_on_sent(struct src *s, uint32_t seq, int64_t tx_real_ns)
{
    if (s->state == SRC_ACTIVE && seq == s->seq && s->open) {
        s->t1_ns = tx_real_ns;
        s->sent = true;
    }
}

/* ---- replies ---- */

static bool same_sender(const struct src *s, const struct core_addr *from)
{
    size_t n = s->addr.family == CORE_AF_INET ? 4 : 16;

    return from != NULL && from->family == s->addr.family && from->port == s->addr.port &&
           memcmp(from->bytes, s->addr.bytes, n) == 0;
}

static enum flt_reason decode(const uint8_t *buf, size_t len, struct ntp_header *h)
{
    switch (ntp_header_decode(buf, len, h)) {
    case NTP_DECODE_OK:
        return FLT_OK;
    case NTP_DECODE_BAD_VERSION:
        return FLT_VERSION;
    default:
        return FLT_SHORT;
    }
}

/* The request match and the anti-spoofing tests, in RFC 5905 section 8 order; on
 * FLT_OK the request is closed (one answer per request). */
static enum flt_reason check_match(struct src *s, uint32_t seq, const struct core_addr *from,
                                   const uint8_t *buf, size_t len, struct ntp_header *h)
{
    if (s->state != SRC_ACTIVE || seq != s->seq) {
        return FLT_STALE;
    }
    if (!same_sender(s, from)) {
        return FLT_SENDER;
    }
    enum flt_reason why = decode(buf, len, h);
    if (why != FLT_OK) {
        return why;
    }
    if (flt_bad_mode(h)) {
        return FLT_MODE;
    }
    if (flt_is_bogus(h->origin_ts, s->nonce)) {
        return FLT_BOGUS;
    }
    if (flt_is_duplicate(!s->open, h->tx_ts, s->last_tx_ts)) {
        return FLT_DUPLICATE;
    }
    s->open = false;
    s->last_tx_ts = h->tx_ts;
    return FLT_OK;
}

/* Section 7.4. RATE: poll less often, at least as slowly as the server asks; DENY and
 * RSTR: this server refuses us, stop using it. Other codes carry no instruction. */
static void handle_kiss(struct src *s, int idx, const struct ntp_header *h,
                        const struct src_env *env, struct act_list *out, struct src_reply_result *r)
{
    r->kiss = h->refid;
    if (h->refid == KISS_RATE) {
        int floor = s->poll + 1 > h->poll ? s->poll + 1 : h->poll;
        floor = clamp_int(floor, s->cfg.minpoll, SRC_POLL_MAX);
        if (floor > s->poll_floor) {
            s->poll_floor = floor;
        }
        if (s->poll < s->poll_floor) {
            s->poll = s->poll_floor;
        }
        s->burst_left = 0;
        s->forced_burst = 0;
        s->rate_limited = true;
        s->next_poll_mono_ns = add_ns(env->now.mono_ns, jittered_ns(ldexp(1.0, s->poll), env->rng));
        s->period_end_mono_ns = 0;
        act_event(out, EV_KOD, ACT_SEV_WARNING, idx, s->cfg.name, (double)h->refid, 0);
    } else if (h->refid == KISS_DENY || h->refid == KISS_RSTR) {
        s->state = SRC_DENIED;
        s->next_poll_mono_ns = INT64_MAX;
        s->reach = 0;
        s->tally = ' ';
        r->denied = true;
        act_event(out, EV_KOD, ACT_SEV_ERR, idx, s->cfg.name, (double)h->refid, 1);
    }
}

/* The server answered us (origin verified): reach, header fields for the views. A source
 * that comes back from unreachable restarts at its poll floor. */
static void note_answer(struct src *s, int idx, const struct ntp_header *h,
                        const struct src_env *env, struct act_list *out, struct src_reply_result *r)
{
    if (s->reach == 0) {
        r->became_reachable = true;
        s->poll = s->poll_floor;
        s->jiggle = 0;
        act_event(out, EV_SOURCE_REACHABLE, ACT_SEV_INFO, idx, s->cfg.name, 0, 0);
    }
    s->reach |= 1;
    s->answered = true;
    s->unanswered = 0;
    s->leap = h->leap;
    s->stratum = h->stratum;
    s->precision = h->precision;
    s->refid = h->refid;
    s->root_delay = ntp_short_to_seconds(h->root_delay);
    s->root_dispersion = ntp_short_to_seconds(h->root_dispersion);
    s->last_rx_mono_ns = env->now.mono_ns;
}

static double max_age_s(const struct src *s)
{
    double a = FLT_LEN * ldexp(1.0, s->poll);
    return a > MIN_MAX_AGE ? a : MIN_MAX_AGE;
}

/* Monotonic time of the receive stamp: the call's time minus how long ago the stamp was
 * taken, when that is plausible. */
static int64_t rx_mono_ns(const struct src_env *env, int64_t rx_real_ns)
{
    double ago = ((double)env->now.real_ns - (double)rx_real_ns) / NS_PER_S;

    if (ago > 0.0 && ago <= RX_STAMP_MAX_AGE) {
        return env->now.mono_ns - (int64_t)(ago * NS_PER_S);
    }
    return env->now.mono_ns;
}

/* The remaining section 8 tests, then the measurement and its own limits. */
static enum flt_reason measure(const struct src *s, const struct ntp_header *h, int64_t rx_real_ns,
                               const struct src_env *env, struct flt_meas *m)
{
    if (flt_is_unsynchronized(h)) {
        return FLT_UNSYNC;
    }
    if (flt_has_zero_timestamp(h)) {
        return FLT_ZERO_TS;
    }
    if (!s->sent) {
        return FLT_NOT_SENT;
    }
    struct flt_times t = {.t1_ns = s->t1_ns, .t2 = h->rx_ts, .t3 = h->tx_ts, .t4_ns = rx_real_ns};
    if (flt_times_disordered(&t)) {
        return FLT_TIME_ORDER;
    }
    flt_measure(&t, h->precision, env->precision_log2, m);
    if (flt_exceeds_delay(m->delay, s->cfg.maxdelay)) {
        return FLT_DELAY;
    }
    if (flt_exceeds_distance(s->root_delay, s->root_dispersion, m->delay, m->dispersion,
                             env->maxdistance)) {
        return FLT_DISTANCE;
    }
    return FLT_OK;
}

/* The measurement noise the poll adaptation compares offsets with: the jitter, but no
 * more than the delay spread (a path's noise shows in its delays; a jitter beyond that is
 * the clock wandering between polls, which calls for shorter polls, not longer), and at
 * least the precision or NOISE_FLOOR. */
static double noise_of(const struct flt_estimate *e, const struct src_env *env)
{
    double n = e->jitter < e->delay_spread ? e->jitter : e->delay_spread;
    double floor = ldexp(1.0, env->precision_log2);
    floor = floor > NOISE_FLOOR ? floor : NOISE_FLOOR;
    return n > floor ? n : floor;
}

/* A shorter poll takes effect now, not after the longer interval already planned: the
 * samples expire after FLT_LEN polls of the new length (max_age_s), which a next
 * request planned at the old, far longer interval could arrive too late for. */
static void lower_poll(struct src *s, int poll, const struct src_env *env)
{
    s->poll = poll;
    int64_t sooner = add_ns(env->now.mono_ns, jittered_ns(ldexp(1.0, s->poll), env->rng));
    if (s->period_end_mono_ns != 0) {
        /* A checkpoint is pending: the end it leads to comes sooner. */
        if (sooner < s->period_end_mono_ns) {
            s->period_end_mono_ns = sooner > s->next_poll_mono_ns ? sooner : s->next_poll_mono_ns;
        }
    } else if (s->burst_left <= 0 && sooner < s->next_poll_mono_ns) {
        s->next_poll_mono_ns = sooner;
    }
}

/* Poll adaptation once per poll period (see PGATE/LIMIT): offsets within PGATE times the
 * noise let the interval grow towards maxpoll, but only while the frequency is known
 * well enough to carry the clock through the longer interval (skew * next interval
 * within the gate, as chrony keeps polling fast until its regression is good); larger
 * offsets shrink it towards the floor. So a wandering clock settles where the wander
 * over one poll matches the path's noise (the Allan intercept). */
static void adapt_poll(struct src *s, const struct flt_estimate *e, const struct src_env *env)
{
    if (s->adapted) {
        return;
    }
    s->adapted = true;
    int hi = poll_ceiling(s, env);
    if (s->poll > hi) {
        lower_poll(s, hi, env);
        s->jiggle = 0;
        return;
    }
    int w = s->poll > 1 ? s->poll : 1;
    double gate = PGATE * noise_of(e, env);
    if (fabs(e->offset) < gate) {
        if (env->frame.skew * ldexp(1.0, s->poll + 1) >= gate) {
            return; /* steady, but the frequency is not good enough yet */
        }
        s->jiggle += w;
        if (s->jiggle > LIMIT) {
            s->jiggle = 0;
            s->poll += s->poll < hi ? 1 : 0;
        }
        return;
    }
    s->jiggle -= 2 * w;
    if (s->jiggle < -LIMIT) {
        s->jiggle = 0;
        if (s->poll > s->poll_floor) {
            lower_poll(s, s->poll - 1, env);
        }
    }
}

/* The offset moved beyond every error bound: a jump of our clock the loop did not see,
 * or of the server's. A short burst confirms or refutes it within seconds instead of
 * polls (at most once every SHIFT_BURST_PERIODS poll periods, never inside a burst, never
 * to a server that asked us to slow down). */
static void confirm_shift(struct src *s, const struct src_env *env)
{
    if (s->burst_left > 0 || s->rate_limited ||
        (s->shift_period != 0 && s->periods - s->shift_period < SHIFT_BURST_PERIODS)) {
        return;
    }
    s->shift_period = s->periods;
    s->forced_burst = SRC_STEP_BURST;
    s->next_poll_mono_ns = add_ns(env->now.mono_ns, jittered_ns(burst_spacing(s), env->rng));
    s->period_end_mono_ns = 0;
}

static void add_sample(struct src *s, const struct flt_meas *m, int64_t rx_real_ns,
                       const struct src_env *env, struct src_reply_result *r)
{
    struct flt_sample smp;
    struct flt_estimate e;
    double precision = ldexp(1.0, env->precision_log2);

    /* Stored raw: offset + the correction the clock had received when it was taken. */
    smp.mono_ns = rx_mono_ns(env, rx_real_ns);
    smp.offset = m->offset + env->frame.phase -
                 env->freq * (double)(env->now.mono_ns - smp.mono_ns) / NS_PER_S;
    smp.delay = m->delay;
    smp.dispersion = m->dispersion;
    r->verdict = flt_add(&s->flt, &smp, &env->frame, precision, max_age_s(s));
    s->replies++;
    if (r->verdict == FLT_SHIFT) {
        confirm_shift(s, env);
    }
    if (flt_estimate(&s->flt, &env->frame, precision, max_age_s(s), &e)) {
        adapt_poll(s, &e, env);
    }
}

void src_on_reply(struct src *s, int idx, uint32_t seq, const struct core_addr *from,
                  const uint8_t *buf, size_t len, int64_t rx_real_ns, const struct src_env *env,
                  struct act_list *out, struct src_reply_result *r)
{
    struct ntp_header h;
    struct flt_meas m;

    memset(r, 0, sizeof(*r));
    m.offset = m.delay = m.dispersion = NAN;
    r->reason = check_match(s, seq, from, buf, len, &h);
    if (r->reason == FLT_OK && flt_is_kiss(&h) && h.refid != 0) {
        handle_kiss(s, idx, &h, env, out, r);
        r->reason = FLT_KOD;
    } else if (r->reason == FLT_OK) {
        note_answer(s, idx, &h, env, out, r);
        r->reason = measure(s, &h, rx_real_ns, env, &m);
        if (r->reason == FLT_OK) {
            add_sample(s, &m, rx_real_ns, env, r);
        }
    }
    s->drops[r->reason]++;
    s->last_meas = m;
    s->last_reason = (uint8_t)r->reason;
}

bool src_estimate(const struct src *s, const struct src_env *env, struct flt_estimate *e)
{
    if (s->state != SRC_ACTIVE) {
        return false;
    }
    return flt_estimate(&s->flt, &env->frame, ldexp(1.0, env->precision_log2), max_age_s(s), e);
}

void src_rebase_step(struct src *s, double step)
{
    double ns = step * NS_PER_S;

    if (!s->sent || !isfinite(ns) || fabs(ns) > 9e18) {
        return;
    }
    int64_t d = (int64_t)llround(ns);
    if ((d > 0 && s->t1_ns > INT64_MAX - d) || (d < 0 && s->t1_ns < INT64_MIN - d)) {
        s->sent = false; /* cannot be represented: the answer will be dropped */
        return;
    }
    s->t1_ns += d;
}

void src_remeasure(struct src *s, const struct src_env *env)
{
    if (s->state != SRC_ACTIVE) {
        return;
    }
    flt_restart(&s->flt, env->now.mono_ns);
    s->forced_burst = SRC_STEP_BURST;
    s->burst_left = 0;
    s->next_poll_mono_ns = env->now.mono_ns;
    s->period_end_mono_ns = 0;
}
