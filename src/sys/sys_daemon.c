/* Daemonization with a start-up report to the parent. The protocol on the pipe: any
 * text is an error message to print; a final READY byte means success; end of file
 * without it means the daemon failed (or died) during start-up. */
#include "sys/sys_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/sys_log.h"

#define READY_BYTE '\001'

/* Parent side: relay messages to stderr, exit with the daemon's start-up status. */
static void wait_for_daemon(int fd, pid_t child)
{
    char buf[512];
    bool ready = false;

    /* The intermediate child exits right after its fork; reap it. */
    while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        ready = buf[n - 1] == READY_BYTE;
        size_t text = (size_t)n - (ready ? 1 : 0);
        if (text > 0) {
            (void)!write(STDERR_FILENO, buf, text);
        }
    }
    _exit(ready ? 0 : 1);
}

/* Closes every descriptor above stderr but keep: a daemon must not hold the pipes or
 * files of whoever started it (a "$(tsyncd)" would otherwise never finish). */
static void close_inherited_fds(int keep)
{
    long max = sysconf(_SC_OPEN_MAX);

    if (keep > 3) {
        (void)close_range(3, (unsigned)keep - 1, 0);
    }
    if (close_range((unsigned)keep + 1, ~0u, 0) == 0) {
        return;
    }
    /* Without close_range (kernels before 5.9): one close per possible descriptor. */
    if (max < 0 || max > 65536) {
        max = 65536;
    }
    for (int fd = 3; fd < max; fd++) {
        if (fd != keep) {
            close(fd);
        }
    }
}

static void redirect_stdio(void)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd < 0) {
        return;
    }
    for (int std = 0; std < 3; std++) {
        (void)dup2(fd, std);
    }
    if (fd > 2) {
        close(fd);
    }
}

int sys_daemonize(int *notify_fd)
{
    int p[2];
    pid_t pid;

    sys_log_drop_connection(); /* its descriptor is about to be closed below */
    if (pipe(p) != 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(p[0]);
        close(p[1]);
        return r;
    }
    if (pid > 0) {
        close(p[1]);
        wait_for_daemon(p[0], pid);
    }
    close(p[0]);
    if (setsid() < 0) {
        _exit(1);
    }
    /* A second fork: the daemon is not a session leader, so it can never reacquire a
     * controlling terminal by opening one. */
    pid = fork();
    if (pid < 0) {
        _exit(1);
    }
    if (pid > 0) {
        _exit(0);
    }
    (void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
    close_inherited_fds(p[1]);
    if (chdir("/") != 0) {
        _exit(1);
    }
    umask(022);
    redirect_stdio();
    *notify_fd = p[1];
    return 0;
}

void sys_daemon_ready(int notify_fd)
{
    char b = READY_BYTE;

    if (notify_fd < 0) {
        return;
    }
    (void)!write(notify_fd, &b, 1);
    close(notify_fd);
}
