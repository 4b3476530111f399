/* Unit tests for the CLI's JSON parser (src/cli/json.c): the documents of
 * doc/control.md, every escape form and surrogate pairs, the strictness rules of
 * RFC 8259 (rejected inputs, with the byte offset in the message), the depth and size
 * bounds, and the NULL-safe accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/json.h"

static struct json_doc *parse(const char *text)
{
    char err[128];
    return json_parse(text, strlen(text), err, sizeof(err));
}

static void test_status_document(void **state)
{
    (void)state;
    const char *text = "{\"synchronized\":true,\"since\":1795000000.5,\"offset\":-2.1e-06,"
                       "\"bound\":0.000412,\"stratum\":2,\"reference\":\"198.18.0.1\","
                       "\"leap\":\"none\",\"sources_reachable\":3,\"sources\":4}\n";
    struct json_doc *doc = parse(text);
    assert_non_null(doc);
    const struct json_value *root = json_root(doc);
    assert_int_equal(root->type, JSON_OBJECT);
    assert_int_equal(root->count, 9);
    bool b = false;
    double d = 0;
    assert_true(json_get_bool(root, "synchronized", &b));
    assert_true(b);
    assert_true(json_get_num(root, "since", &d));
    assert_true(d == 1795000000.5);
    assert_true(json_get_num(root, "offset", &d));
    assert_true(d == -2.1e-06);
    assert_string_equal(json_get_str(root, "reference"), "198.18.0.1");
    /* Mistyped or missing members are refused, not converted. */
    assert_false(json_get_num(root, "reference", &d));
    assert_false(json_get_bool(root, "stratum", &b));
    assert_null(json_get_str(root, "stratum"));
    assert_null(json_get(root, "absent"));
    json_free(doc);
}

static void test_arrays_and_null(void **state)
{
    (void)state;
    struct json_doc *doc = parse(" {\"sources\" : [ {\"when\":null,\"reach\":255} , {} ,[],"
                                 "false ] } ");
    assert_non_null(doc);
    const struct json_value *list = json_get(json_root(doc), "sources");
    assert_non_null(list);
    assert_int_equal(list->type, JSON_ARRAY);
    assert_int_equal(list->count, 4);
    const struct json_value *first = list->child;
    double d = 7;
    assert_int_equal(json_get(first, "when")->type, JSON_NULL);
    assert_false(json_get_num(first, "when", &d));
    assert_true(d == 7); /* untouched on failure */
    assert_true(json_get_num(first, "reach", &d));
    assert_true(d == 255);
    assert_int_equal(first->next->type, JSON_OBJECT);
    assert_int_equal(first->next->count, 0);
    assert_int_equal(first->next->next->type, JSON_ARRAY);
    assert_int_equal(first->next->next->next->type, JSON_BOOL);
    assert_false(first->next->next->next->boolean);
    assert_null(first->next->next->next->next);
    json_free(doc);
}

static void test_escapes(void **state)
{
    (void)state;
    struct json_doc *doc = parse("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\","
                                 "\"\\ud83d\\ude00\",\"\xc3\xa9\xe2\x82\xac\"]");
    assert_non_null(doc);
    const struct json_value *v = json_root(doc)->child;
    assert_string_equal(v->string, "a\"b\\c/d\b\f\n\r\t");
    assert_string_equal(v->next->string, "\xc3\xa9\xe2\x82\xac");
    assert_string_equal(v->next->next->string, "\xf0\x9f\x98\x80");
    assert_string_equal(v->next->next->next->string, "\xc3\xa9\xe2\x82\xac");
    json_free(doc);
}

static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double value;
    } ok[] = {{"0", 0},       {"-0", 0},     {"12", 12},     {"-1.5", -1.5},
              {"1e3", 1000},  {"1E+2", 100}, {"25e-1", 2.5}, {"0.000412", 0.000412},
              {"1e-400", 0.0}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct json_doc *doc = parse(ok[i].text);
        assert_non_null(doc);
        assert_int_equal(json_root(doc)->type, JSON_NUMBER);
        assert_true(json_root(doc)->number == ok[i].value);
        json_free(doc);
    }
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[+1]",
        "[-]",
        "1e400",
        "-1e400",
        "[NaN]",
        "[Infinity]",
        "[tru]",
        "[nul]",
        "[True]",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"\\ud83d\"",
        "\"\\ude00\"",
        "\"\\ud83d\\u0041\"",
        "\"\\u0000\"",
        "\"a\tb\"",
        "\"\xff\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "[1] [2]",
        "{} x",
        "[1 2]",
        "// c\n1",
        "'a'",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        struct json_doc *doc = json_parse(bad[i], strlen(bad[i]), err, sizeof(err));
        if (doc != NULL) {
            fail_msg("accepted invalid JSON #%zu: %s", i, bad[i]);
        }
        assert_non_null(strstr(err, " at byte "));
    }
}

static void test_error_offset(void **state)
{
    (void)state;
    char err[128];
    assert_null(json_parse("{\"a\":[1,2,x]}", 13, err, sizeof(err)));
    assert_string_equal(err, "invalid literal at byte 10");
    /* A NUL inside the given length is data, and invalid outside strings. */
    assert_null(json_parse("[1]\0", 4, err, sizeof(err)));
    assert_string_equal(err, "trailing data at byte 3");
}

static void test_long_number_refused(void **state)
{
    (void)state;
    char text[200];
    memset(text, '1', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    struct json_doc *doc = parse(text);
    assert_null(doc);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char text[2 * JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH; i++) {
        text[n++] = '[';
    }
    for (int i = 0; i < JSON_MAX_DEPTH; i++) {
        text[n++] = ']';
    }
    struct json_doc *doc = json_parse(text, n, NULL, 0);
    assert_non_null(doc);
    json_free(doc);
    memmove(text + 1, text, n);
    text[0] = '[';
    text[n + 1] = ']';
    char err[128];
    assert_null(json_parse(text, n + 2, err, sizeof(err)));
    assert_non_null(strstr(err, "nesting too deep"));
}

static void test_size_limit(void **state)
{
    (void)state;
    size_t len = JSON_MAX_INPUT + 1;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, ' ', len);
    text[0] = '1';
    char err[128];
    assert_null(json_parse(text, len, err, sizeof(err)));
    assert_non_null(strstr(err, "input too long"));
    /* Exactly the limit is fine. */
    struct json_doc *doc = json_parse(text, JSON_MAX_INPUT, err, sizeof(err));
    assert_non_null(doc);
    json_free(doc);
    free(text);
}

static void test_many_values(void **state)
{
    (void)state;
    /* More values than one arena chunk holds, and the accessors on non-objects. */
    size_t count = 5000;
    char *text = malloc(count * 2 + 3);
    assert_non_null(text);
    size_t n = 0;
    text[n++] = '[';
    for (size_t i = 0; i < count; i++) {
        text[n++] = '7';
        text[n++] = i + 1 < count ? ',' : ']';
    }
    struct json_doc *doc = json_parse(text, n, NULL, 0);
    assert_non_null(doc);
    assert_int_equal(json_root(doc)->count, count);
    double sum = 0;
    for (const struct json_value *v = json_root(doc)->child; v != NULL; v = v->next) {
        sum += v->number;
    }
    assert_true(sum == 7.0 * (double)count);
    assert_null(json_get(json_root(doc), "a"));
    assert_null(json_get(NULL, "a"));
    assert_null(json_root(NULL));
    json_free(doc);
    json_free(NULL);
    free(text);
}

static void test_first_duplicate_wins(void **state)
{
    (void)state;
    struct json_doc *doc = parse("{\"a\":1,\"a\":2}");
    double d = 0;
    assert_non_null(doc);
    assert_true(json_get_num(json_root(doc), "a", &d));
    assert_true(d == 1);
    json_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_document),
        cmocka_unit_test(test_arrays_and_null),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_error_offset),
        cmocka_unit_test(test_long_number_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_many_values),
        cmocka_unit_test(test_first_duplicate_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
