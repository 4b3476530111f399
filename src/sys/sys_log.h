/* Logging for the daemon: to syslog (openlog("tsyncd", LOG_PID, LOG_DAEMON)) when it
 * runs in the background or with -n, to stderr with a UTC timestamp with -d. Also
 * copies error messages to the parent process while a daemon is still starting, so the
 * shell that started it sees why it failed. No allocation; messages over
 * SYS_LOG_LINE_MAX bytes are cut. */
#ifndef TSYNC_SYS_LOG_H
#define TSYNC_SYS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define SYS_LOG_LINE_MAX 1024

/* Same order and meaning as syslog's priorities. */
enum sys_log_level {
    SYS_LOG_ERR = 0,
    SYS_LOG_WARNING,
    SYS_LOG_NOTICE,
    SYS_LOG_INFO,
    SYS_LOG_DEBUG,
};

enum sys_log_dest {
    SYS_LOG_STDERR = 0,
    SYS_LOG_SYSLOG,
    SYS_LOG_FILE, /* sys_log_open_file */
};

/* Starts logging to dest; messages less important than max_level are dropped. Before
 * the first call messages go to stderr at info level. */
void sys_log_open(enum sys_log_dest dest, enum sys_log_level max_level);

/* While fd >= 0, error messages are also written to fd as "tsyncd: message": stderr
 * while a syslog-logging daemon starts, then the daemonizing parent's pipe (see
 * sys_daemon.h). -1 stops it. Ignored while the log itself goes to stderr. */
void sys_log_set_parent_fd(int fd);

void sys_log_close(void);

/* Logs to the file at path (appended, created 0640, lines as on stderr: a UTC stamp,
 * then the message) instead of syslog: ntpd's logfile. Returns 0, or -errno with the
 * destination unchanged. */
int sys_log_open_file(const char *path, enum sys_log_level max_level);

/* Closes and opens the log file again (SIGHUP, after logrotate moved it). Returns 0, or
 * -errno with the old descriptor kept. Nothing to do for other destinations. */
int sys_log_reopen(void);

/* Drops the connection to syslog (it reconnects at the next message). Called before
 * descriptors are closed wholesale, so syslog never writes to, or later closes, a
 * descriptor number that has meanwhile been reused for a socket. */
void sys_log_drop_connection(void);

void sys_logv(enum sys_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void sys_log(enum sys_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void sys_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sys_log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sys_log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sys_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sys_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether a message at level would be written (to skip costly formatting). */
bool sys_log_enabled(enum sys_log_level level);

#endif
