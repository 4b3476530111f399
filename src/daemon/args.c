/* Command-line parsing with getopt_long. getopt's own messages are off (opterr = 0)
 * so every error comes out in one format, followed by the usage, from main. */
#include "daemon/args.h"

#include <getopt.h>
#include <string.h>

enum { OPT_CHECK_CONFIG = 256 };

static const struct option long_opts[] = {
    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

void args_print_usage(FILE *f)
{
    fprintf(f, "Usage: tsyncd [-n | -d] [-x] [-f FILE]\n"
               "       tsyncd --check-config [-f FILE]\n"
               "NTP client and server daemon: disciplines the system clock to the configured\n"
               "sources and answers NTP clients.\n"
               "\n"
               "  -f FILE           configuration file (default " ARGS_DEFAULT_CONFIG ")\n"
               "  -n                stay in the foreground, log to syslog\n"
               "  -d                stay in the foreground, log to stderr (twice: debug too)\n"
               "  -x                never touch the system clock: only measure its offset\n"
               "      --check-config  check the configuration file and exit (0 valid, 1 not)\n"
               "  -v, --version     print the version and exit\n"
               "  -h, --help        print this help and exit\n");
}

/* The option as the user typed it, for error messages. getopt sets optopt to 0 for an
 * unknown long option and to the option's value for a long option given an argument
 * it does not take ("--help=x"); both are read back from argv. Only a word getopt has
 * just finished (optind moved past it) can be that long option: inside a cluster like
 * -qn optind stays put and argv[optind - 1] is the word before, maybe an option
 * argument that merely looks long ("-f --x=y -qn"). A short option comes from optopt. */
static void describe_bad_option(char **argv, bool word_done, char *err, size_t cap,
                                const char *what)
{
    const char *word = word_done && optind > 0 ? argv[optind - 1] : NULL;
    bool long_word = word != NULL && strncmp(word, "--", 2) == 0;

    if (long_word) {
        snprintf(err, cap, "%s '%s'", what, word);
    } else if (optopt > 0 && optopt < 256) {
        snprintf(err, cap, "%s '-%c'", what, optopt);
    } else {
        snprintf(err, cap, "%s", what);
    }
}

static enum args_action handle_opt(int c, struct args *a, char **argv, bool word_done,
                                   char *err, size_t cap)
{
    switch (c) {
    case 'f':
        a->config_path = optarg;
        return ARGS_RUN;
    case 'n':
        a->foreground = true;
        return ARGS_RUN;
    case 'd':
        a->foreground = true;
        a->log_stderr = true;
        a->debug++;
        return ARGS_RUN;
    case 'x':
        a->no_clock = true;
        return ARGS_RUN;
    case 'h':
        return ARGS_HELP;
    case 'v':
        return ARGS_VERSION;
    case OPT_CHECK_CONFIG:
        return ARGS_CHECK_CONFIG;
    case ':':
        describe_bad_option(argv, word_done, err, cap, "missing argument for option");
        return ARGS_ERROR;
    default:
        describe_bad_option(argv, word_done, err, cap, "unknown option");
        return ARGS_ERROR;
    }
}

enum args_action args_parse(int argc, char **argv, struct args *a, char *err, size_t err_cap)
{
    bool seen[ARGS_ERROR] = {false};
    int c;

    memset(a, 0, sizeof(*a));
    a->config_path = ARGS_DEFAULT_CONFIG;
    if (err_cap > 0) {
        err[0] = '\0';
    }
    optind = 0; /* glibc: full re-initialization, so a second call parses afresh */
    opterr = 0;
    for (;;) {
        int before = optind < 1 ? 1 : optind; /* optind 0 means 1 after re-initialization */
        c = getopt_long(argc, argv, ":f:ndxhv", long_opts, NULL);
        if (c == -1) {
            break;
        }
        enum args_action r = handle_opt(c, a, argv, optind > before, err, err_cap);
        if (r == ARGS_ERROR) {
            return r;
        }
        seen[r] = true;
    }
    if (optind < argc) {
        snprintf(err, err_cap, "unexpected argument '%s'", argv[optind]);
        return ARGS_ERROR;
    }
    /* --help wins over --version, both over --check-config, which wins over running. */
    if (seen[ARGS_HELP]) {
        return ARGS_HELP;
    }
    if (seen[ARGS_VERSION]) {
        return ARGS_VERSION;
    }
    return seen[ARGS_CHECK_CONFIG] ? ARGS_CHECK_CONFIG : ARGS_RUN;
}
