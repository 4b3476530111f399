/* Unit tests for tsyncd's command line (src/daemon/args.c): every option, what each sets,
 * the precedence of --help/--version/--check-config, and every error with its exact
 * message (missing argument, unknown short and long options, extra arguments), plus
 * re-parsing in one process, as getopt keeps global state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/args.h"

#define MAX_ARGS 16

/* getopt_long permutes argv, so each parse gets a fresh writable copy. */
struct argv_copy {
    char *argv[MAX_ARGS + 1];
    char text[MAX_ARGS][64];
    int argc;
};

static struct argv_copy av;
static struct args a;
static char err[256];

static enum args_action parse_list(const char *const *words)
{
    memset(&av, 0, sizeof(av));
    av.argv[av.argc] = av.text[0];
    strcpy(av.text[av.argc++], "tsyncd");
    for (size_t i = 0; words[i] != NULL; i++) {
        assert_true(av.argc < MAX_ARGS);
        assert_true(strlen(words[i]) < sizeof(av.text[0]));
        strcpy(av.text[av.argc], words[i]);
        av.argv[av.argc] = av.text[av.argc];
        av.argc++;
    }
    av.argv[av.argc] = NULL;
    memset(&a, 0x5a, sizeof(a)); /* everything must be set by args_parse */
    memset(err, 'x', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    return args_parse(av.argc, av.argv, &a, err, sizeof(err));
}

#define PARSE(...) parse_list((const char *const[]){__VA_ARGS__, NULL})

static void assert_defaults_except_path(void)
{
    assert_false(a.foreground);
    assert_false(a.log_stderr);
    assert_int_equal(a.debug, 0);
    assert_false(a.no_clock);
}

static void test_no_arguments(void **state)
{
    (void)state;
    const char *none[] = {NULL};

    assert_int_equal(parse_list(none), ARGS_RUN);
    assert_string_equal(a.config_path, ARGS_DEFAULT_CONFIG);
    assert_string_equal(a.config_path, "/etc/tsync/tsyncd.conf");
    assert_defaults_except_path();
    assert_string_equal(err, "");
}

static void test_config_file(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-f", "/tmp/x.conf"), ARGS_RUN);
    assert_string_equal(a.config_path, "/tmp/x.conf");
    assert_defaults_except_path();
    /* Attached form, and the last -f wins. */
    assert_int_equal(PARSE("-f/tmp/a.conf", "-f", "/tmp/b.conf"), ARGS_RUN);
    assert_string_equal(a.config_path, "/tmp/b.conf");
    /* The argument is taken as it stands, even when it looks like an option. */
    assert_int_equal(PARSE("-f", "-n"), ARGS_RUN);
    assert_string_equal(a.config_path, "-n");
    assert_false(a.foreground);
}

static void test_foreground_syslog(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-n"), ARGS_RUN);
    assert_true(a.foreground);
    assert_false(a.log_stderr);
    assert_int_equal(a.debug, 0);
    assert_false(a.no_clock);
    assert_string_equal(a.config_path, ARGS_DEFAULT_CONFIG);
}

static void test_debug(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-d"), ARGS_RUN);
    assert_true(a.foreground);
    assert_true(a.log_stderr);
    assert_int_equal(a.debug, 1);
    assert_int_equal(PARSE("-d", "-d"), ARGS_RUN);
    assert_int_equal(a.debug, 2);
    assert_int_equal(PARSE("-ddd"), ARGS_RUN);
    assert_int_equal(a.debug, 3);
    assert_true(a.log_stderr);
}

static void test_no_clock(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-x"), ARGS_RUN);
    assert_true(a.no_clock);
    assert_false(a.foreground);
    assert_false(a.log_stderr);
}

static void test_cluster_and_order(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-nxf", "/etc/t.conf"), ARGS_RUN);
    assert_true(a.foreground);
    assert_true(a.no_clock);
    assert_false(a.log_stderr);
    assert_string_equal(a.config_path, "/etc/t.conf");
    assert_int_equal(PARSE("-x", "-d", "-n"), ARGS_RUN);
    assert_true(a.foreground);
    assert_true(a.log_stderr); /* -n after -d does not undo -d */
    assert_int_equal(a.debug, 1);
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-v"), ARGS_VERSION);
    assert_int_equal(PARSE("--version"), ARGS_VERSION);
    assert_int_equal(PARSE("--vers"), ARGS_VERSION); /* unique abbreviation */
    assert_int_equal(PARSE("-n", "--version", "-f", "/x"), ARGS_VERSION);
    assert_string_equal(a.config_path, "/x");
}

static void test_help(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-h"), ARGS_HELP);
    assert_int_equal(PARSE("--help"), ARGS_HELP);
    /* --help wins over --version and --check-config, in either order. */
    assert_int_equal(PARSE("-v", "-h"), ARGS_HELP);
    assert_int_equal(PARSE("--help", "--version"), ARGS_HELP);
    assert_int_equal(PARSE("--check-config", "-h"), ARGS_HELP);
}

static void test_check_config(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--check-config"), ARGS_CHECK_CONFIG);
    assert_string_equal(a.config_path, ARGS_DEFAULT_CONFIG);
    assert_int_equal(PARSE("--check-config", "-f", "conf/x.conf"), ARGS_CHECK_CONFIG);
    assert_string_equal(a.config_path, "conf/x.conf");
    assert_int_equal(PARSE("-f", "y.conf", "--check-config"), ARGS_CHECK_CONFIG);
    assert_string_equal(a.config_path, "y.conf");
    assert_int_equal(PARSE("--check"), ARGS_CHECK_CONFIG);
    /* --version wins over --check-config. */
    assert_int_equal(PARSE("--check-config", "--version"), ARGS_VERSION);
    assert_string_equal(err, "");
}

static void test_missing_argument(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-f"), ARGS_ERROR);
    assert_string_equal(err, "missing argument for option '-f'");
    assert_int_equal(PARSE("-n", "-xf"), ARGS_ERROR);
    assert_string_equal(err, "missing argument for option '-f'");
}

static void test_unknown_short(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-q"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-q'");
    /* Inside a cluster, at the end and in the middle. */
    assert_int_equal(PARSE("-nq"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-q'");
    assert_int_equal(PARSE("-qn"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-q'");
    /* After a long option, the short option is still named. */
    assert_int_equal(PARSE("--check-config", "-xq"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-q'");
    /* The error stops the parse even with --help present. */
    assert_int_equal(PARSE("-h", "-z"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-z'");
}

static void test_unknown_long(void **state)
{
    (void)state;
    assert_int_equal(PARSE("--frobnicate"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '--frobnicate'");
    assert_int_equal(PARSE("-n", "--foo=bar"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '--foo=bar'");
    /* A long option that takes no argument, given one. */
    assert_int_equal(PARSE("--help=yes"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '--help=yes'");
    assert_int_equal(PARSE("--check-config=1"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '--check-config=1'");
}

static void test_extra_arguments(void **state)
{
    (void)state;
    assert_int_equal(PARSE("foo"), ARGS_ERROR);
    assert_string_equal(err, "unexpected argument 'foo'");
    assert_int_equal(PARSE("-n", "bar", "baz"), ARGS_ERROR);
    assert_string_equal(err, "unexpected argument 'bar'");
    /* getopt moves operands to the end; the first one is named. */
    assert_int_equal(PARSE("one", "-n", "two"), ARGS_ERROR);
    assert_string_equal(err, "unexpected argument 'one'");
    assert_int_equal(PARSE("--", "-n"), ARGS_ERROR);
    assert_string_equal(err, "unexpected argument '-n'");
    /* An operand is an error even with --help: nothing is acted on. */
    assert_int_equal(PARSE("--help", "x"), ARGS_ERROR);
    assert_string_equal(err, "unexpected argument 'x'");
    /* "--" alone ends the options and adds nothing. */
    assert_int_equal(PARSE("-n", "--"), ARGS_RUN);
    assert_true(a.foreground);
}

/* An error parse must not leak into the next one (getopt's state is reset). */
static void test_reparse(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-qn"), ARGS_ERROR);
    assert_int_equal(PARSE("-n", "-f", "/a"), ARGS_RUN);
    assert_true(a.foreground);
    assert_string_equal(a.config_path, "/a");
    assert_string_equal(err, "");
    assert_int_equal(PARSE("-d"), ARGS_RUN);
    assert_int_equal(a.debug, 1);
    assert_false(a.no_clock);
    assert_string_equal(a.config_path, ARGS_DEFAULT_CONFIG);
}

/* An unknown short option inside a cluster is named as such, even when the word before
 * it is an option argument shaped like a long option (getopt has not moved optind past
 * the cluster yet, so argv[optind - 1] is that argument). */
static void test_cluster_after_long_looking_argument(void **state)
{
    (void)state;
    assert_int_equal(PARSE("-f", "--x=y", "-qn"), ARGS_ERROR);
    assert_string_equal(err, "unknown option '-q'");
}

/* A small error buffer is cut, not overrun; a zero-size one is never written. */
static void test_small_error_buffer(void **state)
{
    (void)state;
    char *argv[] = {(char *)"tsyncd", (char *)"--frobnicate", NULL};
    char small[8];

    memset(small, 'x', sizeof(small));
    assert_int_equal(args_parse(2, argv, &a, small, 6), ARGS_ERROR);
    assert_string_equal(small, "unkno");
    assert_int_equal(small[6], 'x');
    argv[1] = (char *)"extra";
    memset(small, 'x', sizeof(small));
    assert_int_equal(args_parse(2, argv, &a, small, 0), ARGS_ERROR);
    assert_int_equal(small[0], 'x');
}

/* The usage names every option that args_parse accepts and the default file. */
static void test_usage(void **state)
{
    (void)state;
    char text[2048];
    FILE *f = fmemopen(text, sizeof(text), "w");

    assert_non_null(f);
    args_print_usage(f);
    assert_int_equal(fclose(f), 0);
    text[sizeof(text) - 1] = '\0';
    const char *want[] = {
        "Usage: tsyncd", "-f FILE",          "-n", "-d", "-x", "--check-config", "-v, --version",
        "-h, --help",    ARGS_DEFAULT_CONFIG};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_non_null(strstr(text, want[i]));
    }
    /* What the daemon is: both halves, now that the client exists. */
    assert_non_null(strstr(text, "NTP client and server daemon"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_arguments),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_foreground_syslog),
        cmocka_unit_test(test_debug),
        cmocka_unit_test(test_no_clock),
        cmocka_unit_test(test_cluster_and_order),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_missing_argument),
        cmocka_unit_test(test_unknown_short),
        cmocka_unit_test(test_unknown_long),
        cmocka_unit_test(test_extra_arguments),
        cmocka_unit_test(test_reparse),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_cluster_after_long_looking_argument),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
