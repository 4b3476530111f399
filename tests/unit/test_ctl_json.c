/* Unit tests for src/daemon/ctl_json.c: nesting and separators, string escaping (quote,
 * backslash, control and non-ASCII bytes), number forms (nine digits, null for NaN and
 * infinities, times with microseconds), truncation at every buffer size, and misuse
 * (unbalanced, value without key) refused rather than sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "daemon/ctl_json.h"

static char buf[1024];
static struct ctl_json j;

static const char *done(void)
{
    long n = ctl_json_finish(&j);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    return buf;
}

/* A small document using every kind of call. */
static void sample(struct ctl_json *w)
{
    ctl_json_begin_object(w);
    ctl_json_kv_bool(w, "synchronized", true);
    ctl_json_kv_null(w, "since");
    ctl_json_kv_number(w, "offset", -2.1e-06);
    ctl_json_kv_uint(w, "stratum", 2);
    ctl_json_kv_int(w, "poll", -3);
    ctl_json_key(w, "list");
    ctl_json_begin_array(w);
    ctl_json_number(w, 1.5);
    ctl_json_string(w, "x");
    ctl_json_begin_object(w);
    ctl_json_end_object(w);
    ctl_json_begin_array(w);
    ctl_json_end_array(w);
    ctl_json_end_array(w);
    ctl_json_kv_string(w, "name", NULL);
    ctl_json_end_object(w);
}

static const char sample_text[] = "{\"synchronized\":true,\"since\":null,\"offset\":-2.1e-06,"
                                  "\"stratum\":2,\"poll\":-3,\"list\":[1.5,\"x\",{},[]],"
                                  "\"name\":null}";

static void test_document(void **state)
{
    (void)state;
    ctl_json_init(&j, buf, sizeof(buf));
    sample(&j);
    assert_string_equal(done(), sample_text);
}

static void test_escaping(void **state)
{
    (void)state;
    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_string(&j, "a\"b\\c\n\t\x01\x7f\xc3\xa9/");
    assert_string_equal(done(), "\"a\\\"b\\\\c\\u000a\\u0009\\u0001\\u007f\\u00c3\\u00a9/\"");
}

static void test_numbers(void **state)
{
    (void)state;
    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_array(&j);
    ctl_json_number(&j, 0.000123456789123);
    ctl_json_number(&j, NAN);
    ctl_json_number(&j, INFINITY);
    ctl_json_number(&j, -10.031);
    ctl_json_time(&j, 1795000000.5);
    ctl_json_time(&j, 1795000123.25);
    ctl_json_time(&j, 1795000000.0);
    ctl_json_time(&j, NAN);
    ctl_json_uint(&j, UINT64_MAX);
    ctl_json_int(&j, INT64_MIN);
    ctl_json_end_array(&j);
    assert_string_equal(done(), "[0.000123456789,null,null,-10.031,1795000000.5,1795000123.25,"
                                "1795000000,null,18446744073709551615,-9223372036854775808]");
}

/* Every buffer too small for the document is refused, never cut; the exact size works. */
static void test_truncation(void **state)
{
    size_t need = strlen(sample_text) + 1;
    (void)state;

    for (size_t cap = 0; cap < need; cap++) {
        ctl_json_init(&j, buf, cap);
        sample(&j);
        assert_int_equal(ctl_json_finish(&j), -1);
        assert_true(cap == 0 || strlen(buf) < cap);
    }
    ctl_json_init(&j, buf, need);
    sample(&j);
    assert_string_equal(done(), sample_text);
}

static void test_misuse(void **state)
{
    (void)state;
    ctl_json_init(&j, buf, sizeof(buf));
    assert_int_equal(ctl_json_finish(&j), -1); /* empty */

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_object(&j);
    assert_int_equal(ctl_json_finish(&j), -1); /* open */

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_object(&j);
    ctl_json_number(&j, 1); /* value without key */
    ctl_json_end_object(&j);
    assert_int_equal(ctl_json_finish(&j), -1);

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_array(&j);
    ctl_json_key(&j, "k"); /* key in an array */
    ctl_json_number(&j, 1);
    ctl_json_end_array(&j);
    assert_int_equal(ctl_json_finish(&j), -1);

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_object(&j);
    ctl_json_key(&j, "k");
    ctl_json_end_object(&j); /* key without value */
    assert_int_equal(ctl_json_finish(&j), -1);

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_begin_array(&j);
    ctl_json_end_object(&j); /* wrong closer */
    assert_int_equal(ctl_json_finish(&j), -1);

    ctl_json_init(&j, buf, sizeof(buf));
    ctl_json_null(&j);
    ctl_json_null(&j); /* two top-level values */
    assert_int_equal(ctl_json_finish(&j), -1);

    ctl_json_init(&j, buf, sizeof(buf));
    for (int i = 0; i < CTL_JSON_MAX_DEPTH + 1; i++) {
        ctl_json_begin_array(&j);
    }
    assert_int_equal(ctl_json_finish(&j), -1); /* too deep */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document), cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_numbers),  cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
