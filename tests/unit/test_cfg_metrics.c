/* Unit tests of the metrics directive (src/daemon/cfg_control.c): the default (none),
 * IPv4 and bracketed IPv6 with a port, "none" after a value, and every kind of bad value
 * with its file:line message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "daemon/cfg.h"

static struct cfg c;
static struct cfg_error err;

static int load(const char *text)
{
    cfg_init(&c);
    memset(&err, 0, sizeof(err));
    return cfg_load_string(&c, text, "t.conf", &err, NULL, NULL);
}

static void test_default_none(void **state)
{
    (void)state;
    assert_int_equal(load("server 198.18.0.1\n"), 0);
    assert_false(c.metrics);
}

static void test_ipv4(void **state)
{
    static const uint8_t lo[4] = {127, 0, 0, 1};
    (void)state;
    assert_int_equal(load("metrics 127.0.0.1:9123\n"), 0);
    assert_true(c.metrics);
    assert_int_equal(c.metrics_addr.family, CORE_AF_INET);
    assert_memory_equal(c.metrics_addr.bytes, lo, 4);
    assert_int_equal(c.metrics_addr.port, 9123);
    assert_int_equal(load("METRICS 198.18.0.5:65535\n"), 0);
    assert_int_equal(c.metrics_addr.port, 65535);
}

static void test_ipv6(void **state)
{
    uint8_t one[16] = {0};
    (void)state;
    one[15] = 1;
    assert_int_equal(load("metrics [::1]:9123\n"), 0);
    assert_true(c.metrics);
    assert_int_equal(c.metrics_addr.family, CORE_AF_INET6);
    assert_memory_equal(c.metrics_addr.bytes, one, 16);
    assert_int_equal(c.metrics_addr.port, 9123);
}

static void test_none_after_value(void **state)
{
    (void)state;
    assert_int_equal(load("metrics 127.0.0.1:9123\nmetrics none\n"), 0);
    assert_false(c.metrics);
    assert_int_equal(c.metrics_addr.port, 0);
}

static void expect_error(const char *text, int line, const char *needle)
{
    assert_int_equal(load(text), -1);
    assert_string_equal(err.file, "t.conf");
    assert_int_equal(err.line, line);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    }
}

static void test_errors(void **state)
{
    static const char *const bad[] = {
        "metrics 127.0.0.1\n",       /* no port: never a default address or port */
        "metrics 9123\n",            /* no address */
        "metrics :9123\n",           /* empty address */
        "metrics 127.0.0.1:0\n",     /* port 0 */
        "metrics 127.0.0.1:65536\n", /* beyond 16 bits */
        "metrics 127.0.0.1:123456\n",
        "metrics 127.0.0.1:+80\n",
        "metrics 127.0.0.1:80x\n",
        "metrics 127.0.0.1:\n",
        "metrics ::1:9123\n",         /* IPv6 needs brackets */
        "metrics [127.0.0.1]:9123\n", /* brackets are for IPv6 */
        "metrics [::1]9123\n",
        "metrics [::1:9123\n",
        "metrics localhost:9123\n", /* names are not resolved */
        "metrics 256.0.0.1:9123\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "# line 1\n%s", bad[i]);
        expect_error(text, 2, "expected ADDRESS:PORT");
    }
    expect_error("metrics\n", 1, "missing value");
    expect_error("metrics 127.0.0.1:9123 extra\n", 1, "extra");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_none), cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_ipv6),         cmocka_unit_test(test_none_after_value),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
