/* Per-client rate limiting for the server in a fixed-size table: memory never grows
 * with the number of clients, whatever addresses they send from. Clients are keyed by
 * prefix (/32 IPv4, /64 IPv6 by default), hashed with a secret seed so an attacker
 * cannot aim collisions; when a bucket is full the least recently seen entry goes,
 * sparing clients that are being limited right now (forgetting one would hand it a
 * fresh burst).
 * Pure: time and randomness are inputs. */
#ifndef TSYNC_RLIM_H
#define TSYNC_RLIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* chrony "ratelimit interval I burst B leak L kod K" and ntpd "discard average A
 * minimum M" in one model: each client earns one request every 2^interval_log2 s up to
 * burst requests in hand; a request with none in hand is limited. */
struct rlim_params {
    int interval_log2;  /* mean spacing allowed, log2 s (-4..12; chrony/ntpd default 3) */
    int burst;          /* requests a client may send at once (1..255; default 8) */
    int leak_log2;      /* answer 1 in 2^leak of limited requests anyway (0..4; default 2;
                           0 answers none) so a spoofed victim still gets time */
    int kod_log2;       /* of limited requests from a client, send KoD RATE to 1 in
                           2^kod_log2 (0 = never send KoD; ntpd's kod flag maps to 1) */
    double min_spacing; /* ntpd discard minimum: requests closer than this are limited
                           regardless of tokens (seconds, 0 = none) */
    uint8_t prefix_v4;  /* key length for IPv4 clients (default 32) */
    uint8_t prefix_v6;  /* key length for IPv6 clients (default 64) */
};

/* chrony's ratelimit defaults (interval 3, burst 8, leak 2, kod off), /32 and /64. */
void rlim_params_default(struct rlim_params *p);

enum rlim_verdict {
    RLIM_PASS = 0, /* answer normally */
    RLIM_DROP,     /* limited: drop silently */
    RLIM_KOD,      /* limited: answer with a KoD RATE (already rate-limited itself) */
};

/* One table slot; opaque to callers, who only provide storage for n of them. The token
 * bucket is kept as time owed (GCRA form), exact in nanoseconds: a client holds
 * burst - backlog/interval tokens, so no fraction of a token is lost between requests. */
struct rlim_entry {
    uint64_t key;         /* hashed client prefix, 0 = free */
    int64_t last_mono_ns; /* last request seen (limited or not) */
    int64_t backlog_ns;   /* interval time owed at last_mono_ns, 0..burst * interval */
    uint32_t limited;     /* limited requests since the last token pass, for KoD */
};

struct rlim {
    struct rlim_params p;
    struct rlim_entry *table;
    size_t n; /* power of two */
    uint64_t hash_key[2];
    struct core_rng rng;
    uint64_t clients_seen; /* distinct client prefixes inserted (counting re-insertions) */
};

/* table must hold n entries (n a power of two >= 16); it is zeroed here. seed keys the
 * hash and the leak choices. Out-of-range params are clamped; a smaller n or one that is
 * not a power of two uses the largest power of two below it (n == 0: nothing is limited). */
void rlim_init(struct rlim *r, const struct rlim_params *p, struct rlim_entry *table, size_t n,
               uint64_t seed);

/* Accounts one request from addr at monotonic time mono_ns (ns, any origin; a jump
 * backwards earns nothing) and says what to do. */
enum rlim_verdict rlim_check(struct rlim *r, const struct core_addr *addr, int64_t mono_ns);

/* Same, with the KoD fraction of this one client given as kod_log2 (0 = this client never
 * gets RLIM_KOD) instead of p.kod_log2: ntpd grants KoD per restrict line. */
enum rlim_verdict rlim_check_kod(struct rlim *r, const struct core_addr *addr, int64_t mono_ns,
                                 int kod_log2);

/* SipHash-2-4 (Aumasson and Bernstein) of msg under the 128-bit key (key[0] holds key
 * bytes 0-7 little-endian, key[1] bytes 8-15); exposed for its test vectors. */
uint64_t rlim_siphash24(const uint64_t key[2], const uint8_t *msg, size_t len);

#endif
