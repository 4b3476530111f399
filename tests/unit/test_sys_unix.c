/* Unit tests for src/sys/sys_unix.c, in a mkdtemp directory: the directory made with
 * mode 0750, the socket with 0660 whatever the umask, a stale socket file replaced, a
 * live one and a non-socket refused, accept on an empty backlog, the peer's credentials
 * and groups, send/recv of a line, and removal of only our own file at close. chown
 * happens only as root, and is checked then. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sys/sys_sock.h"
#include "sys/sys_unix.h"

static char dir[32];
static char sub[48];
static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_sys_unix.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(sub, sizeof(sub), "%s/run", dir);
    snprintf(path, sizeof(path), "%s/run/t.sock", dir);
    return 0;
}

static int teardown(void **state)
{
    char p[64];
    (void)state;

    (void)unlink(path);
    snprintf(p, sizeof(p), "%s/plain", sub);
    (void)unlink(p);
    (void)rmdir(sub);
    (void)rmdir(dir);
    return 0;
}

static int connect_to(const char *p)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -errno;
    }
    return fd;
}

static void test_listen_modes(void **state)
{
    struct sys_unix_listener l;
    struct stat st;
    (void)state;

    mode_t old = umask(0);
    assert_int_equal(sys_unix_listen(&l, path, 0), 0);
    umask(old);
    assert_true(l.fd >= 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, SYS_UNIX_DIR_MODE);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, SYS_UNIX_SOCKET_MODE);
    if (geteuid() == 0) {
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_gid, 0);
    }
    assert_int_equal(fcntl(l.fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    assert_int_equal(fcntl(l.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    sys_unix_close(&l);
    assert_int_equal(l.fd, -1);
    assert_int_equal(lstat(path, &st), -1); /* removed */
    sys_unix_close(&l);                     /* twice: harmless */
}

/* As root, a group other than 0 shows on the socket and on a directory made for it. */
static void test_listen_group(void **state)
{
    struct sys_unix_listener l;
    struct stat st;
    (void)state;

    if (geteuid() != 0) {
        skip();
    }
    assert_int_equal(sys_unix_listen(&l, path, 4242), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_gid, 4242);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_gid, 4242);
    sys_unix_close(&l);
}

static void test_stale_and_live(void **state)
{
    struct sys_unix_listener a, b;
    struct stat st;
    char old[80];
    (void)state;

    assert_int_equal(sys_unix_listen(&a, path, (gid_t)-1), 0);
    /* Someone answers there: refused, and the file stays a's. */
    assert_int_equal(sys_unix_listen(&b, path, (gid_t)-1), -EADDRINUSE);
    assert_int_equal(b.fd, -1);
    int c = connect_to(path);
    assert_true(c >= 0);
    close(c);
    /* a dies without removing its file: the next one takes the stale file over. */
    close(a.fd);
    assert_int_equal(sys_unix_listen(&b, path, (gid_t)-1), 0);
    c = connect_to(path);
    assert_true(c >= 0);
    close(c);
    sys_unix_close(&b);
    assert_int_equal(lstat(path, &st), -1);

    /* a's file was moved away and b listens at the path now: a's close leaves b's file. */
    snprintf(old, sizeof(old), "%s.old", path);
    assert_int_equal(sys_unix_listen(&a, path, (gid_t)-1), 0);
    assert_int_equal(rename(path, old), 0);
    assert_int_equal(sys_unix_listen(&b, path, (gid_t)-1), 0);
    sys_unix_close(&a);
    assert_int_equal(lstat(path, &st), 0);
    c = connect_to(path);
    assert_true(c >= 0);
    close(c);
    sys_unix_close(&b);
    assert_int_equal(unlink(old), 0);
}

static void test_not_a_socket(void **state)
{
    struct sys_unix_listener l;
    char p[64];
    char longp[200];
    (void)state;

    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(p, sizeof(p), "%s/plain", sub);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(sys_unix_listen(&l, p, (gid_t)-1), -EEXIST);
    assert_int_equal(access(p, F_OK), 0); /* never removed */
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(sys_unix_listen(&l, longp, (gid_t)-1), -ENAMETOOLONG);
    assert_int_equal(sys_unix_listen(&l, "/nonexistent-tsync/a/b.sock", (gid_t)-1), -ENOENT);
}

static void test_accept_peer_io(void **state)
{
    struct sys_unix_listener l;
    struct sys_unix_peer p;
    char buf[64];
    (void)state;

    assert_int_equal(sys_unix_listen(&l, path, (gid_t)-1), 0);
    assert_int_equal(sys_unix_accept(&l), -EAGAIN);
    int c = connect_to(path);
    assert_true(c >= 0);
    int s = sys_unix_accept(&l);
    assert_true(s >= 0);
    assert_int_equal(fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    assert_int_equal(sys_unix_peer(s, &p), 0);
    assert_int_equal(p.pid, getpid());
    assert_int_equal(p.uid, geteuid());
    assert_int_equal(p.gid, getegid());
    assert_true(sys_unix_peer_in_group(s, getegid()));
    assert_false(sys_unix_peer_in_group(s, 4243));
    gid_t extra[8];
    int n = getgroups(8, extra);
    for (int i = 0; i < n; i++) {
        assert_true(sys_unix_peer_in_group(s, extra[i]));
    }
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(send(c, "status\n", 7, 0), 7);
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), 7);
    assert_memory_equal(buf, "status\n", 7);
    assert_int_equal(sys_sock_send(s, "{}\n", 3), 3);
    assert_int_equal(recv(c, buf, sizeof(buf), 0), 3);
    close(c);
    assert_int_equal(sys_sock_recv(s, buf, sizeof(buf)), 0); /* end of stream */
    long r = sys_sock_send(s, "x", 1);                       /* no SIGPIPE */
    assert_true(r == -EPIPE || r == -ECONNRESET);
    close(s);
    sys_unix_close(&l);
}

static void test_group_id(void **state)
{
    gid_t g = 99;
    (void)state;

    assert_int_equal(sys_unix_group_id("root", &g), 0);
    assert_int_equal(g, 0);
    assert_int_equal(sys_unix_group_id("no-such-group-tsync", &g), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listen_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_and_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_peer_io, setup, teardown),
        cmocka_unit_test(test_group_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
