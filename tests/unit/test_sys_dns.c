/* Unit tests for src/sys/sys_dns.c: lookups of "localhost" and numeric literals only,
 * answers in order with their tags, the pipe waking a poll, the bounded queue, bad
 * input, and stopping with work in flight. The process first moves into a private
 * network namespace when it can, so no lookup could leave this machine even by mistake. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sys/sys_dns.h"

#define WAIT_MS 5000

/* Waits (bounded) for the next answer. */
static void take_one(struct sys_dns *d, struct sys_dns_answer *a)
{
    for (int i = 0; i < 50; i++) {
        if (sys_dns_take(d, a) == 1) {
            return;
        }
        struct pollfd p = {.fd = sys_dns_fd(d), .events = POLLIN};
        (void)poll(&p, 1, WAIT_MS / 50);
    }
    fail_msg("no answer within %d ms", WAIT_MS);
}

static bool has_v4(const struct sys_dns_answer *a, const char *text)
{
    struct in_addr want;

    assert_int_equal(inet_pton(AF_INET, text, &want), 1);
    for (size_t i = 0; i < a->n; i++) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->addr[i];
        if (s->sin_family == AF_INET && a->addr_len[i] == sizeof(*s) &&
            s->sin_addr.s_addr == want.s_addr && ntohs(s->sin_port) == 123) {
            return true;
        }
    }
    return false;
}

static bool has_v6(const struct sys_dns_answer *a, const char *text)
{
    struct in6_addr want;

    assert_int_equal(inet_pton(AF_INET6, text, &want), 1);
    for (size_t i = 0; i < a->n; i++) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&a->addr[i];
        if (s->sin6_family == AF_INET6 && a->addr_len[i] == sizeof(*s) &&
            memcmp(&s->sin6_addr, &want, sizeof(want)) == 0 && ntohs(s->sin6_port) == 123) {
            return true;
        }
    }
    return false;
}

static void test_start_stop_idle(void **state)
{
    struct sys_dns *d = NULL;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    assert_non_null(d);
    assert_true(sys_dns_fd(d) >= 0);
    assert_int_equal(sys_dns_pending(d), 0);
    sys_dns_stop(d);
    sys_dns_stop(NULL);
}

static void test_numeric_literals(void **state)
{
    struct sys_dns *d;
    struct sys_dns_answer a;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_UNSPEC, 7), 0);
    assert_int_equal(sys_dns_submit(d, "::1", AF_INET6, 8), 0);
    assert_int_equal(sys_dns_submit(d, "198.18.0.1", AF_INET, 9), 0);
    /* Queued, running or answered: all three count until taken. */
    assert_int_equal(sys_dns_pending(d), 3);
    take_one(d, &a);
    assert_int_equal(sys_dns_pending(d), 2);
    assert_int_equal(a.tag, 7);
    assert_string_equal(a.name, "127.0.0.1");
    assert_int_equal(a.gai_error, 0);
    assert_int_equal(a.n, 1);
    assert_true(has_v4(&a, "127.0.0.1"));
    take_one(d, &a);
    assert_int_equal(a.tag, 8);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.n, 1);
    assert_true(has_v6(&a, "::1"));
    take_one(d, &a);
    assert_int_equal(a.tag, 9);
    assert_true(has_v4(&a, "198.18.0.1"));
    assert_int_equal(sys_dns_take(d, &a), 0);
    assert_int_equal(sys_dns_pending(d), 0);
    sys_dns_stop(d);
}

/* An IPv4 literal asked for as IPv6 fails inside getaddrinfo without any lookup. */
static void test_family_mismatch_fails(void **state)
{
    struct sys_dns *d;
    struct sys_dns_answer a;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_INET6, 1), 0);
    take_one(d, &a);
    assert_int_equal(a.tag, 1);
    assert_int_not_equal(a.gai_error, 0);
    assert_int_equal(a.n, 0);
    assert_true(strlen(a.error) > 0);
    sys_dns_stop(d);
}

static void test_localhost(void **state)
{
    struct sys_dns *d;
    struct sys_dns_answer a;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    assert_int_equal(sys_dns_submit(d, "localhost", AF_INET, 42), 0);
    take_one(d, &a);
    assert_int_equal(a.tag, 42);
    assert_int_equal(a.gai_error, 0);
    assert_true(has_v4(&a, "127.0.0.1"));
    for (size_t i = 0; i < a.n; i++) {
        assert_int_equal(a.addr[i].ss_family, AF_INET);
    }
    /* AF_UNSPEC: every address is loopback and none appears twice. */
    assert_int_equal(sys_dns_submit(d, "localhost", AF_UNSPEC, 43), 0);
    take_one(d, &a);
    assert_int_equal(a.gai_error, 0);
    assert_true(a.n >= 1);
    for (size_t i = 0; i < a.n; i++) {
        if (a.addr[i].ss_family == AF_INET) {
            assert_int_equal(ntohl(((struct sockaddr_in *)&a.addr[i])->sin_addr.s_addr) >> 24, 127);
        } else {
            assert_int_equal(a.addr[i].ss_family, AF_INET6);
            assert_true(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&a.addr[i])->sin6_addr));
        }
        for (size_t j = 0; j < i; j++) {
            assert_false(a.addr_len[i] == a.addr_len[j] &&
                         memcmp(&a.addr[i], &a.addr[j], a.addr_len[i]) == 0);
        }
    }
    sys_dns_stop(d);
}

/* Requests + unread answers never exceed SYS_DNS_QUEUE: the next one is refused until
 * an answer is taken, and answers come out in submission order. */
static void test_queue_is_bounded(void **state)
{
    struct sys_dns *d;
    struct sys_dns_answer a;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    for (uint64_t i = 0; i < SYS_DNS_QUEUE; i++) {
        assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_INET, 100 + i), 0);
    }
    assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_INET, 999), -EAGAIN);
    for (uint64_t i = 0; i < SYS_DNS_QUEUE; i++) {
        take_one(d, &a);
        assert_int_equal(a.tag, 100 + i);
        if (i == 0) {
            assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_INET, 200), 0);
        }
    }
    take_one(d, &a);
    assert_int_equal(a.tag, 200);
    /* Everything taken: the pipe is drained, a poll does not wake. */
    struct pollfd p = {.fd = sys_dns_fd(d), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
    sys_dns_stop(d);
}

static void test_pipe_wakes_poll(void **state)
{
    struct sys_dns *d;
    struct sys_dns_answer a;
    struct pollfd p;

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    p = (struct pollfd){.fd = sys_dns_fd(d), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
    assert_int_equal(sys_dns_submit(d, "::1", AF_UNSPEC, 5), 0);
    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    assert_true(p.revents & POLLIN);
    assert_int_equal(sys_dns_take(d, &a), 1);
    assert_int_equal(a.tag, 5);
    assert_int_equal(poll(&p, 1, 0), 0);
    sys_dns_stop(d);
}

static void test_bad_requests(void **state)
{
    struct sys_dns *d;
    char longname[SYS_DNS_NAME_MAX + 10];

    (void)state;
    assert_int_equal(sys_dns_start(&d), 0);
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(sys_dns_submit(d, "", AF_UNSPEC, 1), -EINVAL);
    assert_int_equal(sys_dns_submit(d, longname, AF_UNSPEC, 1), -ENAMETOOLONG);
    assert_int_equal(sys_dns_submit(d, "127.0.0.1", AF_UNIX, 1), -EINVAL);
    assert_int_equal(sys_dns_pending(d), 0);
    sys_dns_stop(d);
}

/* Stopping with lookups queued or running neither blocks nor leaks (ASan checks). */
static void test_stop_with_work_in_flight(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        struct sys_dns *d;
        assert_int_equal(sys_dns_start(&d), 0);
        for (int i = 0; i < round % 5; i++) {
            assert_int_equal(sys_dns_submit(d, "localhost", AF_UNSPEC, (uint64_t)i), 0);
        }
        sys_dns_stop(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_stop_idle),
        cmocka_unit_test(test_numeric_literals),
        cmocka_unit_test(test_family_mismatch_fails),
        cmocka_unit_test(test_localhost),
        cmocka_unit_test(test_queue_is_bounded),
        cmocka_unit_test(test_pipe_wakes_poll),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_stop_with_work_in_flight),
    };
    /* A private network namespace (root only): only "lo", so nothing can leave. */
    if (unshare(CLONE_NEWNET) != 0) {
        printf("no private network namespace (%s): names used are local only anyway\n",
               strerror(errno));
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
