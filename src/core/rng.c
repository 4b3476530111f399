/* The core's only source of randomness: xoshiro256** (Blackman and Vigna), seeded
 * through splitmix64 so that any 64-bit seed, 0 included, gives a usable state. The
 * state lives in the caller's struct core_rng; this file holds no data of its own.
 * Not for keys or nonces: those come from an injected CSPRNG. */
#include "core/core.h"

#include <stdint.h>

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One step of splitmix64: a bijection of the counter, so four successive outputs are
 * four distinct values and never all zero (the one state xoshiro cannot leave). */
static uint64_t splitmix64(uint64_t *counter)
{
    uint64_t z = (*counter += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void core_rng_seed(struct core_rng *r, uint64_t seed)
{
    uint64_t counter = seed;

    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&counter);
    }
}

uint64_t core_rng_next(struct core_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

double core_rng_uniform(struct core_rng *r)
{
    /* The top 53 bits fill a double's mantissa exactly: every value is k * 2^-53. */
    return (double)(core_rng_next(r) >> 11) * 0x1.0p-53;
}
