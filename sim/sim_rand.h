/* Random variates for the simulator on top of the core's seeded PRNG (core_rng), and
 * the derivation of one independent stream per component (clock, link, DNS, engine)
 * from the scenario seed, so adding a node does not change what the others draw. */
#ifndef TSYNC_SIM_RAND_H
#define TSYNC_SIM_RAND_H

#include <stdint.h>

#include "core/core.h"

/* Seed of the stream of component (a, b) in a run seeded with seed. */
uint64_t sim_rand_derive(uint64_t seed, uint64_t a, uint64_t b);

/* Standard normal variate (mean 0, standard deviation 1). */
double sim_rand_normal(struct core_rng *r);

/* Exponential variate with the given mean (>= 0). */
double sim_rand_exp(struct core_rng *r, double mean);

#endif
