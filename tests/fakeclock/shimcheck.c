/* Self-test of the fake-clock shim: run under LD_PRELOAD=libfakeclock.so by run.sh, it
 * compares the virtual clock with the real one (read through libc's own clock_gettime, past
 * the shim) after each kind of call a daemon makes. One "ok"/"not ok" line per check; the
 * exit status is the number of failed checks. Never changes the real clock. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/net_tstamp.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static int (*libc_clock_gettime)(clockid_t, struct timespec *);
static int failures;

static void check(bool ok, const char *what, double got)
{
    printf("%s %s (%.9g)\n", ok ? "ok" : "not ok", what, got);
    if (!ok) {
        failures++;
    }
}

static double ts_s(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec * 1e-9;
}

static double real_s(clockid_t id)
{
    struct timespec ts;

    libc_clock_gettime(id, &ts);
    return ts_s(&ts);
}

static int64_t ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Virtual minus real realtime, s, from the tightest of a few real-virtual-real reading
 * triples (the shim's log thread may hold its lock for a moment during one of them). */
static double clock_offset(clockid_t id)
{
    int64_t best_gap = INT64_MAX, best = 0;

    for (int i = 0; i < 20; i++) {
        struct timespec a, v, b;
        libc_clock_gettime(id, &a);
        clock_gettime(id, &v);
        libc_clock_gettime(id, &b);
        if (ts_ns(&b) - ts_ns(&a) < best_gap) {
            best_gap = ts_ns(&b) - ts_ns(&a);
            best = ts_ns(&v) - (ts_ns(&a) + (ts_ns(&b) - ts_ns(&a)) / 2);
        }
    }
    return (double)best * 1e-9;
}

static double offset_now(void)
{
    return clock_offset(CLOCK_REALTIME);
}

static int adj(int modes, struct timex *tx)
{
    tx->modes = (unsigned)modes;
    return adjtimex(tx);
}

static void sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - floor(s)) * 1e9)};

    nanosleep(&ts, NULL);
}

/* Rate of the virtual clock against the real one over a short interval, ppm. */
static double measured_rate_ppm(double interval)
{
    double o1 = offset_now();
    double r1 = real_s(CLOCK_REALTIME);
    double o2;

    sleep_s(interval);
    o2 = offset_now();
    return (o2 - o1) / (real_s(CLOCK_REALTIME) - r1) * 1e6;
}

static void check_start(void)
{
    struct timex tx = {0};
    struct timeval tv;
    int r = adj(0, &tx);

    check(fabs(offset_now() - 300.0) < 1e-3, "starts 300 s ahead (FAKECLOCK_OFFSET)", offset_now());
    gettimeofday(&tv, NULL);
    check(fabs((double)tv.tv_sec + tv.tv_usec * 1e-6 - real_s(CLOCK_REALTIME) - 300) < 1e-3,
          "gettimeofday is virtual", (double)tv.tv_sec);
    check(labs((long)time(NULL) - (long)real_s(CLOCK_REALTIME) - 300) <= 1, "time() is virtual",
          (double)time(NULL));
    check(r == TIME_ERROR && (tx.status & STA_UNSYNC) && tx.maxerror == 16000000 &&
              tx.tick == 10000 && tx.freq == 0,
          "adjtimex read: unsynchronized, maxerror 16 s, nominal tick", r);
    check(fabs(tx.time.tv_sec - real_s(CLOCK_REALTIME) - 300) < 2, "timex.time is virtual",
          (double)tx.time.tv_sec);
    check(fabs(measured_rate_ppm(0.3) - 50.0) < 2.0, "runs 50 ppm fast (FAKECLOCK_FREQ_PPM)",
          measured_rate_ppm(0.2));
}

static void check_setoffset(void)
{
    struct timex tx = {0};
    int r;

    tx.maxerror = 0;
    adj(ADJ_MAXERROR, &tx);
    check(tx.maxerror == 0, "ADJ_MAXERROR sets maxerror", (double)tx.maxerror);
    tx.time.tv_sec = -301;
    tx.time.tv_usec = 500000000; /* -300.5 s in nanoseconds mode */
    r = adj(ADJ_SETOFFSET | ADJ_NANO, &tx);
    check(r == TIME_ERROR && fabs(offset_now() + 0.5) < 1e-3,
          "ADJ_SETOFFSET|ADJ_NANO steps by -300.5 s", offset_now());
    check(tx.maxerror >= 100000 && (tx.status & STA_NANO),
          "a step resets maxerror (chronyd's probe) and ADJ_NANO sets STA_NANO",
          (double)tx.maxerror);
    tx.time.tv_sec = 0;
    tx.time.tv_usec = 500000;
    adj(ADJ_SETOFFSET | ADJ_MICRO, &tx);
    check(fabs(offset_now()) < 1e-3 && !(tx.status & STA_NANO),
          "ADJ_SETOFFSET in microseconds steps +0.5 s", offset_now());
    tx.time.tv_usec = -1;
    errno = 0;
    r = adj(ADJ_SETOFFSET, &tx);
    check(r == -1 && errno == EINVAL, "ADJ_SETOFFSET with a negative fraction is EINVAL", r);
}

static void check_frequency(void)
{
    struct timex tx = {0};
    int r;

    tx.freq = -(50L << 16);
    adj(ADJ_FREQUENCY, &tx);
    check(tx.freq == -(50L << 16) && fabs(measured_rate_ppm(0.3)) < 2.0,
          "ADJ_FREQUENCY -50 ppm cancels the 50 ppm error", measured_rate_ppm(0.2));
    tx.freq = 900L << 16;
    adj(ADJ_FREQUENCY, &tx);
    check(tx.freq == 500L << 16, "ADJ_FREQUENCY is clamped to 500 ppm", tx.freq / 65536.0);
    tx.freq = -(50L << 16);
    tx.tick = 10100;
    adj(ADJ_FREQUENCY | ADJ_TICK, &tx);
    check(tx.tick == 10100 && fabs(measured_rate_ppm(0.3) - 10000.0) < 20.0,
          "ADJ_TICK 10100 runs the clock 1 % fast", measured_rate_ppm(0.2));
    tx.tick = 8000;
    errno = 0;
    r = adj(ADJ_TICK, &tx);
    check(r == -1 && errno == EINVAL, "ADJ_TICK outside 9000..11000 is EINVAL", r);
    tx.tick = 10000;
    adj(ADJ_TICK, &tx);
    tx.freq = 450L << 16;
    adj(ADJ_FREQUENCY, &tx);
    double m0 = clock_offset(CLOCK_MONOTONIC), r0 = real_s(CLOCK_MONOTONIC);
    sleep_s(0.4);
    double mono_ppm = (clock_offset(CLOCK_MONOTONIC) - m0) / (real_s(CLOCK_MONOTONIC) - r0) * 1e6;
    check(fabs(mono_ppm - 500.0) < 5.0, "CLOCK_MONOTONIC follows the frequency (450 + 50 ppm)",
          mono_ppm);
    tx.freq = -(50L << 16);
    adj(ADJ_FREQUENCY, &tx);
}

static void check_status(void)
{
    struct timex tx = {0};
    int r;

    tx.status = 0;
    tx.maxerror = 1000;
    tx.esterror = 20;
    r = adj(ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR, &tx);
    check(r == TIME_OK && !(tx.status & STA_UNSYNC) && tx.maxerror == 1000 && tx.esterror == 20,
          "ADJ_STATUS clears STA_UNSYNC; maxerror and esterror read back", r);
    sleep_s(1.1);
    adj(0, &tx);
    check(tx.maxerror >= 1500 && tx.maxerror <= 2000, "maxerror grows 500 us per second",
          (double)tx.maxerror);
    tx.status = STA_INS;
    r = adj(ADJ_STATUS, &tx);
    check(r == TIME_INS && (tx.status & STA_INS), "STA_INS arms a leap second", r);
    tx.status = STA_UNSYNC;
    r = adj(ADJ_STATUS, &tx);
    check(r == TIME_ERROR, "STA_UNSYNC reads back as TIME_ERROR", r);
    errno = 0;
    tx.modes = ADJ_FREQUENCY;
    r = clock_adjtime(CLOCK_MONOTONIC, &tx);
    check(r == -1, "clock_adjtime on another clock is refused", errno);
    memset(&tx, 0, sizeof(tx));
    r = (int)syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    check(r == TIME_ERROR && tx.freq == -(50L << 16) && (tx.status & STA_UNSYNC),
          "syscall(SYS_clock_adjtime) reads the virtual state", r);
}

static void check_slews(void)
{
    struct timeval d = {.tv_sec = 0, .tv_usec = 800}, left;
    double o0 = offset_now();

    adjtime(&d, NULL);
    sleep_s(1.2);
    check(offset_now() - o0 > 1e-4 && offset_now() - o0 < 6.2e-4,
          "adjtime() slews at most 500 us per second", offset_now() - o0);
    sleep_s(2.0);
    adjtime(NULL, &left);
    check(left.tv_sec == 0 && left.tv_usec == 0 && fabs(offset_now() - o0 - 8e-4) < 2e-5,
          "adjtime() offset fully slewed after 3 s", offset_now() - o0);
}

static void check_settime(void)
{
    struct timespec ts;
    double real = real_s(CLOCK_REALTIME);

    ts.tv_sec = (time_t)real + 10;
    ts.tv_nsec = 0;
    check(clock_settime(CLOCK_REALTIME, &ts) == 0 && fabs(offset_now() - (ts.tv_sec - real)) < 5e-3,
          "clock_settime steps the virtual clock", offset_now());
    struct timeval tv = {.tv_sec = (time_t)real_s(CLOCK_REALTIME), .tv_usec = 0};
    settimeofday(&tv, NULL);
    check(fabs(offset_now()) < 1.0, "settimeofday steps the virtual clock", offset_now());
}

/* A CANCEL_ON_SET timerfd far in the future: readable at once after a step of the
 * virtual clock (as the kernel does on clock_settime), silent otherwise. */
static int watch_open(void)
{
    int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)real_s(CLOCK_REALTIME) + 3600}};

    if (fd >= 0 && timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool watch_fired(int fd, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, wait_ms) == 1;
}

static void check_clock_set_watch(void)
{
    int fd = watch_open();
    struct timespec ts;

    check(fd >= 0 && !watch_fired(fd, 50), "a CANCEL_ON_SET timerfd stays quiet", fd);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= 5;
    clock_settime(CLOCK_REALTIME, &ts);
    check(fd >= 0 && watch_fired(fd, 50), "a CANCEL_ON_SET timerfd fires when the clock is set",
          fd);
    if (fd >= 0) {
        close(fd);
    }
}

/* Datagrams to ourselves on loopback with software receive stamps; the first that carries
 * one (when no other socket had stamping on, the kernel enables it a moment after the socket
 * option) gives the offset of its stamp from the real time it was received at. */
static double stamp_offset(int opt)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int on = opt == SO_TIMESTAMPING ? SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE : 1;
    double got = -1e9;

    bind(s, (struct sockaddr *)&a, sizeof(a));
    getsockname(s, (struct sockaddr *)&a, &alen);
    setsockopt(s, SOL_SOCKET, opt, &on, sizeof(on));
    for (int i = 0; i < 50 && got == -1e9; i++) {
        char buf[16], cbuf[256];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        if (i > 0) {
            sleep_s(0.01); /* the kernel turns stamping on from a work queue */
        }
        sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a));
        if (recvmsg(s, &m, 0) != 1) {
            break;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == opt) {
                got = (opt == SO_TIMESTAMP ? ts.tv_sec + ts.tv_nsec * 1e-6 : ts_s(&ts)) -
                      real_s(CLOCK_REALTIME);
            }
        }
    }
    close(s);
    return got;
}

static void check_stamps(double expect)
{
    check(fabs(stamp_offset(SO_TIMESTAMPING) - expect) < 0.01,
          "SO_TIMESTAMPING receive stamps are virtual", stamp_offset(SO_TIMESTAMPING));
    check(fabs(stamp_offset(SO_TIMESTAMPNS) - expect) < 0.01,
          "SO_TIMESTAMPNS receive stamps are virtual", stamp_offset(SO_TIMESTAMPNS));
    check(fabs(stamp_offset(SO_TIMESTAMP) - expect) < 0.01,
          "SO_TIMESTAMP receive stamps are virtual", stamp_offset(SO_TIMESTAMP));
}

/* Writes a step request in place, as tests/fakeclock/fakeclock-step does. */
static void check_injection(const char *ctl)
{
    char line[96];
    int fd = open(ctl, O_WRONLY);
    int watch = watch_open();
    double before = offset_now(), after = before;
    struct timex tx = {0};

    snprintf(line, sizeof(line), "fakeclock-step %d %.9f %d\n", 7, 300.0, 7);
    if (fd < 0 || pwrite(fd, line, strlen(line), 0) != (ssize_t)strlen(line)) {
        check(false, "control file writable", errno);
        return;
    }
    close(fd);
    for (int i = 0; i < 50 && fabs(after - before) < 1; i++) {
        sleep_s(0.02);
        after = offset_now();
    }
    adj(0, &tx);
    check(fabs(after - before - 300.0) < 0.01 && (tx.status & STA_UNSYNC),
          "an injected step moves the clock 300 s and marks it unsynchronized", after - before);
    check(watch >= 0 && watch_fired(watch, 0), "an injected step wakes CANCEL_ON_SET timers",
          watch);
    if (watch >= 0) {
        close(watch);
    }
    sleep_s(0.3);
    check(fabs(offset_now() - after) < 0.01, "a request is applied only once", offset_now());
}

int main(void)
{
    const char *ctl = getenv("FAKECLOCK_CONTROL");
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);

    libc_clock_gettime =
        libc ? (int (*)(clockid_t, struct timespec *))dlsym(libc, "clock_gettime") : NULL;
    if (libc_clock_gettime == NULL || getenv("LD_PRELOAD") == NULL || ctl == NULL) {
        fprintf(stderr, "run under LD_PRELOAD=libfakeclock.so with FAKECLOCK_CONTROL set\n");
        return 2;
    }
    check_start();
    check_stamps(300.0);
    check_setoffset();
    check_frequency();
    check_status();
    check_slews();
    check_settime();
    check_clock_set_watch();
    check_stamps(offset_now());
    check_injection(ctl);
    printf("%d failed\n", failures);
    return failures;
}
