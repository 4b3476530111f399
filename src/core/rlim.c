/* Per-client rate limiting in a fixed, caller-provided table: set-associative buckets
 * chosen by a keyed SipHash of the client prefix, a token bucket per client (kept as
 * time owed), KoD and leak fractions of the limited requests. Pure: monotonic time and
 * the seed are inputs; nothing is allocated, so memory never grows with the clients. */
#include "core/rlim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NS_PER_S          INT64_C(1000000000)
#define RLIM_WAYS         8 /* entries per bucket: a client outlives 7 newcomers to its bucket */
#define MIN_SPACING_MAX_S 1e6

void rlim_params_default(struct rlim_params *p)
{
    memset(p, 0, sizeof(*p));
    p->interval_log2 = 3;
    p->burst = 8;
    p->leak_log2 = 2;
    p->kod_log2 = 0;
    p->min_spacing = 0.0;
    p->prefix_v4 = 32;
    p->prefix_v6 = 64;
}

static int clamp_int(int v, int lo, int hi)
{
    if (v < lo) {
        return lo;
    }
    return v > hi ? hi : v;
}

/* ---- SipHash-2-4 ---------------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t load_le64(const uint8_t *b, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13) ^ v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17) ^ v[2];
    v[2] = rotl64(v[2], 32);
}

static void sip_absorb(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sip_round(v);
    sip_round(v);
    v[0] ^= m;
}

uint64_t rlim_siphash24(const uint64_t key[2], const uint8_t *msg, size_t len)
{
    uint64_t v[4] = {
        key[0] ^ UINT64_C(0x736f6d6570736575),
        key[1] ^ UINT64_C(0x646f72616e646f6d),
        key[0] ^ UINT64_C(0x6c7967656e657261),
        key[1] ^ UINT64_C(0x7465646279746573),
    };
    size_t full = len - len % 8;

    for (size_t i = 0; i < full; i += 8) {
        sip_absorb(v, load_le64(msg + i, 8));
    }
    /* Last block: the remaining bytes with the message length in the top byte. */
    sip_absorb(v, load_le64(msg + full, len - full) | (uint64_t)(len & 0xff) << 56);
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++) {
        sip_round(v);
    }
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- table ---------------------------------------------------------------------- */

static size_t floor_pow2(size_t n)
{
    size_t p = 1;

    if (n == 0) {
        return 0;
    }
    while (p <= n / 2) {
        p *= 2;
    }
    return p;
}

static size_t bucket_ways(const struct rlim *r)
{
    return r->n < RLIM_WAYS ? r->n : RLIM_WAYS;
}

static int64_t interval_ns(const struct rlim *r)
{
    int k = r->p.interval_log2;
    /* 1e9 = 2^9 * 1953125, so every shift down to -9 is exact. */
    return k >= 0 ? NS_PER_S << k : NS_PER_S >> -k;
}

static int64_t min_spacing_ns(const struct rlim *r)
{
    return (int64_t)(r->p.min_spacing * (double)NS_PER_S);
}

void rlim_init(struct rlim *r, const struct rlim_params *p, struct rlim_entry *table, size_t n,
               uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->p = *p;
    r->p.interval_log2 = clamp_int(p->interval_log2, -4, 12);
    r->p.burst = clamp_int(p->burst, 1, 255);
    r->p.leak_log2 = clamp_int(p->leak_log2, 0, 16);
    r->p.kod_log2 = clamp_int(p->kod_log2, 0, 16);
    /* Written so that NaN and negative values turn the minimum off. */
    if (!(p->min_spacing > 0.0)) {
        r->p.min_spacing = 0.0;
    } else if (p->min_spacing > MIN_SPACING_MAX_S) {
        r->p.min_spacing = MIN_SPACING_MAX_S;
    }
    r->p.prefix_v4 = p->prefix_v4 > 32 ? 32 : p->prefix_v4;
    r->p.prefix_v6 = p->prefix_v6 > 128 ? 128 : p->prefix_v6;

    r->table = table;
    r->n = table != NULL ? floor_pow2(n) : 0;
    if (r->n > 0) {
        memset(table, 0, r->n * sizeof(*table));
    }
    core_rng_seed(&r->rng, seed);
    r->hash_key[0] = core_rng_next(&r->rng);
    r->hash_key[1] = core_rng_next(&r->rng);
}

/* The client's prefix (family, length, masked address bytes) hashed under the secret
 * key; 0 marks a free slot, so it is never returned. */
static uint64_t client_key(const struct rlim *r, const struct core_addr *addr)
{
    bool v4 = addr->family == CORE_AF_INET;
    unsigned addr_len = v4 ? 4 : 16;
    unsigned prefix = v4 ? r->p.prefix_v4 : r->p.prefix_v6;
    uint8_t msg[18] = {addr->family, (uint8_t)prefix};

    for (unsigned i = 0; i < addr_len && i * 8 < prefix; i++) {
        unsigned keep = prefix - i * 8;
        uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xffu << (8 - keep));
        msg[2 + i] = addr->bytes[i] & mask;
    }
    uint64_t h = rlim_siphash24(r->hash_key, msg, 2 + addr_len);
    return h != 0 ? h : 1;
}

/* Time from last to now in ns; 0 when now is not later (monotonic time jumped back),
 * computed without signed overflow for any pair of readings. */
static int64_t elapsed_since(int64_t last, int64_t now)
{
    if (now <= last) {
        return 0;
    }
    uint64_t d = (uint64_t)now - (uint64_t)last;
    return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

static int64_t backlog_at(const struct rlim_entry *e, int64_t now)
{
    int64_t el = elapsed_since(e->last_mono_ns, now);
    return el >= e->backlog_ns ? 0 : e->backlog_ns - el;
}

/* A client being limited right now: out of tokens, or limited since its last served
 * request and still owing time. Forgetting it would hand it a fresh burst, so a flood of
 * one-off addresses must not push it out. The protection ends by itself once the
 * client has been quiet for burst * interval (it then owes nothing). */
static bool is_protected(const struct rlim *r, const struct rlim_entry *e, int64_t now)
{
    int64_t backlog = backlog_at(e, now);
    int64_t interval = interval_ns(r);

    if (backlog + interval > interval * r->p.burst) {
        return true;
    }
    return e->limited > 0 && backlog > 0;
}

/* Victim in a full bucket: the least recently seen entry that is not protected, or the
 * least recently seen of all when every entry is. */
static struct rlim_entry *pick_victim(const struct rlim *r, struct rlim_entry *bucket, size_t ways,
                                      int64_t now)
{
    struct rlim_entry *oldest = &bucket[0];
    struct rlim_entry *oldest_open = NULL;

    for (size_t i = 0; i < ways; i++) {
        struct rlim_entry *e = &bucket[i];
        if (e->last_mono_ns < oldest->last_mono_ns) {
            oldest = e;
        }
        if (!is_protected(r, e, now) &&
            (oldest_open == NULL || e->last_mono_ns < oldest_open->last_mono_ns)) {
            oldest_open = e;
        }
    }
    return oldest_open != NULL ? oldest_open : oldest;
}

/* The client's entry, inserted fresh (full burst, nothing owed) when absent; *fresh
 * tells which. */
static struct rlim_entry *find_or_insert(struct rlim *r, uint64_t key, int64_t now, bool *fresh)
{
    size_t ways = bucket_ways(r);
    size_t n_buckets = r->n / ways;
    struct rlim_entry *bucket = &r->table[(size_t)(key % n_buckets) * ways];
    struct rlim_entry *free_slot = NULL;

    *fresh = false;
    for (size_t i = 0; i < ways; i++) {
        if (bucket[i].key == key) {
            return &bucket[i];
        }
        if (bucket[i].key == 0 && free_slot == NULL) {
            free_slot = &bucket[i];
        }
    }
    struct rlim_entry *e = free_slot != NULL ? free_slot : pick_victim(r, bucket, ways, now);
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->last_mono_ns = now;
    r->clients_seen++;
    *fresh = true;
    return e;
}

/* A limited request: every 2^kod_log2-th of them (the first one included) from this
 * client gets a KoD, so KoDs are limited too; of the rest, 1 in 2^leak_log2 chosen at
 * random is answered anyway (chrony's leak), the others are dropped. */
static enum rlim_verdict limited_verdict(struct rlim *r, struct rlim_entry *e, int kod_log2)
{
    uint32_t count = e->limited;

    if (e->limited < UINT32_MAX) {
        e->limited++;
    }
    if (kod_log2 > 0 && (count & ((UINT32_C(1) << kod_log2) - 1)) == 0) {
        return RLIM_KOD;
    }
    if (r->p.leak_log2 > 0 &&
        (core_rng_next(&r->rng) & ((UINT64_C(1) << r->p.leak_log2) - 1)) == 0) {
        return RLIM_PASS;
    }
    return RLIM_DROP;
}

enum rlim_verdict rlim_check_kod(struct rlim *r, const struct core_addr *addr, int64_t mono_ns,
                                 int kod_log2)
{
    if (r->n == 0 || (addr->family != CORE_AF_INET && addr->family != CORE_AF_INET6)) {
        return RLIM_PASS;
    }
    bool fresh;
    struct rlim_entry *e = find_or_insert(r, client_key(r, addr), mono_ns, &fresh);
    int64_t elapsed = elapsed_since(e->last_mono_ns, mono_ns);
    int64_t interval = interval_ns(r);
    int64_t capacity = interval * r->p.burst;
    int64_t backlog = backlog_at(e, mono_ns);

    e->last_mono_ns = mono_ns;
    e->backlog_ns = backlog;
    /* ntpd's discard minimum: too close to the previous request, whatever the tokens. */
    bool too_close = !fresh && r->p.min_spacing > 0.0 && elapsed < min_spacing_ns(r);
    if (!too_close && backlog + interval <= capacity) {
        e->backlog_ns = backlog + interval;
        e->limited = 0;
        return RLIM_PASS;
    }
    return limited_verdict(r, e, clamp_int(kod_log2, 0, 16));
}

enum rlim_verdict rlim_check(struct rlim *r, const struct core_addr *addr, int64_t mono_ns)
{
    return rlim_check_kod(r, addr, mono_ns, r->p.kod_log2);
}
