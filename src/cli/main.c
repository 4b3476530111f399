/* tsync: the command-line view of tsyncd. Parses the global options (found anywhere on
 * the line, so `tsync sources -n` works as `ntpq -pn` users expect), builds the run
 * context and hands the rest of the line to one command. Formatting lives in the
 * cmd_*.c files, socket I/O in client.c. */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#ifndef TSYNC_VERSION
#define TSYNC_VERSION "unknown"
#endif

struct command {
    const char *name;
    int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

static const struct command commands[] = {
    {"status", cmd_status},     {"sources", cmd_sources},         {"sourcestats", cmd_sourcestats},
    {"tracking", cmd_tracking}, {"serverstats", cmd_serverstats}, {"check", cmd_check},
    {"metrics", cmd_metrics},   {"makestep", cmd_change},         {"reload", cmd_change},
    {"online", cmd_change},     {"offline", cmd_change},          {"plot", cmd_plot},
};

static void usage(FILE *out)
{
    fputs("usage: tsync [-s PATH] [-n] [--json] COMMAND [ARGS]\n"
          "  -s PATH   control socket of tsyncd (default " CLI_DEFAULT_SOCKET ")\n"
          "  -n        show addresses, no reverse DNS\n"
          "  --json    print tsyncd's JSON answers unchanged\n"
          "  -h, --help, --version\n"
          "commands:\n"
          "  status                 one line: synchronized or not, offset, error bound\n"
          "  sources [-v]           the sources as ntpq -p shows them (-v: legend)\n"
          "  sourcestats            replies per source and what was done with them\n"
          "  tracking               the system clock as chronyc tracking shows it\n"
          "  serverstats            what the NTP server did with requests\n"
          "  check [--warn S] [--crit S] [--max-unsync S]\n"
          "                         monitoring plugin (exit 0 OK, 1 WARNING, 2 CRITICAL,\n"
          "                         3 UNKNOWN)\n"
          "  metrics                Prometheus text exposition\n"
          "  plot [-d DIR] [--since DURATION] [--log] [-o FILE.svg] [FILE...]\n"
          "                         offset, frequency, jitter and bound over time as SVG,\n"
          "                         from the statistics files (default /var/log/tsyncd)\n"
          "  makestep | reload | online [NAME] | offline [NAME]\n"
          "                         change commands (root or the socket's group)\n",
          out);
}

static int terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return 80;
}

/* Moves the global options out of argv; returns the number of arguments left (the
 * command and its own), or -1 after an error, -2 when help or version was printed. */
static int take_globals(struct cli_ctx *ctx, int argc, char **argv)
{
    int kept = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-s") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                cli_fail(ctx, "-s needs the path of tsyncd's control socket");
                return -1;
            }
            ctx->socket_path = argv[++i];
        } else if (strcmp(a, "-n") == 0) {
            ctx->numeric = true;
        } else if (strcmp(a, "--json") == 0) {
            ctx->json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(ctx->out);
            return -2;
        } else if (strcmp(a, "--version") == 0) {
            fprintf(ctx->out, "tsync %s\n", TSYNC_VERSION);
            return -2;
        } else {
            argv[kept++] = argv[i];
        }
    }
    return kept;
}

int main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct cli_ctx ctx = {.socket_path = CLI_DEFAULT_SOCKET,
                          .term_width = terminal_width(),
                          .now = (double)ts.tv_sec + ts.tv_nsec * 1e-9,
                          .out = stdout,
                          .err = stderr};
    int n = take_globals(&ctx, argc, argv);
    if (n < 0) {
        return n == -2 ? 0 : 1;
    }
    if (n == 0) {
        usage(stderr);
        return 1;
    }
    int rc = -1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[0], commands[i].name) == 0) {
            rc = commands[i].run(&ctx, n, argv);
            break;
        }
    }
    if (rc < 0) {
        rc = cli_fail(&ctx, "unknown command '%s' (see tsync -h)", argv[0]);
    }
    names_free(ctx.names);
    if (fflush(stdout) != 0 && rc == 0) {
        rc = 1;
    }
    return rc;
}
