/* Unit tests for src/daemon/ctl_req.c: framing (line, end of stream, too long, waiting
 * for more), every command with and without arguments, and each error code of
 * doc/control.md with its cause; plus random bytes (seed printed) never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/ctl_req.h"

static enum ctl_err parse(const char *text, struct ctl_req *r)
{
    char msg[256];

    enum ctl_err e = ctl_req_parse(text, strlen(text), r, msg, sizeof(msg));
    if (e != CTL_OK) {
        assert_true(strlen(msg) > 10); /* a sentence, not nothing */
    }
    return e;
}

static void test_frame(void **state)
{
    char big[400];
    size_t n = 99;
    (void)state;

    assert_int_equal(ctl_req_frame("status\n", 7, false, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 6);
    assert_int_equal(ctl_req_frame("status\nrest", 11, false, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 6);
    assert_int_equal(ctl_req_frame("stat", 4, false, &n), CTL_FRAME_MORE);
    assert_int_equal(ctl_req_frame("stat", 4, true, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 4);
    assert_int_equal(ctl_req_frame("", 0, true, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 0);
    memset(big, 'a', sizeof(big));
    assert_int_equal(ctl_req_frame(big, 256, false, &n), CTL_FRAME_MORE);
    assert_int_equal(ctl_req_frame(big, 256, true, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 256);
    assert_int_equal(ctl_req_frame(big, 257, false, &n), CTL_FRAME_TOO_LONG);
    assert_int_equal(ctl_req_frame(big, 257, true, &n), CTL_FRAME_TOO_LONG);
    big[256] = '\n'; /* exactly 256 bytes then the newline: allowed */
    assert_int_equal(ctl_req_frame(big, 300, false, &n), CTL_FRAME_LINE);
    assert_int_equal(n, 256);
    big[256] = 'a';
    big[300] = '\n'; /* a newline after the limit does not help */
    assert_int_equal(ctl_req_frame(big, 350, false, &n), CTL_FRAME_TOO_LONG);
}

static void test_commands(void **state)
{
    static const char *const words[CTL_CMD_COUNT] = {"status",      "tracking",    "sources",
                                                     "sourcestats", "serverstats", "makestep",
                                                     "reload",      "online",      "offline"};
    struct ctl_req r;
    (void)state;

    for (int c = 0; c < CTL_CMD_COUNT; c++) {
        assert_int_equal(parse(words[c], &r), CTL_OK);
        assert_int_equal(r.cmd, c);
        assert_false(r.has_arg);
        assert_string_equal(ctl_cmd_name((enum ctl_cmd)c), words[c]);
        assert_int_equal(ctl_cmd_changes((enum ctl_cmd)c), c >= CTL_CMD_MAKESTEP);
    }
    assert_null(ctl_cmd_name(CTL_CMD_COUNT));
    assert_false(ctl_cmd_changes(CTL_CMD_COUNT));
}

static void test_arguments(void **state)
{
    struct ctl_req r;
    (void)state;

    assert_int_equal(parse("offline ntp1.example.net", &r), CTL_OK);
    assert_int_equal(r.cmd, CTL_CMD_OFFLINE);
    assert_true(r.has_arg);
    assert_string_equal(r.arg, "ntp1.example.net");
    assert_int_equal(parse("  online   198.18.0.1  ", &r), CTL_OK);
    assert_int_equal(r.cmd, CTL_CMD_ONLINE);
    assert_string_equal(r.arg, "198.18.0.1");
    assert_int_equal(parse("status\r", &r), CTL_OK);
    assert_int_equal(parse("reload sources", &r), CTL_OK);
    assert_int_equal(r.cmd, CTL_CMD_RELOAD);
    assert_false(r.has_arg);
    assert_int_equal(parse("reload everything", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("online a b", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("status now", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("makestep 0.1 3", &r), CTL_ERR_BAD_REQUEST);
}

static void test_errors(void **state)
{
    struct ctl_req r;
    char msg[8];
    char big[300];
    (void)state;

    assert_int_equal(parse("", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("   ", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("sta\ttus", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("status\x7f", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(parse("offline caf\xc3\xa9", &r), CTL_ERR_BAD_REQUEST);
    assert_int_equal(ctl_req_parse("status\0x", 8, &r, msg, sizeof(msg)), CTL_ERR_BAD_REQUEST);
    assert_int_equal(strlen(msg), sizeof(msg) - 1); /* cut, still terminated */
    assert_int_equal(parse("Status", &r), CTL_ERR_UNKNOWN_COMMAND);
    assert_int_equal(parse("statu", &r), CTL_ERR_UNKNOWN_COMMAND);
    assert_int_equal(parse("statuss", &r), CTL_ERR_UNKNOWN_COMMAND);
    memset(big, 'a', sizeof(big));
    assert_int_equal(ctl_req_parse(big, 257, &r, NULL, 0), CTL_ERR_TOO_LONG);
    memcpy(big, "offline ", 8);
    assert_int_equal(ctl_req_parse(big, 256, &r, NULL, 0), CTL_OK);
    assert_int_equal(strlen(r.arg), 248);
}

static void test_error_codes(void **state)
{
    static const char *const codes[] = {
        "ok",   "too_long", "bad_request", "unknown_command", "not_permitted", "unknown_source",
        "busy", "timeout",  "failed"};
    (void)state;

    for (int e = 0; e < CTL_ERR_COUNT; e++) {
        assert_string_equal(ctl_err_code((enum ctl_err)e), codes[e]);
    }
    assert_string_equal(ctl_err_code(CTL_ERR_COUNT), "internal");
}

static void test_random_bytes(void **state)
{
    unsigned seed = (unsigned)time(NULL);
    char buf[400], msg[64];
    struct ctl_req r;
    size_t n;
    (void)state;

    printf("# test_random_bytes seed %u\n", seed);
    srand(seed);
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)rand() % sizeof(buf);
        for (size_t i = 0; i < len; i++) {
            /* Mostly command letters and spaces, so that some parse. */
            int k = rand() % 4;
            buf[i] = k == 0 ? (char)(rand() % 256) : "statuonlefi n\n"[rand() % 14];
        }
        if (ctl_req_frame(buf, len, rand() % 2, &n) == CTL_FRAME_LINE) {
            assert_true(n <= CTL_REQ_MAX);
            if (ctl_req_parse(buf, n, &r, msg, sizeof(msg)) == CTL_OK) {
                assert_non_null(ctl_cmd_name(r.cmd));
                assert_true(strlen(r.arg) < CTL_REQ_MAX);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame),       cmocka_unit_test(test_commands),
        cmocka_unit_test(test_arguments),   cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_codes), cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
