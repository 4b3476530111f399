/* The log file destination (src/sys/sys_log.c, ntpd's logfile): stamped lines with the
 * level, the level filter, reopening after logrotate moved the file, and a clear error
 * for a path that cannot be opened. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sys/sys_log.h"
#include "test_files.h"



static void test_file_and_reopen(void **state)
{
    (void)state;
    char dir[] = "/tmp/tsync-log.XXXXXX", path[128], moved[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/tsyncd.log", dir);
    snprintf(moved, sizeof(moved), "%s/tsyncd.log.1", dir);

    assert_int_equal(sys_log_open_file(path, SYS_LOG_INFO), 0);
    sys_log_warning("source %s is unreachable", "198.18.0.1");
    sys_log_debug("not written at info level");
    sys_log_info("synchronized");
    char *t = test_slurp(path);
    assert_non_null(t);
    /* "2026-...T..:..:..dddddd Z warning: ..." */
    assert_int_equal(t[4], '-');
    assert_int_equal(t[10], 'T');
    assert_non_null(strstr(t, "Z warning: source 198.18.0.1 is unreachable\n"));
    assert_non_null(strstr(t, "Z synchronized\n"));
    assert_null(strstr(t, "not written"));

    assert_int_equal(rename(path, moved), 0);
    sys_log_info("still to the moved file until SIGHUP");
    assert_int_equal(sys_log_reopen(), 0);
    sys_log_info("after the reopen");
    assert_non_null(strstr(test_slurp(moved), "still to the moved file"));
    t = test_slurp(path);
    assert_non_null(t);
    assert_non_null(strstr(t, "after the reopen"));
    assert_null(strstr(t, "still to the moved"));

    /* A path that cannot be opened: an error, the file stays in use. */
    assert_int_equal(sys_log_open_file("/nonexistent-dir/x.log", SYS_LOG_INFO), -ENOENT);
    sys_log_info("kept");
    assert_non_null(strstr(test_slurp(path), "kept"));
    sys_log_close();
    assert_int_equal(sys_log_reopen(), 0); /* not a file any more: nothing to do */
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
