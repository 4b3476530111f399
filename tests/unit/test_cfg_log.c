/* Logs and statistics directives (src/daemon/cfg_log.c): ntpd's statsdir, statistics,
 * filegen, logfile, logconfig and chrony's logdir, log, logchange, with their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/cfg.h"

static struct cfg c;
static struct cfg_error err;

static int load(const char *text)
{
    cfg_init(&c);
    memset(&err, 0, sizeof(err));
    return cfg_load_string(&c, text, "t.conf", &err, NULL, NULL);
}

static void test_defaults(void **state)
{
    (void)state;
    assert_int_equal(load(""), 0);
    assert_string_equal(c.statsdir, "");
    assert_int_equal(c.stats_files, 0);
    assert_string_equal(c.logfile, "");
    assert_int_equal(c.log_classes, CFG_LOG_ALL);
    assert_true(c.logchange == 0.0);
}

static void test_ntpd_dialect(void **state)
{
    (void)state;
    assert_int_equal(load("statsdir /var/log/ntpsec/\n"
                          "statistics loopstats peerstats clockstats\n"
                          "filegen loopstats file loopstats type day enable\n"
                          "filegen peerstats file peerstats type day disable\n"
                          "logfile /var/log/tsyncd.log\n"
                          "logconfig =syncall +clockall -clockinfo +peerevents\n"),
                     0);
    assert_string_equal(c.statsdir, "/var/log/ntpsec/");
    assert_int_equal(c.stats_files, CFG_STATS_TRACKING);
    assert_string_equal(c.logfile, "/var/log/tsyncd.log");
    assert_int_equal(c.log_classes, CFG_LOG_SYNC | CFG_LOG_PEER);
    assert_int_equal(load("logconfig syncstatus +sysevents\n"), 0);
    assert_int_equal(c.log_classes, CFG_LOG_SYNC | CFG_LOG_SYS);
}

static void test_chrony_dialect(void **state)
{
    (void)state;
    assert_int_equal(load("logdir /var/log/chrony\nlog measurements statistics tracking\n"
                          "logchange 0.5\n"),
                     0);
    assert_string_equal(c.statsdir, "/var/log/chrony");
    assert_int_equal(c.stats_files, CFG_STATS_TRACKING | CFG_STATS_MEASUREMENTS);
    assert_true(c.logchange == 0.5);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } bad[] = {
        {"statsdir relative/dir\n", "absolute"},
        {"statsdir\n", "missing value"},
        {"statistics loopstat\n", "unknown name"},
        {"log\n", "tracking measurements"},
        {"filegen nosuch enable\n", "unknown statistics name"},
        {"filegen loopstats sideways\n", "unknown option"},
        {"filegen loopstats file\n", "missing value"},
        {"logfile log.txt\n", "absolute"},
        {"logconfig =everything\n", "unknown class"},
        {"logconfig\n", "missing value"},
        {"logchange -1\n", "logchange"},
        {"logchange 1 2\n", "t.conf:1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(load(bad[i].text), -1);
        if (strstr(err.msg, bad[i].want) == NULL && strstr(err.file, bad[i].want) == NULL) {
            char where[300];
            snprintf(where, sizeof(where), "%s:%d", err.file, err.line);
            if (strstr(where, bad[i].want) == NULL) {
                fail_msg("\"%s\" gave \"%s\", expected \"%s\"", bad[i].text, err.msg,
                         bad[i].want);
            }
        }
        assert_int_equal(err.line, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_ntpd_dialect),
        cmocka_unit_test(test_chrony_dialect),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
