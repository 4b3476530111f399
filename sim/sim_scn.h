/* Scenarios: the text files in sim/scenarios/ turned into a validated description of a
 * run (nodes, their clocks and engine configs, links, outages, injected steps, DNS).
 * One directive a line, # comments; the format is documented in doc/simulation.md.
 * Every error names file:line. Nothing here runs anything. */
#ifndef TSYNC_SIM_SCN_H
#define TSYNC_SIM_SCN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/eng.h"
#include "sim/sim_clock.h"
#include "sim/sim_ecfg.h"
#include "sim/sim_evq.h"
#include "sim/sim_net.h"

#define SIM_SCN_NAME_MAX  32
#define SIM_SCN_MAX_NODES 200
#define SIM_SCN_MAX_ITEMS 10000 /* links, outages, injected events, DNS names (each) */
#define SIM_SCN_ERR_MAX   512

enum sim_node_kind {
    SIM_NODE_SERVER,      /* reference server: own clock, answers through srv */
    SIM_NODE_FALSETICKER, /* the same, marked as wrong on purpose for the report */
    SIM_NODE_CLIENT,      /* an engine on a virtual clock; may serve others too */
};

struct sim_node_spec {
    char name[SIM_SCN_NAME_MAX];
    enum sim_node_kind kind;
    int line;
    struct core_addr addr; /* assigned in declaration order from 198.18.0.0/15 */
    struct sim_clock_params clock;
    /* Reference servers. */
    uint8_t stratum;
    uint32_t refid; /* wire bytes */
    double root_delay, root_dispersion;
    /* Every node that answers. */
    int8_t precision_log2;
    double proc; /* s between receiving a request and sending the answer */
    /* Clients. */
    bool serve; /* answers requests with its engine's reference */
    bool has_seed;
    uint64_t seed;        /* engine seed; derived from the scenario seed otherwise */
    struct sim_ecfg *cfg; /* its engine config (cfg->eng) */
};

struct sim_link_rule {
    int client, server; /* node index, -1 = any */
    struct sim_link_params p;
    int line;
};

enum sim_inject_kind {
    SIM_INJECT_STEP,       /* external step of .value s (date -s) */
    SIM_INJECT_FREQ_SHIFT, /* intrinsic frequency error changes by .value ppm */
};

struct sim_inject {
    enum sim_inject_kind kind;
    int node;
    double at; /* s of true time */
    double value;
    int line;
};

struct sim_dns_entry {
    char name[ENG_NAME_MAX];
    bool fail;    /* answers with no address */
    bool shuffle; /* the order of the addresses changes with every answer */
    double delay; /* s; negative = the scenario's dns_delay */
    size_t n;
    struct core_addr addrs[SIM_DNS_MAX_ADDRS];
    int line;
};

struct sim_scn {
    char path[512];
    char name[64];   /* file name without directory and .scn */
    double duration; /* s of simulated time */
    double warmup;   /* s before offsets count in rms/max */
    double sample;   /* s between offset samples */
    double csv_interval;
    double dns_delay; /* s */
    uint64_t seed;
    int64_t start_ns; /* Unix time of true time 0 */
    /* A leap second of UTC ("leap insert|delete AT [announce S]"): the midnight it ends
     * at is true time leap_at; reference servers announce it for leap_announce s before
     * and their kernels apply it. */
    int leap_dir; /* +1 insert, -1 delete, 0 none */
    double leap_at, leap_announce;
    int leap_line;

    size_t n_nodes;
    struct sim_node_spec *nodes;
    size_t n_links;
    struct sim_link_rule *links;
    size_t n_outages;
    struct sim_outage *outages;
    size_t n_injects;
    struct sim_inject *injects;
    size_t n_dns;
    struct sim_dns_entry *dns;
};

/* Parses the file at path into s (which is overwritten). Returns 0, or -1 with
 * "FILE:LINE: message" in err and s empty (nothing to free). */
int sim_scn_load(struct sim_scn *s, const char *path, char *err, size_t errlen);

/* The same for text in memory; name stands for the file in messages. */
int sim_scn_parse(struct sim_scn *s, const char *text, const char *name, char *err, size_t errlen);

void sim_scn_free(struct sim_scn *s);

/* Index of the node called name, -1 when there is none. */
int sim_scn_find_node(const struct sim_scn *s, const char *name);

/* Link parameters for the pair: the most specific rule wins (client and server named,
 * then client only, then server only, then "* *"), else the built-in default. */
void sim_scn_link_params(const struct sim_scn *s, int client, int server,
                         struct sim_link_params *out);

#endif
