/* Unit tests for the access-control table (src/core/acl.c): longest-prefix match at the
 * CIDR boundaries, nesting of allow and deny, family separation, the three add modes
 * and the error statuses. Addresses come from 198.18.0.0/15 and 2001:db8::/32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_core.h"

#include "core/acl.h"

#define ALLOW 0u /* chrony allow: no restriction flag */
#define DENY  ACL_IGNORE

/* 2001:db8:<g2>:<g3>:<g4>:<g5>:<g6>:<g7> */
static struct core_addr v6(uint16_t g2, uint16_t g3, uint16_t g4, uint16_t g5, uint16_t g6,
                           uint16_t g7)
{
    struct core_addr x;
    uint16_t g[8] = {0x2001, 0x0db8, g2, g3, g4, g5, g6, g7};
    memset(&x, 0, sizeof(x));
    x.family = CORE_AF_INET6;
    for (int i = 0; i < 8; i++) {
        x.bytes[2 * i] = (uint8_t)(g[i] >> 8);
        x.bytes[2 * i + 1] = (uint8_t)g[i];
    }
    return x;
}

static struct acl_rule rule(const struct core_addr *a, uint8_t prefix_len, uint32_t flags)
{
    struct acl_rule r;
    memset(&r, 0, sizeof(r));
    r.family = a->family;
    r.prefix_len = prefix_len;
    memcpy(r.addr, a->bytes, sizeof(r.addr));
    r.flags = flags;
    return r;
}

static void add_ok(struct acl *t, struct core_addr a, uint8_t len, uint32_t flags,
                   enum acl_add_mode mode)
{
    struct acl_rule r = rule(&a, len, flags);
    assert_int_equal(acl_add(t, &r, mode), ACL_OK);
}

static uint32_t look(const struct acl *t, struct core_addr a)
{
    return acl_lookup(t, &a);
}

static void test_empty_ignores_everything(void **state)
{
    (void)state;
    struct acl t;
    struct core_addr none;

    acl_init(&t);
    memset(&none, 0, sizeof(none));
    assert_int_equal(t.n, 0);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), ACL_IGNORE);
    assert_int_equal(look(&t, v6(0, 0, 0, 0, 0, 1)), ACL_IGNORE);
    assert_int_equal(acl_lookup(&t, &none), ACL_IGNORE);
}

static void test_slash0_v4_and_v6_are_separate(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(0, 0, 0, 0), 0, ACL_NOQUERY, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), ACL_NOQUERY);
    assert_int_equal(look(&t, test_core4(255, 255, 255, 255)), ACL_NOQUERY);
    assert_int_equal(look(&t, test_core4(0, 0, 0, 0)), ACL_NOQUERY);
    /* An IPv6 client never matches an IPv4 rule, even 0.0.0.0/0. */
    assert_int_equal(look(&t, v6(0, 0, 0, 0, 0, 1)), ACL_IGNORE);

    struct core_addr any6;
    memset(&any6, 0, sizeof(any6));
    any6.family = CORE_AF_INET6;
    add_ok(&t, any6, 0, ACL_NOPEER, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, v6(0, 0, 0, 0, 0, 1)), ACL_NOPEER);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), ACL_NOQUERY);
}

/* The same 16 bytes in the other family: no match in either direction. */
static void test_family_separation_same_bytes(void **state)
{
    (void)state;
    struct acl t;
    struct core_addr a4 = test_core4(198, 18, 0, 0);
    struct core_addr a6 = a4;

    a6.family = CORE_AF_INET6;
    acl_init(&t);
    add_ok(&t, a4, 15, ACL_LIMITED, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, a4), ACL_LIMITED);
    assert_int_equal(look(&t, a6), ACL_IGNORE);

    acl_init(&t);
    add_ok(&t, a6, 15, ACL_LIMITED, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, a6), ACL_LIMITED);
    assert_int_equal(look(&t, a4), ACL_IGNORE);
}

static void test_slash8_boundaries(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 0, 0, 0), 8, ACL_KOD, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, test_core4(198, 0, 0, 0)), ACL_KOD);
    assert_int_equal(look(&t, test_core4(198, 255, 255, 255)), ACL_KOD);
    assert_int_equal(look(&t, test_core4(197, 255, 255, 255)), ACL_IGNORE);
    assert_int_equal(look(&t, test_core4(199, 0, 0, 0)), ACL_IGNORE);
}

static void test_slash31_and_slash32(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 0, 2), 31, ACL_KOD, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 18, 0, 9), 32, ACL_LIMITED, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), ACL_IGNORE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 2)), ACL_KOD);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 3)), ACL_KOD);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 4)), ACL_IGNORE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 8)), ACL_IGNORE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 9)), ACL_LIMITED);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 10)), ACL_IGNORE);
    assert_int_equal(look(&t, test_core4(198, 18, 1, 9)), ACL_IGNORE);
}

static void test_slash64_and_slash128(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, v6(1, 2, 0, 0, 0, 0), 64, ACL_KOD, ACL_ADD_REPLACE);
    add_ok(&t, v6(1, 3, 0, 0, 0, 7), 128, ACL_LIMITED, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, v6(1, 2, 0, 0, 0, 0)), ACL_KOD);
    assert_int_equal(look(&t, v6(1, 2, 0xffff, 0xffff, 0xffff, 0xffff)), ACL_KOD);
    assert_int_equal(look(&t, v6(1, 1, 0xffff, 0xffff, 0xffff, 0xffff)), ACL_IGNORE);
    assert_int_equal(look(&t, v6(1, 3, 0, 0, 0, 0)), ACL_IGNORE);
    assert_int_equal(look(&t, v6(1, 3, 0, 0, 0, 7)), ACL_LIMITED);
    assert_int_equal(look(&t, v6(1, 3, 0, 0, 0, 6)), ACL_IGNORE);
    assert_int_equal(look(&t, v6(1, 3, 0, 0, 0, 8)), ACL_IGNORE);
    assert_int_equal(look(&t, v6(1, 3, 0x8000, 0, 0, 7)), ACL_IGNORE);
}

/* Host bits past the prefix are masked when the rule is added. */
static void test_host_bits_masked(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 3, 77), 22, ACL_NOQUERY, ACL_ADD_REPLACE);
    assert_int_equal(t.n, 1);
    const uint8_t want[16] = {198, 18, 0, 0};
    assert_memory_equal(t.rules[0].addr, want, 16);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 0)), ACL_NOQUERY);
    assert_int_equal(look(&t, test_core4(198, 18, 3, 255)), ACL_NOQUERY);
    assert_int_equal(look(&t, test_core4(198, 18, 4, 0)), ACL_IGNORE);
    /* The same prefix written with other host bits is the same rule. */
    add_ok(&t, test_core4(198, 18, 1, 1), 22, ACL_KOD, ACL_ADD_REPLACE);
    assert_int_equal(t.n, 1);
    assert_int_equal(look(&t, test_core4(198, 18, 2, 2)), ACL_KOD);
}

/* An IPv4 address with junk in bytes 4..15 is still just its first four bytes. */
static void test_v4_lookup_ignores_trailing_bytes(void **state)
{
    (void)state;
    struct acl t;
    struct core_addr a = test_core4(198, 18, 0, 1);

    memset(a.bytes + 4, 0xa5, 12);
    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 0, 1), 32, ACL_KOD, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, a), ACL_KOD);
}

static void test_deny_inside_allow(void **state)
{
    (void)state;
    struct acl t;

    /* Both insertion orders: specificity decides, not order. */
    for (int order = 0; order < 2; order++) {
        acl_init(&t);
        if (order == 0) {
            add_ok(&t, test_core4(198, 18, 0, 0), 15, ALLOW, ACL_ADD_REPLACE);
            add_ok(&t, test_core4(198, 18, 5, 0), 24, DENY, ACL_ADD_REPLACE);
        } else {
            add_ok(&t, test_core4(198, 18, 5, 0), 24, DENY, ACL_ADD_REPLACE);
            add_ok(&t, test_core4(198, 18, 0, 0), 15, ALLOW, ACL_ADD_REPLACE);
        }
        assert_int_equal(look(&t, test_core4(198, 18, 5, 1)), DENY);
        assert_int_equal(look(&t, test_core4(198, 18, 5, 255)), DENY);
        assert_int_equal(look(&t, test_core4(198, 18, 4, 255)), ALLOW);
        assert_int_equal(look(&t, test_core4(198, 18, 6, 0)), ALLOW);
        assert_int_equal(look(&t, test_core4(198, 19, 5, 1)), ALLOW);
        assert_int_equal(look(&t, test_core4(198, 20, 0, 1)), ACL_IGNORE);
    }
}

static void test_allow_inside_deny(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, v6(0, 0, 0, 0, 0, 0), 32, DENY, ACL_ADD_REPLACE);
    add_ok(&t, v6(7, 0, 0, 0, 0, 0), 48, ALLOW, ACL_ADD_REPLACE);
    add_ok(&t, v6(7, 1, 0, 0, 0, 0), 64, DENY, ACL_ADD_REPLACE);
    add_ok(&t, v6(7, 1, 0, 0, 0, 5), 128, ALLOW, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, v6(6, 0, 0, 0, 0, 1)), DENY);
    assert_int_equal(look(&t, v6(7, 0, 0, 0, 0, 1)), ALLOW);
    assert_int_equal(look(&t, v6(7, 1, 0, 0, 0, 1)), DENY);
    assert_int_equal(look(&t, v6(7, 1, 0, 0, 0, 5)), ALLOW);
    assert_int_equal(look(&t, v6(7, 2, 0, 0, 0, 5)), ALLOW);
}

/* chrony: a later allow/deny for the same prefix replaces the earlier one. */
static void test_replace_later_wins(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 7, 0), 24, ALLOW, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 18, 7, 0), 24, DENY, ACL_ADD_REPLACE);
    assert_int_equal(t.n, 1);
    assert_int_equal(look(&t, test_core4(198, 18, 7, 7)), DENY);
    add_ok(&t, test_core4(198, 18, 7, 0), 24, ALLOW, ACL_ADD_REPLACE);
    assert_int_equal(t.n, 1);
    assert_int_equal(look(&t, test_core4(198, 18, 7, 7)), ALLOW);
}

/* ntpd: restrict lines for the same address and mask OR their flags. */
static void test_merge_ors_flags(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(0, 0, 0, 0), 0, ACL_KOD | ACL_NOMODIFY, ACL_ADD_MERGE);
    add_ok(&t, test_core4(0, 0, 0, 0), 0, ACL_LIMITED, ACL_ADD_MERGE);
    add_ok(&t, test_core4(198, 18, 0, 1), 32, 0, ACL_ADD_MERGE);
    assert_int_equal(t.n, 2);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 2)), ACL_KOD | ACL_NOMODIFY | ACL_LIMITED);
    /* The more specific line does not inherit the default's flags. */
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), 0);
    add_ok(&t, test_core4(198, 18, 0, 1), 32, ACL_NOQUERY, ACL_ADD_MERGE);
    add_ok(&t, test_core4(198, 18, 0, 1), 32, 0, ACL_ADD_MERGE);
    assert_int_equal(look(&t, test_core4(198, 18, 0, 1)), ACL_NOQUERY);
}

/* chrony "allow all"/"deny all": earlier rules inside the prefix disappear, rules
 * outside it and in the other family stay. */
static void test_replace_all(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 1, 0), 24, ALLOW, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 18, 2, 0), 24, DENY, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 18, 0, 0), 16, ALLOW, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 19, 0, 0), 24, ALLOW, ACL_ADD_REPLACE);
    add_ok(&t, v6(0, 0, 0, 0, 0, 0), 48, ALLOW, ACL_ADD_REPLACE);
    assert_int_equal(t.n, 5);

    add_ok(&t, test_core4(198, 18, 0, 0), 16, DENY, ACL_ADD_REPLACE_ALL);
    assert_int_equal(t.n, 3);
    assert_int_equal(look(&t, test_core4(198, 18, 1, 1)), DENY);
    assert_int_equal(look(&t, test_core4(198, 18, 2, 1)), DENY);
    assert_int_equal(look(&t, test_core4(198, 19, 0, 1)), ALLOW);
    assert_int_equal(look(&t, v6(0, 0, 0, 0, 0, 1)), ALLOW);

    /* Rules added after "deny all" refine it again. */
    add_ok(&t, test_core4(198, 18, 9, 0), 24, ALLOW, ACL_ADD_REPLACE);
    assert_int_equal(look(&t, test_core4(198, 18, 9, 1)), ALLOW);
    assert_int_equal(look(&t, test_core4(198, 18, 8, 1)), DENY);

    /* "allow all" over 0.0.0.0/0 clears every IPv4 rule, keeps IPv6. */
    add_ok(&t, test_core4(0, 0, 0, 0), 0, ALLOW, ACL_ADD_REPLACE_ALL);
    assert_int_equal(t.n, 2);
    assert_int_equal(look(&t, test_core4(198, 18, 8, 1)), ALLOW);
    assert_int_equal(look(&t, test_core4(198, 19, 0, 1)), ALLOW);
    assert_int_equal(look(&t, v6(0, 0, 0, 0, 0, 1)), ALLOW);
    assert_int_equal(look(&t, v6(1, 0, 0, 0, 0, 1)), ACL_IGNORE);
}

/* A shorter, earlier rule is not inside a later longer prefix: REPLACE_ALL keeps it. */
static void test_replace_all_keeps_wider_rules(void **state)
{
    (void)state;
    struct acl t;

    acl_init(&t);
    add_ok(&t, test_core4(198, 18, 0, 0), 15, DENY, ACL_ADD_REPLACE);
    add_ok(&t, test_core4(198, 18, 4, 0), 24, ALLOW, ACL_ADD_REPLACE_ALL);
    assert_int_equal(t.n, 2);
    assert_int_equal(look(&t, test_core4(198, 18, 4, 4)), ALLOW);
    assert_int_equal(look(&t, test_core4(198, 18, 5, 4)), DENY);
}

static void test_full_table(void **state)
{
    (void)state;
    static struct acl t;

    acl_init(&t);
    for (int i = 0; i < ACL_MAX_RULES; i++) {
        add_ok(&t, test_core4(198, 18, (uint8_t)(i >> 8), (uint8_t)i), 32, ACL_KOD, ACL_ADD_REPLACE);
    }
    assert_int_equal(t.n, ACL_MAX_RULES);
    struct core_addr extra = test_core4(198, 19, 0, 1);
    struct acl_rule r = rule(&extra, 32, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_FULL);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_MERGE), ACL_FULL);
    assert_int_equal(t.n, ACL_MAX_RULES);
    assert_int_equal(look(&t, extra), ACL_IGNORE);

    /* An existing prefix can still be changed when the table is full. */
    struct core_addr last = test_core4(198, 18, 0, 255);
    r = rule(&last, 32, ACL_LIMITED);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_MERGE), ACL_OK);
    assert_int_equal(look(&t, last), ACL_KOD | ACL_LIMITED);

    /* REPLACE_ALL over the block frees the space it covers first. */
    struct core_addr blk = test_core4(198, 18, 0, 0);
    r = rule(&blk, 24, DENY);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE_ALL), ACL_OK);
    assert_int_equal(t.n, 1);
    assert_int_equal(look(&t, last), DENY);
}

static void test_bad_prefix(void **state)
{
    (void)state;
    struct acl t;
    struct core_addr a4 = test_core4(198, 18, 0, 1);
    struct core_addr a6 = v6(0, 0, 0, 0, 0, 1);
    struct acl_rule r;

    acl_init(&t);
    r = rule(&a4, 33, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_BAD_PREFIX);
    r = rule(&a6, 129, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_MERGE), ACL_BAD_PREFIX);
    r = rule(&a6, 255, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE_ALL), ACL_BAD_PREFIX);
    r = rule(&a4, 8, ALLOW);
    r.family = CORE_AF_NONE;
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_BAD_PREFIX);
    r.family = 5;
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_BAD_PREFIX);
    assert_int_equal(t.n, 0);
    /* The longest valid prefixes are accepted. */
    r = rule(&a4, 32, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_OK);
    r = rule(&a6, 128, ALLOW);
    assert_int_equal(acl_add(&t, &r, ACL_ADD_REPLACE), ACL_OK);
    assert_int_equal(t.n, 2);
}

/* Every prefix length 0..32 matches exactly the addresses sharing that many bits. */
static void test_every_v4_prefix_length(void **state)
{
    (void)state;
    struct acl t;
    const uint32_t base = 0xc6120000u | 0x5a5au; /* 198.18.90.90 */

    for (unsigned len = 0; len <= 32; len++) {
        acl_init(&t);
        add_ok(
            &t,
            test_core4((uint8_t)(base >> 24), (uint8_t)(base >> 16), (uint8_t)(base >> 8), (uint8_t)base),
            (uint8_t)len, ACL_KOD, ACL_ADD_REPLACE);
        for (unsigned bit = 0; bit < 32; bit++) {
            uint32_t x = base ^ (UINT32_C(1) << bit);
            bool inside = bit < 32 - len; /* flipping a host bit stays inside */
            uint32_t got =
                look(&t, test_core4((uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x));
            assert_int_equal(got, inside ? ACL_KOD : ACL_IGNORE);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_ignores_everything),
        cmocka_unit_test(test_slash0_v4_and_v6_are_separate),
        cmocka_unit_test(test_family_separation_same_bytes),
        cmocka_unit_test(test_slash8_boundaries),
        cmocka_unit_test(test_slash31_and_slash32),
        cmocka_unit_test(test_slash64_and_slash128),
        cmocka_unit_test(test_host_bits_masked),
        cmocka_unit_test(test_v4_lookup_ignores_trailing_bytes),
        cmocka_unit_test(test_deny_inside_allow),
        cmocka_unit_test(test_allow_inside_deny),
        cmocka_unit_test(test_replace_later_wins),
        cmocka_unit_test(test_merge_ors_flags),
        cmocka_unit_test(test_replace_all),
        cmocka_unit_test(test_replace_all_keeps_wider_rules),
        cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_bad_prefix),
        cmocka_unit_test(test_every_v4_prefix_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
