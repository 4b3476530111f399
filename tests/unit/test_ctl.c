/* Unit tests for the control socket server (src/daemon/ctl.c) with the views
 * (ctl_views.c) of a real engine: every read command's JSON shape, a request sent in
 * pieces, each error of doc/control.md (too_long, bad_request, unknown_command,
 * not_permitted from a forked child that became nobody, unknown_source, busy, timeout),
 * change commands reaching the ops, and garbage that never stops the server. The socket
 * lives in a mkdtemp directory; every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/eng.h"
#include "daemon/ctl.h"
#include "sys/sys_clock.h"

static char dir[32];
static char path[64];
static struct sys_loop loop;
static struct ctl *ctl;
static void *eng_mem;
static struct eng *eng;
static struct act_list acts;
static int changes_seen;
static struct ctl_req last_change;

static void view_input(void *ctx, struct ctl_view_in *in)
{
    (void)ctx;
    in->eng = eng;
    in->now.real_ns = sys_clock_realtime_ns();
    in->now.mono_ns = sys_clock_monotonic_ns();
    in->since_known = true;
    in->since_unix_s = 1795000000.5;
    in->serve = NULL;
}

static enum ctl_err change(void *ctx, const struct ctl_req *r, struct ctl_json *j, char *msg,
                           size_t n)
{
    (void)ctx;
    changes_seen++;
    last_change = *r;
    if (r->has_arg && strcmp(r->arg, "nosuch") == 0) {
        snprintf(msg, n, "no server or pool line is called nosuch");
        return CTL_ERR_UNKNOWN_SOURCE;
    }
    ctl_json_kv_int(j, "sources", 1);
    return CTL_OK;
}

static int setup(void **state)
{
    struct eng_config ec;
    struct core_time now = {sys_clock_realtime_ns(), sys_clock_monotonic_ns()};
    struct ctl_ops ops = {.ctx = NULL, .view_input = view_input, .change = change};
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/test_ctl.XXXXXX");
    if (mkdtemp(dir) == NULL || sys_loop_init(&loop) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/run/ctl.sock", dir);
    eng_config_default(&ec);
    ec.no_clock_control = true;
    ec.n_sources = 2;
    eng_source_default(&ec.sources[0], "198.18.0.1", false);
    eng_source_default(&ec.sources[1], "pool.example.net", true);
    eng_mem = calloc(1, eng_size());
    ctl = calloc(1, sizeof(*ctl));
    if (eng_mem == NULL || ctl == NULL) {
        return -1;
    }
    eng = eng_init(eng_mem, &ec, now, 1, &acts);
    changes_seen = 0;
    return ctl_open(ctl, path, (gid_t)-1, &loop, &ops) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char sub[48];
    (void)state;

    ctl_close(ctl);
    sys_loop_close(&loop);
    free(ctl);
    free(eng_mem);
    snprintf(sub, sizeof(sub), "%s/run", dir);
    (void)rmdir(sub);
    (void)rmdir(dir);
    return 0;
}

static int connect_ctl(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* Runs the server until fd's answer is complete (end of stream), at most ms_max. */
static size_t run_until_answer(int fd, char *out, size_t cap, int ms_max)
{
    size_t n = 0;

    for (int waited = 0; waited < ms_max; waited += 10) {
        int t = ctl_timeout_ms(ctl, sys_clock_monotonic_ns());
        (void)sys_loop_wait(&loop, t >= 0 && t < 10 ? t : 10);
        ctl_after_wait(ctl);
        for (;;) {
            ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
            if (r == 0) {
                out[n] = '\0';
                return n;
            }
            if (r < 0) {
                break;
            }
            n += (size_t)r;
            assert_true(n < cap - 1);
        }
    }
    fail_msg("no complete answer within %d ms (got %zu bytes)", ms_max, n);
    return 0;
}

static const char *ask_bytes(const char *req, size_t len)
{
    static char out[CTL_ANSWER_MAX];
    int fd = connect_ctl();

    if (len > 0) {
        assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    }
    /* The end of the stream ends a line that has no newline. */
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    size_t n = run_until_answer(fd, out, sizeof(out), 3000);
    close(fd);
    assert_true(n > 2);
    assert_int_equal(out[n - 1], '\n');
    assert_int_equal(out[0], '{');
    assert_null(strchr(out, '\n') + 1 == out + n ? NULL : out); /* one line */
    return out;
}

static const char *ask(const char *req)
{
    return ask_bytes(req, strlen(req));
}

static void expect_error(const char *answer, const char *code)
{
    char want[64];

    snprintf(want, sizeof(want), "{\"error\":\"%s\",\"message\":\"", code);
    if (strncmp(answer, want, strlen(want)) != 0) {
        fail_msg("expected error %s, got %s", code, answer);
    }
}

static void expect_has(const char *answer, const char *needle)
{
    if (strstr(answer, needle) == NULL) {
        fail_msg("expected %s in %s", needle, answer);
    }
}

static void test_status(void **state)
{
    (void)state;
    const char *a = ask("status\n");
    expect_has(a, "{\"synchronized\":false,\"since\":1795000000.5,\"offset\":null,\"bound\":");
    expect_has(a, "\"stratum\":16,\"reference\":null,\"leap\":\"unsynchronized\"");
    expect_has(a, "\"sources_reachable\":0,\"sources\":1}");
}

static void test_tracking(void **state)
{
    static const char *const keys[] = {"reference_id",
                                       "reference_name",
                                       "stratum",
                                       "reference_time",
                                       "system_time_offset",
                                       "last_offset",
                                       "rms_offset",
                                       "frequency_ppm",
                                       "residual_frequency_ppm",
                                       "skew_ppm",
                                       "root_delay",
                                       "root_dispersion",
                                       "update_interval",
                                       "leap",
                                       "bound",
                                       "synchronized",
                                       "steps"};
    char k[64];
    (void)state;

    const char *a = ask("tracking\n");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(k, sizeof(k), "\"%s\":", keys[i]);
        expect_has(a, k);
    }
    expect_has(a, "\"reference_time\":null,\"system_time_offset\":null");
    expect_has(a, "\"update_interval\":null");
}

static void test_sources(void **state)
{
    (void)state;
    const char *a = ask("sources");
    expect_has(a, "{\"sources\":[{\"name\":\"198.18.0.1\",\"address\":\"198.18.0.1\",\"tally\":\" "
                  "\",\"state\":\"rejected\",\"type\":\"u\",\"stratum\":16,");
    expect_has(a, "\"when\":null,\"poll\":6,\"reach\":0,\"delay\":null,\"offset\":null,"
                  "\"jitter\":null,\"leap\":\"unsynchronized\",\"offline\":false}");
    expect_has(a, "{\"name\":\"pool.example.net\",\"address\":null,\"tally\":\" \",\"state\":"
                  "\"pool\",\"type\":\"p\"");
    a = ask("sourcestats\n");
    expect_has(a, "{\"sources\":[{\"name\":\"198.18.0.1\",\"address\":\"198.18.0.1\","
                  "\"replies\":{\"ok\":0,\"stale\":0,");
    expect_has(a, "},\"offset\":null,\"jitter\":null,\"delay\":null}");
}

static void test_serverstats(void **state)
{
    (void)state;
    const char *a = ask("serverstats\n");
    expect_has(a, "{\"requests\":{\"answered\":0,\"kod_rate\":0,");
    expect_has(a, "},\"clients_seen\":0,\"datagrams\":{\"received\":0,\"sent\":0,");
}

static void test_in_pieces(void **state)
{
    static char out[4096];
    (void)state;

    int fd = connect_ctl();
    assert_int_equal(send(fd, "sta", 3, 0), 3);
    for (int i = 0; i < 5; i++) {
        (void)sys_loop_wait(&loop, 10);
        ctl_after_wait(ctl);
    }
    assert_int_equal(recv(fd, out, sizeof(out), 0), -1); /* nothing yet */
    assert_int_equal(send(fd, "tus\n", 4, 0), 4);
    run_until_answer(fd, out, sizeof(out), 3000);
    close(fd);
    expect_has(out, "{\"synchronized\":false");
}

static void test_errors(void **state)
{
    char big[600];
    (void)state;

    memset(big, 'a', sizeof(big));
    expect_error(ask_bytes(big, sizeof(big)), "too_long");
    expect_error(ask_bytes(big, 257), "too_long");
    expect_error(ask("\n"), "bad_request");
    expect_error(ask_bytes("", 0), "bad_request"); /* closed without a line */
    expect_error(ask("status now\n"), "bad_request");
    expect_error(ask_bytes("sta\0tus\n", 8), "bad_request");
    expect_error(ask("\x1b[2J\n"), "bad_request");
    expect_error(ask("shutdown\n"), "unknown_command");
    expect_error(ask("offline nosuch\n"), "unknown_source");
    assert_int_equal(changes_seen, 1);
    assert_int_equal(ctl->cnt.errors, 9);
}

static void test_change_commands(void **state)
{
    (void)state;
    /* The test runs as root or as the socket's group owner: permitted. */
    assert_string_equal(ask("offline 198.18.0.1\n"), "{\"ok\":true,\"sources\":1}\n");
    assert_int_equal(last_change.cmd, CTL_CMD_OFFLINE);
    assert_string_equal(last_change.arg, "198.18.0.1");
    assert_string_equal(ask("makestep\n"), "{\"ok\":true,\"sources\":1}\n");
    assert_int_equal(last_change.cmd, CTL_CMD_MAKESTEP);
    assert_int_equal(changes_seen, 2);
}

static int become_nobody(void)
{
    return setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
                   setresuid(65534, 65534, 65534) == 0
               ? 0
               : -1;
}

/* In the child: one request, the answer checked against want. Exit codes: 0 as wanted,
 * 3 connect refused with EACCES, 4 other failures, 5 another answer. */
static int child_ask(const char *req, const char *want)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {3, 0};
    char out[4096];
    size_t n = 0;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return errno == EACCES ? 3 : 4;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(fd, req, strlen(req), 0) != (ssize_t)strlen(req)) {
        return 4;
    }
    for (ssize_t r; n < sizeof(out) - 1 && (r = recv(fd, out + n, sizeof(out) - 1 - n, 0)) > 0;) {
        n += (size_t)r;
    }
    out[n] = '\0';
    return strncmp(out, want, strlen(want)) == 0 ? 0 : 5;
}

/* Forks a child that becomes nobody and asks; the server runs here meanwhile. */
static int run_child(const char *req, const char *want)
{
    int st = 0;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(become_nobody() != 0 ? 2 : child_ask(req, want));
    }
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            assert_true(WIFEXITED(st));
            return WEXITSTATUS(st);
        }
        (void)sys_loop_wait(&loop, 10);
        ctl_after_wait(ctl);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("the child did not finish");
    return -1;
}

/* Someone neither root nor in the group: the 0750 directory keeps them out; let in (a
 * test-only chmod), they may read but not change. */
static void test_not_permitted(void **state)
{
    char sub[48];
    (void)state;

    if (geteuid() != 0) {
        skip();
    }
    assert_int_equal(run_child("status\n", "{\"synchronized\""), 3);
    snprintf(sub, sizeof(sub), "%s/run", dir);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(chmod(sub, 0755), 0);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(run_child("status\n", "{\"synchronized\""), 0);
    assert_int_equal(run_child("makestep\n", "{\"error\":\"not_permitted\""), 0);
    assert_int_equal(run_child("offline\n", "{\"error\":\"not_permitted\""), 0);
    assert_int_equal(ctl->cnt.not_permitted, 2);
    assert_int_equal(changes_seen, 0);
}

static void test_busy(void **state)
{
    static char out[4096];
    int fds[CTL_MAX_CONNS];
    (void)state;

    assert_int_equal(ctl->n_conns, CTL_MAX_CONNS);
    for (int i = 0; i < CTL_MAX_CONNS; i++) {
        fds[i] = connect_ctl();
    }
    for (int i = 0; i < 5; i++) {
        (void)sys_loop_wait(&loop, 10);
        ctl_after_wait(ctl);
    }
    expect_error(ask("status\n"), "busy");
    assert_int_equal(ctl->cnt.busy, 1);
    /* The waiting ones still get their answers. */
    assert_int_equal(send(fds[0], "status\n", 7, 0), 7);
    run_until_answer(fds[0], out, sizeof(out), 3000);
    expect_has(out, "{\"synchronized\":false");
    for (int i = 0; i < CTL_MAX_CONNS; i++) {
        close(fds[i]);
    }
}

static void test_timeout(void **state)
{
    static char out[4096];
    (void)state;

    int fd = connect_ctl();
    assert_int_equal(send(fd, "stat", 4, 0), 4);
    int64_t t0 = sys_clock_monotonic_ns();
    run_until_answer(fd, out, sizeof(out), 4000);
    double took = (double)(sys_clock_monotonic_ns() - t0) / 1e9;
    close(fd);
    expect_error(out, "timeout");
    assert_true(took > 1.5 && took < 3.0);
    assert_int_equal(ctl->cnt.timeouts, 1);
}

static void test_garbage(void **state)
{
    char junk[512];
    unsigned seed = (unsigned)sys_clock_monotonic_ns();
    (void)state;

    printf("# test_garbage seed %u\n", seed);
    srand(seed);
    for (int round = 0; round < 30; round++) {
        size_t n = 1 + (size_t)rand() % sizeof(junk);
        for (size_t i = 0; i < n; i++) {
            junk[i] = (char)(rand() % 256);
        }
        const char *a = ask_bytes(junk, n);
        assert_true(strncmp(a, "{\"error\":\"", 10) == 0 || strncmp(a, "{\"", 2) == 0);
    }
    expect_has(ask("status\n"), "\"synchronized\":false");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_status),    T(test_tracking), T(test_sources),         T(test_serverstats),
        T(test_in_pieces), T(test_errors),   T(test_change_commands), T(test_not_permitted),
        T(test_busy),      T(test_timeout),  T(test_garbage),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
