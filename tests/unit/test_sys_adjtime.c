/* Unit tests for src/sys/sys_adjtime.c: the pure arithmetic (ppm -> tick + frequency and
 * back, step offsets -> timex, error fields), a read-only query against clock_adjtime,
 * the clock-set watch, and the modifying calls in a forked child that first drops
 * CAP_SYS_TIME and checks that it is gone, so they can only fail with EPERM. This
 * machine's clock is never changed: those calls would change nothing even if they ran. */
#include <errno.h>
#include <linux/capability.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sys_adjtime.h"

#define ONE_PPM 65536L

static void check_split(double ppm, long hz, long want_tick, double want_rest_ppm)
{
    long tick = -1, freq = -1;

    assert_true(sys_adjtime_split_freq(ppm, hz, &tick, &freq));
    assert_int_equal(tick, want_tick);
    assert_int_equal(freq, lround(want_rest_ppm * ONE_PPM));
}

/* Within +-500 ppm the tick stays nominal: normal machines never touch ADJ_TICK. */
static void test_split_within_kernel_range(void **state)
{
    (void)state;
    check_split(0.0, 100, 10000, 0.0);
    check_split(123.456, 100, 10000, 123.456);
    check_split(-31.25, 100, 10000, -31.25);
    check_split(500.0, 100, 10000, 500.0);
    check_split(-500.0, 100, 10000, -500.0);
}

/* Beyond: the nearest whole tick (100 ppm per microsecond at HZ 100), the rest within
 * +-50 ppm in ADJ_FREQUENCY. */
static void test_split_uses_tick_beyond_500ppm(void **state)
{
    (void)state;
    check_split(500.5, 100, 10005, 0.5);
    check_split(700.0, 100, 10007, 0.0);
    check_split(735.0, 100, 10007, 35.0);
    check_split(749.0, 100, 10007, 49.0);
    check_split(751.0, 100, 10008, -49.0);
    check_split(-12345.6, 100, 9877, -45.6);
    check_split(100000.0, 100, 11000, 0.0);
    check_split(-100000.0, 100, 9000, 0.0);
}

/* The kernel refuses a tick outside 9000..11000 (HZ 100): clamp there, and clamp the
 * frequency part at +-500 ppm, for at most +-100500 ppm in all. */
static void test_split_clamps(void **state)
{
    (void)state;
    check_split(100500.0, 100, 11000, 500.0);
    check_split(100300.0, 100, 11000, 300.0);
    check_split(200000.0, 100, 11000, 500.0);
    check_split(-1e9, 100, 9000, -500.0);
    check_split(1e300, 100, 11000, 500.0);
}

static void test_split_other_hz(void **state)
{
    (void)state;
    /* HZ 250: nominal 4000 us, 250 ppm per microsecond, range 3600..4400. */
    check_split(300.0, 250, 4000, 300.0);
    check_split(700.0, 250, 4003, -50.0);
    check_split(-1000.0, 250, 3996, 0.0);
    check_split(150000.0, 250, 4400, 500.0);
    /* HZ 1000: nominal 1000 us, 1000 ppm per microsecond, range 900..1100. */
    check_split(1400.0, 1000, 1001, 400.0);
    check_split(-99999.0, 1000, 900, 1.0);
}

static void test_split_rejects_bad_input(void **state)
{
    long tick = 7, freq = 7;

    (void)state;
    assert_false(sys_adjtime_split_freq(NAN, 100, &tick, &freq));
    assert_false(sys_adjtime_split_freq(INFINITY, 100, &tick, &freq));
    assert_false(sys_adjtime_split_freq(-INFINITY, 100, &tick, &freq));
    assert_false(sys_adjtime_split_freq(1.0, 0, &tick, &freq));
    assert_false(sys_adjtime_split_freq(1.0, -100, &tick, &freq));
    assert_false(sys_adjtime_split_freq(1.0, 2000000, &tick, &freq));
    assert_int_equal(tick, 7);
    assert_int_equal(freq, 7);
}

/* split then join gives back the request to the 1/65536 ppm resolution, over the whole
 * range the tick can reach. Random values print their seed. */
static void test_split_join_round_trip(void **state)
{
    unsigned seed = (unsigned)time(NULL);

    (void)state;
    printf("test_split_join_round_trip seed %u\n", seed);
    srand(seed);
    for (int i = 0; i < 100000; i++) {
        double ppm = ((double)rand() / RAND_MAX * 2.0 - 1.0) * 100500.0;
        long tick, freq;
        assert_true(sys_adjtime_split_freq(ppm, 100, &tick, &freq));
        assert_true(tick >= 9000 && tick <= 11000);
        assert_true(labs(freq) <= 500 * ONE_PPM);
        if (fabs(ppm) > 500.0 && fabs(ppm) <= 100000.0) {
            assert_true(labs(freq) <= 50 * ONE_PPM);
        }
        assert_true(fabs(sys_adjtime_join_freq(tick, freq, 100) - ppm) <= 1.0 / ONE_PPM);
    }
}

static void test_join(void **state)
{
    (void)state;
    assert_true(sys_adjtime_join_freq(10000, 0, 100) == 0.0);
    assert_true(sys_adjtime_join_freq(10000, 65536, 100) == 1.0);
    assert_true(sys_adjtime_join_freq(10001, -65536 / 2, 100) == 99.5);
    assert_true(sys_adjtime_join_freq(9000, -500 * ONE_PPM, 100) == -100500.0);
}

static void check_offset(double offset, int64_t want_sec, long want_nsec)
{
    int64_t sec = 12345;
    long nsec = 12345;

    assert_true(sys_adjtime_split_offset(offset, &sec, &nsec));
    assert_int_equal(sec, want_sec);
    assert_int_equal(nsec, want_nsec);
}

/* ADJ_SETOFFSET with ADJ_NANO wants 0 <= nsec < 1e9 also for negative steps. */
static void test_split_offset(void **state)
{
    int64_t sec;
    long nsec;

    (void)state;
    check_offset(0.0, 0, 0);
    check_offset(1.5, 1, 500000000);
    check_offset(-1.5, -2, 500000000);
    check_offset(300.0, 300, 0);
    check_offset(-300.0, -300, 0);
    check_offset(-300.25, -301, 750000000);
    check_offset(-1e-9, -1, 999999999);
    check_offset(1e-9, 0, 1);
    check_offset(0.9999999999, 1, 0); /* rounds to the nanosecond, then carries */
    check_offset(86400.0 * 365 * 100, INT64_C(3153600000), 0);
    assert_false(sys_adjtime_split_offset(1e10, &sec, &nsec));
    assert_false(sys_adjtime_split_offset(-1e10, &sec, &nsec));
    assert_false(sys_adjtime_split_offset(NAN, &sec, &nsec));
    assert_false(sys_adjtime_split_offset(INFINITY, &sec, &nsec));
}

static void test_error_us(void **state)
{
    (void)state;
    assert_int_equal(sys_adjtime_error_us(0.0), 0);
    assert_int_equal(sys_adjtime_error_us(-1.0), 0);
    assert_int_equal(sys_adjtime_error_us(NAN), 0);
    assert_int_equal(sys_adjtime_error_us(1.4e-6), 1);
    assert_int_equal(sys_adjtime_error_us(0.0015), 1500);
    assert_int_equal(sys_adjtime_error_us(15.999999), 15999999);
    assert_int_equal(sys_adjtime_error_us(16.0), 16000000);
    assert_int_equal(sys_adjtime_error_us(1e6), 16000000);
    assert_int_equal(sys_adjtime_error_us(INFINITY), 16000000);
}

/* modes 0 changes nothing: it works for anyone and matches a direct call. */
static void test_query_matches_kernel(void **state)
{
    struct sys_adjtime_state st;
    struct timex tx;

    (void)state;
    assert_int_equal(sys_adjtime_query(&st), 0);
    memset(&tx, 0, sizeof(tx));
    tx.modes = 0;
    int r = clock_adjtime(CLOCK_REALTIME, &tx);
    assert_true(r >= 0);
    assert_int_equal(st.tick_us, tx.tick);
    assert_int_equal(st.freq_scaled, tx.freq);
    assert_int_equal(st.status & STA_UNSYNC, tx.status & STA_UNSYNC);
    assert_true(st.synced == ((tx.status & STA_UNSYNC) == 0));
    assert_true(st.state >= TIME_OK && st.state <= TIME_ERROR);
    long hz = sysconf(_SC_CLK_TCK);
    assert_true(st.tick_us >= 900000 / hz && st.tick_us <= 1100000 / hz);
    assert_true(fabs(st.freq_ppm - sys_adjtime_join_freq(tx.tick, tx.freq, hz)) < 1e-9);
    assert_true(st.maxerror >= 0.0 && st.maxerror <= 16.0);
    assert_true(st.esterror >= 0.0 && st.esterror <= 16.0);
}

/* Drops CAP_SYS_TIME from every set of this (child) process; true only if a fresh
 * capget confirms it is out of the effective and permitted sets. */
static bool drop_sys_time(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    const uint32_t bit = 1u << (CAP_SYS_TIME % 32);
    const int word = CAP_SYS_TIME / 32;

    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    (void)prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0); /* needs CAP_SETPCAP; optional */
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0) {
        return false;
    }
    data[word].effective &= ~bit;
    data[word].permitted &= ~bit;
    data[word].inheritable &= ~bit;
    if (syscall(SYS_capset, &hdr, data) != 0) {
        return false;
    }
    memset(data, 0, sizeof(data));
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    hdr.pid = 0;
    if (syscall(SYS_capget, &hdr, data) != 0) {
        return false;
    }
    return (data[word].effective & bit) == 0 && (data[word].permitted & bit) == 0;
}

/* Child body: each failed expectation sets a bit of the exit status; 64 = the
 * capability could not be dropped, so nothing modifying was even tried. */
static int child_modifying_calls(void)
{
    struct sys_adjtime_state st;
    double applied = 99.0;
    int fails = 0;

    if (!drop_sys_time()) {
        return 64;
    }
    if (sys_adjtime_query(&st) != 0) {
        return 32;
    }
    /* Each would change nothing even if it succeeded: a step of 0 s, the frequency and
     * the status the kernel already has. */
    fails |= sys_adjtime_step(0.0, &applied) == -EPERM ? 0 : 1;
    fails |= applied == 0.0 ? 0 : 2;
    applied = 99.0;
    fails |= sys_adjtime_set_freq(st.freq_ppm, &applied) == -EPERM ? 0 : 4;
    fails |= applied == 99.0 ? 0 : 8; /* untouched on failure */
    enum sys_adjtime_leap leap = (st.status & STA_INS)   ? SYS_ADJTIME_LEAP_INSERT
                                 : (st.status & STA_DEL) ? SYS_ADJTIME_LEAP_DELETE
                                                         : SYS_ADJTIME_LEAP_NONE;
    fails |= sys_adjtime_set_status(st.synced, leap, st.maxerror, st.esterror) == -EPERM ? 0 : 16;
    return fails;
}

static void test_modifying_calls_fail_without_cap_sys_time(void **state)
{
    int status = 0;

    (void)state;
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        _exit(child_modifying_calls());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) {
        printf("child failures: 0x%x\n", WEXITSTATUS(status));
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Out-of-range input never reaches the kernel. */
static void test_bad_input_is_refused_before_the_kernel(void **state)
{
    double applied = 5.0;

    (void)state;
    assert_int_equal(sys_adjtime_step(NAN, &applied), -ERANGE);
    assert_true(applied == 0.0);
    assert_int_equal(sys_adjtime_step(1e12, NULL), -ERANGE);
    assert_int_equal(sys_adjtime_set_freq(NAN, NULL), -EINVAL);
}

/* The clock-set watch opens non-blocking and stays quiet while nobody sets the clock
 * (setting it would be the only way to make it fire, and is never done here). */
static void test_watch_quiet(void **state)
{
    (void)state;
    int fd = sys_adjtime_watch_open();
    assert_true(fd >= 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 50), 0);
    assert_int_equal(sys_adjtime_watch_rearm(fd), 0);
    assert_int_equal(poll(&p, 1, 0), 0);
    uint64_t ticks;
    assert_int_equal(read(fd, &ticks, sizeof(ticks)), -1);
    assert_int_equal(errno, EAGAIN); /* non-blocking */
    close(fd);
    assert_int_equal(sys_adjtime_watch_rearm(-1), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_within_kernel_range),
        cmocka_unit_test(test_split_uses_tick_beyond_500ppm),
        cmocka_unit_test(test_split_clamps),
        cmocka_unit_test(test_split_other_hz),
        cmocka_unit_test(test_split_rejects_bad_input),
        cmocka_unit_test(test_split_join_round_trip),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_split_offset),
        cmocka_unit_test(test_error_us),
        cmocka_unit_test(test_query_matches_kernel),
        cmocka_unit_test(test_modifying_calls_fail_without_cap_sys_time),
        cmocka_unit_test(test_bad_input_is_refused_before_the_kernel),
        cmocka_unit_test(test_watch_quiet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
