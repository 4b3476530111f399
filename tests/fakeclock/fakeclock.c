/* fakeclock: an LD_PRELOAD shim that gives one process a virtual system clock, so the real
 * tsyncd (or chronyd) binary can discipline a clock in tests without touching the real one.
 * It owns the virtual clock model (real clock + phase offset + a frequency error and the
 * kernel NTP variables the process sets), its CSV log of the true error and step injection.
 * No clock-changing call is ever forwarded to the kernel. See tests/fakeclock/README.md. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
/* Kernel constants (kernel/time/ntp.c, include/linux/timex.h) for USER_HZ = 100. */
#define NOMINAL_TICK     10000
#define TICK_MIN         9000  /* 900000 / USER_HZ */
#define TICK_MAX         11000 /* 1100000 / USER_HZ */
#define MAXFREQ_SCALED   (500L << 16)
#define MAXPHASE_NS      500000000L /* ADJ_OFFSET is clamped to +-0.5 s */
#define PHASE_LIMIT_US   16000000L
#define MAXFREQ_US_PER_S 500L   /* maxerror grows by 500 us every second */
#define MAX_TICKADJ_S    500e-6 /* adjtime() slews at most 500 us per second */
#define SHIFT_PLL        2
#define KERNEL_MAXTC     10
/* Kernel-internal mode bits behind ADJ_OFFSET_SINGLESHOT (0x8001) and _SS_READ (0xa001). */
#define ADJ_ADJTIME         0x8000
#define ADJ_OFFSET_READONLY 0x2000
#define STA_RONLY_BITS                                                                             \
    (STA_PPSSIGNAL | STA_PPSJITTER | STA_PPSWANDER | STA_PPSERROR | STA_CLOCKERR | STA_NANO |      \
     STA_MODE | STA_CLK)

#define HISTORY            64       /* segments kept to map past receive stamps */
#define CTL_SIZE           4096     /* the control file is one page, mapped shared */
#define CTL_POLL_NS        50000000 /* control file checked every 50 ms of real time */
#define MAX_TICKS_PER_CALL 1000000
#define TIMERFD_TABLE      4096

/* One straight line of the model: from real time real_ns on, the virtual realtime clock is
 * real + phase + rate * (t - real_ns); virtual monotonic is real + mono + rate * dt (Linux
 * slews CLOCK_MONOTONIC with the NTP frequency but never steps it); raw follows the
 * oscillator error only. */
struct segment {
    int64_t real_ns;
    double phase;
    double mono;
    double raw;
    double rate;
};

struct fakeclock {
    pthread_mutex_t lock;
    bool ready;
    bool mono_follow;
    double osc;                   /* oscillator frequency error, s/s */
    struct segment hist[HISTORY]; /* ring; hist[head] is the line in force now */
    unsigned head;
    unsigned count;
    /* The kernel's NTP variables, in timex units. */
    long freq; /* ppm << 16 */
    long tick; /* us per 1/USER_HZ tick */
    int status;
    long maxerror;
    long esterror;
    long constant;
    int tai;
    int time_state;
    int64_t next_leap_virt_s; /* virtual second at which a leap is due, 0 = none */
    double pll_offset;        /* PLL phase still to slew, s */
    double pll_chunk;         /* PLL slew during the current second, s/s */
    double adj_remaining;     /* adjtime() offset still to slew, s */
    double adj_chunk;
    int64_t next_second_ns; /* real time of the next once-a-second update */
    /* Log of the true error. */
    int log_fd;
    bool forked; /* a child after fork(): only the parent writes the log */
    int64_t log_period_ns;
    int64_t next_log_ns;
    unsigned steps;
    unsigned injected;
    /* Step injection through the mapped control file. */
    const char *ctl;
    int64_t next_ctl_ns;
    long ctl_done_seq;
    long ctl_seen_seq;
    double ctl_seen_delta;
    signed char timerfd_clock[TIMERFD_TABLE];
    /* Armed with TFD_TIMER_CANCEL_ON_SET: woken when the virtual clock is set. */
    bool timerfd_cancel[TIMERFD_TABLE];
};

/* Recursive, so a signal handler that reads the clock while its thread is inside the shim
 * does not deadlock. */
static struct fakeclock fc = {.lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP};

/* The real libc functions, found with dlsym(RTLD_NEXT). */
static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int (*real_clock_adjtime)(clockid_t, struct timex *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
static int (*real_timerfd_create)(int, int);
static int (*real_timerfd_settime)(int, int, const struct itimerspec *, struct itimerspec *);
static int (*real_clock_nanosleep)(clockid_t, int, const struct timespec *, struct timespec *);
static long (*real_syscall)(long, ...);

static void *next_symbol(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);

    if (p == NULL) {
        static const char msg[] = "fakeclock: missing libc symbol\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        abort();
    }
    return p;
}

/* glibc declares some pointer arguments nonnull, but a caller may still pass NULL and the
 * kernel answers that with EFAULT: the volatile copy keeps the check from being dropped. */
static bool null_arg(const void *p)
{
    const void *volatile v = p;

    return v == NULL;
}

static int64_t ts_to_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

static struct timespec ns_to_ts(int64_t ns)
{
    struct timespec ts;
    int64_t s = ns / NS_PER_S;
    int64_t r = ns % NS_PER_S;

    if (r < 0) {
        r += NS_PER_S;
        s--;
    }
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)r;
    return ts;
}

static int64_t s_to_ns(double s)
{
    return (int64_t)llround(s * 1e9);
}

static int64_t real_now(clockid_t id)
{
    struct timespec ts;

    if (real_clock_gettime(id, &ts) != 0) {
        return 0;
    }
    return ts_to_ns(&ts);
}

/* ---- the model -------------------------------------------------------------------- */

static struct segment *current(void)
{
    return &fc.hist[fc.head];
}

/* Total rate of the virtual clock relative to the real one, s/s (kernel ntp.c: the length
 * of a second is tick * USER_HZ us plus time_freq, plus the PLL and adjtime slews). */
static double model_rate(void)
{
    return fc.osc + (double)fc.freq / 65536e6 + (double)(fc.tick - NOMINAL_TICK) / NOMINAL_TICK +
           fc.pll_chunk + fc.adj_chunk;
}

/* The segment in force at real time t: the newest one that starts at or before t. */
static const struct segment *segment_at(int64_t t)
{
    unsigned i = fc.head;

    for (unsigned n = 1; n < fc.count; n++) {
        if (fc.hist[i].real_ns <= t) {
            break;
        }
        i = (i + HISTORY - 1) % HISTORY;
    }
    return &fc.hist[i];
}

static double phase_at(const struct segment *s, int64_t t)
{
    return s->phase + s->rate * (double)(t - s->real_ns) * 1e-9;
}

static int64_t virt_of_real(int64_t t)
{
    return t + s_to_ns(phase_at(segment_at(t), t));
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static bool logging(void)
{
    return fc.log_fd >= 0 && !fc.forked;
}

/* One CSV row per log period of real time, up to and including t, computed from the line
 * in force (rows are flushed before every change, so each row is exact). */
static void flush_log(int64_t t)
{
    const struct segment *s = current();
    char line[256];

    if (!logging()) {
        return;
    }
    while (fc.next_log_ns <= t) {
        int64_t g = fc.next_log_ns;
        int n = snprintf(line, sizeof(line), "%lld.%06lld,%.9f,%.3f,%.3f,%ld,%d,%ld,%u,%u\n",
                         (long long)(g / NS_PER_S), (long long)(g % NS_PER_S / 1000),
                         phase_at(s, g), s->rate * 1e6, (double)fc.freq / 65536.0, fc.tick,
                         fc.status, fc.maxerror, fc.steps, fc.injected);
        if (n > 0 && (size_t)n < sizeof(line)) {
            write_all(fc.log_fd, line, (size_t)n);
        }
        fc.next_log_ns += fc.log_period_ns;
    }
}

/* An event line ("# ..."), so a reader of the CSV sees what happened and when. */
static void log_event(int64_t t, const char *what, double value)
{
    char line[200];
    int n;

    if (!logging()) {
        return;
    }
    n = snprintf(line, sizeof(line), "# %lld.%06lld %s %.9f\n", (long long)(t / NS_PER_S),
                 (long long)(t % NS_PER_S / 1000), what, value);
    if (n > 0 && (size_t)n < sizeof(line)) {
        write_all(fc.log_fd, line, (size_t)n);
    }
}

/* Starts a new line at real time t after the parameters changed, carrying the phase (plus
 * step) over. Every change goes through here, after the log caught up to t. */
static void new_segment(int64_t t, double step)
{
    const struct segment *s = current();
    struct segment n;
    double dt = (double)(t - s->real_ns) * 1e-9;

    flush_log(t);
    n.real_ns = t;
    n.phase = s->phase + s->rate * dt + step;
    n.mono = s->mono + s->rate * dt;
    n.raw = s->raw + fc.osc * dt;
    n.rate = model_rate();
    fc.head = (fc.head + 1) % HISTORY;
    if (fc.count < HISTORY) {
        fc.count++;
    }
    fc.hist[fc.head] = n;
}

/* What the kernel's ntp_clear() does on every step or settimeofday: pending slews are
 * dropped and the clock is marked unsynchronized with the maximum error. */
static void ntp_clear(void)
{
    fc.adj_remaining = 0;
    fc.adj_chunk = 0;
    fc.pll_offset = 0;
    fc.pll_chunk = 0;
    fc.status |= STA_UNSYNC;
    fc.maxerror = PHASE_LIMIT_US;
    fc.esterror = PHASE_LIMIT_US;
    fc.next_leap_virt_s = 0;
}

/* The kernel wakes every CANCEL_ON_SET timerfd when the realtime clock is set (settime,
 * adjtimex's ADJ_SETOFFSET, a leap second); the real clock is never set here, so the shim
 * makes those timers expire at once instead. The reader sees an expiry rather than
 * ECANCELED: either way it learns that the clock may have jumped. */
static void notify_clock_set(void)
{
    static const struct itimerspec now = {.it_value = {.tv_sec = 0, .tv_nsec = 1}};

    for (int fd = 0; fd < TIMERFD_TABLE; fd++) {
        if (fc.timerfd_cancel[fd]) {
            fc.timerfd_cancel[fd] = false;
            (void)real_timerfd_settime(fd, 0, &now, NULL);
        }
    }
}

static void step_clock(int64_t t, double delta, const char *why)
{
    ntp_clear();
    new_segment(t, delta);
    log_event(t, why, delta);
    notify_clock_set();
}

static int64_t next_midnight(int64_t virt_s)
{
    return (virt_s / 86400 + 1) * 86400;
}

/* The leap-second state machine of the kernel's second_overflow(). A leap is applied at
 * the first real-second update at or after virtual midnight, so up to 1 s late. */
static void update_leap(int64_t t)
{
    int64_t virt_s = virt_of_real(t) / NS_PER_S;

    switch (fc.time_state) {
    case TIME_OK:
        if (fc.status & (STA_INS | STA_DEL)) {
            fc.time_state = (fc.status & STA_INS) ? TIME_INS : TIME_DEL;
            fc.next_leap_virt_s = next_midnight(virt_s);
        }
        break;
    case TIME_INS:
    case TIME_DEL:
        if (!(fc.status & (STA_INS | STA_DEL))) {
            fc.time_state = TIME_OK;
        } else if (fc.next_leap_virt_s > 0 &&
                   virt_s >= fc.next_leap_virt_s - (fc.time_state == TIME_DEL)) {
            bool ins = fc.time_state == TIME_INS;
            new_segment(t, ins ? -1.0 : 1.0);
            log_event(t, ins ? "leap-insert" : "leap-delete", ins ? -1.0 : 1.0);
            notify_clock_set();
            fc.time_state = ins ? TIME_OOP : TIME_WAIT;
            fc.next_leap_virt_s = 0;
        }
        break;
    case TIME_OOP:
        fc.time_state = TIME_WAIT;
        break;
    default:
        if (!(fc.status & (STA_INS | STA_DEL))) {
            fc.time_state = TIME_OK;
        }
        break;
    }
}

/* Once a second of real time, like the kernel's second_overflow(): maxerror grows, the
 * PLL and adjtime() slews take their next chunk, leap seconds are handled. */
static void second_update(int64_t t)
{
    double old_rate = current()->rate;

    fc.maxerror += MAXFREQ_US_PER_S;
    if (fc.maxerror > PHASE_LIMIT_US) {
        fc.maxerror = PHASE_LIMIT_US;
        fc.status |= STA_UNSYNC;
    }
    fc.pll_chunk = fc.pll_offset / (double)(1L << (SHIFT_PLL + fc.constant));
    fc.pll_offset -= fc.pll_chunk;
    fc.adj_chunk = fabs(fc.adj_remaining) < MAX_TICKADJ_S
                       ? fc.adj_remaining
                       : copysign(MAX_TICKADJ_S, fc.adj_remaining);
    fc.adj_remaining -= fc.adj_chunk;
    if (model_rate() != old_rate) {
        new_segment(t, 0.0);
    }
    update_leap(t);
}

/* Parses "fakeclock-step SEQ DELTA SEQ" from the control page; false if torn or absent. */
static bool parse_control(long *seq, double *delta)
{
    char buf[128];
    long seq2;
    int used = 0;

    memcpy(buf, fc.ctl, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    if (memchr(buf, '\n', sizeof(buf)) == NULL) {
        return false;
    }
    if (sscanf(buf, "fakeclock-step %ld %lf %ld%n", seq, delta, &seq2, &used) != 3 || used == 0 ||
        *seq != seq2 || !isfinite(*delta) || fabs(*delta) > 1e9) {
        return false;
    }
    return true;
}

/* Applies a request once the same request was read on two polls in a row (50 ms apart),
 * so a request being written while it is read is never applied half-written. */
static void poll_control(int64_t t)
{
    long seq;
    double delta;

    if (fc.ctl == NULL || t < fc.next_ctl_ns) {
        return;
    }
    fc.next_ctl_ns = t + CTL_POLL_NS;
    if (!parse_control(&seq, &delta) || seq <= fc.ctl_done_seq) {
        fc.ctl_seen_seq = 0;
        return;
    }
    if (seq != fc.ctl_seen_seq || delta != fc.ctl_seen_delta) {
        fc.ctl_seen_seq = seq;
        fc.ctl_seen_delta = delta;
        return;
    }
    fc.ctl_done_seq = seq;
    fc.injected++;
    step_clock(t, delta, "injected-step");
}

/* Brings the model up to real time t: once-a-second updates, log rows, step requests. */
static void advance(int64_t t)
{
    int n = 0;

    while (fc.next_second_ns <= t && n < MAX_TICKS_PER_CALL) {
        flush_log(fc.next_second_ns);
        second_update(fc.next_second_ns);
        fc.next_second_ns += NS_PER_S;
        n++;
    }
    if (fc.next_second_ns <= t) {
        fc.next_second_ns = (t / NS_PER_S + 1) * NS_PER_S;
    }
    flush_log(t);
    poll_control(t);
}

/* Locks the state and brings it up to now; returns the real realtime reading. */
static int64_t enter(void)
{
    int64_t t;

    pthread_mutex_lock(&fc.lock);
    t = real_now(CLOCK_REALTIME);
    advance(t);
    return t;
}

static void leave(void)
{
    pthread_mutex_unlock(&fc.lock);
}

/* ---- set-up ----------------------------------------------------------------------- */

static double env_double(const char *name, double fallback)
{
    const char *v = getenv(name);
    char *end;
    double d;

    if (v == NULL || *v == '\0') {
        return fallback;
    }
    d = strtod(v, &end);
    if (*end != '\0' || !isfinite(d)) {
        fprintf(stderr, "fakeclock: ignoring %s=%s (not a number)\n", name, v);
        return fallback;
    }
    return d;
}

static void open_log(int64_t t)
{
    const char *path = getenv("FAKECLOCK_LOG");
    double period_ms = env_double("FAKECLOCK_LOG_PERIOD_MS", 100.0);
    static const char header[] =
        "real_s,offset_s,rate_ppm,freq_ppm,tick,status,maxerror_us,steps,injected\n";

    fc.log_fd = -1;
    if (path == NULL || *path == '\0') {
        return;
    }
    if (period_ms < 1.0 || period_ms > 60000.0) {
        period_ms = 100.0;
    }
    fc.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fc.log_fd < 0) {
        fprintf(stderr, "fakeclock: cannot open FAKECLOCK_LOG %s: %s\n", path, strerror(errno));
        return;
    }
    fc.log_period_ns = (int64_t)(period_ms * 1e6);
    fc.next_log_ns = (t / fc.log_period_ns + 1) * fc.log_period_ns;
    write_all(fc.log_fd, header, sizeof(header) - 1);
}

/* Maps the control file (created and grown to one page if needed) for step injection. */
static void open_control(void)
{
    const char *path = getenv("FAKECLOCK_CONTROL");
    struct stat st;
    int fd;
    void *p;

    if (path == NULL || *path == '\0') {
        return;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &st) != 0 || (st.st_size < CTL_SIZE && ftruncate(fd, CTL_SIZE) != 0)) {
        fprintf(stderr, "fakeclock: cannot use FAKECLOCK_CONTROL %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    p = mmap(NULL, CTL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "fakeclock: cannot map %s: %s\n", path, strerror(errno));
        return;
    }
    fc.ctl = p;
    /* Requests already in the file when the process starts are old: never replay them. */
    if (parse_control(&fc.ctl_done_seq, &fc.ctl_seen_delta)) {
        fc.ctl_seen_delta = 0;
    } else {
        fc.ctl_done_seq = 0;
    }
}

static void *log_thread(void *arg)
{
    struct timespec period = ns_to_ts(fc.log_period_ns);

    (void)arg;
    for (;;) {
        nanosleep(&period, NULL);
        (void)enter();
        leave();
    }
    return NULL;
}

/* A thread keeps rows coming while the process sleeps in poll(); without it (or in a child
 * after fork) rows still come, exact but late, from the next intercepted call. */
static void start_log_thread(void)
{
    pthread_t th;
    pthread_attr_t attr;
    sigset_t all, old;

    if (fc.log_fd < 0 || env_double("FAKECLOCK_LOG_THREAD", 1.0) == 0.0) {
        return;
    }
    /* The thread takes no signals: the daemon's handlers run in its own threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&th, &attr, log_thread, NULL) != 0) {
        fprintf(stderr, "fakeclock: no log thread, rows come with the process's clock calls\n");
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&fc.lock);
}

static void atfork_parent(void)
{
    pthread_mutex_unlock(&fc.lock);
}

/* A recursive mutex remembers its owner's thread id, which the child does not have: it
 * gets a fresh mutex (the parent's lock was held across fork, so the state is whole). */
static void atfork_child(void)
{
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&fc.lock, &attr);
    pthread_mutexattr_destroy(&attr);
    fc.forked = true;
}

static void resolve_symbols(void)
{
    real_clock_gettime = next_symbol("clock_gettime");
    real_clock_adjtime = next_symbol("clock_adjtime");
    real_recvmsg = next_symbol("recvmsg");
    real_recvmmsg = next_symbol("recvmmsg");
    real_timerfd_create = next_symbol("timerfd_create");
    real_timerfd_settime = next_symbol("timerfd_settime");
    real_clock_nanosleep = next_symbol("clock_nanosleep");
    real_syscall = next_symbol("syscall");
}

static bool initializing;

__attribute__((constructor)) static void fakeclock_init(void)
{
    int64_t t;
    const char *mono;

    if (fc.ready || initializing) {
        return;
    }
    initializing = true;
    resolve_symbols();
    mono = getenv("FAKECLOCK_MONOTONIC");
    t = real_now(CLOCK_REALTIME);
    memset(fc.timerfd_clock, -1, sizeof(fc.timerfd_clock));
    fc.mono_follow = mono == NULL || strcmp(mono, "real") != 0;
    fc.osc = env_double("FAKECLOCK_FREQ_PPM", 0.0) * 1e-6;
    fc.tick = NOMINAL_TICK;
    fc.status = STA_UNSYNC;
    fc.maxerror = PHASE_LIMIT_US;
    fc.esterror = PHASE_LIMIT_US;
    fc.constant = 2; /* the kernel's initial time_constant */
    fc.time_state = TIME_OK;
    fc.next_second_ns = (t / NS_PER_S + 1) * NS_PER_S;
    fc.count = 1;
    fc.head = 0;
    fc.hist[0] = (struct segment){
        .real_ns = t, .phase = env_double("FAKECLOCK_OFFSET", 0.0), .rate = model_rate()};
    open_log(t);
    open_control();
    log_event(t, "start-offset", fc.hist[0].phase);
    log_event(t, "start-freq-ppm", fc.osc * 1e6);
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    fc.ready = true;
    start_log_thread();
}

/* Interposed calls that come before the constructor ran (another library's constructor)
 * set the shim up first; calls made while it is being set up see the real clock. */
static bool ensure_ready(void)
{
    if (!fc.ready) {
        fakeclock_init();
    }
    return fc.ready;
}

/* ---- reading clocks --------------------------------------------------------------- */

/* Virtual reading of clock id, or false for clocks the shim leaves alone. */
static bool virtual_read(clockid_t id, int64_t *out)
{
    int64_t t;
    const struct segment *s;
    double dt;

    if (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE && id != CLOCK_TAI &&
        (!fc.mono_follow || (id != CLOCK_MONOTONIC && id != CLOCK_MONOTONIC_COARSE &&
                             id != CLOCK_MONOTONIC_RAW && id != CLOCK_BOOTTIME))) {
        return false;
    }
    t = enter();
    s = current();
    dt = (double)(t - s->real_ns) * 1e-9;
    if (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE || id == CLOCK_TAI) {
        *out = t + s_to_ns(s->phase + s->rate * dt) + (id == CLOCK_TAI ? fc.tai * NS_PER_S : 0);
    } else if (id == CLOCK_MONOTONIC_RAW) {
        *out = real_now(id) + s_to_ns(s->raw + fc.osc * dt);
    } else {
        *out = real_now(id) + s_to_ns(s->mono + s->rate * dt);
    }
    leave();
    return true;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    int64_t v;

    if (!ensure_ready() || !virtual_read(id, &v)) {
        return real_clock_gettime ? real_clock_gettime(id, ts) : -1;
    }
    if (null_arg(ts)) {
        errno = EFAULT;
        return -1;
    }
    *ts = ns_to_ts(v);
    return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    struct timespec ts;

    if (tz != NULL) {
        memset(tz, 0, sizeof(struct timezone));
    }
    if (null_arg(tv)) {
        return 0;
    }
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return -1;
    }
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (time_t)-1;
    }
    if (out != NULL) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}

int timespec_get(struct timespec *ts, int base)
{
    if (base != TIME_UTC || clock_gettime(CLOCK_REALTIME, ts) != 0) {
        return 0;
    }
    return base;
}

/* ---- setting clocks: only ever the virtual one ------------------------------------ */

static int set_realtime(int64_t target_ns)
{
    int64_t t = enter();

    step_clock(t, (double)(target_ns - virt_of_real(t)) * 1e-9, "settime-step");
    fc.steps++;
    leave();
    return 0;
}

int clock_settime(clockid_t id, const struct timespec *ts)
{
    if (!ensure_ready()) {
        errno = EPERM;
        return -1;
    }
    if (id != CLOCK_REALTIME) {
        errno = EINVAL;
        return -1;
    }
    if (null_arg(ts) || ts->tv_nsec < 0 || ts->tv_nsec >= NS_PER_S || ts->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    return set_realtime(ts_to_ns(ts));
}

int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
    (void)tz;
    if (tv == NULL) {
        return 0;
    }
    if (tv->tv_usec < 0 || tv->tv_usec >= 1000000 || tv->tv_sec < 0) {
        errno = EINVAL;
        return -1;
    }
    if (!ensure_ready()) {
        errno = EPERM;
        return -1;
    }
    return set_realtime((int64_t)tv->tv_sec * NS_PER_S + (int64_t)tv->tv_usec * 1000);
}

/* ---- adjtimex family -------------------------------------------------------------- */

static long clamp_long(long v, long lo, long hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* The checks of the kernel's ntp_validate_timex() that do not depend on privileges. */
static int validate_timex(const struct timex *tx)
{
    if (tx->modes & ADJ_ADJTIME) {
        return (tx->modes & ADJ_OFFSET_SINGLESHOT) == ADJ_OFFSET_SINGLESHOT ? 0 : -EINVAL;
    }
    if ((tx->modes & ADJ_TICK) && (tx->tick < TICK_MIN || tx->tick > TICK_MAX)) {
        return -EINVAL;
    }
    if (tx->modes & ADJ_SETOFFSET) {
        long limit = (tx->modes & ADJ_NANO) ? NS_PER_S : 1000000;
        if (tx->time.tv_usec < 0 || tx->time.tv_usec >= limit) {
            return -EINVAL;
        }
    }
    if ((tx->modes & ADJ_FREQUENCY) && (tx->freq > LONG_MAX / 1000 || tx->freq < LONG_MIN / 1000)) {
        return -EINVAL;
    }
    return 0;
}

static void set_status(int64_t t, int status)
{
    if ((fc.status & STA_PLL) && !(status & STA_PLL)) {
        /* Turning the PLL off resets the leap state, as the kernel does. */
        fc.time_state = TIME_OK;
        fc.next_leap_virt_s = 0;
    }
    fc.status = (fc.status & STA_RONLY_BITS) | (status & ~STA_RONLY_BITS);
    update_leap(t);
}

static void set_pll_offset(long offset)
{
    double s = (double)offset * ((fc.status & STA_NANO) ? 1e-9 : 1e-6);

    if (!(fc.status & STA_PLL)) {
        return; /* the kernel ignores ADJ_OFFSET unless the PLL is on */
    }
    fc.pll_offset = fmax(-MAXPHASE_NS * 1e-9, fmin(MAXPHASE_NS * 1e-9, s));
}

/* The kernel's process_adjtimex_modes(), in the same order. */
static void apply_modes(int64_t t, const struct timex *tx)
{
    if (tx->modes & ADJ_STATUS) {
        set_status(t, tx->status);
    }
    if (tx->modes & ADJ_NANO) {
        fc.status |= STA_NANO;
    }
    if (tx->modes & ADJ_MICRO) {
        fc.status &= ~STA_NANO;
    }
    if (tx->modes & ADJ_FREQUENCY) {
        fc.freq = clamp_long(tx->freq, -MAXFREQ_SCALED, MAXFREQ_SCALED);
    }
    if (tx->modes & ADJ_MAXERROR) {
        fc.maxerror = clamp_long(tx->maxerror, 0, PHASE_LIMIT_US);
    }
    if (tx->modes & ADJ_ESTERROR) {
        fc.esterror = clamp_long(tx->esterror, 0, PHASE_LIMIT_US);
    }
    if (tx->modes & ADJ_TIMECONST) {
        /* Stored as the kernel does: +4 in microsecond mode, returned as stored. */
        long c = clamp_long(tx->constant, 0, KERNEL_MAXTC) + ((fc.status & STA_NANO) ? 0 : 4);
        fc.constant = clamp_long(c, 0, KERNEL_MAXTC);
    }
    if ((tx->modes & ADJ_TAI) && tx->constant >= 0) {
        fc.tai = (int)tx->constant;
    }
    if (tx->modes & ADJ_OFFSET) {
        set_pll_offset(tx->offset);
    }
    if (tx->modes & ADJ_TICK) {
        fc.tick = tx->tick;
    }
}

static int time_state_result(void)
{
    if (fc.status & (STA_UNSYNC | STA_CLOCKERR)) {
        return TIME_ERROR;
    }
    return fc.time_state;
}

/* Fills what adjtimex() returns from the virtual state at real time t. */
static void read_timex(int64_t t, struct timex *tx)
{
    int64_t v = virt_of_real(t);
    bool nano = (fc.status & STA_NANO) != 0;
    double off = fc.pll_offset;

    tx->offset = (long)llround(nano ? off * 1e9 : off * 1e6);
    tx->freq = fc.freq;
    tx->maxerror = fc.maxerror;
    tx->esterror = fc.esterror;
    tx->status = fc.status;
    tx->constant = fc.constant;
    tx->precision = 1;
    tx->tolerance = MAXFREQ_SCALED;
    tx->time.tv_sec = (time_t)(v / NS_PER_S);
    tx->time.tv_usec = (suseconds_t)(nano ? v % NS_PER_S : v % NS_PER_S / 1000);
    tx->tick = fc.tick;
    tx->ppsfreq = tx->jitter = tx->stabil = 0;
    tx->shift = 0;
    tx->jitcnt = tx->calcnt = tx->errcnt = tx->stbcnt = 0;
    tx->tai = fc.tai;
}

/* adjtime()-style single-shot slew (ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_SS_READ). */
static long adjtime_mode(struct timex *tx)
{
    long old = (long)llround(fc.adj_remaining * 1e6);

    if (!(tx->modes & ADJ_OFFSET_READONLY)) {
        fc.adj_remaining = (double)tx->offset * 1e-6;
    }
    return old;
}

static int virtual_adjtimex(struct timex *tx)
{
    int64_t t;
    int r;
    long ss_offset = 0;
    double old_rate;

    if (tx == NULL) {
        errno = EFAULT;
        return -1;
    }
    r = validate_timex(tx);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    t = enter();
    old_rate = current()->rate;
    if (tx->modes & ADJ_SETOFFSET) {
        int64_t ns = (int64_t)tx->time.tv_sec * NS_PER_S +
                     ((tx->modes & ADJ_NANO) ? tx->time.tv_usec : tx->time.tv_usec * 1000);
        step_clock(t, (double)ns * 1e-9, "setoffset-step");
        fc.steps++;
    }
    if (tx->modes & ADJ_ADJTIME) {
        ss_offset = adjtime_mode(tx);
    } else if (tx->modes) {
        apply_modes(t, tx);
    }
    if (model_rate() != old_rate) {
        new_segment(t, 0.0);
    }
    read_timex(t, tx);
    if (tx->modes & ADJ_ADJTIME) {
        tx->offset = ss_offset;
    }
    r = time_state_result();
    leave();
    return r;
}

int clock_adjtime(clockid_t id, struct timex *tx)
{
    if (id == CLOCK_REALTIME && ensure_ready()) {
        return virtual_adjtimex(tx);
    }
    /* Other clocks (PHCs) may be read, never changed; so may the real clock while the
     * shim is being set up. */
    if (null_arg(tx) || tx->modes != 0) {
        errno = null_arg(tx) ? EFAULT : EOPNOTSUPP;
        return -1;
    }
    return real_clock_adjtime(id, tx);
}

int adjtimex(struct timex *tx)
{
    return clock_adjtime(CLOCK_REALTIME, tx);
}

int ntp_adjtime(struct timex *tx)
{
    return clock_adjtime(CLOCK_REALTIME, tx);
}

int adjtime(const struct timeval *delta, struct timeval *olddelta)
{
    struct timex tx;

    memset(&tx, 0, sizeof(tx));
    if (delta != NULL) {
        if (delta->tv_sec > 2145 || delta->tv_sec < -2145) {
            errno = EINVAL;
            return -1;
        }
        tx.modes = ADJ_OFFSET_SINGLESHOT;
        tx.offset = (long)(delta->tv_sec * 1000000 + delta->tv_usec);
    } else {
        tx.modes = ADJ_OFFSET_SS_READ;
    }
    if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
        return -1;
    }
    if (olddelta != NULL) {
        olddelta->tv_sec = tx.offset / 1000000;
        olddelta->tv_usec = tx.offset % 1000000;
    }
    return 0;
}

/* glibc's headers redirect ntp_gettime() here. */
int ntp_gettimex(struct ntptimeval *ntv)
{
    struct timex tx;
    int r;

    memset(&tx, 0, sizeof(tx));
    r = clock_adjtime(CLOCK_REALTIME, &tx);
    if (r >= 0 && !null_arg(ntv)) {
        memset(ntv, 0, sizeof(*ntv));
        ntv->time = tx.time;
        if (tx.status & STA_NANO) {
            ntv->time.tv_usec /= 1000;
        }
        ntv->maxerror = tx.maxerror;
        ntv->esterror = tx.esterror;
        ntv->tai = tx.tai;
    }
    return r;
}

/* ---- receive timestamps ----------------------------------------------------------- */

struct ts64 {
    int64_t sec;
    int64_t nsec;
};

static void convert_ts64(struct ts64 *ts, int64_t scale)
{
    int64_t ns;

    if (ts->sec == 0 && ts->nsec == 0) {
        return; /* an empty slot of scm_timestamping */
    }
    ns = virt_of_real(ts->sec * NS_PER_S + ts->nsec * scale);
    ts->sec = ns / NS_PER_S;
    ts->nsec = ns % NS_PER_S / scale;
}

/* Rewrites the software (realtime) stamps of one control message from real to virtual
 * time; hardware stamps (scm_timestamping ts[2]) are PHC time and stay as they are. On
 * x86_64 the _OLD and _NEW layouts are both 64-bit seconds and (n/u)seconds. */
static void convert_cmsg(struct cmsghdr *c)
{
    unsigned char *d = CMSG_DATA(c);
    size_t len = c->cmsg_len - CMSG_LEN(0);
    struct ts64 ts;

    if (c->cmsg_level != SOL_SOCKET || len < sizeof(ts)) {
        return;
    }
    switch (c->cmsg_type) {
    case SO_TIMESTAMPING_OLD:
    case SO_TIMESTAMPING_NEW:
    case SO_TIMESTAMPNS_OLD:
    case SO_TIMESTAMPNS_NEW:
        memcpy(&ts, d, sizeof(ts));
        convert_ts64(&ts, 1);
        memcpy(d, &ts, sizeof(ts));
        break;
    case SO_TIMESTAMP_OLD:
    case SO_TIMESTAMP_NEW:
        memcpy(&ts, d, sizeof(ts));
        convert_ts64(&ts, 1000);
        memcpy(d, &ts, sizeof(ts));
        break;
    default:
        break;
    }
}

static void convert_msghdr(struct msghdr *m)
{
    struct cmsghdr *c;

    if (m->msg_control == NULL || m->msg_controllen == 0) {
        return;
    }
    for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
        convert_cmsg(c);
    }
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    bool ok = ensure_ready();
    ssize_t n = real_recvmsg(fd, m, flags);

    if (n >= 0 && ok && m != NULL) {
        (void)enter();
        convert_msghdr(m);
        leave();
    }
    return n;
}

int recvmmsg(int fd, struct mmsghdr *v, unsigned int len, int flags, struct timespec *timeout)
{
    bool ok = ensure_ready();
    int n = real_recvmmsg(fd, v, len, flags, timeout);

    if (n > 0 && ok && v != NULL) {
        (void)enter();
        for (int i = 0; i < n; i++) {
            convert_msghdr(&v[i].msg_hdr);
        }
        leave();
    }
    return n;
}

/* ---- absolute deadlines ----------------------------------------------------------- */

/* Converts an absolute deadline on a virtual clock to the real clock the kernel keeps. */
static int64_t real_deadline(clockid_t id, int64_t virt_ns)
{
    int64_t now_virt;

    if (!virtual_read(id, &now_virt)) {
        return virt_ns;
    }
    return real_now(id == CLOCK_TAI ? CLOCK_TAI : id) + (virt_ns - now_virt);
}

int timerfd_create(int id, int flags)
{
    int fd;

    (void)ensure_ready();
    fd = real_timerfd_create(id, flags);

    if (fd >= 0 && fd < TIMERFD_TABLE) {
        pthread_mutex_lock(&fc.lock);
        fc.timerfd_clock[fd] = (signed char)id;
        fc.timerfd_cancel[fd] = false;
        pthread_mutex_unlock(&fc.lock);
    }
    return fd;
}

int timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *old)
{
    struct itimerspec conv;
    bool ours = ensure_ready() && fd >= 0 && fd < TIMERFD_TABLE && fc.timerfd_clock[fd] >= 0;

    if (ours) {
        pthread_mutex_lock(&fc.lock);
        fc.timerfd_cancel[fd] = nv != NULL && (flags & TFD_TIMER_CANCEL_ON_SET) &&
                                (flags & TFD_TIMER_ABSTIME) &&
                                (fc.timerfd_clock[fd] == CLOCK_REALTIME ||
                                 fc.timerfd_clock[fd] == CLOCK_REALTIME_ALARM);
        pthread_mutex_unlock(&fc.lock);
    }
    if (ours && nv != NULL && (flags & TFD_TIMER_ABSTIME) &&
        (nv->it_value.tv_sec != 0 || nv->it_value.tv_nsec != 0)) {
        conv = *nv;
        conv.it_value = ns_to_ts(real_deadline(fc.timerfd_clock[fd], ts_to_ns(&nv->it_value)));
        return real_timerfd_settime(fd, flags, &conv, old);
    }
    return real_timerfd_settime(fd, flags, nv, old);
}

int clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem)
{
    struct timespec conv;

    if (ensure_ready() && req != NULL && (flags & TIMER_ABSTIME)) {
        conv = ns_to_ts(real_deadline(id, ts_to_ns(req)));
        return real_clock_nanosleep(id, flags, &conv, rem);
    }
    return real_clock_nanosleep(id, flags, req, rem);
}

/* ---- syscall() -------------------------------------------------------------------- */

static long syscall_result(int r)
{
    return r < 0 ? -1 : r;
}

/* Programs that call the kernel through syscall() for clock calls (clknetsim's list in
 * DESIGN.md allows it for clock_adjtime) get the virtual clock too; errno is set by the
 * functions above, as syscall() would. Everything else goes to the real syscall(). */
long syscall(long nr, ...)
{
    va_list ap;
    long a[6];

    va_start(ap, nr);
    for (int i = 0; i < 6; i++) {
        a[i] = va_arg(ap, long);
    }
    va_end(ap);
    (void)ensure_ready();
    switch (nr) {
    case SYS_clock_adjtime:
        return syscall_result(clock_adjtime((clockid_t)a[0], (struct timex *)a[1]));
    case SYS_adjtimex:
        return syscall_result(adjtimex((struct timex *)a[0]));
    case SYS_clock_gettime:
        return syscall_result(clock_gettime((clockid_t)a[0], (struct timespec *)a[1]));
    case SYS_clock_settime:
        return syscall_result(clock_settime((clockid_t)a[0], (const struct timespec *)a[1]));
    case SYS_gettimeofday:
        return syscall_result(gettimeofday((struct timeval *)a[0], (void *)a[1]));
    case SYS_settimeofday:
        return syscall_result(
            settimeofday((const struct timeval *)a[0], (const struct timezone *)a[1]));
    case SYS_time:
        return (long)time((time_t *)a[0]);
    default:
        return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}
