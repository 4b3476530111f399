/* One simulation run: the nodes of a scenario (engines on virtual clocks, reference
 * servers, falsetickers), the virtual network between them and the discrete-event loop
 * in true time. Engines are driven exactly as the daemon drives them (act.h/eng.h):
 * actions carried out in order, results fed back at once; the loop detects external
 * steps by comparing realtime and monotonic progress. Offsets are sampled on a fixed
 * grid for the report. */
#ifndef TSYNC_SIM_WORLD_H
#define TSYNC_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/act.h"
#include "core/eng.h"
#include "core/srv.h"
#include "sim/sim_clock.h"
#include "sim/sim_evq.h"
#include "sim/sim_net.h"
#include "sim/sim_scn.h"

#define SIM_MAX_DEPTH      8 /* nested engine calls from carrying out actions */
#define SIM_RLIM_ENTRIES   16
#define SIM_JUMP_TOLERANCE 1e-6 /* s: realtime vs monotonic mismatch seen as a jump */

/* Per sample flags. */
enum sim_sample_flag {
    SIM_SAMPLE_SYNCED = 1u << 0,    /* last ACT_STATUS said synchronized */
    SIM_SAMPLE_FALSE_SEL = 1u << 1, /* the engine's selected source is a falseticker */
    SIM_SAMPLE_BOUND_BAD = 1u << 2, /* synced, yet |offset| > maxerror (grown 500 ppm) */
};

struct sim_node_stats {
    uint64_t sent, received;    /* requests out, replies in */
    uint64_t lost, cut;         /* dropped by loss, by an outage (either direction) */
    uint64_t no_listener;       /* requests to an address or port nobody serves */
    uint64_t answered, refused; /* as a server: answers (KoD included), drops */
    uint64_t steps;             /* ACT_STEP carried out */
    double step_abs_total;      /* s, sum of |step| */
    uint64_t freq_sets, freq_clamped;
    uint64_t status_updates, drift_saves, references;
    uint64_t resolves, resolve_failures;
    uint64_t ext_steps; /* jumps the loop saw and reported */
    uint64_t events[EV_KIND_COUNT];
    uint64_t overflow;   /* actions the engine dropped from a full list */
    uint64_t too_deep;   /* calls skipped past SIM_MAX_DEPTH (a bug) */
    double first_synced; /* s of true time, -1 never */
    double leap_lead;    /* s before its midnight the kernel was first armed, NAN never */
    double last_drift_ppm;
};

struct sim_node {
    const struct sim_node_spec *spec;
    int index;
    struct sim_clock clk;
    void *eng_mem;
    struct eng *eng; /* clients only */
    bool answers;    /* reference servers and serving clients */
    struct srv srv;
    struct rlim_entry rlim[SIM_RLIM_ENTRIES];
    uint64_t timer_gen;
    int64_t timer_mono_ns;              /* INT64_MAX: none */
    int64_t timer_spins;                /* timer events in a row that found nothing due */
    int64_t last_real_ns, last_mono_ns; /* the loop's previous readings */
    bool has_status;
    struct act_status status;
    int64_t status_t_ns;
    struct sim_node_stats st;
    /* Samples on the grid k * scenario.sample. */
    double *offset;  /* s, what must be added to the clock (true - clock) */
    float *corr_ppm; /* frequency correction applied */
    float *rate_ppm; /* frequency error the clock runs with (intrinsic + corr) */
    float *maxerror; /* s: the kernel's maxerror now (status + 500 us/s), NAN none */
    uint8_t *flags;  /* enum sim_sample_flag */
};

struct sim_opts {
    bool verbose; /* print engine events as they happen */
    FILE *log;    /* where (stderr when NULL) */
};

struct sim_world {
    const struct sim_scn *scn;
    struct sim_opts opts;
    size_t n;
    struct sim_node *nodes;
    struct sim_link **links; /* n * n, made on first use */
    struct sim_evq q;
    struct core_rng dns_rng;
    int64_t t_ns, end_ns, sample_ns;
    size_t n_samples; /* taken so far */
    size_t cap_samples;
    uint64_t n_events;
    struct act_list *lists; /* one per call depth */
    char error[256];        /* set when the run had to stop */
};

/* Builds the nodes and engines of s (which must outlive w) at true time 0. Returns 0,
 * or -1 with w->error set. */
int sim_world_init(struct sim_world *w, const struct sim_scn *s, const struct sim_opts *o);

/* Runs to the end of the scenario. Returns 0, or -1 with w->error set (a runaway
 * engine, out of memory); the samples taken so far stay valid. */
int sim_world_run(struct sim_world *w);

void sim_world_free(struct sim_world *w);

/* Node whose address is a (port ignored), -1 none. */
int sim_world_find_addr(const struct sim_world *w, const struct core_addr *a);

#endif
