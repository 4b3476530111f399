/* File-descriptor flags set after creation: DESIGN.md asks for plain socket()/pipe()
 * calls (simulators such as clknetsim do not understand SOCK_NONBLOCK/SOCK_CLOEXEC),
 * so non-blocking and close-on-exec are added here with fcntl. */
#ifndef TSYNC_SYS_FD_H
#define TSYNC_SYS_FD_H

/* Sets O_NONBLOCK and FD_CLOEXEC on fd. Returns 0 or -errno. */
int sys_fd_set_nonblock_cloexec(int fd);

#endif
