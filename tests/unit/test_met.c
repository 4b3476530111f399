/* Unit tests of src/metrics: the value tree builder (shapes, accessors, misuse and the
 * size bound make it unusable, never crash) and the text writer (one # HELP/# TYPE per
 * family, label escaping, special values, tsync_up 0 alone when the daemon is down). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met_prom.h"
#include "metrics/met_tree.h"

struct buf {
    char text[16384];
    size_t len;
};

static void to_buf(void *ctx, const char *s, size_t n)
{
    struct buf *b = ctx;
    assert_true(b->len + n < sizeof(b->text));
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void test_tree_shapes(void **state)
{
    struct met_tree t;
    bool b = false;
    double v = 0;
    (void)state;
    met_tree_init(&t);
    met_tree_open(&t, true);
    met_tree_key(&t, "name");
    met_tree_string(&t, "a\"b");
    met_tree_key(&t, "n");
    met_tree_number(&t, 1.5);
    met_tree_key(&t, "ok");
    met_tree_bool(&t, true);
    met_tree_key(&t, "none");
    met_tree_null(&t);
    met_tree_key(&t, "list");
    met_tree_open(&t, false);
    met_tree_number(&t, 1);
    met_tree_number(&t, 2);
    met_tree_close(&t);
    met_tree_close(&t);
    const struct met_val *root = met_tree_root(&t);
    assert_non_null(root);
    assert_int_equal(root->count, 5);
    assert_string_equal(met_get_str(root, "name"), "a\"b");
    assert_true(met_get_num(root, "n", &v));
    assert_true(v == 1.5);
    assert_true(met_get_bool(root, "ok", &b));
    assert_true(b);
    assert_false(met_get_num(root, "none", &v)); /* null is no number */
    assert_false(met_get_num(root, "name", &v));
    assert_null(met_get_str(root, "missing"));
    assert_int_equal(met_get(root, "list")->count, 2);
    assert_true(met_get(root, "list")->child->next->number == 2);
    assert_null(met_get(NULL, "x"));
    met_tree_free(&t);
}

static void test_tree_misuse(void **state)
{
    struct met_tree t;
    (void)state;
    /* A value in an object without its key. */
    met_tree_init(&t);
    met_tree_open(&t, true);
    met_tree_number(&t, 1);
    met_tree_close(&t);
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
    /* A key in an array, a close too many, a second root, an unclosed object. */
    met_tree_init(&t);
    met_tree_open(&t, false);
    met_tree_key(&t, "k");
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
    met_tree_init(&t);
    met_tree_close(&t);
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
    met_tree_init(&t);
    met_tree_null(&t);
    met_tree_null(&t);
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
    met_tree_init(&t);
    met_tree_open(&t, true);
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
    /* Too deep. */
    met_tree_init(&t);
    for (int i = 0; i <= MET_TREE_MAX_DEPTH; i++) {
        met_tree_open(&t, false);
    }
    assert_true(t.failed);
    met_tree_free(&t);
}

static void test_tree_bound(void **state)
{
    static char big[64 * 1024];
    struct met_tree t;
    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    met_tree_init(&t);
    met_tree_open(&t, false);
    for (size_t i = 0; i < 2 * MET_TREE_MAX_BYTES / sizeof(big) && !t.failed; i++) {
        met_tree_string(&t, big);
    }
    assert_true(t.failed);
    assert_true(t.bytes <= MET_TREE_MAX_BYTES);
    met_tree_close(&t);
    assert_null(met_tree_root(&t));
    met_tree_free(&t);
}

static void test_writer(void **state)
{
    static const struct met_family fam = {"t_x", MET_COUNTER, "Help."};
    static const struct met_family other = {"t_y", MET_GAUGE, "Other."};
    struct buf b = {.len = 0};
    struct met_out o = {to_buf, &b};
    struct met_writer w;
    struct met_label l[2] = {{"a", "q\"b\\s\nn"}, {"b", NULL}};
    (void)state;
    met_writer_init(&w, &o);
    met_sample(&w, &fam, l, 2, 1);
    met_sample(&w, &fam, l, 1, NAN);
    met_sample(&w, &other, NULL, 0, INFINITY);
    met_sample(&w, &other, NULL, 0, -INFINITY);
    met_sample(&w, &other, NULL, 0, 0.1);
    assert_string_equal(b.text, "# HELP t_x Help.\n# TYPE t_x counter\n"
                                "t_x{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 1\n"
                                "t_x{a=\"q\\\"b\\\\s\\nn\"} NaN\n"
                                "# HELP t_y Other.\n# TYPE t_y gauge\n"
                                "t_y +Inf\nt_y -Inf\nt_y 0.1\n");
}

static void test_down_and_empty(void **state)
{
    struct buf b = {.len = 0};
    struct met_out o = {to_buf, &b};
    struct met_writer w;
    (void)state;
    met_writer_init(&w, &o);
    met_prom_write_down(&w);
    assert_non_null(strstr(b.text, "# TYPE tsync_up gauge\ntsync_up 0\n"));
    b.len = 0;
    met_writer_init(&w, &o);
    met_prom_write(&w, NULL, NULL, NULL, NULL);
    assert_non_null(strstr(b.text, "\ntsync_up 1\n"));
    assert_null(strstr(b.text, "tsync_synchronized")); /* unknown: left out */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_shapes),    cmocka_unit_test(test_tree_misuse),
        cmocka_unit_test(test_tree_bound),     cmocka_unit_test(test_writer),
        cmocka_unit_test(test_down_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
