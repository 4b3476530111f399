/* tsync-sim: runs one scenario of sim/scenarios through the real core (engines and
 * server) on virtual clocks and a virtual network, then prints the report, and on
 * request writes the CSV, the SVG plot and checks numeric expectations. Exit status:
 * 0 fine, 1 an expectation failed or the run stopped, 2 bad usage or input. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/sim_check.h"
#include "sim/sim_ecfg.h"
#include "sim/sim_plot.h"
#include "sim/sim_report.h"
#include "sim/sim_scn.h"
#include "sim/sim_world.h"

struct options {
    const char *scenario, *csv, *svg, *check;
    enum sim_plot_scale scale;
    bool verbose, kv_only, have_seed, have_duration;
    uint64_t seed;
    double duration;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tsync-sim [options] SCENARIO.scn\n"
               "  -s, --seed N            override the scenario's seed\n"
               "  -d, --duration T        override its duration (units ns us ms s min h d)\n"
               "  -v, --verbose           print the engines' events as they happen (stderr)\n"
               "      --csv FILE          write offsets over time as CSV\n"
               "      --svg FILE          write the offset plot as SVG\n"
               "      --plot-scale S      log (default) or linear\n"
               "      --check FILE        compare with expectations; exit 1 if one fails\n"
               "      --kv                only the key=value lines, no table\n"
               "  -h, --help\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"seed", required_argument, NULL, 's'},  {"duration", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},     {"csv", required_argument, NULL, 'C'},
        {"svg", required_argument, NULL, 'S'},   {"plot-scale", required_argument, NULL, 'P'},
        {"check", required_argument, NULL, 'K'}, {"kv", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int c;
    char *end;

    memset(o, 0, sizeof(*o));
    while ((c = getopt_long(argc, argv, "s:d:vh", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            o->seed = strtoull(optarg, &end, 0);
            if (*optarg == '-' || *end != '\0' || end == optarg) {
                fprintf(stderr, "tsync-sim: --seed wants an unsigned integer\n");
                return -1;
            }
            o->have_seed = true;
            break;
        case 'd':
            if (!sim_parse_seconds(optarg, &o->duration) || o->duration <= 0) {
                fprintf(stderr, "tsync-sim: --duration wants seconds > 0\n");
                return -1;
            }
            o->have_duration = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'C':
            o->csv = optarg;
            break;
        case 'S':
            o->svg = optarg;
            break;
        case 'P':
            if (strcmp(optarg, "log") != 0 && strcmp(optarg, "linear") != 0) {
                fprintf(stderr, "tsync-sim: --plot-scale wants log or linear\n");
                return -1;
            }
            o->scale = strcmp(optarg, "log") == 0 ? SIM_PLOT_LOG : SIM_PLOT_LINEAR;
            break;
        case 'K':
            o->check = optarg;
            break;
        case 'k':
            o->kv_only = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return -1;
    }
    o->scenario = argv[optind];
    return 0;
}

static double wall_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int outputs(const struct options *o, const struct sim_world *w, const struct sim_metrics *m)
{
    char err[1024];
    int rc = 0;

    if (o->csv != NULL && sim_report_write_csv(w, o->csv, err, sizeof(err)) != 0) {
        fprintf(stderr, "tsync-sim: %s\n", err);
        rc = 2;
    }
    if (o->svg != NULL && sim_plot_svg(w, o->svg, o->scale, err, sizeof(err)) != 0) {
        fprintf(stderr, "tsync-sim: %s\n", err);
        rc = 2;
    }
    if (o->check != NULL) {
        printf("checks (%s):\n", o->check);
        int failed = sim_check_file(o->check, w, m, stdout, err, sizeof(err));
        if (failed < 0) {
            fprintf(stderr, "tsync-sim: %s\n", err);
            return 2;
        }
        printf("%d check%s failed\n", failed, failed == 1 ? "" : "s");
        rc = rc ? rc : failed > 0;
    }
    return rc;
}

static int report(const struct options *o, struct sim_world *w, double wall, int run_rc)
{
    struct sim_metrics m;
    const struct sim_scn *s = w->scn;
    double done = (double)w->t_ns * 1e-9;
    int rc;

    sim_metrics_init(&m);
    bool ok = sim_report_metrics(w, &m) && sim_metrics_add(&m, s->duration, "sim.duration") &&
              sim_metrics_add(&m, (double)s->seed, "sim.seed") &&
              sim_metrics_add(&m, (double)w->n_events, "sim.events") &&
              sim_metrics_add(&m, wall, "sim.wall_s") &&
              sim_metrics_add(&m, wall > 0 ? done / wall : 0, "sim.speed");
    if (!ok) {
        fprintf(stderr, "tsync-sim: out of memory\n");
        sim_metrics_free(&m);
        return 1;
    }
    if (!o->kv_only) {
        printf("scenario %s (%s): %g s simulated in %.3f s (%.0fx real time), seed %llu, "
               "%zu nodes, %llu events\n",
               s->name, s->path, s->duration, wall, wall > 0 ? done / wall : 0,
               (unsigned long long)s->seed, s->n_nodes, (unsigned long long)w->n_events);
        sim_report_print_table(stdout, w, &m);
    }
    sim_report_print_kv(stdout, &m);
    rc = outputs(o, w, &m);
    sim_metrics_free(&m);
    return run_rc != 0 ? 1 : rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct sim_scn s;
    struct sim_world w;
    char err[1024];

    if (parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    if (sim_scn_load(&s, o.scenario, err, sizeof(err)) != 0) {
        fprintf(stderr, "tsync-sim: %s\n", err);
        return 2;
    }
    s.seed = o.have_seed ? o.seed : s.seed;
    if (o.have_duration) {
        s.duration = o.duration;
        s.warmup = s.warmup < s.duration ? s.warmup : 0;
    }
    struct sim_opts so = {.verbose = o.verbose, .log = stderr};
    double t0 = wall_seconds();
    int rc = sim_world_init(&w, &s, &so);
    if (rc == 0) {
        rc = sim_world_run(&w);
    }
    double wall = wall_seconds() - t0;
    if (rc != 0) {
        fprintf(stderr, "tsync-sim: %s: run stopped: %s\n", s.path, w.error);
    }
    rc = w.nodes != NULL ? report(&o, &w, wall, rc) : 1;
    sim_world_free(&w);
    sim_scn_free(&s);
    return rc;
}
