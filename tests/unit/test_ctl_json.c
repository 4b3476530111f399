/* Unit tests for src/daemon/ctl_json.c: nesting and separators, string escaping (quote,
 * backslash, control and non-ASCII bytes), number forms (nine digits, null for NaN and
 * infinities, times with microseconds), truncation at every buffer size, and misuse
 * (unbalanced, value without key) refused rather than sent; the tap sees every call, with
 * scalars as written, also without a buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
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

/* The tap records its events as text: o{ c} k:NAME s:TEXT r:TEXT. */
static char events[512];

static void ev(const char *kind, const char *text)
{
    size_t n = strlen(events);
    snprintf(events + n, sizeof(events) - n, "%s%s%s ", kind, text != NULL ? ":" : "",
             text != NULL ? text : "");
}

static void ev_open(void *ctx, bool object)
{
    (void)ctx;
    ev(object ? "o{" : "o[", NULL);
}

static void ev_close(void *ctx)
{
    (void)ctx;
    ev("c", NULL);
}

static void ev_key(void *ctx, const char *k)
{
    (void)ctx;
    ev("k", k);
}

static void ev_string(void *ctx, const char *s)
{
    (void)ctx;
    ev("s", s);
}

static void ev_raw(void *ctx, const char *t)
{
    (void)ctx;
    ev("r", t);
}

static void test_tap(void **state)
{
    static const struct ctl_json_tap tap = {NULL, ev_open, ev_close, ev_key, ev_string, ev_raw};
    const char *want = "o{ k:a s:x\"y k:n r:0.123456789 k:t r:1795000000.5 k:l o[ r:-3 r:true "
                       "r:null c k:u r:null c ";
    (void)state;
    for (int with_buf = 0; with_buf < 2; with_buf++) {
        events[0] = '\0';
        ctl_json_init(&j, with_buf ? buf : NULL, with_buf ? sizeof(buf) : 0);
        ctl_json_set_tap(&j, &tap);
        ctl_json_begin_object(&j);
        ctl_json_kv_string(&j, "a", "x\"y");
        ctl_json_kv_number(&j, "n", 0.1234567891234);
        ctl_json_key(&j, "t");
        ctl_json_time(&j, 1795000000.5);
        ctl_json_key(&j, "l");
        ctl_json_begin_array(&j);
        ctl_json_int(&j, -3);
        ctl_json_bool(&j, true);
        ctl_json_number(&j, NAN);
        ctl_json_end_array(&j);
        ctl_json_kv_string(&j, "u", NULL);
        ctl_json_end_object(&j);
        assert_string_equal(events, want);
        assert_true(with_buf ? ctl_json_finish(&j) > 0 : ctl_json_finish(&j) < 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document), cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_numbers),  cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_misuse),   cmocka_unit_test(test_tap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
