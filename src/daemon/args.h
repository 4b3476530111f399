/* tsyncd's command line, chronyd-like: -f FILE, -n, -d, -x, -v/--version, -h/--help,
 * --check-config. Parsing is separate from acting on it, so it can be tested. */
#ifndef TSYNC_ARGS_H
#define TSYNC_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Installed default; documented in tsyncd(8). */
#define ARGS_DEFAULT_CONFIG "/etc/tsync/tsyncd.conf"

enum args_action {
    ARGS_RUN = 0,
    ARGS_CHECK_CONFIG, /* --check-config: validate the file and exit */
    ARGS_HELP,
    ARGS_VERSION,
    ARGS_ERROR, /* message in the error buffer; print it with the usage, exit 1 */
};

struct args {
    const char *config_path; /* points into argv or at ARGS_DEFAULT_CONFIG */
    bool foreground;         /* -n or -d */
    bool log_stderr;         /* -d */
    int debug;               /* number of -d: 2 or more adds debug messages */
    bool no_clock;           /* -x: never touch the system clock */
};

/* Parses argv (getopt_long; resets getopt's state first, so it may be called again).
 * On ARGS_ERROR, err holds a one-line message without the program name. */
enum args_action args_parse(int argc, char **argv, struct args *a, char *err, size_t err_cap);

/* Writes the usage text to f. */
void args_print_usage(FILE *f);

#endif
