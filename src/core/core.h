/* Value types shared by every part of the sans-IO core: network addresses as plain
 * bytes (the core never sees a sockaddr) and the seeded PRNG that replaces every
 * source of randomness, so that the simulator replays a run exactly from its seed. */
#ifndef TSYNC_CORE_H
#define TSYNC_CORE_H

#include <stdbool.h>
#include <stdint.h>

enum core_family {
    CORE_AF_NONE = 0,
    CORE_AF_INET = 4,
    CORE_AF_INET6 = 6,
};

/* An IPv4 address uses bytes[0..3]; IPv6 all 16, in network order. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) are turned into IPv4 before they reach the core. */
struct core_addr {
    uint8_t family; /* enum core_family */
    uint8_t bytes[16];
    uint16_t port; /* host order; 0 when unknown or irrelevant */
};

/* "Now" as the caller read it: the system (realtime) clock the engine disciplines and a
 * monotonic clock for scheduling, both in nanoseconds. The core never reads a clock. */
struct core_time {
    int64_t real_ns; /* CLOCK_REALTIME, Unix epoch */
    int64_t mono_ns; /* CLOCK_MONOTONIC */
};

/* xoshiro256** state: fast, small and good enough for poll jitter, timestamp fuzz and
 * rate-limit leak decisions. Never for keys or nonces. */
struct core_rng {
    uint64_t s[4];
};

/* Seeds the generator (any seed, 0 included, gives a valid state). */
void core_rng_seed(struct core_rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t core_rng_next(struct core_rng *r);

/* Uniform double in [0, 1). */
double core_rng_uniform(struct core_rng *r);

#endif
