/* Files the daemon keeps: an atomic whole-file write (temp file in the same directory,
 * fsync, rename, fsync of the directory) so a reader or a crash never sees half a file,
 * and the pid file built on it. Returns 0 or -errno throughout. */
#ifndef TSYNC_SYS_FILE_H
#define TSYNC_SYS_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces path with the len bytes of buf, mode 0644. The temp file is created with
 * O_EXCL|O_NOFOLLOW next to path and renamed over it, so a symlink planted at path is
 * replaced, never followed. On failure path is unchanged and the temp file removed. */
int sys_file_write_atomic(const char *path, const void *buf, size_t len);

/* Writes the calling process's pid to path, unless the file names another process
 * that is still alive: then returns -EEXIST and stores that pid in *other (if not
 * NULL). A file that is unreadable as a pid, names this process, or names a dead one
 * is stale and replaced. */
int sys_pidfile_acquire(const char *path, pid_t *other);

/* Removes path if it still holds this process's pid (a successor's file is kept). */
int sys_pidfile_release(const char *path);

/* Reads a pid file: the pid, or -errno (-EINVAL when the content is not a pid). */
long sys_pidfile_read(const char *path);

/* Opens path for appending (created 0644, close-on-exec, no controlling tty). Returns
 * the descriptor or -errno. */
int sys_file_open_append(const char *path);

/* Appends len bytes (a whole line): with O_APPEND one write() keeps it together for
 * readers; a short write is completed. Returns 0 or -errno. */
int sys_file_append(int fd, const void *buf, size_t len);

/* Size of an open file in bytes, or -errno. */
long long sys_file_size(int fd);

void sys_file_close(int fd);

#endif
