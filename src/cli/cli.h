/* What every command of the tsync CLI shares: the run context built by main.c from the
 * global options, the command entry points (one cmd_<name>.c each) and their pure
 * formatters, which turn a parsed daemon answer into text and are unit-tested alone. */
#ifndef TSYNC_CLI_CLI_H
#define TSYNC_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/json.h"
#include "cli/names.h"

#define CLI_DEFAULT_SOCKET "/run/tsyncd/tsyncd.sock"
#define CLI_DNS_TIMEOUT_MS 1500 /* reverse DNS for a whole table waits at most this */

struct cli_ctx {
    const char *socket_path;
    bool json;           /* --json: print the daemon's answers unchanged */
    bool numeric;        /* -n: addresses stay numeric, no reverse DNS */
    int term_width;      /* columns of the terminal on stdout; 80 when not a tty */
    double now;          /* Unix time (s) of the run, for ages and "since" */
    struct names *names; /* reverse-DNS results (owned); NULL: show addresses */
    FILE *out;
    FILE *err;
};

/* Each command parses its own arguments (argv[0] is the command name) and returns the
 * process exit status. */
int cmd_sources(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sourcestats(struct cli_ctx *ctx, int argc, char **argv);
int cmd_tracking(struct cli_ctx *ctx, int argc, char **argv);
int cmd_serverstats(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_check(struct cli_ctx *ctx, int argc, char **argv);
int cmd_metrics(struct cli_ctx *ctx, int argc, char **argv);
int cmd_change(struct cli_ctx *ctx, int argc, char **argv);
/* tsync plot: reads statistics files (doc/statistics.md) or tsync-sim CSV, no daemon. */
int cmd_plot(struct cli_ctx *ctx, int argc, char **argv);

/* Formatters: write the text for one answer (the root object of doc/control.md's JSON)
 * to out. They tolerate missing or mistyped fields (printed as "-" or left out) and
 * return 0, or 1 when the answer lacks what the table is built from. */
int cmd_sources_print(const struct cli_ctx *ctx, const struct json_value *answer, bool legend,
                      FILE *out);
int cmd_sourcestats_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out);
int cmd_tracking_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out);
int cmd_serverstats_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out);
int cmd_status_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out);
/* The Prometheus text for the four read answers (any may be NULL: its metrics are left
 * out); tsync_up says whether the daemon answered at all. */
int cmd_metrics_print(const struct json_value *status, const struct json_value *tracking,
                      const struct json_value *sources, const struct json_value *serverstats,
                      FILE *out);

/* tsync check's thresholds (seconds): offset and bound beyond warn or crit, and how long
 * the daemon may be unsynchronized before that is CRITICAL rather than WARNING. */
struct cmd_check_limits {
    double warn;
    double crit;
    double max_unsync;
};

/* Plugin exit codes (Nagios/Icinga/monitoring-plugins convention). */
enum cmd_check_code { CHECK_OK = 0, CHECK_WARNING = 1, CHECK_CRITICAL = 2, CHECK_UNKNOWN = 3 };

/* Judges a status answer against limits (ctx->now is the time of the check); writes the
 * one plugin line with perfdata to out and returns the exit code. */
enum cmd_check_code cmd_check_judge(const struct cli_ctx *ctx, const struct json_value *status,
                                    const struct cmd_check_limits *limits, FILE *out);

/* Shared helpers (cli_util.c). */
/* The name to show for address: its reverse-DNS name unless -n, else address itself. */
const char *cli_host(const struct cli_ctx *ctx, const char *address);
/* Unless -n: looks up the "address" of every entry of a sources list at once (bounded
 * wait), for cli_host. */
void cli_resolve(struct cli_ctx *ctx, const struct json_value *list);
/* The same for one address (the reference of status and tracking). */
void cli_resolve_one(struct cli_ctx *ctx, const char *address);
/* Prints "tsync: message" on the error stream and returns 1. */
int cli_fail(const struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a non-negative number of seconds ("0.5"); false on anything else. */
bool cli_parse_seconds(const char *text, double *out);
/* Writes a Unix time as "YYYY-MM-DD HH:MM:SS UTC"; "-" when not finite or out of range. */
void cli_format_utc(double unix_time, char *buf, size_t len);
/* Writes a duration as "3d 4h", "5h 6m", "7m 8s" or "9s" (rounded down to seconds). */
void cli_format_duration(double seconds, char *buf, size_t len);
/* Writes seconds with a readable unit: "-2.100 us", "412 ns", "1.250 ms", "3.000 s". */
void cli_format_seconds(double seconds, char *buf, size_t len);
/* Rejects extra arguments: prints usage and returns false when argc > 1 + allowed. */
bool cli_no_args(const struct cli_ctx *ctx, int argc, char **argv, int allowed);

#endif
