/* The control socket's OS side (see sys_unix.h): directory, bind with stale-file
 * recovery, permissions, accept, peer credentials and bounded I/O. Sockets are made
 * with a plain socket() call and fcntl, as DESIGN.md asks for simulators. */
#include "sys/sys_unix.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/sys_sock.h"

#define LISTEN_BACKLOG 16
#define GRBUF_SIZE     16384 /* getgrnam_r scratch: groups with many members are long */
#define PEER_GROUPS    256   /* supplementary groups looked at (NGROUPS_MAX is 65536) */

int sys_unix_group_id(const char *name, gid_t *gid)
{
    static char buf[GRBUF_SIZE]; /* start-up only, single thread */
    struct group gr, *res = NULL;

    int r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
    if (r != 0) {
        return -r;
    }
    if (res == NULL) {
        return -ENOENT;
    }
    *gid = res->gr_gid;
    return 0;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    size_t n = strlen(path);

    if (n == 0 || n > SYS_UNIX_PATH_MAX) {
        return -ENAMETOOLONG;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n);
    return 0;
}

static int stream_socket(void)
{
    return sys_sock_open(AF_UNIX, SOCK_STREAM, 0);
}

/* Makes the socket's directory when it is missing (one level, like RuntimeDirectory=). */
static int make_dir(const char *path, gid_t gid)
{
    char copy[SYS_UNIX_PATH_MAX + 1];
    struct stat st;

    snprintf(copy, sizeof(copy), "%s", path);
    const char *dir = dirname(copy);
    if (stat(dir, &st) == 0) {
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    if (errno != ENOENT) {
        return -errno;
    }
    if (mkdir(dir, SYS_UNIX_DIR_MODE) != 0 && errno != EEXIST) {
        return -errno;
    }
    /* mkdir applies the umask: set the mode the doc promises. */
    if (chmod(dir, SYS_UNIX_DIR_MODE) != 0) {
        return -errno;
    }
    if (geteuid() == 0 && gid != (gid_t)-1 && chown(dir, 0, gid) != 0) {
        return -errno;
    }
    return 0;
}

/* A socket file is at the path: in use when something accepts connections there. */
static int check_existing(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        return -EEXIST;
    }
    int fd = stream_socket();
    if (fd < 0) {
        return fd;
    }
    int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int err = r == 0 ? 0 : errno;
    close(fd);
    if (err != ECONNREFUSED && err != ENOENT) {
        return -EADDRINUSE; /* answered, or busy (EAGAIN): another daemon is there */
    }
    return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

static int bind_path(int fd, const char *path, const struct sockaddr_un *sa)
{
    /* The umask applies to the socket file: keep it closed until chmod below. */
    mode_t old = umask(0177);
    int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
    int err = errno;
    umask(old);
    if (r != 0) {
        return -err;
    }
    if (chmod(path, SYS_UNIX_SOCKET_MODE) != 0) {
        return -errno;
    }
    return 0;
}

static int setup(struct sys_unix_listener *l, const char *path, gid_t gid,
                 const struct sockaddr_un *sa)
{
    struct stat st;
    int r = make_dir(path, gid);

    if (r == 0) {
        r = check_existing(path, sa);
    }
    if (r == 0) {
        r = bind_path(l->fd, path, sa);
    }
    if (r != 0) {
        return r;
    }
    if (lstat(path, &st) != 0) {
        return -errno;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if (geteuid() == 0 && gid != (gid_t)-1 && chown(path, 0, gid) != 0) {
        return -errno;
    }
    return listen(l->fd, LISTEN_BACKLOG) == 0 ? 0 : -errno;
}

int sys_unix_listen(struct sys_unix_listener *l, const char *path, gid_t gid)
{
    struct sockaddr_un sa;

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    int r = fill_addr(&sa, path);
    if (r != 0) {
        return r;
    }
    snprintf(l->path, sizeof(l->path), "%s", path);
    l->fd = stream_socket();
    if (l->fd < 0) {
        r = l->fd;
        l->fd = -1;
        return r;
    }
    r = setup(l, path, gid, &sa);
    if (r != 0) {
        sys_unix_close(l);
    }
    return r;
}

int sys_unix_accept(const struct sys_unix_listener *l)
{
    return sys_sock_accept(l->fd);
}

int sys_unix_peer(int fd, struct sys_unix_peer *p)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
        return -errno;
    }
    p->pid = uc.pid;
    p->uid = uc.uid;
    p->gid = uc.gid;
    return 0;
}

bool sys_unix_peer_in_group(int fd, gid_t gid)
{
    struct sys_unix_peer p;
    gid_t groups[PEER_GROUPS];
    socklen_t len = sizeof(groups);

    if (sys_unix_peer(fd, &p) != 0) {
        return false;
    }
    if (p.gid == gid) {
        return true;
    }
    /* Linux 4.13+: the supplementary groups at connect(); ERANGE when there are more
     * than we look at (then only the primary group counts). */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
        return false;
    }
    for (size_t i = 0; i < len / sizeof(gid_t); i++) {
        if (groups[i] == gid) {
            return true;
        }
    }
    return false;
}

void sys_unix_close(struct sys_unix_listener *l)
{
    struct stat st;

    if (l->fd < 0) {
        return;
    }
    close(l->fd);
    l->fd = -1;
    /* Another daemon may have replaced the file since (after a failed probe of ours):
     * remove only our own socket. */
    if (l->ino != 0 && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino) {
        (void)unlink(l->path);
    }
    l->ino = 0;
}
