/* Unit tests for src/daemon/evlog.c: placeholder substitution, number and kiss-code
 * styles, hostile names and templates, cutting at the buffer size, the severity to
 * syslog level mapping, and every event kind's template rendering without leftovers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/cfg.h"
#include "daemon/evlog.h"

static struct act_event make_event(unsigned kind, const char *name, double v0, double v1, double v2,
                                   double v3)
{
    struct act_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = (uint16_t)kind;
    ev.severity = ACT_SEV_INFO;
    ev.source = -1;
    snprintf(ev.name, sizeof(ev.name), "%s", name);
    ev.v[0] = v0;
    ev.v[1] = v1;
    ev.v[2] = v2;
    ev.v[3] = v3;
    return ev;
}

static void renders(const char *tmpl, const struct act_event *ev, const char *want)
{
    char buf[256];
    size_t n = evlog_render(tmpl, ev, NULL, buf, sizeof(buf));

    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_placeholders(void **state)
{
    struct act_event ev = make_event(EV_STEP, "198.18.0.1", 1, 2.5, -3, 4e-6);

    (void)state;
    renders("plain text", &ev, "plain text");
    renders("", &ev, "");
    renders("{name}", &ev, "198.18.0.1");
    renders("source {name} at {v0}/{v1}/{v2}/{v3}.", &ev,
            "source 198.18.0.1 at 1/2.5/-3/0.000004.");
    renders("{v3}{v3}{name}{name}", &ev, "0.0000040.000004198.18.0.1198.18.0.1");
}

/* Anything that is not exactly a known placeholder is copied as it stands. */
static void test_unknown_braces_are_literal(void **state)
{
    struct act_event ev = make_event(EV_STEP, "n", 7, 0, 0, 0);

    (void)state;
    renders("{v4} {v} {foo} { } {{v0}} {name {v0", &ev, "{v4} {v} {foo} { } {7} {name {v0");
    renders("{", &ev, "{");
    renders("}{v0", &ev, "}{v0");
    renders("{NAME} {V0}", &ev, "{NAME} {V0}");
}

static void test_numbers(void **state)
{
    struct act_event ev = make_event(EV_STEP, "", 300, -0.000123456789, 0.1, -0.0);

    (void)state;
    renders("{v0} {v1} {v2} {v3}", &ev, "300 -0.000123457 0.1 0");
    ev.v[0] = 300.000000001;
    ev.v[1] = -1e-12; /* below a nanosecond: no "-0" */
    ev.v[2] = 12.5e9 + 0.5;
    ev.v[3] = 100000.25;
    renders("{v0} {v1} {v2} {v3}", &ev, "300.000000001 0 1.25e+10 100000.25");
    ev.v[0] = 4294967295.0; /* integers keep every digit */
    ev.v[1] = -123456789012.0;
    ev.v[2] = 1e300;
    renders("{v0} {v1} {v2}", &ev, "4294967295 -123456789012 1e+300");
    ev.v[0] = NAN;
    ev.v[1] = INFINITY;
    ev.v[2] = -INFINITY;
    ev.v[3] = -1e300;
    renders("{v0} {v1} {v2} {v3}", &ev, "nan inf -inf -1e+300");
}

static void test_kiss_code_style(void **state)
{
    const enum evlog_value_style styles[4] = {EVLOG_ASCII4, EVLOG_NUMBER, EVLOG_ASCII4,
                                              EVLOG_ASCII4};
    double rate = (double)(((uint32_t)'R' << 24) | ((uint32_t)'A' << 16) | ('T' << 8) | 'E');
    struct act_event ev = make_event(EV_KOD, "s", rate, rate, 1.0, -5.0);
    char buf[64];

    (void)state;
    evlog_render("{v0} {v1} {v2} {v3}", &ev, styles, buf, sizeof(buf));
    /* 1.0 is three NUL bytes and 0x01: not printable; -5 is no code at all. */
    assert_string_equal(buf, "RATE 1380013125 ???? ????");
    ev.v[0] = NAN;
    evlog_render("{v0}", &ev, styles, buf, sizeof(buf));
    assert_string_equal(buf, "????");
}

/* Names may come from DNS: control bytes and high bytes never reach the log, and a
 * name that fills its array without a NUL is still bounded. */
static void test_hostile_names(void **state)
{
    struct act_event ev = make_event(EV_SOURCE_REACHABLE, "", 0, 0, 0, 0);
    char buf[256];

    (void)state;
    snprintf(ev.name, sizeof(ev.name), "a\nb\x1b[31m\xff\x7f");
    renders("[{name}]", &ev, "[a?b?[31m??]");
    memset(ev.name, 'x', sizeof(ev.name)); /* no terminator */
    size_t n = evlog_render("{name}", &ev, NULL, buf, sizeof(buf));
    assert_int_equal(n, ACT_EVENT_NAME_MAX);
    assert_int_equal(strlen(buf), ACT_EVENT_NAME_MAX);
}

static void test_cut_at_capacity(void **state)
{
    struct act_event ev = make_event(EV_STEP, "server.example.org", 123.5, 0, 0, 0);
    char buf[16];

    (void)state;
    memset(buf, '#', sizeof(buf));
    size_t n = evlog_render("source {name} at {v0} s", &ev, NULL, buf, 10);
    assert_int_equal(n, 9);
    assert_string_equal(buf, "source se");
    assert_int_equal(buf[10], '#'); /* nothing written past cap */
    assert_int_equal(evlog_render("x{v0}", &ev, NULL, buf, 1), 0);
    assert_string_equal(buf, "");
    buf[0] = '#';
    assert_int_equal(evlog_render("x", &ev, NULL, buf, 0), 0);
    assert_int_equal(buf[0], '#');
    /* evlog_format cut inside the kind prefix still terminates. */
    memset(buf, '#', sizeof(buf));
    evlog_format(&ev, buf, 4);
    assert_int_equal(strlen(buf), 3);
}

static void test_format_known_kinds(void **state)
{
    char buf[512];
    struct act_event ev = make_event(EV_STEP, "", 300.25, 3, 0, 0);
    double deny = (double)(((uint32_t)'D' << 24) | ((uint32_t)'E' << 16) | ('N' << 8) | 'Y');

    (void)state;
    evlog_format(&ev, buf, sizeof(buf));
    assert_string_equal(buf, "step: stepped the clock by 300.25 s, 3 sources agreed");
    ev = make_event(EV_KOD, "198.18.0.1", deny, 1, 0, 0);
    evlog_format(&ev, buf, sizeof(buf));
    assert_non_null(strstr(buf, "kod: source 198.18.0.1 sent kiss-o'-death DENY: 1"));
    ev = make_event(60000, "x", 0, 0, 0, 0); /* a kind this build does not know */
    evlog_format(&ev, buf, sizeof(buf));
    assert_string_equal(buf, "unknown: unknown event");
}

/* Every template of the core renders completely: no placeholder is left over, which
 * catches a misspelt one in src/core/act.c. */
static void test_every_kind_renders(void **state)
{
    char buf[1024];

    (void)state;
    for (unsigned k = 0; k < EV_KIND_COUNT; k++) {
        struct act_event ev = make_event(k, "name.example", 1, 2, 3, 4);
        size_t n = evlog_format(&ev, buf, sizeof(buf));
        const char *kind = act_event_kind_name((enum act_event_kind)k);
        assert_true(n > strlen(kind) + 2);
        assert_int_equal(strncmp(buf, kind, strlen(kind)), 0);
        assert_string_not_equal(kind, "unknown");
        if (strstr(buf, "{name}") || strstr(buf, "{v")) {
            fail_msg("kind %u left a placeholder: %s", k, buf);
        }
    }
}

static void test_levels(void **state)
{
    (void)state;
    assert_int_equal(evlog_level(ACT_SEV_ERR), SYS_LOG_ERR);
    assert_int_equal(evlog_level(ACT_SEV_WARNING), SYS_LOG_WARNING);
    assert_int_equal(evlog_level(ACT_SEV_NOTICE), SYS_LOG_NOTICE);
    assert_int_equal(evlog_level(ACT_SEV_INFO), SYS_LOG_INFO);
    assert_int_equal(evlog_level(ACT_SEV_DEBUG), SYS_LOG_DEBUG);
    assert_int_equal(evlog_level(99), SYS_LOG_INFO);
}

/* Logging itself: to stderr at debug level, so every severity is written. */
static void test_log_smoke(void **state)
{
    (void)state;
    sys_log_open(SYS_LOG_STDERR, SYS_LOG_DEBUG);
    for (unsigned sev = 0; sev <= ACT_SEV_DEBUG + 1; sev++) {
        struct act_event ev = make_event(EV_SOURCE_UNREACHABLE, "198.18.0.9", 8, 0, 0, 0);
        ev.severity = (uint8_t)sev;
        evlog_log(&ev);
    }
    sys_log_close();
}

/* logconfig classes: every kind has one; a filtered class is not logged, an error is
 * logged whatever the filter; a repeated condition says how long it has lasted. */
static void test_classes_and_repeats(void **state)
{
    (void)state;
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        unsigned c = evlog_class((enum act_event_kind)k);
        assert_true(c == CFG_LOG_CLOCK || c == CFG_LOG_PEER || c == CFG_LOG_SYS ||
                    c == CFG_LOG_SYNC);
    }
    assert_int_equal(evlog_class(EV_STEP), CFG_LOG_CLOCK);
    assert_int_equal(evlog_class(EV_KOD), CFG_LOG_PEER);
    assert_int_equal(evlog_class(EV_ALL_UNREACHABLE), CFG_LOG_SYS);
    assert_int_equal(evlog_class(EV_SYNCED), CFG_LOG_SYNC);

    char dir[] = "/tmp/tsync-evlog.XXXXXX", path[128], buf[2048];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    assert_int_equal(sys_log_open_file(path, SYS_LOG_DEBUG), 0);
    struct act_event kod = make_event(EV_KOD, "198.18.0.9", 0x52415445, 0, 0, 0);
    kod.severity = ACT_SEV_WARNING;
    assert_false(evlog_log_if(&kod, CFG_LOG_SYNC));
    assert_true(evlog_log_if(&kod, CFG_LOG_PEER));
    struct act_event refused = make_event(EV_STEP_REFUSED, "", 2000, 1000, 0, 0);
    refused.severity = ACT_SEV_ERR;
    assert_true(evlog_log_if(&refused, 0));
    struct act_event un = make_event(EV_ALL_UNREACHABLE, "", 4, 3700, 0, 0);
    un.severity = ACT_SEV_WARNING;
    evlog_log_again(&un, 7260);
    sys_log_close();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_int_equal(strstr(buf, "kod:") != NULL ? 1 : 0, 1);
    assert_null(strstr(strstr(buf, "kod:") + 1, "kod:")); /* once: the filtered call wrote nothing */
    assert_non_null(strstr(buf, "error: step_refused:"));
    assert_non_null(strstr(buf, "warning: still (for 7260 s) all_unreachable: none of 4"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes_and_repeats),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_unknown_braces_are_literal),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_kiss_code_style),
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_cut_at_capacity),
        cmocka_unit_test(test_format_known_kinds),
        cmocka_unit_test(test_every_kind_renders),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_log_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
