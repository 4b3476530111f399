/* Unit tests for scenario files (sim/sim_scn.c) and the client config lines they carry
 * (sim/sim_ecfg.c): a full scenario read back field by field, link rule precedence,
 * units, a file:line error for each kind of mistake, and client configs that mean what
 * they mean to tsyncd (its parser and mapping, the same eng_config to the byte). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/cfg.h"
#include "daemon/drv_config.h"
#include "sim/sim_ecfg.h"
#include "sim/sim_scn.h"

static const char good[] =
    "# a comment line\n"
    "duration 2h\n"
    "seed 7\n"
    "warmup 10min   # trailing comment\n"
    "sample 0.5\n"
    "server s1 stratum 2 offset 1ms freq -3 wander 0.002 refid PPS\n"
    "falseticker bad offset 0.5\n"
    "client c1 offset 300 freq 10 wander 0.001 config \"server s1 iburst\" \"pool p.sim "
    "maxsources 2\"\n"
    "client c2 serve {\n"
    "  server c1 iburst minpoll 4 maxpoll 6   # comment in a block\n"
    "  makestep 0.1 3\n"
    "  tinker panic 0\n"
    "\n"
    "  local stratum 10\n"
    "}\n"
    "link * * delay 1ms jitter 10us\n"
    "link c1 * delay 2ms asym 1ms loss 20%\n"
    "link c1 s1 up 5ms down 1ms jitter_dist normal jitter 1us\n"
    "outage 1h 2h\n"
    "outage 100 200 c1\n"
    "step c1 1800 -300\n"
    "freqstep c2 60 5.5\n"
    "dns p.sim shuffle s1 bad 198.18.5.5\n"
    "dns gone.sim fail delay 2s\n";

static void test_good_scenario(void **state)
{
    (void)state;
    struct sim_scn s;
    char err[512] = "";

    int r = sim_scn_parse(&s, good, "dir/good.scn", err, sizeof(err));
    if (r != 0) {
        fail_msg("%s", err);
    }
    assert_string_equal(s.name, "good");
    assert_true(s.duration == 7200 && s.warmup == 600 && s.sample == 0.5);
    assert_int_equal(s.seed, 7);
    assert_int_equal(s.n_nodes, 4);
    const struct sim_node_spec *s1 = &s.nodes[0], *c1 = &s.nodes[2], *c2 = &s.nodes[3];
    assert_int_equal(s1->stratum, 2);
    assert_true(fabs(s1->clock.offset - 1e-3) < 1e-15 && s1->clock.freq_ppm == -3);
    assert_memory_equal(&s1->refid, "PPS\0", 4);
    assert_int_equal(s.nodes[1].kind, SIM_NODE_FALSETICKER);
    assert_int_equal(c1->addr.bytes[3], 3);
    assert_int_equal(c1->cfg->eng.n_sources, 2);
    assert_true(c1->cfg->eng.sources[0].iburst && !c1->cfg->eng.sources[0].pool);
    assert_true(c1->cfg->eng.sources[1].pool && c1->cfg->eng.sources[1].maxsources == 2);
    assert_true(c2->serve);
    assert_int_equal(c2->cfg->eng.n_sources, 1);
    assert_int_equal(c2->cfg->eng.sources[0].minpoll, 4);
    assert_int_equal(c2->cfg->eng.sources[0].maxpoll, 6);
    assert_true(c2->cfg->eng.step_threshold == 0.1 && c2->cfg->eng.step_limit == 3);
    assert_true(c2->cfg->eng.panic_threshold == 0);
    assert_true(c2->cfg->eng.local && c2->cfg->eng.local_stratum == 10);
    assert_int_equal(s.n_outages, 2);
    assert_true(s.outages[0].start == 3600 && s.outages[0].a == -1);
    assert_int_equal(s.outages[1].a, 2);
    assert_int_equal(s.n_injects, 2);
    assert_true(s.injects[0].value == -300 && s.injects[0].at == 1800);
    assert_int_equal(s.injects[1].kind, SIM_INJECT_FREQ_SHIFT);
    assert_int_equal(s.n_dns, 2);
    assert_int_equal(s.dns[0].n, 3);
    assert_true(s.dns[0].shuffle && s.dns[1].fail && s.dns[1].delay == 2);

    struct sim_link_params p;
    sim_scn_link_params(&s, 2, 0, &p); /* c1 -> s1: the exact rule */
    assert_true(p.base[SIM_DIR_UP] == 5e-3 && p.base[SIM_DIR_DOWN] == 1e-3);
    assert_int_equal(p.dist, SIM_JITTER_NORMAL);
    sim_scn_link_params(&s, 2, 1, &p); /* c1 -> bad: "c1 *" */
    assert_true(fabs(p.base[SIM_DIR_UP] - 2.5e-3) < 1e-15);
    assert_true(fabs(p.base[SIM_DIR_DOWN] - 1.5e-3) < 1e-15);
    assert_true(p.loss == 0.2);
    sim_scn_link_params(&s, 3, 2, &p); /* c2 -> c1: "* *", exponential by default */
    assert_true(p.base[SIM_DIR_UP] == 1e-3 && fabs(p.jitter - 10e-6) < 1e-18);
    assert_int_equal(p.dist, SIM_JITTER_EXP);
    sim_scn_free(&s);
}

/* Each bad input must fail with "name:LINE:" and a word of the message. */
static void expect_error(const char *text, const char *where, const char *word)
{
    struct sim_scn s;
    char err[512] = "";

    assert_int_equal(sim_scn_parse(&s, text, "t.scn", err, sizeof(err)), -1);
    print_message("  %s\n", err);
    if (strncmp(err, where, strlen(where)) != 0 || strstr(err, word) == NULL) {
        fail_msg("got \"%s\", wanted %s ... %s", err, where, word);
    }
    assert_int_equal(s.n_nodes, 0);
}

static void test_errors_name_file_and_line(void **state)
{
    (void)state;
    expect_error("client c\nbogus 1\n", "t.scn:2:", "unknown directive");
    expect_error("duration -5\nclient c\n", "t.scn:1:", "duration");
    expect_error("duration 10 20\nclient c\n", "t.scn:1:", "one value");
    expect_error("client c\nclient c\n", "t.scn:2:", "twice");
    expect_error("client 9c\n", "t.scn:1:", "bad node name");
    expect_error("client c\nlink c s1\n", "t.scn:2:", "unknown node");
    expect_error("client c\nserver s\nlink c s loss 1.5\n", "t.scn:3:", "probability");
    expect_error("client c\nserver s\nlink c s delay 1ms asym 4ms\n", "t.scn:3:", "negative");
    expect_error("client c\nserver s\nlink c s jitter_dist pareto\n", "t.scn:3:", "jitter_dist");
    expect_error("client c\noutage 20 10\n", "t.scn:2:", "after START");
    expect_error("client c\nstep c 10\n", "t.scn:2:", "expected NODE AT");
    expect_error("client c config \"server s1 iburst frobnicate\"\n",
                 "t.scn:1:", "unknown option \"frobnicate\"");
    expect_error("client c {\n server s1 minpoll 99\n}\n", "t.scn:2:", "minpoll");
    expect_error("client c {\n server s1\n\n logfile /x\n}\n", "t.scn:4:", "logfile");
    expect_error("client c {\n server 127.127.1.0\n local\n}\n", "t.scn:3:", "config:1:");
    expect_error("client c config \"server s1\" \"drift x\"\n", "t.scn:1:", "drift");
    expect_error("client c config \"include /etc/x\"\n", "t.scn:1:", "include");
    expect_error("client c {\n server s1\n", "t.scn:1:", "not closed");
    expect_error("client c \"oops\n", "t.scn:1:", "unterminated");
    expect_error("server s freq abc\nclient c\n", "t.scn:1:", "freq");
    expect_error("server s\n", "t.scn:", "no client");
    expect_error("client c\ndns x.sim\n", "t.scn:2:", "dns");
    expect_error("client c\ndns x.sim nosuchnode\n", "t.scn:2:", "neither");
    expect_error("client c\nwarmup 2h\n", "t.scn:", "warmup");
    expect_error("client c\nleap insert 30min\n", "t.scn:2:", "not a UTC midnight");
    expect_error("client c\nleap insert 2h\n", "t.scn:2:", "within the duration");
    expect_error("client c\nleap add 1h\n", "t.scn:2:", "insert or delete");
    expect_error("client c\nleap insert 1h every 2h\n", "t.scn:2:", "expected insert");
    expect_error("client c\nleap insert 1h\nleap delete 1h\n", "t.scn:3:", "one leap");
}

static int line(struct sim_ecfg *sc, const char *text)
{
    char err[SIM_SCN_ERR_MAX];
    int r = sim_ecfg_line(sc, text, err, sizeof(err));

    if (r != 0) {
        print_message("  %s: %s\n", text, err);
    }
    return r;
}

/* The line is refused and the message holds word. */
static void expect_refused(struct sim_ecfg *sc, const char *text, const char *word)
{
    char err[SIM_SCN_ERR_MAX] = "";

    assert_int_equal(sim_ecfg_line(sc, text, err, sizeof(err)), -1);
    print_message("  %s: %s\n", text, err);
    if (strstr(err, word) == NULL) {
        fail_msg("\"%s\": got \"%s\", wanted %s", text, err, word);
    }
}

static void test_config_lines(void **state)
{
    (void)state;
    static struct sim_ecfg sc;
    const struct eng_config *c = &sc.eng;

    sim_ecfg_init(&sc);
    assert_int_equal(line(&sc, "server 198.18.0.1 iburst prefer maxdelay 0.02"), 0);
    assert_int_equal(line(&sc, "holdover 7200"), 0);
    assert_int_equal(line(&sc, "minsources 2"), 0);
    assert_int_equal(line(&sc, "makestep 1 -5"), 0);
    assert_int_equal(line(&sc, "   "), 0);
    assert_int_equal(line(&sc, "# a comment"), 0);
    assert_int_equal(line(&sc, "driftfile /var/lib/tsyncd/drift"), 0);
    assert_int_equal(line(&sc, "server"), -1);
    assert_int_equal(line(&sc, "server x minpoll 8 maxpoll 4"), -1);
    assert_int_equal(line(&sc, "server x version 5"), -1);
    assert_int_equal(line(&sc, "minsources 2 3"), -1);
    assert_int_equal(line(&sc, "makestep 1"), -1);
    assert_int_equal(line(&sc, "holdover 2h"), -1); /* tsyncd.conf has no units */
    sim_ecfg_finish(&sc);
    assert_int_equal(c->n_sources, 1);
    assert_true(c->sources[0].prefer && c->sources[0].iburst && c->sources[0].maxdelay == 0.02);
    assert_int_equal(c->sources[0].port, 123);
    assert_int_equal(c->sources[0].version, 4);
    assert_true(c->holdover == 7200);
    assert_int_equal(c->minsources, 2);
    assert_true(c->step_threshold == 1 && c->step_limit == -1);
    assert_false(c->have_drift || c->no_clock_control);
}

/* The simulator's own lines, applied on top of the mapping as tsyncd's driver does. */
static void test_own_lines(void **state)
{
    (void)state;
    static struct sim_ecfg sc;
    const struct eng_config *c = &sc.eng;

    sim_ecfg_init(&sc);
    assert_int_equal(line(&sc, "drift -12.5"), 0);
    assert_int_equal(line(&sc, "noclockcontrol   # -x"), 0);
    assert_int_equal(line(&sc, "precision -24"), 0);
    assert_int_equal(line(&sc, "maxfreq 500"), 0);
    assert_int_equal(line(&sc, "driftsave 90s"), 0);
    assert_int_equal(line(&sc, "driftfile /x interval 600"), 0);
    expect_refused(&sc, "drift", "one value");
    expect_refused(&sc, "drift 1 2", "one value");
    expect_refused(&sc, "noclockcontrol 1", "no value");
    expect_refused(&sc, "precision 3", "precision");
    expect_refused(&sc, "maxfreq -1", "maxfreq");
    expect_refused(&sc, "driftsave 0.5", "driftsave");
    expect_refused(&sc, "Drift 1", "unknown directive");
    sim_ecfg_finish(&sc);
    assert_true(c->have_drift && c->drift_ppm == -12.5);
    assert_true(c->no_clock_control);
    assert_int_equal(c->precision_log2, -24);
    assert_true(c->max_freq_ppm == 500);
    assert_true(c->drift_save_interval == 90); /* driftsave wins over driftfile's interval */

    sim_ecfg_init(&sc);
    assert_int_equal(line(&sc, "driftfile /x interval 600"), 0);
    sim_ecfg_finish(&sc);
    assert_true(sc.eng.drift_save_interval == 600);
}

/* The pre-pass must never hide a tsyncd.conf directive: tsyncd knows none of its lines. */
static void test_own_lines_are_not_tsyncd_lines(void **state)
{
    (void)state;
    static const char *const own[] = {"drift 1", "noclockcontrol", "precision -20", "maxfreq 5",
                                      "driftsave 60"};
    static struct cfg c;
    struct cfg_error e;

    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        cfg_init(&c);
        assert_int_equal(cfg_load_string(&c, own[i], "t.conf", &e, NULL, NULL), -1);
        assert_non_null(strstr(e.msg, "unknown directive"));
    }
}

/* Line by line through sim_ecfg gives the very eng_config that tsyncd maps from the same
 * text read as one file (cfg_load_string + drv_config_build), both dialects mixed. */
static void test_same_as_tsyncd(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "server 198.18.0.1 iburst minpoll 4",
        "pool pool.sim iburst maxsources 3 maxpoll 8",
        "server -6 [2001:db8::1] prefer version 3 port 1123",
        "server 198.18.0.2 ipv4 noselect maxdelay 0.25 burst",
        "makestep 0.5 2",
        "tinker step 0.3 panic 600 stepout 30",
        "tos minsane 2 maxdist 0.8",
        "holdover 1800",
        "driftfile /var/lib/tsyncd/drift interval 900",
        "server 127.127.1.0",
        "fudge 127.127.1.0 stratum 7",
        "allow 198.18.0.0/15",
    };
    static struct sim_ecfg sc;
    static struct cfg c;
    static struct eng_config want;
    char text[1024] = "";
    struct cfg_error e;

    sim_ecfg_init(&sc);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        assert_int_equal(line(&sc, lines[i]), 0);
        strcat(text, lines[i]);
        strcat(text, "\n");
    }
    sim_ecfg_finish(&sc);
    cfg_init(&c);
    assert_int_equal(cfg_load_string(&c, text, "t.conf", &e, NULL, NULL), 0);
    eng_config_default(&want);
    drv_config_build(&c, false, want.precision_log2, &want, NULL, NULL);
    assert_memory_equal(&sc.eng, &want, sizeof(want));
    assert_int_equal(sc.eng.n_sources, 4);
    assert_true(sc.eng.local && sc.eng.local_stratum == 8); /* fudge + 1, as ntpd */
    assert_true(sc.eng.running_step_threshold == 0.3 && sc.eng.step_threshold == 0.5);

    /* No line at all maps like an empty tsyncd.conf. */
    sim_ecfg_init(&sc);
    cfg_init(&c);
    drv_config_build(&c, false, want.precision_log2, &want, NULL, NULL);
    assert_memory_equal(&sc.eng, &want, sizeof(want));
}

/* What tsyncd warns about is refused, errors of the whole file land on the line that
 * completes them, includes are refused, and a refused line leaves the config as it was. */
static void test_config_refusals(void **state)
{
    (void)state;
    static struct sim_ecfg sc;

    sim_ecfg_init(&sc);
    expect_refused(&sc, "logfile /var/log/tsyncd.log", "no files are written");
    expect_refused(&sc, "statsdir /var/log/tsyncd", "no files are written");
    expect_refused(&sc, "mailonchange root 0.5", "no effect");
    expect_refused(&sc, "server s1 maxsources 2", "must take effect");
    expect_refused(&sc, "peer s1", "symmetric");
    expect_refused(&sc, "include /etc/tsyncd.d/x.conf", "include");
    expect_refused(&sc, "confdir /etc/tsyncd.d", "confdir");
    expect_refused(&sc, "server s1 key 4", "not supported");
    assert_int_equal(line(&sc, "server 127.127.1.0"), 0);
    assert_int_equal(line(&sc, "server s1 iburst"), 0);
    expect_refused(&sc, "local stratum 5", "config:1: server 127.127.1.0");
    assert_int_equal(sc.n_lines, 2);
    sim_ecfg_finish(&sc);
    assert_int_equal(sc.eng.n_sources, 1);
    assert_true(sc.eng.local && sc.eng.local_stratum == 6); /* no fudge: LOCAL's 5, + 1 */
}

static void test_config_limits(void **state)
{
    (void)state;
    static struct sim_ecfg sc;
    char buf[64];

    sim_ecfg_init(&sc);
    for (int i = 0; i < SIM_ECFG_LINES_MAX; i++) {
        snprintf(buf, sizeof(buf), "! chrony-style comment %d", i);
        assert_int_equal(line(&sc, buf), 0);
    }
    expect_refused(&sc, "server s1", "config lines");
    expect_refused(&sc, "server s1\nserver s2", "line break");
}

/* The step policy mapping of tsyncd (drv_config.c): tinker step sets the running
 * threshold, and the start-up one unless makestep is given; tinker step 0 never steps. */
static void test_tinker_step_mapping(void **state)
{
    (void)state;
    static struct sim_ecfg sc;

    sim_ecfg_init(&sc);
    assert_int_equal(line(&sc, "tinker step 0.4"), 0);
    sim_ecfg_finish(&sc);
    assert_true(sc.eng.running_step_threshold == 0.4 && sc.eng.step_threshold == 0.4);

    sim_ecfg_init(&sc);
    assert_int_equal(line(&sc, "tinker step 0.4"), 0);
    assert_int_equal(line(&sc, "makestep 2 3"), 0);
    sim_ecfg_finish(&sc);
    assert_true(sc.eng.running_step_threshold == 0.4 && sc.eng.step_threshold == 2);

    sim_ecfg_init(&sc);
    int limit = sc.eng.step_limit;
    assert_int_equal(line(&sc, "tinker step 0"), 0);
    sim_ecfg_finish(&sc);
    assert_true(sc.eng.running_step_threshold == 0 && sc.eng.step_limit == 0);
    assert_true(limit != 0);

    sim_ecfg_init(&sc);
    double def = sc.eng.running_step_threshold;
    assert_int_equal(line(&sc, "tinker panic 0"), 0);
    sim_ecfg_finish(&sc);
    assert_true(sc.eng.panic_threshold == 0 && sc.eng.running_step_threshold == def);
}

static void test_units(void **state)
{
    (void)state;
    double v;

    assert_true(sim_parse_seconds("100us", &v) && fabs(v - 100e-6) < 1e-18);
    assert_true(sim_parse_seconds("2h", &v) && v == 7200);
    assert_true(sim_parse_seconds("1.5min", &v) && v == 90);
    assert_true(sim_parse_seconds("-3ms", &v) && v == -3e-3);
    assert_true(sim_parse_seconds("1e-4", &v) && v == 1e-4);
    assert_false(sim_parse_seconds("10 s", &v));
    assert_false(sim_parse_seconds("10x", &v));
    assert_false(sim_parse_seconds("", &v));
    assert_false(sim_parse_seconds("nan", &v));
    assert_false(sim_parse_number("1e999", &v));
}

/* Random lines from the scenario vocabulary, with numbers of every size: any result is
 * fine as long as nothing crashes (ASan) and a failure names a line. */
static void test_random_input_never_crashes(void **state)
{
    (void)state;
    static const char *const words[] = {"duration",    "warmup",
                                        "seed",        "sample",
                                        "server",      "client",
                                        "falseticker", "link",
                                        "outage",      "step",
                                        "freqstep",    "dns",
                                        "s1",          "s1",
                                        "c1",          "c1",
                                        "c1",          "*",
                                        "{",           "}",
                                        "config",      "\"server s1 iburst\"",
                                        "offset",      "freq",
                                        "wander",      "delay",
                                        "asym",        "jitter",
                                        "loss",        "jitter_dist",
                                        "exp",         "fail",
                                        "1",           "-1",
                                        "0",           "1e308",
                                        "-1e308",      "1e-300",
                                        "20%",         "100us",
                                        "2h",          "nan",
                                        "inf",         "#",
                                        "\"",          "serve",
                                        "stratum",     "16",
                                        "99999"};
    struct core_rng rng;
    char text[4096];
    char err[512];
    int failures = 0;

    core_rng_seed(&rng, 12345);
    for (int round = 0; round < 3000; round++) {
        /* Two valid nodes first, then lines that start with a directive. */
        size_t o = (size_t)snprintf(text, sizeof(text), "client c1\nserver s1\n");
        int lines = 1 + (int)(core_rng_next(&rng) % 4);
        for (int l = 0; l < lines; l++) {
            int n = 1 + (int)(core_rng_next(&rng) % 6);
            for (int i = 0; i < n && o < sizeof(text) - 64; i++) {
                size_t k = core_rng_next(&rng) % (i == 0 ? 12 : sizeof(words) / sizeof(words[0]));
                o += (size_t)snprintf(text + o, sizeof(text) - o, "%s ", words[k]);
            }
            text[o++] = '\n';
        }
        text[o] = '\0';
        struct sim_scn s;
        if (sim_scn_parse(&s, text, "r.scn", err, sizeof(err)) == 0) {
            sim_scn_free(&s);
        } else {
            assert_non_null(strstr(err, "r.scn"));
            failures++;
        }
    }
    print_message("%d of 3000 random inputs rejected\n", failures);
}

static void test_load_missing_file(void **state)
{
    (void)state;
    struct sim_scn s;
    char err[512];

    assert_int_equal(sim_scn_load(&s, "/nonexistent/x.scn", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/x.scn"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_scenario),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_config_lines),
        cmocka_unit_test(test_own_lines),
        cmocka_unit_test(test_own_lines_are_not_tsyncd_lines),
        cmocka_unit_test(test_same_as_tsyncd),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test(test_config_limits),
        cmocka_unit_test(test_tinker_step_mapping),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_random_input_never_crashes),
        cmocka_unit_test(test_load_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
