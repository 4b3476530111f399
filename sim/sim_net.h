/* The virtual network: per link (client -> server pair) one-way delays with a constant
 * base per direction (asymmetry) plus random jitter, independent loss per packet, and
 * outage windows in which every packet sent is dropped. Each link draws from its own
 * seeded stream. Delivery and routing live in sim_world. */
#ifndef TSYNC_SIM_NET_H
#define TSYNC_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

enum sim_jitter {
    SIM_JITTER_NONE,
    SIM_JITTER_EXP,     /* exponential with mean .jitter (queueing delay) */
    SIM_JITTER_NORMAL,  /* normal with standard deviation .jitter around the base */
    SIM_JITTER_UNIFORM, /* uniform in [0, .jitter] */
};

enum sim_dir {
    SIM_DIR_UP,   /* client -> server (request) */
    SIM_DIR_DOWN, /* server -> client (reply) */
};

struct sim_link_params {
    double base[2]; /* s: constant one-way delay per direction (enum sim_dir) */
    double jitter;  /* s: scale of the random part (see enum sim_jitter) */
    enum sim_jitter dist;
    double loss; /* probability that a packet is dropped, each direction */
};

struct sim_link {
    struct sim_link_params p;
    struct core_rng rng;
    uint64_t sent[2], lost[2];
};

/* A LAN-like default: 100 us each way, no jitter, no loss. */
void sim_link_params_default(struct sim_link_params *p);

/* Stable name of a jitter distribution ("exp", ...) and its inverse (false: unknown). */
const char *sim_jitter_name(enum sim_jitter d);
bool sim_jitter_parse(const char *s, enum sim_jitter *out);

void sim_link_init(struct sim_link *l, const struct sim_link_params *p, uint64_t seed);

/* Transit time (s) of one packet in direction dir, or a negative value when it is lost.
 * Never below zero: a normal jitter that would make the packet arrive before it left is
 * cut at zero delay. */
double sim_link_transit(struct sim_link *l, enum sim_dir dir);

/* A window [start, end) of true time (s) in which packets between a and b are dropped;
 * a or b of -1 match any node (a: client side, b: server side; a lone node given as a
 * cuts everything it sends and receives). */
struct sim_outage {
    double start, end;
    int a, b;
};

/* True when a packet between client and server sent at t (s) falls in an outage. */
bool sim_net_cut(const struct sim_outage *o, size_t n, double t, int client, int server);

#endif
