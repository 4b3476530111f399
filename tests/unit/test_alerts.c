/* Alert repetition (src/daemon/alerts.c): conditions begin with their event, repeat
 * with doubling back-off up to an hour while they last, end with the engine's own
 * events, per source for unreachable sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/alerts.h"

#define S(x) ((int64_t)(x) * INT64_C(1000000000))

static struct act_event ev(enum act_event_kind k, int source)
{
    struct act_event e;
    memset(&e, 0, sizeof(e));
    e.kind = (uint16_t)k;
    e.source = source;
    e.severity = ACT_SEV_WARNING;
    return e;
}

static void test_repeats_with_backoff(void **state)
{
    (void)state;
    struct alerts a;
    struct act_event out[8];
    double for_s[8];
    alerts_init(&a);
    struct act_event e = ev(EV_ALL_UNREACHABLE, -1);
    alerts_on_event(&a, &e, S(100));
    assert_int_equal(alerts_active(&a), 1);
    assert_true(alerts_next(&a) == S(160));
    assert_int_equal(alerts_due(&a, S(159), out, for_s, 8), 0);
    /* Repetitions at 60, then 120, 240, ... s apart, capped at an hour. */
    int64_t t = S(100), want_gap = 60;
    for (int i = 0; i < 10; i++) {
        t += S(want_gap);
        assert_true(alerts_next(&a) == t);
        assert_int_equal(alerts_due(&a, t, out, for_s, 8), 1);
        assert_int_equal(out[0].kind, EV_ALL_UNREACHABLE);
        assert_true(for_s[0] == (double)(t - S(100)) / 1e9);
        want_gap = want_gap * 2 < 3600 ? want_gap * 2 : 3600;
    }
    /* A source answering ends it. */
    e = ev(EV_SOURCE_REACHABLE, 2);
    alerts_on_event(&a, &e, t);
    assert_int_equal(alerts_active(&a), 0);
    assert_true(alerts_next(&a) == INT64_MAX);
}

static void test_per_source_and_synced(void **state)
{
    (void)state;
    struct alerts a;
    struct act_event out[8];
    double for_s[8];
    alerts_init(&a);
    struct act_event u0 = ev(EV_SOURCE_UNREACHABLE, 0), u3 = ev(EV_SOURCE_UNREACHABLE, 3);
    struct act_event ns = ev(EV_NO_SELECTABLE, -1), bad = ev(EV_SOURCE_UNREACHABLE, 100000);
    alerts_on_event(&a, &u0, S(0));
    alerts_on_event(&a, &u3, S(10));
    alerts_on_event(&a, &ns, S(20));
    alerts_on_event(&a, &bad, S(20)); /* no such slot: ignored */
    alerts_on_event(&a, &u0, S(50)); /* again: the schedule stays */
    assert_int_equal(alerts_active(&a), 3);
    assert_int_equal(alerts_due(&a, S(80), out, for_s, 8), 3);
    /* At most max at a time; the rest stay due. */
    assert_int_equal(alerts_due(&a, S(1000), out, for_s, 1), 1);
    assert_int_equal(alerts_due(&a, S(1000), out, for_s, 8), 2);
    /* Synced ends the global conditions, not a source that is still silent. */
    struct act_event sy = ev(EV_SYNCED, 3);
    alerts_on_event(&a, &sy, S(1100));
    assert_int_equal(alerts_active(&a), 2);
    struct act_event r3 = ev(EV_SOURCE_REACHABLE, 3), rm0 = ev(EV_SOURCE_REMOVED, 0);
    alerts_on_event(&a, &r3, S(1200));
    alerts_on_event(&a, &rm0, S(1200));
    assert_int_equal(alerts_active(&a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeats_with_backoff),
        cmocka_unit_test(test_per_source_and_synced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
