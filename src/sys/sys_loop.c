/* poll() loop and the self-pipe for signals. The write end of the pipe is the one
 * process-wide static: a signal handler cannot be given a context pointer. The handler
 * only writes the signal number (async-signal-safe) and restores errno. */
#include "sys/sys_loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sys/sys_sock.h"

static volatile sig_atomic_t sig_write_fd = -1;

static const int handled_signals[] = {SIGTERM, SIGINT, SIGHUP};

static void on_signal(int signo)
{
    int saved_errno = errno;
    unsigned char b = (unsigned char)signo;

    if (sig_write_fd >= 0) {
        /* A full pipe already holds a wake-up; losing this byte loses nothing. */
        (void)!write(sig_write_fd, &b, 1);
    }
    errno = saved_errno;
}

static int install_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
        if (sigaction(handled_signals[i], &sa, NULL) != 0) {
            return -errno;
        }
    }
    /* A send to a vanished peer must come back as EPIPE, not kill the daemon. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        return -errno;
    }
    return 0;
}

int sys_loop_init(struct sys_loop *l)
{
    int r;

    memset(l, 0, sizeof(*l));
    l->sig_pipe[0] = l->sig_pipe[1] = -1;
    if (pipe(l->sig_pipe) != 0) {
        return -errno;
    }
    r = sys_fd_set_nonblock_cloexec(l->sig_pipe[0]);
    if (r == 0) {
        r = sys_fd_set_nonblock_cloexec(l->sig_pipe[1]);
    }
    if (r == 0) {
        sig_write_fd = l->sig_pipe[1];
        r = install_handlers();
    }
    if (r != 0) {
        sys_loop_close(l);
        return r;
    }
    l->pfd[0].fd = l->sig_pipe[0];
    l->pfd[0].events = POLLIN;
    return 0;
}

int sys_loop_add_fd(struct sys_loop *l, int fd)
{
    if (l->n_fds >= SYS_LOOP_MAX_FDS) {
        return -ENOSPC;
    }
    l->n_fds++;
    l->pfd[l->n_fds].fd = fd;
    l->pfd[l->n_fds].events = POLLIN;
    l->pfd[l->n_fds].revents = 0;
    return (int)l->n_fds - 1;
}

int sys_loop_set_fd(struct sys_loop *l, int index, int fd)
{
    if (index < 0 || (size_t)index >= l->n_fds || fd < -1) {
        return -EINVAL;
    }
    /* poll() skips a negative fd and reports nothing for it: a free slot costs nothing. */
    l->pfd[index + 1].fd = fd;
    l->pfd[index + 1].revents = 0;
    return 0;
}

int sys_loop_wait(struct sys_loop *l, int timeout_ms)
{
    int ready;

    for (size_t i = 0; i <= l->n_fds; i++) {
        l->pfd[i].revents = 0;
    }
    ready = poll(l->pfd, (nfds_t)(l->n_fds + 1), timeout_ms);
    if (ready < 0) {
        return errno == EINTR ? 0 : -errno;
    }
    l->sig_ready = l->pfd[0].revents != 0;
    if (l->sig_ready) {
        ready--;
    }
    return ready;
}

bool sys_loop_readable(const struct sys_loop *l, int index)
{
    if (index < 0 || (size_t)index >= l->n_fds) {
        return false;
    }
    return (l->pfd[index + 1].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

unsigned sys_loop_take_signals(struct sys_loop *l)
{
    unsigned char buf[64];
    unsigned bits = 0;

    ssize_t got = 0;

    /* Bounded: the pipe holds at most a few KiB and each read takes up to 64 bytes. */
    for (int rounds = 0; rounds < 1024 && l->sig_pipe[0] >= 0; rounds++) {
        ssize_t n = read(l->sig_pipe[0], buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        got += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == SIGTERM || buf[i] == SIGINT) {
                bits |= SYS_LOOP_SIG_STOP;
            } else if (buf[i] == SIGHUP) {
                bits |= SYS_LOOP_SIG_HUP;
            }
        }
    }
    l->sig_empty_runs = l->sig_ready && got == 0 ? l->sig_empty_runs + 1 : 0;
    if (l->sig_empty_runs >= SYS_LOOP_EMPTY_RUNS && !l->sig_pipe_unpolled) {
        l->pfd[0].fd = -1;
        l->sig_pipe_unpolled = true;
    }
    return bits;
}

bool sys_loop_signals_unpolled(const struct sys_loop *l)
{
    return l->sig_pipe_unpolled;
}

void sys_loop_close(struct sys_loop *l)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
        sigaction(handled_signals[i], &sa, NULL);
    }
    sig_write_fd = -1;
    for (int i = 0; i < 2; i++) {
        if (l->sig_pipe[i] >= 0) {
            close(l->sig_pipe[i]);
            l->sig_pipe[i] = -1;
        }
    }
    l->n_fds = 0;
}
