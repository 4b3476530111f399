/* The daemon's wait: poll() over a small fixed set of descriptors with a timeout, and
 * signals turned into readable events through a self-pipe, so a handler never does
 * more than write one byte. Only poll (not epoll/ppoll), pipe() and fcntl are used, for
 * clock-and-network simulators (DESIGN.md). One loop per process: signal handlers are
 * process-wide. */
#ifndef TSYNC_SYS_LOOP_H
#define TSYNC_SYS_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

/* Descriptors a loop can watch besides its signal pipe (bind addresses + spare). */
#define SYS_LOOP_MAX_FDS    64
#define SYS_LOOP_EMPTY_RUNS 3

/* Signals seen since the last sys_loop_take_signals(), as bits. */
enum sys_loop_signal {
    SYS_LOOP_SIG_STOP = 1u << 0, /* SIGTERM or SIGINT */
    SYS_LOOP_SIG_HUP = 1u << 1,  /* SIGHUP */
};

struct sys_loop {
    struct pollfd pfd[SYS_LOOP_MAX_FDS + 1]; /* [0] is the signal pipe */
    size_t n_fds;                            /* used entries after [0] */
    int sig_pipe[2];
    bool sig_ready;          /* the last wait reported the signal pipe ready */
    unsigned sig_empty_runs; /* ...and it held nothing, this many waits in a row */
    bool sig_pipe_unpolled;  /* given up polling it (see sys_loop_take_signals) */
};

/* Creates the self-pipe (non-blocking, close-on-exec), installs handlers for SIGTERM,
 * SIGINT and SIGHUP and ignores SIGPIPE. Returns 0 or -errno. */
int sys_loop_init(struct sys_loop *l);

/* Watches fd for input. Returns its index for sys_loop_readable and sys_loop_set_fd,
 * or -ENOSPC. fd -1 reserves the slot without watching anything yet. */
int sys_loop_add_fd(struct sys_loop *l, int fd);

/* Puts fd in the slot at index (from sys_loop_add_fd) in place of the one there, for
 * descriptors that come and go (one client socket per request); fd -1 stops watching
 * and keeps the slot. Readiness seen for the old fd is forgotten. The loop never closes
 * either fd. Returns 0, or -EINVAL for an index not handed out or an fd below -1. */
int sys_loop_set_fd(struct sys_loop *l, int index, int fd);

/* Waits until a watched fd is readable, a signal arrives, or timeout_ms passes (-1:
 * no timeout). Returns the number of ready watched fds (0 on timeout or signal only),
 * or -errno. EINTR is not an error: the signal shows up in sys_loop_take_signals. */
int sys_loop_wait(struct sys_loop *l, int timeout_ms);

/* After sys_loop_wait: whether the fd at index (from sys_loop_add_fd) is readable or
 * in error (then a read returns the error). */
bool sys_loop_readable(const struct sys_loop *l, int index);

/* Drains the signal pipe and returns the enum sys_loop_signal bits seen; call it after
 * every wait. A poll() that keeps reporting the pipe ready while it is empty (LD_PRELOAD
 * simulators such as clknetsim do so for every descriptor they do not know, and their
 * time only moves while poll() waits) would spin the loop: after SYS_LOOP_EMPTY_RUNS
 * such waits the pipe is no longer polled, and a signal is seen when poll() returns
 * with EINTR (or at the next wake-up). A real kernel never does this. */
unsigned sys_loop_take_signals(struct sys_loop *l);

/* True once the signal pipe is no longer polled (for a one-time log line). */
bool sys_loop_signals_unpolled(const struct sys_loop *l);

/* Restores default signal handling and closes the pipe (not the watched fds). */
void sys_loop_close(struct sys_loop *l);

#endif
