/* Unit tests for the tsync CLI's formatters (src/cli/cmd_*.c) on canned answers from
 * doc/control.md: golden text for sources (NTPsec ntpq -p's bytes; checked against
 * python3-ntp's PeerSummary when the goldens were made), tracking, status, sourcestats,
 * serverstats and the Prometheus exposition, and every verdict of tsync check at a
 * fixed time. Names come from a table filled by hand, never from DNS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

#define NOW 1795003600.0 /* one hour after the canned "since" */

static const char *const status_json =
    "{\"synchronized\":true,\"since\":1795000000.5,\"offset\":-2.1e-06,\"bound\":0.000412,"
    "\"stratum\":2,\"reference\":\"198.18.0.1\",\"leap\":\"none\",\"sources_reachable\":3,"
    "\"sources\":4}";

static const char *const tracking_json =
    "{\"reference_id\":\"C6120001\",\"reference_name\":\"198.18.0.1\",\"stratum\":2,"
    "\"reference_time\":1795000123.25,\"system_time_offset\":-2.1e-06,"
    "\"last_offset\":-1.9e-06,\"rms_offset\":3.2e-06,\"frequency_ppm\":-10.031,"
    "\"residual_frequency_ppm\":0.002,\"skew_ppm\":0.011,\"root_delay\":0.000214,"
    "\"root_dispersion\":0.000305,\"update_interval\":64.2,\"leap\":\"none\","
    "\"bound\":0.000412,\"synchronized\":true,\"steps\":1}";

static const char *const sources_json =
    "{\"sources\":["
    "{\"name\":\"ntp1.example.net\",\"address\":\"198.18.0.1\",\"tally\":\"*\","
    "\"state\":\"selected\",\"type\":\"u\",\"stratum\":1,\"refid\":\"GPS\",\"when\":12.5,"
    "\"poll\":6,\"reach\":255,\"delay\":0.000211,\"offset\":-3.6e-06,\"jitter\":8.1e-06,"
    "\"leap\":\"none\"},"
    "{\"name\":\"198.18.0.2\",\"address\":\"198.18.0.2\",\"tally\":\"+\",\"state\":"
    "\"candidate\",\"type\":\"u\",\"stratum\":2,\"refid\":\"198.18.0.9\",\"when\":5000,"
    "\"poll\":10,\"reach\":127,\"delay\":0.025123,\"offset\":0.001234,\"jitter\":0.000789},"
    "{\"name\":\"2.debian.pool.ntp.org\",\"address\":null,\"tally\":\" \",\"state\":\"pool\","
    "\"type\":\"p\",\"stratum\":16,\"refid\":\"POOL\",\"when\":null,\"poll\":6,\"reach\":0,"
    "\"delay\":null,\"offset\":null,\"jitter\":null},"
    "{\"name\":\"198.18.0.7\",\"address\":\"198.18.0.7\",\"tally\":\"x\",\"state\":"
    "\"falseticker\",\"type\":\"u\",\"stratum\":3,\"refid\":\"RATE\",\"when\":300000,"
    "\"poll\":12,\"reach\":1,\"delay\":1.5,\"offset\":-1234.5678,\"jitter\":0.25}]}";

static const char *const sources_golden =
    "     remote           refid      st t when poll reach   delay   offset   jitter\n"
    "===============================================================================\n"
    "*198.18.0.1      .GPS.            1 u   12   64  377   0.2110  -0.0036   0.0081\n"
    "+198.18.0.2      198.18.0.9       2 u  83m 1024  177  25.1230   1.2340   0.7890\n"
    " 2.debian.pool.n .POOL.          16 p    -   64    0   0.0000   0.0000   0.0000\n"
    "x198.18.0.7      .RATE.           3 u  83h  68m    1 1500.000 -1234567 250.0000\n";

struct fixture {
    struct cli_ctx ctx;
    struct json_doc *doc;
    char *text;
    size_t len;
    FILE *out;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->ctx.socket_path = "/nonexistent";
    f->ctx.numeric = true;
    f->ctx.term_width = 80;
    f->ctx.now = NOW;
    f->out = open_memstream(&f->text, &f->len);
    f->ctx.out = f->out;
    f->ctx.err = f->out;
    *state = f;
    return f->out != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fclose(f->out);
    free(f->text);
    json_free(f->doc);
    names_free(f->ctx.names);
    free(f);
    return 0;
}

static const struct json_value *load(struct fixture *f, const char *text)
{
    char err[128];
    json_free(f->doc);
    f->doc = json_parse(text, strlen(text), err, sizeof(err));
    if (f->doc == NULL) {
        fail_msg("canned JSON does not parse: %s", err);
    }
    return json_root(f->doc);
}

/* Starts a fresh output buffer. */
static void reset(struct fixture *f)
{
    fclose(f->out);
    free(f->text);
    f->text = NULL;
    f->out = open_memstream(&f->text, &f->len);
    assert_non_null(f->out);
    f->ctx.out = f->out;
    f->ctx.err = f->out;
}

/* What the formatter wrote so far. */
static const char *output(struct fixture *f)
{
    fflush(f->out);
    return f->text;
}

static void test_sources_golden(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cmd_sources_print(&f->ctx, load(f, sources_json), false, f->out), 0);
    assert_string_equal(output(f), sources_golden);
}

static void test_sources_names_and_width(void **state)
{
    struct fixture *f = *state;
    f->ctx.numeric = false;
    f->ctx.term_width = 90; /* ntpq widens remote by up to 24 columns on a wide terminal */
    f->ctx.names = names_new();
    names_set(f->ctx.names, "198.18.0.1", "ntp1.example.net");
    assert_int_equal(cmd_sources_print(&f->ctx, load(f, sources_json), true, f->out), 0);
    const char *text = output(f);
    assert_non_null(strstr(text, "tally: '*' system peer"));
    assert_non_null(strstr(text, "\n     remote                     refid      st t when"));
    assert_non_null(strstr(text, "\n*ntp1.example.net          .GPS.            1 u   12"));
    assert_non_null(strstr(text, "\n 2.debian.pool.ntp.org     .POOL.          16 p"));
    /* The rule is 79 + 10 characters wide. */
    assert_non_null(strstr(text, "\n=========================================================="
                                 "===============================\n*"));
}

static void test_sources_odd_values(void **state)
{
    struct fixture *f = *state;
    /* Wrong types, out-of-range numbers, a long refid: defaults, never a crash. */
    const char *odd = "{\"sources\":[{\"tally\":\"**\",\"address\":7,\"name\":null,"
                      "\"stratum\":1e300,\"poll\":99,\"reach\":-4,\"refid\":"
                      "\"2001:db8:0:0:0:0:0:12345\",\"when\":-5,\"delay\":1e300},3]}";
    assert_int_equal(cmd_sources_print(&f->ctx, load(f, odd), false, f->out), 0);
    assert_non_null(strstr(output(f), "\n                 -:0:0:0:0:12345 16 ?    -    -    0 "
                                      "1.00e+303   0.0000   0.0000\n"));
    assert_int_equal(cmd_sources_print(&f->ctx, load(f, "{\"sources\":3}"), false, f->out), 1);
}

static void test_tracking_golden(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cmd_tracking_print(&f->ctx, load(f, tracking_json), f->out), 0);
    assert_string_equal(output(f), "Reference ID    : C6120001 (198.18.0.1)\n"
                                   "Stratum         : 2\n"
                                   "Ref time (UTC)  : Wed Nov 18 11:08:43 2026\n"
                                   "System time     : 0.000002100 seconds fast of NTP time\n"
                                   "Last offset     : -0.000001900 seconds\n"
                                   "RMS offset      : 0.000003200 seconds\n"
                                   "Frequency       : 10.031 ppm fast\n"
                                   "Residual freq   : +0.002 ppm\n"
                                   "Skew            : 0.011 ppm\n"
                                   "Root delay      : 0.000214000 seconds\n"
                                   "Root dispersion : 0.000305000 seconds\n"
                                   "Update interval : 64.2 seconds\n"
                                   "Leap status     : Normal\n"
                                   "Error bound     : 0.000412000 seconds\n");
}

static void test_tracking_unknown(void **state)
{
    struct fixture *f = *state;
    const char *t = "{\"reference_id\":\"00000000\",\"reference_name\":null,\"stratum\":16,"
                    "\"reference_time\":null,\"system_time_offset\":1.5,\"frequency_ppm\":2,"
                    "\"leap\":\"unsynchronized\",\"bound\":null}";
    assert_int_equal(cmd_tracking_print(&f->ctx, load(f, t), f->out), 0);
    const char *text = output(f);
    assert_non_null(strstr(text, "Reference ID    : 00000000 ()\n"));
    assert_non_null(strstr(text, "Ref time (UTC)  : -\n"));
    assert_non_null(strstr(text, "System time     : 1.500000000 seconds slow of NTP time\n"));
    assert_non_null(strstr(text, "Last offset     : -\n"));
    assert_non_null(strstr(text, "Frequency       : 2.000 ppm slow\n"));
    assert_non_null(strstr(text, "Leap status     : Not synchronised\n"));
    assert_non_null(strstr(text, "Error bound     : -\n"));
}

static void test_status_lines(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(cmd_status_print(&f->ctx, load(f, status_json), f->out), 0);
    assert_string_equal(output(f),
                        "synchronized since 2026-11-18 11:06:40 UTC (59m 59s ago), reference "
                        "198.18.0.1, stratum 2, offset -2.100 us, bound 412.000 us, 3 of 4 "
                        "sources reachable\n");
    reset(f);
    const char *never = "{\"synchronized\":false,\"since\":null,\"offset\":null,\"bound\":2.5,"
                        "\"sources_reachable\":0,\"sources\":1}";
    assert_int_equal(cmd_status_print(&f->ctx, load(f, never), f->out), 0);
    assert_string_equal(output(f), "not synchronized (never synchronized), bound 2.500 s, 0 of "
                                   "1 sources reachable\n");
    assert_int_equal(cmd_status_print(&f->ctx, load(f, "{\"error\":\"x\"}"), f->out), 1);
}

static void test_sourcestats_golden(void **state)
{
    struct fixture *f = *state;
    const char *s = "{\"sources\":[{\"name\":\"ntp1.example.net\",\"address\":\"198.18.0.1\","
                    "\"replies\":{\"ok\":120,\"stale\":0,\"kod\":1,\"duplicate\":2},"
                    "\"offset\":-3.6e-06,\"jitter\":8.1e-06,\"delay\":0.000211},"
                    "{\"name\":\"pool.example\",\"address\":null,\"replies\":{},\"offset\":null}"
                    "]}";
    assert_int_equal(cmd_sourcestats_print(&f->ctx, load(f, s), f->out), 0);
    assert_string_equal(
        output(f), "Name/IP address            Replies     Used  Dropped       Offset       Jitter"
                   "        Delay\n"
                   "=============================================================================="
                   "=============\n"
                   "198.18.0.1                     123      120        3    -3.600 us     8.100 us"
                   "   211.000 us\n"
                   "    dropped: kod 1, duplicate 2\n"
                   "pool.example                     0        0        0            -            -"
                   "            -\n");
}

static void test_serverstats_golden(void **state)
{
    struct fixture *f = *state;
    const char *s = "{\"requests\":{\"answered\":1024,\"kod_rate\":3,\"rate_limited\":10,"
                    "\"denied\":2},\"clients_seen\":12,\"datagrams\":{\"received\":1039,"
                    "\"sent\":1027,\"send_failed\":0,\"truncated\":4}}";
    assert_int_equal(cmd_serverstats_print(&f->ctx, load(f, s), f->out), 0);
    assert_string_equal(output(f), "NTP packets received       : 1039\n"
                                   "NTP packets sent           : 1027\n"
                                   "NTP send failures          : 0\n"
                                   "NTP datagrams truncated    : 4\n"
                                   "Clients seen               : 12\n"
                                   "Requests by decision:\n"
                                   "  answered                 : 1024\n"
                                   "  kod_rate                 : 3\n"
                                   "  rate_limited             : 10\n"
                                   "  denied                   : 2\n"
                                   "KoD sent                   : 3\n");
}

/* Every sample line belongs to the family announced by the # TYPE line before it, and
 * no family is announced twice (the exposition format's grouping rule). */
static void check_exposition(const char *text)
{
    char family[128] = "";
    char seen[4096] = " ";
    const char *line = text;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        char name[128];
        if (sscanf(line, "# TYPE %127s", name) == 1) {
            char key[132];
            snprintf(key, sizeof(key), " %s ", name);
            assert_null(strstr(seen, key));
            strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
            snprintf(family, sizeof(family), "%s", name);
        } else if (line[0] != '#') {
            size_t n = strlen(family);
            assert_true(n > 0 && strncmp(line, family, n) == 0);
            assert_true(line[n] == ' ' || line[n] == '{');
        }
        line = end + 1;
    }
}

static void test_metrics(void **state)
{
    struct fixture *f = *state;
    struct json_doc *docs[4];
    const char *texts[4] = {status_json, tracking_json, sources_json,
                            "{\"requests\":{\"answered\":1024,\"kod_rate\":3},\"clients_seen\":"
                            "12,\"datagrams\":{\"received\":1039,\"sent\":1027}}"};
    for (int i = 0; i < 4; i++) {
        docs[i] = json_parse(texts[i], strlen(texts[i]), NULL, 0);
        assert_non_null(docs[i]);
    }
    assert_int_equal(cmd_metrics_print(json_root(docs[0]), json_root(docs[1]), json_root(docs[2]),
                                       json_root(docs[3]), f->out),
                     0);
    const char *text = output(f);
    check_exposition(text);
    static const char *const lines[] = {
        "# TYPE tsync_up gauge\ntsync_up 1\n",
        "\ntsync_synchronized 1\n",
        "\ntsync_offset_seconds -2.1e-06\n",
        "\ntsync_clock_error_bound_seconds 0.000412\n",
        "\ntsync_tracking_info{tracking_refid=\"C6120001\",tracking_name=\"198.18.0.1\","
        "leap_status=\"none\"} 1\n",
        "\ntsync_tracking_reference_timestamp_seconds 1795000123.25\n",
        "\ntsync_tracking_frequency_ppms -10.031\n",
        "\ntsync_tracking_root_delay_seconds 0.000214\n",
        "\ntsync_tracking_root_dispersion_seconds 0.000305\n",
        "# TYPE tsync_clock_steps_total counter\ntsync_clock_steps_total 1\n",
        "\ntsync_sources_reachable{source_address=\"198.18.0.1\",source_name="
        "\"ntp1.example.net\"} 1\n",
        "\ntsync_sources_reachable{source_address=\"\",source_name=\"2.debian.pool.ntp.org\"} "
        "0\n",
        "\ntsync_sources_reach_register{source_address=\"198.18.0.2\",source_name="
        "\"198.18.0.2\"} 127\n",
        "\ntsync_sources_last_sample_offset_seconds{source_address=\"198.18.0.1\","
        "source_name=\"ntp1.example.net\"} -3.6e-06\n",
        "\ntsync_sources_last_sample_delay_seconds{source_address=\"198.18.0.7\",source_name="
        "\"198.18.0.7\"} 1.5\n",
        "\ntsync_sources_jitter_seconds{source_address=\"198.18.0.2\",source_name="
        "\"198.18.0.2\"} 0.000789\n",
        "\ntsync_sources_state_info{source_address=\"198.18.0.7\",source_name=\"198.18.0.7\","
        "source_state=\"falseticker\",source_type=\"u\"} 1\n",
        "# TYPE tsync_serverstats_requests_total counter\n"
        "tsync_serverstats_requests_total{result=\"answered\"} 1024\n"
        "tsync_serverstats_requests_total{result=\"kod_rate\"} 3\n",
        "\ntsync_serverstats_ntp_packets_received_total 1039\n",
        "\ntsync_serverstats_clients_seen 12\n",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (strstr(text, lines[i]) == NULL) {
            fail_msg("missing from the metrics: %s", lines[i]);
        }
    }
    /* Unknown values are left out, not reported as zero. */
    assert_null(strstr(text, "source_name=\"2.debian.pool.ntp.org\"} 0\ntsync_sources_last"));
    assert_null(strstr(text, "last_sample_offset_seconds{source_address=\"\""));
    for (int i = 0; i < 4; i++) {
        json_free(docs[i]);
    }
}

static void test_metrics_label_escaping(void **state)
{
    struct fixture *f = *state;
    const char *s = "{\"sources\":[{\"name\":\"a\\\"b\\\\c\\nd\",\"address\":\"198.18.0.3\","
                    "\"reach\":3}]}";
    assert_int_equal(cmd_metrics_print(NULL, NULL, load(f, s), NULL, f->out), 0);
    assert_non_null(strstr(output(f), "tsync_sources_reach_register{source_address="
                                      "\"198.18.0.3\",source_name=\"a\\\"b\\\\c\\nd\"} 3\n"));
    check_exposition(output(f));
}

static enum cmd_check_code judge(struct fixture *f, const char *status, double warn, double crit,
                                 double max_unsync)
{
    struct cmd_check_limits limits = {warn, crit, max_unsync};
    reset(f);
    return cmd_check_judge(&f->ctx, load(f, status), &limits, f->out);
}

static void test_check_verdicts(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(judge(f, status_json, 0.1, 1, 0), CHECK_OK);
    assert_string_equal(output(f), "TSYNC OK: synchronized, offset -2.100 us, bound 412.000 us"
                                   "|offset=-0.000002100s;0.1;1 bound=0.000412000s;0.1;1 "
                                   "sources_reachable=3;;1:;0;4\n");
    /* The bound beyond --warn, then beyond --crit. */
    assert_int_equal(judge(f, status_json, 0.0001, 1, 0), CHECK_WARNING);
    assert_non_null(strstr(output(f), "TSYNC WARNING: bound 412.000 us beyond 0.0001 s|"));
    assert_int_equal(judge(f, status_json, 0.0001, 0.0002, 0), CHECK_CRITICAL);
    assert_non_null(strstr(output(f), "TSYNC CRITICAL: bound 412.000 us beyond 0.0002 s|"));
    const char *far = "{\"synchronized\":true,\"offset\":-2.5,\"bound\":2.6,"
                      "\"sources_reachable\":2,\"sources\":2}";
    assert_int_equal(judge(f, far, 0.1, 1, 0), CHECK_CRITICAL);
    assert_non_null(strstr(output(f), "TSYNC CRITICAL: offset -2.500 s beyond 1 s|offset="
                                      "-2.500000000s;0.1;1 bound=2.600000000s;0.1;1"));
}

static void test_check_unsync_and_unreachable(void **state)
{
    struct fixture *f = *state;
    const char *unsync = "{\"synchronized\":false,\"since\":1795003300,\"offset\":null,"
                         "\"bound\":null,\"sources_reachable\":1,\"sources\":1}";
    /* 300 s unsynchronized: a warning within --max-unsync, critical beyond it. */
    assert_int_equal(judge(f, unsync, 0.1, 1, 600), CHECK_WARNING);
    assert_string_equal(output(f), "TSYNC WARNING: not synchronized for 5m 0s (within "
                                   "--max-unsync)|sources_reachable=1;;1:;0;1\n");
    assert_int_equal(judge(f, unsync, 0.1, 1, 60), CHECK_CRITICAL);
    assert_non_null(strstr(output(f), "TSYNC CRITICAL: not synchronized for 5m 0s|"));
    const char *never = "{\"synchronized\":false,\"since\":null}";
    assert_int_equal(judge(f, never, 0.1, 1, 1e9), CHECK_CRITICAL);
    assert_string_equal(output(f), "TSYNC CRITICAL: not synchronized (never since start)\n");
    const char *dark = "{\"synchronized\":true,\"offset\":0.001,\"bound\":0.01,"
                       "\"sources_reachable\":0,\"sources\":4}";
    assert_int_equal(judge(f, dark, 0.1, 1, 0), CHECK_CRITICAL);
    assert_non_null(strstr(output(f), "TSYNC CRITICAL: no reachable source (is UDP 123 "
                                      "blocked?)|"));
}

static void test_check_unknown(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(judge(f, "{\"error\":\"busy\"}", 0.1, 1, 0), CHECK_UNKNOWN);
    assert_non_null(strstr(output(f), "TSYNC UNKNOWN: "));
    assert_int_equal(judge(f, "{\"synchronized\":true,\"offset\":0.001}", 0.1, 1, 0),
                     CHECK_UNKNOWN);
    assert_non_null(strstr(output(f), "TSYNC UNKNOWN: bound unknown|offset=0.001000000s"));
}

static void test_helpers(void **state)
{
    (void)state;
    char buf[64];
    double d;
    assert_true(cli_parse_seconds("0.5", &d) && d == 0.5);
    assert_false(cli_parse_seconds("-1", &d));
    assert_false(cli_parse_seconds("1x", &d));
    assert_false(cli_parse_seconds("", &d));
    assert_false(cli_parse_seconds("nan", &d));
    assert_false(cli_parse_seconds(NULL, &d));
    cli_format_duration(90061, buf, sizeof(buf));
    assert_string_equal(buf, "1d 1h");
    cli_format_duration(-1, buf, sizeof(buf));
    assert_string_equal(buf, "-");
    cli_format_utc(1e300, buf, sizeof(buf));
    assert_string_equal(buf, "-");
    cli_format_seconds(4.12e-7, buf, sizeof(buf));
    assert_string_equal(buf, "412 ns");
    cli_format_seconds(0, buf, sizeof(buf));
    assert_string_equal(buf, "0.000 s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sources_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_names_and_width, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources_odd_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracking_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tracking_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sourcestats_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serverstats_golden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_label_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_unsync_and_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_unknown, setup, teardown),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
