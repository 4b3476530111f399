/* The discrete-event queue: a binary min-heap of events ordered by true time, ties
 * broken by insertion order, so a run is the same sequence of calls for a given seed. */
#ifndef TSYNC_SIM_EVQ_H
#define TSYNC_SIM_EVQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/act.h"
#include "core/core.h"

#define SIM_DNS_MAX_ADDRS 16

enum sim_ev_kind {
    SIM_EV_SAMPLE,     /* record every node's true offset */
    SIM_EV_TIMER,      /* node's engine timer may be due (.gen must match the node's) */
    SIM_EV_TO_SERVER,  /* request arrives at .node from client .peer */
    SIM_EV_SERVER_TX,  /* .node sends its answer to client .peer */
    SIM_EV_TO_CLIENT,  /* reply from .peer arrives at client .node */
    SIM_EV_RESOLVED,   /* DNS answer for .node's source .source */
    SIM_EV_EXT_STEP,   /* someone steps .node's clock by .value s */
    SIM_EV_FREQ_SHIFT, /* .node's intrinsic frequency error changes by .value ppm */
};

struct sim_ev {
    int64_t t_ns; /* true time */
    uint64_t order;
    enum sim_ev_kind kind;
    int node, peer;
    int source;   /* engine source index */
    uint32_t seq; /* engine request number */
    uint64_t gen; /* SIM_EV_TIMER: generation */
    double value;
    size_t len; /* packet bytes, or DNS addresses */
    union {
        uint8_t pkt[ACT_PKT_MAX];
        struct core_addr addrs[SIM_DNS_MAX_ADDRS];
    } u;
};

struct sim_evq {
    struct sim_ev *heap;
    size_t n, cap;
    uint64_t next_order;
};

void sim_evq_init(struct sim_evq *q);
void sim_evq_free(struct sim_evq *q);

/* Copies ev into the queue (its .order is assigned here). Returns false when memory
 * runs out or the queue holds SIM_EVQ_MAX events (a runaway scenario). */
#define SIM_EVQ_MAX 1000000
bool sim_evq_push(struct sim_evq *q, const struct sim_ev *ev);

/* Removes the earliest event into *ev; false when the queue is empty. */
bool sim_evq_pop(struct sim_evq *q, struct sim_ev *ev);

/* Time of the earliest event, INT64_MAX when empty. */
int64_t sim_evq_peek_time(const struct sim_evq *q);

#endif
