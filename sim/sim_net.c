/* Link delays, loss and outages. Every packet draws the same number of variates
 * whatever its fate, so changing a loss rate does not reshuffle the jitter of the
 * packets that get through. */
#include "sim/sim_net.h"

#include <string.h>

#include "sim/sim_rand.h"

void sim_link_params_default(struct sim_link_params *p)
{
    memset(p, 0, sizeof(*p));
    p->base[SIM_DIR_UP] = 100e-6;
    p->base[SIM_DIR_DOWN] = 100e-6;
    p->dist = SIM_JITTER_NONE;
}

static const char *const jitter_names[] = {
    [SIM_JITTER_NONE] = "none",
    [SIM_JITTER_EXP] = "exp",
    [SIM_JITTER_NORMAL] = "normal",
    [SIM_JITTER_UNIFORM] = "uniform",
};

const char *sim_jitter_name(enum sim_jitter d)
{
    if ((size_t)d < sizeof(jitter_names) / sizeof(jitter_names[0])) {
        return jitter_names[d];
    }
    return "unknown";
}

bool sim_jitter_parse(const char *s, enum sim_jitter *out)
{
    for (size_t i = 0; i < sizeof(jitter_names) / sizeof(jitter_names[0]); i++) {
        if (strcmp(s, jitter_names[i]) == 0) {
            *out = (enum sim_jitter)i;
            return true;
        }
    }
    return false;
}

void sim_link_init(struct sim_link *l, const struct sim_link_params *p, uint64_t seed)
{
    memset(l, 0, sizeof(*l));
    l->p = *p;
    core_rng_seed(&l->rng, seed);
}

static double draw_jitter(struct sim_link *l)
{
    double j = l->p.jitter;

    switch (l->p.dist) {
    case SIM_JITTER_EXP:
        return sim_rand_exp(&l->rng, j);
    case SIM_JITTER_NORMAL:
        return j * sim_rand_normal(&l->rng);
    case SIM_JITTER_UNIFORM:
        return j * core_rng_uniform(&l->rng);
    case SIM_JITTER_NONE:
        break;
    }
    return 0.0;
}

double sim_link_transit(struct sim_link *l, enum sim_dir dir)
{
    double u = core_rng_uniform(&l->rng);
    double d = l->p.base[dir] + draw_jitter(l);

    l->sent[dir]++;
    if (u < l->p.loss) {
        l->lost[dir]++;
        return -1.0;
    }
    return d > 0.0 ? d : 0.0;
}

static bool matches(int want, int node)
{
    return want < 0 || want == node;
}

bool sim_net_cut(const struct sim_outage *o, size_t n, double t, int client, int server)
{
    for (size_t i = 0; i < n; i++) {
        if (t < o[i].start || t >= o[i].end) {
            continue;
        }
        if (o[i].a >= 0 && o[i].b < 0 && (o[i].a == client || o[i].a == server)) {
            return true; /* one node cut off from everything */
        }
        if (matches(o[i].a, client) && matches(o[i].b, server)) {
            return true;
        }
    }
    return false;
}
