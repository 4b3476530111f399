/* Going to the background the classic way (fork, setsid, fork, chdir /, stdio to
 * /dev/null), with the parent kept waiting until the daemon says it started, so the
 * exit status and error messages of a failed start reach the shell that ran it. */
#ifndef TSYNC_SYS_DAEMON_H
#define TSYNC_SYS_DAEMON_H

/* Detaches. Returns in the daemon only, with *notify_fd set to the pipe to the waiting
 * parent (error messages written there are printed by the parent on its stderr). The
 * parent exits 0 when sys_daemon_ready() is called, or 1 when the daemon exits or closes
 * the pipe without calling it. Returns -errno if detaching fails (still in the
 * original process, nothing changed but maybe a stray child that exits at once). */
int sys_daemonize(int *notify_fd);

/* Tells the waiting parent that start-up succeeded and closes notify_fd. */
void sys_daemon_ready(int notify_fd);

#endif
