/* Unit tests for src/sys/sys_loop.c: the self-pipe's flags, watching descriptors up to
 * the limit, timeouts, readable and hung-up descriptors, slots reserved and their fd
 * swapped or dropped, signals turned into bits (also while blocked in the wait),
 * SIGPIPE ignored, and the handlers restored by close.
 * Signals go only to this test process; every wait has a bounded timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sys_loop.h"

static struct sys_loop loop;

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    return sys_loop_init(&loop) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sys_loop_close(&loop);
    return 0;
}

static void test_init_pipe_flags(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        assert_true(loop.sig_pipe[i] >= 0);
        assert_true((fcntl(loop.sig_pipe[i], F_GETFL) & O_NONBLOCK) != 0);
        assert_true((fcntl(loop.sig_pipe[i], F_GETFD) & FD_CLOEXEC) != 0);
    }
    assert_int_equal(loop.n_fds, 0);
    assert_int_equal(loop.pfd[0].fd, loop.sig_pipe[0]);
    /* The handlers are ours now, and SIGPIPE is ignored. */
    struct sigaction sa;
    assert_int_equal(sigaction(SIGHUP, NULL, &sa), 0);
    assert_true(sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN);
    assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
    assert_true(sa.sa_handler == SIG_IGN);
}

static void test_add_fd_limit(void **state)
{
    (void)state;
    for (int i = 0; i < SYS_LOOP_MAX_FDS; i++) {
        assert_int_equal(sys_loop_add_fd(&loop, 1000 + i), i);
    }
    assert_int_equal(sys_loop_add_fd(&loop, 2000), -ENOSPC);
    assert_int_equal(loop.n_fds, SYS_LOOP_MAX_FDS);
    assert_int_equal(loop.pfd[SYS_LOOP_MAX_FDS].fd, 1000 + SYS_LOOP_MAX_FDS - 1);
}

static void test_timeout(void **state)
{
    (void)state;
    int p[2];

    assert_int_equal(pipe(p), 0);
    int idx = sys_loop_add_fd(&loop, p[0]);
    int64_t t0 = monotonic_ms();
    assert_int_equal(sys_loop_wait(&loop, 60), 0);
    int64_t took = monotonic_ms() - t0;
    assert_true(took >= 50);
    assert_true(took < 5000);
    assert_false(sys_loop_readable(&loop, idx));
    assert_int_equal(sys_loop_wait(&loop, 0), 0);
    assert_int_equal(sys_loop_take_signals(&loop), 0);
    close(p[0]);
    close(p[1]);
}

static void test_readable(void **state)
{
    (void)state;
    int a[2];
    int b[2];

    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    int ia = sys_loop_add_fd(&loop, a[0]);
    int ib = sys_loop_add_fd(&loop, b[0]);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(sys_loop_wait(&loop, 1000), 1);
    assert_false(sys_loop_readable(&loop, ia));
    assert_true(sys_loop_readable(&loop, ib));
    /* Indexes outside the watched set are never readable. */
    assert_false(sys_loop_readable(&loop, -1));
    loop.pfd[3].revents = POLLIN; /* stale data past the watched set changes nothing */
    assert_false(sys_loop_readable(&loop, 2));
    assert_false(sys_loop_readable(&loop, SYS_LOOP_MAX_FDS + 5));
    /* Still unread: still ready. Both ready: 2. */
    assert_int_equal(write(a[1], "y", 1), 1);
    assert_int_equal(sys_loop_wait(&loop, 1000), 2);
    assert_true(sys_loop_readable(&loop, ia));
    assert_true(sys_loop_readable(&loop, ib));
    /* A closed writer (POLLHUP) counts as readable: the read returns the news. */
    char c;
    assert_int_equal(read(a[0], &c, 1), 1);
    assert_int_equal(read(b[0], &c, 1), 1);
    close(a[1]);
    assert_int_equal(sys_loop_wait(&loop, 1000), 1);
    assert_true(sys_loop_readable(&loop, ia));
    assert_false(sys_loop_readable(&loop, ib));
    close(a[0]);
    close(b[0]);
    close(b[1]);
}

/* A slot reserved with -1 watches nothing; sys_loop_set_fd puts a descriptor in it,
 * swaps it for another and takes it out again, and readiness of a replaced fd is not
 * reported for its successor. The slot layout stays the loop's business. */
static void test_set_fd(void **state)
{
    (void)state;
    int a[2];
    int b[2];
    char c;

    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    int other = sys_loop_add_fd(&loop, b[0]);
    int slot = sys_loop_add_fd(&loop, -1);
    assert_int_equal(slot, 1);
    assert_int_equal(write(a[1], "x", 1), 1);
    /* Reserved: nothing watched, so the readable pipe a is not seen. */
    assert_int_equal(sys_loop_wait(&loop, 0), 0);
    assert_false(sys_loop_readable(&loop, slot));
    /* a in the slot: seen. */
    assert_int_equal(sys_loop_set_fd(&loop, slot, a[0]), 0);
    assert_int_equal(sys_loop_wait(&loop, 1000), 1);
    assert_true(sys_loop_readable(&loop, slot));
    assert_false(sys_loop_readable(&loop, other));
    /* Swapped for b's read end before anyone looked: the old readiness is dropped at
     * once, and b (empty) is not ready. */
    assert_int_equal(sys_loop_set_fd(&loop, slot, b[0]), 0);
    assert_false(sys_loop_readable(&loop, slot));
    assert_int_equal(sys_loop_wait(&loop, 0), 0);
    assert_false(sys_loop_readable(&loop, slot));
    /* Both entries now watch b: a byte there makes both ready. */
    assert_int_equal(write(b[1], "y", 1), 1);
    assert_int_equal(sys_loop_wait(&loop, 1000), 2);
    assert_true(sys_loop_readable(&loop, slot));
    assert_true(sys_loop_readable(&loop, other));
    /* -1: the slot stops watching, the other index is untouched. */
    assert_int_equal(sys_loop_set_fd(&loop, slot, -1), 0);
    assert_false(sys_loop_readable(&loop, slot));
    assert_int_equal(sys_loop_wait(&loop, 1000), 1);
    assert_false(sys_loop_readable(&loop, slot));
    assert_true(sys_loop_readable(&loop, other));
    /* A closed descriptor taken out of its slot causes no POLLNVAL either. */
    assert_int_equal(read(b[0], &c, 1), 1);
    assert_int_equal(sys_loop_set_fd(&loop, slot, a[0]), 0);
    close(a[0]);
    close(a[1]);
    assert_int_equal(sys_loop_set_fd(&loop, slot, -1), 0);
    assert_int_equal(sys_loop_wait(&loop, 0), 0);
    /* Bad calls change nothing: indexes not handed out, negative ones, fd below -1. */
    assert_int_equal(sys_loop_set_fd(&loop, 2, b[0]), -EINVAL);
    assert_int_equal(sys_loop_set_fd(&loop, -1, b[0]), -EINVAL);
    assert_int_equal(sys_loop_set_fd(&loop, SYS_LOOP_MAX_FDS, b[0]), -EINVAL);
    assert_int_equal(sys_loop_set_fd(&loop, slot, -2), -EINVAL);
    assert_int_equal(loop.n_fds, 2);
    assert_int_equal(loop.pfd[0].fd, loop.sig_pipe[0]);
    assert_int_equal(loop.pfd[3].fd, 0); /* past the used entries: not written */
    assert_int_equal(write(b[1], "z", 1), 1);
    assert_int_equal(sys_loop_wait(&loop, 1000), 1);
    assert_true(sys_loop_readable(&loop, other));
    assert_false(sys_loop_readable(&loop, slot));
    /* After close no index is valid. */
    sys_loop_close(&loop);
    assert_int_equal(sys_loop_set_fd(&loop, 0, b[0]), -EINVAL);
    assert_int_equal(sys_loop_init(&loop), 0); /* for the teardown */
    close(b[0]);
    close(b[1]);
}

static void test_signals_to_bits(void **state)
{
    (void)state;
    assert_int_equal(raise(SIGHUP), 0);
    /* The signal alone: the wait returns at once with no watched fd ready. */
    int64_t t0 = monotonic_ms();
    assert_int_equal(sys_loop_wait(&loop, 5000), 0);
    assert_true(monotonic_ms() - t0 < 4000);
    assert_int_equal(sys_loop_take_signals(&loop), SYS_LOOP_SIG_HUP);
    assert_int_equal(sys_loop_take_signals(&loop), 0);

    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(sys_loop_take_signals(&loop), SYS_LOOP_SIG_STOP);
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(raise(SIGHUP), 0);
    assert_int_equal(sys_loop_take_signals(&loop), SYS_LOOP_SIG_STOP | SYS_LOOP_SIG_HUP);
    /* Many signals fill no more than the pipe and drain in one call. */
    for (int i = 0; i < 10000; i++) {
        raise(SIGHUP);
    }
    assert_int_equal(sys_loop_take_signals(&loop), SYS_LOOP_SIG_HUP);
    assert_int_equal(sys_loop_wait(&loop, 0), 0);
    assert_int_equal(sys_loop_take_signals(&loop), 0);
}

/* A signal from another process while blocked in the wait ends the wait early. */
static void test_signal_interrupts_wait(void **state)
{
    (void)state;
    pid_t parent = getpid();
    pid_t child;
    int status;

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct timespec d = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        nanosleep(&d, NULL);
        kill(parent, SIGTERM);
        _exit(0);
    }
    int64_t t0 = monotonic_ms();
    int r = 0;
    unsigned bits = 0;
    /* Bounded: at most 50 waits of 200 ms, stopping at the first signal. */
    for (int i = 0; i < 50 && bits == 0; i++) {
        r = sys_loop_wait(&loop, 200);
        assert_true(r >= 0);
        bits = sys_loop_take_signals(&loop);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(bits, SYS_LOOP_SIG_STOP);
    assert_true(monotonic_ms() - t0 < 9000);
}

/* A poll() that reports the signal pipe ready while it is empty (emulated here by
 * emptying it between the wait and the take, as an LD_PRELOAD simulator's poll() looks
 * to the loop) is given up after SYS_LOOP_EMPTY_RUNS waits; signals still arrive. */
static void test_empty_ready_pipe_unpolled(void **state)
{
    (void)state;
    unsigned char b = 0;
    assert_false(sys_loop_signals_unpolled(&loop));
    /* Data in between resets the count. */
    for (int i = 0; i < SYS_LOOP_EMPTY_RUNS + 2; i++) {
        assert_int_equal(write(loop.sig_pipe[1], &b, 1), 1);
        assert_int_equal(sys_loop_wait(&loop, 1000), 0);
        if (i % 2 == 0) {
            assert_int_equal(read(loop.sig_pipe[0], &b, 1), 1); /* "ready", but empty */
        }
        sys_loop_take_signals(&loop);
    }
    assert_false(sys_loop_signals_unpolled(&loop));
    for (int i = 0; i < SYS_LOOP_EMPTY_RUNS; i++) {
        assert_int_equal(write(loop.sig_pipe[1], &b, 1), 1);
        assert_int_equal(sys_loop_wait(&loop, 1000), 0);
        assert_int_equal(read(loop.sig_pipe[0], &b, 1), 1);
        assert_int_equal(sys_loop_take_signals(&loop), 0);
    }
    assert_true(sys_loop_signals_unpolled(&loop));
    /* Not polled any more: a pending byte no longer wakes the wait... */
    assert_int_equal(raise(SIGHUP), 0);
    int64_t t0 = monotonic_ms();
    assert_int_equal(sys_loop_wait(&loop, 200), 0);
    assert_true(monotonic_ms() - t0 >= 150);
    /* ...but the signal is taken after it. */
    assert_int_equal(sys_loop_take_signals(&loop), SYS_LOOP_SIG_HUP);
}

static void test_sigpipe_ignored(void **state)
{
    (void)state;
    int p[2];

    assert_int_equal(pipe(p), 0);
    close(p[0]);
    assert_int_equal(write(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
}

/* After close: default handlers, no pipe; a second close is harmless. */
static void test_close_restores(void **state)
{
    (void)state;
    struct sys_loop l;
    struct sigaction sa;

    sys_loop_close(&loop); /* the fixture's; re-created by its teardown's close */
    assert_int_equal(sys_loop_init(&l), 0);
    int rfd = l.sig_pipe[0];
    sys_loop_close(&l);
    assert_int_equal(l.sig_pipe[0], -1);
    assert_int_equal(l.sig_pipe[1], -1);
    assert_int_equal(l.n_fds, 0);
    assert_true(fcntl(rfd, F_GETFD) < 0 && errno == EBADF);
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sigaction(sigs[i], NULL, &sa), 0);
        assert_true(sa.sa_handler == SIG_DFL);
    }
    sys_loop_close(&l);
    assert_int_equal(sys_loop_take_signals(&l), 0);
    /* Init again works (the daemon could restart its loop). */
    assert_int_equal(sys_loop_init(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_pipe_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_fd_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signals_to_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_interrupts_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_ready_pipe_unpolled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigpipe_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_restores, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
