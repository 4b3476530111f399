/* sd_notify datagrams (src/sys/sys_notify.c): nothing without $NOTIFY_SOCKET, the
 * message to a path socket and to an abstract one, and a clear error for a bad name. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sys_notify.h"

static int listener(const char *name, bool abstract)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, name);
    if (abstract) {
        sa.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void expect_message(int fd, const char *want)
{
    char buf[256];
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_no_socket(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sys_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(sys_notify("READY=1"), -EINVAL);
}

static void test_path_and_abstract(void **state)
{
    (void)state;
    char dir[] = "/tmp/tsync-notify.XXXXXX", path[128], abs_name[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listener(path, false);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(sys_notify("READY=1\nSTATUS=synchronized"), 1);
    expect_message(fd, "READY=1\nSTATUS=synchronized");
    close(fd);
    unlink(path);
    rmdir(dir);

    snprintf(abs_name, sizeof(abs_name), "@tsync-test-%d", (int)getpid());
    fd = listener(abs_name, true);
    setenv("NOTIFY_SOCKET", abs_name, 1);
    assert_int_equal(sys_notify("STATUS=no source"), 1);
    expect_message(fd, "STATUS=no source");
    close(fd);
    /* Nobody listening any more: an error, not a crash or a hang. */
    assert_true(sys_notify("STATUS=x") < 0);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_socket),
        cmocka_unit_test(test_path_and_abstract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
