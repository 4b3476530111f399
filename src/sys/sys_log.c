/* The daemon's log sink: syslog or stderr, chosen once at start-up. Holds the only
 * logging state of the process (destination, level, parent pipe) as file statics,
 * which is allowed in sys and nowhere in the core. */
#include "sys/sys_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum sys_log_dest log_dest = SYS_LOG_STDERR;
static enum sys_log_level log_max = SYS_LOG_INFO;
static bool log_syslog_open;
static int log_parent_fd = -1;
static int log_file_fd = -1;
static char log_file_path[4096];

static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};
static const char *const level_tag[] = {"error: ", "warning: ", "", "", "debug: "};

void sys_log_open(enum sys_log_dest dest, enum sys_log_level max_level)
{
    log_dest = dest;
    log_max = max_level;
    if (dest == SYS_LOG_SYSLOG && !log_syslog_open) {
        openlog("tsyncd", LOG_PID, LOG_DAEMON);
        log_syslog_open = true;
    }
}

void sys_log_set_parent_fd(int fd)
{
    log_parent_fd = fd;
}

/* Whether an error also goes to the parent fd: not when it would repeat the log line
 * on the same stderr. */
static bool copy_to_parent(enum sys_log_level level)
{
    if (level != SYS_LOG_ERR || log_parent_fd < 0) {
        return false;
    }
    return !(log_dest == SYS_LOG_STDERR && log_parent_fd == STDERR_FILENO);
}

void sys_log_close(void)
{
    if (log_syslog_open) {
        closelog();
        log_syslog_open = false;
    }
    if (log_file_fd >= 0) {
        close(log_file_fd);
        log_file_fd = -1;
    }
    log_dest = SYS_LOG_STDERR;
}

static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);

    return fd >= 0 ? fd : -errno;
}

int sys_log_open_file(const char *path, enum sys_log_level max_level)
{
    if (strlen(path) >= sizeof(log_file_path)) {
        return -ENAMETOOLONG;
    }
    int fd = open_log_file(path);
    if (fd < 0) {
        return fd;
    }
    if (log_file_fd >= 0) {
        close(log_file_fd);
    }
    snprintf(log_file_path, sizeof(log_file_path), "%s", path);
    log_file_fd = fd;
    log_dest = SYS_LOG_FILE;
    log_max = max_level;
    return 0;
}

int sys_log_reopen(void)
{
    if (log_dest != SYS_LOG_FILE) {
        return 0;
    }
    int fd = open_log_file(log_file_path);
    if (fd < 0) {
        return fd;
    }
    close(log_file_fd);
    log_file_fd = fd;
    return 0;
}

void sys_log_drop_connection(void)
{
    if (log_syslog_open) {
        closelog();
        openlog("tsyncd", LOG_PID, LOG_DAEMON); /* no LOG_NDELAY: connects lazily */
    }
}

bool sys_log_enabled(enum sys_log_level level)
{
    return level <= log_max;
}

/* Writes all of buf, retrying short writes; errors are dropped (nowhere to report). */
static void write_all(int fd, const char *buf, size_t len)
{
    for (int tries = 0; len > 0 && tries < 16; tries++) {
        ssize_t r = write(fd, buf, len);
        if (r < 0 && errno != EINTR) {
            return;
        }
        if (r > 0) {
            buf += r;
            len -= (size_t)r;
        }
    }
}

/* "2024-05-01T12:00:00.123456Z " into out (UTC, microseconds). */
static void format_stamp(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;

    out[0] = '\0';
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        return;
    }
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%06ldZ ", ts.tv_nsec / 1000);
}

static void emit_stamped(int fd, enum sys_log_level level, const char *msg)
{
    char line[SYS_LOG_LINE_MAX + 64];
    char stamp[40];

    format_stamp(stamp, sizeof(stamp));
    int n = snprintf(line, sizeof(line), "%s%s%s\n", stamp, level_tag[level], msg);
    if (n > 0) {
        write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

static void emit_parent(const char *msg)
{
    char line[SYS_LOG_LINE_MAX + 16];
    int n = snprintf(line, sizeof(line), "tsyncd: %s\n", msg);

    if (n > 0) {
        write_all(log_parent_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

void sys_logv(enum sys_log_level level, const char *fmt, va_list ap)
{
    char msg[SYS_LOG_LINE_MAX];
    int saved_errno = errno;

    if (level > SYS_LOG_DEBUG) {
        level = SYS_LOG_DEBUG;
    }
    bool to_parent = copy_to_parent(level);

    if (level > log_max && !to_parent) {
        errno = saved_errno;
        return;
    }
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (level <= log_max) {
        if (log_dest == SYS_LOG_SYSLOG) {
            syslog(syslog_prio[level], "%s", msg); /* the priority says the level */
        } else {
            emit_stamped(log_dest == SYS_LOG_FILE ? log_file_fd : STDERR_FILENO, level, msg);
        }
    }
    if (to_parent) {
        emit_parent(msg);
    }
    errno = saved_errno; /* callers often log and then look at errno */
}

void sys_log(enum sys_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sys_logv(level, fmt, ap);
    va_end(ap);
}

#define DEFINE_LEVEL_FN(name, level)                                                               \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        sys_logv(level, fmt, ap);                                                                  \
        va_end(ap);                                                                                \
    }

DEFINE_LEVEL_FN(sys_log_err, SYS_LOG_ERR)
DEFINE_LEVEL_FN(sys_log_warning, SYS_LOG_WARNING)
DEFINE_LEVEL_FN(sys_log_notice, SYS_LOG_NOTICE)
DEFINE_LEVEL_FN(sys_log_info, SYS_LOG_INFO)
DEFINE_LEVEL_FN(sys_log_debug, SYS_LOG_DEBUG)
