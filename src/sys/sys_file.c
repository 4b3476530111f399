/* Atomic file replacement and the pid file. Everything goes through one helper so the
 * drift file of a later issue gets the same crash safety as the pid file; the content
 * is always written whole, never edited in place (the OpenNTPD drift-file lesson). */
#include "sys/sys_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Attempts at a fresh temp name when one is taken (left over by a crash). */
#define TEMP_NAME_TRIES 16

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Length of the directory part of path, slash included ("" for a bare name). */
static size_t dir_prefix_len(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash == NULL ? 0 : (size_t)(slash - path) + 1;
}

/* Opens "<dir>/.tsync-tmp.<pid>.<n>" exclusively; fills tmp (PATH_MAX bytes). The name
 * is short and fixed, not derived from the file's own name, so any valid name up to
 * NAME_MAX can be replaced, and it lives in the same directory so rename is atomic. */
static int open_temp(const char *path, char *tmp)
{
    int dir_len = (int)dir_prefix_len(path);

    for (int n = 0; n < TEMP_NAME_TRIES; n++) {
        int len = snprintf(tmp, PATH_MAX, "%.*s.tsync-tmp.%ld.%d", dir_len, path,
                           (long)getpid(), n);
        if (len < 0 || len >= PATH_MAX) {
            return -ENAMETOOLONG;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            return fd;
        }
        if (errno != EEXIST) {
            return -errno;
        }
    }
    return -EEXIST;
}

/* fsync of the directory holding path, so the rename itself survives a crash. */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir)) {
            return;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse fsync on directories */
        close(fd);
    }
}

int sys_file_write_atomic(const char *path, const void *buf, size_t len)
{
    char tmp[PATH_MAX];
    int fd = open_temp(path, tmp);
    int r;

    if (fd < 0) {
        return fd;
    }
    r = write_all(fd, buf, len);
    /* open() applied the umask; the file's mode should not depend on it. */
    if (r == 0 && fchmod(fd, 0644) != 0) {
        r = -errno;
    }
    if (r == 0 && fsync(fd) != 0) {
        r = -errno;
    }
    if (close(fd) != 0 && r == 0) {
        r = -errno;
    }
    if (r == 0 && rename(tmp, path) != 0) {
        r = -errno;
    }
    if (r != 0) {
        unlink(tmp);
        return r;
    }
    sync_parent_dir(path);
    return 0;
}

long sys_pidfile_read(const char *path)
{
    char buf[32];
    char *end;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n;
    long pid;

    if (fd < 0) {
        return -errno;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        return -errno;
    }
    buf[n] = '\0';
    errno = 0;
    pid = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || pid <= 0 || pid > INT_MAX || (*end != '\0' && *end != '\n')) {
        return -EINVAL;
    }
    return pid;
}

/* kill(pid, 0) succeeds or fails with EPERM exactly when the process exists. */
static int process_alive(pid_t pid)
{
    return kill(pid, 0) == 0 || errno == EPERM;
}

int sys_pidfile_acquire(const char *path, pid_t *other)
{
    char buf[32];
    long old = sys_pidfile_read(path);
    int len;

    if (old > 0 && (pid_t)old != getpid() && process_alive((pid_t)old)) {
        if (other != NULL) {
            *other = (pid_t)old;
        }
        return -EEXIST;
    }
    len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    return sys_file_write_atomic(path, buf, (size_t)len);
}

int sys_pidfile_release(const char *path)
{
    long pid = sys_pidfile_read(path);

    if (pid < 0) {
        return (int)pid;
    }
    if ((pid_t)pid != getpid()) {
        return -EEXIST;
    }
    return unlink(path) == 0 ? 0 : -errno;
}

int sys_file_open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);

    return fd >= 0 ? fd : -errno;
}

int sys_file_append(int fd, const void *buf, size_t len)
{
    return write_all(fd, buf, len);
}

long long sys_file_size(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 ? (long long)st.st_size : -errno;
}

void sys_file_close(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}
