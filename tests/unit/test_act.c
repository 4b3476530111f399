/* Unit tests for the action list and event vocabulary (src/core/act.c): bounded pushes
 * with an overflow count, event fields and name truncation, and that every event kind
 * has a distinct lower_snake name and a template using only known placeholders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/act.h"

static struct act_list list;

static void test_push_and_clear(void **state)
{
    (void)state;
    act_list_clear(&list);
    struct act *a = act_push(&list, ACT_STEP);
    assert_non_null(a);
    assert_int_equal(a->kind, ACT_STEP);
    assert_true(a->u.step.offset == 0.0);
    a->u.step.offset = 1.5;
    assert_int_equal(list.n, 1);
    assert_true(list.a[0].u.step.offset == 1.5);
    act_list_clear(&list);
    assert_int_equal(list.n, 0);
    assert_int_equal(list.overflow, 0);
}

static void test_overflow_is_counted(void **state)
{
    (void)state;
    act_list_clear(&list);
    for (int i = 0; i < ACT_MAX; i++) {
        assert_non_null(act_push(&list, ACT_FREQ));
    }
    assert_null(act_push(&list, ACT_FREQ));
    act_event(&list, EV_STEP, ACT_SEV_NOTICE, -1, NULL, 1, 2);
    assert_int_equal(list.n, ACT_MAX);
    assert_int_equal(list.overflow, 2);
    act_list_clear(&list);
    assert_int_equal(list.overflow, 0);
}

static void test_event_fields(void **state)
{
    (void)state;
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    act_list_clear(&list);
    act_event(&list, EV_KOD, ACT_SEV_WARNING, 7, longname, 3.0, -4.0);
    act_event(&list, EV_SYNC_LOST, ACT_SEV_ERR, -1, NULL, 0, 0);
    assert_int_equal(list.n, 2);
    const struct act_event *ev = &list.a[0].u.event;
    assert_int_equal(list.a[0].kind, ACT_EVENT);
    assert_int_equal(ev->kind, EV_KOD);
    assert_int_equal(ev->severity, ACT_SEV_WARNING);
    assert_int_equal(ev->source, 7);
    assert_int_equal(strlen(ev->name), ACT_EVENT_NAME_MAX - 1);
    assert_true(ev->v[0] == 3.0 && ev->v[1] == -4.0 && ev->v[2] == 0.0 && ev->v[3] == 0.0);
    assert_string_equal(list.a[1].u.event.name, "");
}

/* Every {...} in a template is {name} or {v0}..{v3}; braces are balanced. */
static bool template_ok(const char *t)
{
    for (const char *p = strchr(t, '{'); p != NULL; p = strchr(p + 1, '{')) {
        if (strncmp(p, "{name}", 6) != 0 &&
            !(p[1] == 'v' && p[2] >= '0' && p[2] <= '3' && p[3] == '}')) {
            return false;
        }
    }
    return true;
}

static void test_names_and_templates(void **state)
{
    (void)state;
    for (int k = 0; k < EV_KIND_COUNT; k++) {
        const char *n = act_event_kind_name((enum act_event_kind)k);
        assert_string_not_equal(n, "unknown");
        for (const char *p = n; *p != '\0'; p++) {
            assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
        }
        for (int j = 0; j < k; j++) {
            assert_string_not_equal(n, act_event_kind_name((enum act_event_kind)j));
        }
        const char *t = act_event_template((enum act_event_kind)k);
        assert_string_not_equal(t, "unknown event");
        assert_true(template_ok(t));
    }
    assert_string_equal(act_event_kind_name(EV_STEP), "step");
    assert_string_equal(act_event_kind_name(EV_SOURCE_UNREACHABLE), "source_unreachable");
    assert_string_equal(act_event_kind_name(EV_KIND_COUNT), "unknown");
    assert_string_equal(act_event_kind_name((enum act_event_kind) - 1), "unknown");
    assert_non_null(strstr(act_event_template(EV_ALL_UNREACHABLE), "UDP port 123"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_and_clear),
        cmocka_unit_test(test_overflow_is_counted),
        cmocka_unit_test(test_event_fields),
        cmocka_unit_test(test_names_and_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
