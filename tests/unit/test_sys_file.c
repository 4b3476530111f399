/* Unit tests for src/sys/sys_file.c: the atomic write (content, mode despite the umask,
 * no temp file left, existing file or planted symlink replaced, -errno and the target
 * unchanged on failure) and the pid file (write, refuse a live process, replace a stale
 * or garbled file, release only our own), all in a mkdtemp directory removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sys_file.h"

static char dir[PATH_MAX];

static void in_dir(char *out, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

/* Removes every entry of the directory at path, and of its subdirectories (the tests
 * nest at most one level; depth bounds the recursion anyway). */
static void empty_tree(const char *path, int depth)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char p[PATH_MAX];

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >= (int)sizeof(p)) {
            continue;
        }
        if (unlink(p) != 0 && depth > 0) {
            empty_tree(p, depth - 1);
            (void)rmdir(p);
        }
    }
    closedir(d);
}

static void empty_dir(void)
{
    empty_tree(dir, 2);
}

static int count_entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, cap - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    return (size_t)n;
}

static void write_plain(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static int group_setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/tsync-test-sys-file-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    empty_dir();
    return rmdir(dir);
}

static int each_setup(void **state)
{
    (void)state;
    empty_dir();
    return 0;
}

static void test_write_new_file(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char got[64];
    struct stat st;
    mode_t old_mask = umask(077);

    in_dir(p, "drift");
    assert_int_equal(sys_file_write_atomic(p, "12.345\n", 7), 0);
    umask(old_mask);
    assert_int_equal(read_file(p, got, sizeof(got)), 7);
    assert_string_equal(got, "12.345\n");
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    /* 0644 whatever the umask. */
    assert_int_equal(st.st_mode & 07777, 0644);
    /* Only the file itself: no temp file left behind. */
    assert_int_equal(count_entries(), 1);
}

static void test_write_replaces_existing(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char got[64];
    struct stat before;
    struct stat after;

    in_dir(p, "state");
    write_plain(p, "a much longer old content than the new one\n");
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(sys_file_write_atomic(p, "new", 3), 0);
    assert_int_equal(read_file(p, got, sizeof(got)), 3);
    assert_string_equal(got, "new");
    assert_int_equal(stat(p, &after), 0);
    /* Replaced by rename, not rewritten in place: a new inode, mode 0644. */
    assert_true(after.st_ino != before.st_ino);
    assert_int_equal(after.st_mode & 07777, 0644);
    assert_int_equal(count_entries(), 1);
}

static void test_write_binary_and_empty(void **state)
{
    (void)state;
    char p[PATH_MAX];
    uint8_t data[5000];
    uint8_t got[6000];
    struct stat st;

    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    data[10] = 0;
    in_dir(p, "bin");
    assert_int_equal(sys_file_write_atomic(p, data, sizeof(data)), 0);
    assert_int_equal(read_file(p, (char *)got, sizeof(got)), sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    assert_int_equal(sys_file_write_atomic(p, data, 0), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(count_entries(), 1);
}

/* A symlink planted at the path is replaced by the file; its target is untouched. */
static void test_write_replaces_symlink(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char target[PATH_MAX];
    char got[64];
    struct stat st;

    in_dir(p, "pid");
    in_dir(target, "victim");
    write_plain(target, "precious\n");
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(sys_file_write_atomic(p, "42\n", 3), 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    read_file(target, got, sizeof(got));
    assert_string_equal(got, "precious\n");
    read_file(p, got, sizeof(got));
    assert_string_equal(got, "42\n");
    assert_int_equal(count_entries(), 2);
}

static void test_write_missing_dir(void **state)
{
    (void)state;
    char p[PATH_MAX];

    in_dir(p, "no/such/dir/file");
    assert_int_equal(sys_file_write_atomic(p, "x", 1), -ENOENT);
    assert_int_equal(count_entries(), 0);
    /* A path through a regular file. */
    in_dir(p, "plain");
    write_plain(p, "x");
    in_dir(p, "plain/file");
    assert_int_equal(sys_file_write_atomic(p, "x", 1), -ENOTDIR);
    assert_int_equal(count_entries(), 1);
}

/* The rename fails (the target is a non-empty directory): -errno, the target unchanged,
 * the temp file removed. Works as root too, unlike a permission test. */
static void test_write_failure_cleans_up(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char inner[PATH_MAX];
    struct stat st;
    int r;

    in_dir(p, "target");
    assert_int_equal(mkdir(p, 0755), 0);
    in_dir(inner, "target/keep");
    write_plain(inner, "kept");
    r = sys_file_write_atomic(p, "data", 4);
    assert_true(r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(inner, &st), 0);
    assert_int_equal(count_entries(), 1);
    assert_int_equal(unlink(inner), 0);
    assert_int_equal(rmdir(p), 0);
}

/* A temp name left by a crash (same pid, first suffix) does not stop the write and is
 * not touched. */
static void test_write_skips_leftover_temp(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char stale[PATH_MAX];
    char got[64];
    char name[64];

    snprintf(name, sizeof(name), ".tsync-tmp.%ld.0", (long)getpid());
    in_dir(stale, name);
    write_plain(stale, "crash leftover");
    in_dir(p, "f");
    assert_int_equal(sys_file_write_atomic(p, "ok", 2), 0);
    read_file(p, got, sizeof(got));
    assert_string_equal(got, "ok");
    read_file(stale, got, sizeof(got));
    assert_string_equal(got, "crash leftover");
    assert_int_equal(count_entries(), 2);
}

/* A file whose name is as long as NAME_MAX allows less the temp suffix still gets
 * replaced atomically: the temp name does not grow with the file's own name. */
static void test_long_file_name(void **state)
{
    (void)state;
    char name[251];
    char p[PATH_MAX];

    memset(name, 'a', 250);
    name[250] = '\0';
    in_dir(p, name);
    assert_int_equal(sys_file_write_atomic(p, "x", 1), 0);
    assert_int_equal(count_entries(), 1);
}

static void test_pidfile_write_and_read(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char got[64];
    char want[64];
    pid_t other = -7;

    in_dir(p, "tsyncd.pid");
    assert_int_equal(sys_pidfile_acquire(p, &other), 0);
    assert_int_equal(other, -7); /* only written on -EEXIST */
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    read_file(p, got, sizeof(got));
    assert_string_equal(got, want);
    assert_int_equal(sys_pidfile_read(p), (long)getpid());
    /* Acquiring again (our own pid in the file) succeeds. */
    assert_int_equal(sys_pidfile_acquire(p, NULL), 0);
    assert_int_equal(count_entries(), 1);
}

static void test_pidfile_refuses_live_process(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char text[32];
    char got[64];
    pid_t other = 0;
    pid_t parent = getppid();

    assert_true(parent > 1);
    in_dir(p, "tsyncd.pid");
    snprintf(text, sizeof(text), "%ld\n", (long)parent);
    write_plain(p, text);
    assert_int_equal(sys_pidfile_acquire(p, &other), -EEXIST);
    assert_int_equal(other, parent);
    read_file(p, got, sizeof(got));
    assert_string_equal(got, text); /* left as it was */
    assert_int_equal(sys_pidfile_acquire(p, NULL), -EEXIST);
    /* Someone else's file is not removed by release. */
    assert_int_equal(sys_pidfile_release(p), -EEXIST);
    read_file(p, got, sizeof(got));
    assert_string_equal(got, text);
    /* pid 1 always exists (and without a newline the pid still reads). */
    write_plain(p, "1");
    assert_int_equal(sys_pidfile_acquire(p, &other), -EEXIST);
    assert_int_equal(other, 1);
}

/* A pid that certainly names no process now: a child we started and reaped. */
static pid_t dead_pid(void)
{
    pid_t child = fork();
    int status;

    assert_true(child >= 0);
    if (child == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    return child;
}

static void test_pidfile_replaces_stale(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char text[32];
    pid_t other = 0;
    pid_t dead = dead_pid();

    in_dir(p, "tsyncd.pid");
    snprintf(text, sizeof(text), "%ld\n", (long)dead);
    write_plain(p, text);
    assert_int_equal(sys_pidfile_read(p), (long)dead);
    assert_int_equal(sys_pidfile_acquire(p, &other), 0);
    assert_int_equal(other, 0);
    assert_int_equal(sys_pidfile_read(p), (long)getpid());
    assert_int_equal(count_entries(), 1);
}

static void test_pidfile_replaces_garbage(void **state)
{
    (void)state;
    const char *bad[] = {
        "",       "\n", "abc\n", "12abc\n", "0\n", "-5\n", "99999999999999999999\n", "2147483648\n",
        "12 13\n"};
    char p[PATH_MAX];

    in_dir(p, "tsyncd.pid");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_plain(p, bad[i]);
        assert_int_equal(sys_pidfile_read(p), -EINVAL);
        assert_int_equal(sys_pidfile_acquire(p, NULL), 0);
        assert_int_equal(sys_pidfile_read(p), (long)getpid());
    }
}

static void test_pidfile_read_errors(void **state)
{
    (void)state;
    char p[PATH_MAX];
    char target[PATH_MAX];

    in_dir(p, "absent.pid");
    assert_int_equal(sys_pidfile_read(p), -ENOENT);
    /* A symlink is not followed when reading. */
    in_dir(target, "real.pid");
    write_plain(target, "1\n");
    in_dir(p, "link.pid");
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(sys_pidfile_read(p), -ELOOP);
    write_plain(target, "  77\n"); /* leading blanks are accepted by strtol */
    assert_int_equal(sys_pidfile_read(target), 77);
}

static void test_pidfile_release(void **state)
{
    (void)state;
    char p[PATH_MAX];

    in_dir(p, "tsyncd.pid");
    assert_int_equal(sys_pidfile_acquire(p, NULL), 0);
    assert_int_equal(sys_pidfile_release(p), 0);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(count_entries(), 0);
    /* Releasing twice: the file is gone. */
    assert_int_equal(sys_pidfile_release(p), -ENOENT);
    /* A garbled file is not ours: kept. */
    write_plain(p, "junk\n");
    assert_int_equal(sys_pidfile_release(p), -EINVAL);
    assert_int_equal(access(p, F_OK), 0);
}

static void test_pidfile_missing_dir(void **state)
{
    (void)state;
    char p[PATH_MAX];

    in_dir(p, "nodir/tsyncd.pid");
    assert_int_equal(sys_pidfile_acquire(p, NULL), -ENOENT);
    assert_int_equal(count_entries(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_write_new_file, each_setup),
        cmocka_unit_test_setup(test_write_replaces_existing, each_setup),
        cmocka_unit_test_setup(test_write_binary_and_empty, each_setup),
        cmocka_unit_test_setup(test_write_replaces_symlink, each_setup),
        cmocka_unit_test_setup(test_write_missing_dir, each_setup),
        cmocka_unit_test_setup(test_write_failure_cleans_up, each_setup),
        cmocka_unit_test_setup(test_write_skips_leftover_temp, each_setup),
        cmocka_unit_test_setup(test_long_file_name, each_setup),
        cmocka_unit_test_setup(test_pidfile_write_and_read, each_setup),
        cmocka_unit_test_setup(test_pidfile_refuses_live_process, each_setup),
        cmocka_unit_test_setup(test_pidfile_replaces_stale, each_setup),
        cmocka_unit_test_setup(test_pidfile_replaces_garbage, each_setup),
        cmocka_unit_test_setup(test_pidfile_read_errors, each_setup),
        cmocka_unit_test_setup(test_pidfile_release, each_setup),
        cmocka_unit_test_setup(test_pidfile_missing_dir, each_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
