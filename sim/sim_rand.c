/* Random variates for the simulator: seed derivation, normal and exponential draws.
 * Everything comes from core_rng, so a run replays exactly from its seed. */
#include "sim/sim_rand.h"

#include <math.h>

/* splitmix64's finalizer: a bijection with good avalanche, so nearby inputs (node 1,
 * node 2) give unrelated seeds. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t sim_rand_derive(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t h = mix64(seed + UINT64_C(0x9e3779b97f4a7c15));

    h = mix64(h ^ (a + UINT64_C(0x632be59bd9b4e019)));
    return mix64(h ^ (b + UINT64_C(0x8cb92ba72f3d8dd7)));
}

double sim_rand_normal(struct core_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u1 = 1.0 - core_rng_uniform(r);
    double u2 = core_rng_uniform(r);

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

double sim_rand_exp(struct core_rng *r, double mean)
{
    return -mean * log(1.0 - core_rng_uniform(r));
}
