/* tsyncd: command line, start-up in a fixed order (config, background, pid file,
 * precision, sockets, client), the poll loop, and a clean exit on SIGTERM/SIGINT. The
 * only decisions taken here are about the process; the NTP ones are the core's, reached
 * through serve.c (answers) and drv.c (sources and the clock). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/args.h"
#include "daemon/cfg.h"
#include "daemon/ctl_daemon.h"
#include "daemon/drv.h"
#include "daemon/http.h"
#include "daemon/leapfile.h"
#include "daemon/m6_view.h"
#include "daemon/serve.h"
#include "sys/sys_clock.h"
#include "sys/sys_daemon.h"
#include "sys/sys_file.h"
#include "sys/sys_log.h"
#include "sys/sys_loop.h"
#include "sys/sys_notify.h"
#include "sys/sys_rand.h"

#ifndef TSYNC_VERSION
#define TSYNC_VERSION "unknown"
#endif

struct daemon {
    struct args args;
    struct cfg cfg;
    struct serve serve;
    struct drv *drv;
    struct ctl_daemon *ctl; /* the control socket, NULL without one */
    struct http_srv *http;  /* the /metrics endpoint, NULL without one */
    struct m6_view_ctx m6_ctx; /* what NTP mode 6 queries read (m6_view.h) */
    struct sys_loop loop;
    int loop_index[CFG_MAX_BIND + 1]; /* serve socket -> sys_loop index */
    int notify_fd;                    /* pipe to the waiting parent, -1 if none */
    bool pidfile_held;
    bool sig_unpolled_logged;
    int8_t precision_log2;
};

/* --check-config prints on stderr, in the compiler-like form editors understand. */
static void warn_to_stderr(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    if (line > 0) {
        fprintf(stderr, "%s:%d: warning: %s\n", file, line, msg);
    } else {
        fprintf(stderr, "%s: warning: %s\n", file, msg);
    }
}

static void warn_to_log(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    if (line > 0) {
        sys_log_warning("%s:%d: %s", file, line, msg);
    } else {
        sys_log_warning("%s: %s", file, msg);
    }
}

/* The leap seconds file is read at start; --check-config reads it too. */
static int check_leapfile(const struct cfg *c)
{
    static struct leapfile lf;
    char msg[CFG_PATH_LEN + 200];

    if (c->leapfile[0] == '\0') {
        return 0;
    }
    if (drv_read_leapfile(c->leapfile, &lf, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (leapfile_expired(&lf, sys_clock_realtime_ns() / 1000000000)) {
        fprintf(stderr, "%s: warning: the leap seconds file has expired\n", c->leapfile);
    }
    return 0;
}

static int check_config(const char *path)
{
    static struct cfg c; /* ~20 KiB: off the stack */
    struct cfg_error e;
    char msg[CFG_PATH_LEN + 300];

    memset(&e, 0, sizeof(e));
    cfg_init(&c);
    if (cfg_load_file(&c, path, &e, warn_to_stderr, NULL) != 0) {
        cfg_format_error(&e, msg, sizeof(msg));
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    if (ctl_daemon_check(&c, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "%s: %s\n", path, msg);
        return 1;
    }
    return check_leapfile(&c);
}

static int load_config(struct daemon *d)
{
    struct cfg_error e;
    char msg[CFG_PATH_LEN + 300];

    memset(&e, 0, sizeof(e));
    cfg_init(&d->cfg);
    if (cfg_load_file(&d->cfg, d->args.config_path, &e, warn_to_log, NULL) != 0) {
        cfg_format_error(&e, msg, sizeof(msg));
        sys_log_err("%s", msg);
        return -1;
    }
    return 0;
}

static int acquire_pidfile(struct daemon *d)
{
    pid_t other = 0;
    int r;

    if (d->cfg.pidfile[0] == '\0') {
        return 0;
    }
    r = sys_pidfile_acquire(d->cfg.pidfile, &other);
    if (r == -EEXIST) {
        sys_log_err("another tsyncd (pid %ld) is running: pid file %s", (long)other,
                    d->cfg.pidfile);
        return -1;
    }
    if (r != 0) {
        sys_log_err("cannot write pid file %s: %s", d->cfg.pidfile, strerror(-r));
        return -1;
    }
    d->pidfile_held = true;
    return 0;
}

/* Start-up errors are logged with sys_log_err, which also copies them to the terminal
 * (or to the waiting parent) until the daemon is ready. */
static int open_server(struct daemon *d, uint64_t seed)
{
    int r = serve_init(&d->serve, &d->cfg, d->precision_log2, seed);

    if (r != 0) {
        sys_log_err("cannot allocate the server tables: %s", strerror(-r));
        return -1;
    }
    r = sys_loop_init(&d->loop);
    if (r != 0) {
        sys_log_err("cannot set up the event loop: %s", strerror(-r));
        return -1;
    }
    /* Without a rule that admits clients every time request would be dropped: like
     * chronyd, nothing listens on port 123 for the network then. Local NTP mode 6
     * queries (ntpq -p, check_ntp_peer) still work, on loopback only, as with ntpd. */
    if (d->cfg.acl.n == 0) {
        if (d->cfg.port == 0) {
            return 0;
        }
        if (d->cfg.query_acl.n == 0) {
            sys_log_notice("no allow/restrict/cmdallow line admits anyone: no NTP socket");
            return 0;
        }
        sys_log_notice("no allow/restrict line admits NTP clients: port %u on loopback only, "
                       "for local queries",
                       (unsigned)d->cfg.port);
        (void)serve_open_loopback(&d->serve, d->cfg.port);
    } else if (serve_open_sockets(&d->serve, &d->cfg) != 0) {
        return -1; /* serve logs the failing address itself */
    }
    for (size_t i = 0; i < d->serve.n_sock; i++) {
        d->loop_index[i] = sys_loop_add_fd(&d->loop, d->serve.sock[i].udp.fd);
    }
    return 0;
}

/* The client: sources, the clock discipline and the reference the server hands out. */
static int open_client(struct daemon *d)
{
    struct drv_params p = {
        .cfg = &d->cfg,
        .no_clock = d->args.no_clock,
        .precision_log2 = d->precision_log2,
        .loop = &d->loop,
        .srv = &d->serve.srv,
    };

    /* drv logs what fails. */
    if (drv_start(&d->drv, &p) != 0) {
        return -1;
    }
    d->m6_ctx.drv = d->drv;
    d->m6_ctx.precision_log2 = d->precision_log2;
    d->m6_ctx.version = "tsyncd " TSYNC_VERSION;
    serve_set_query_provider(&d->serve, m6_view_provide, &d->m6_ctx);
    return 0;
}

static void log_startup(const struct daemon *d)
{
    char socks[SYS_LOG_LINE_MAX / 2];
    size_t off = 0;

    socks[0] = '\0';
    for (size_t i = 0; i < d->serve.n_sock && off < sizeof(socks); i++) {
        int n = snprintf(socks + off, sizeof(socks) - off, "%s%s", i == 0 ? "" : " ",
                         d->serve.sock[i].name);
        off += n > 0 ? (size_t)n : 0;
    }
    sys_log_info("tsyncd %s started: config %s, pid %ld, NTP server on %s, precision 2^%d s",
                 TSYNC_VERSION, d->args.config_path, (long)getpid(),
                 d->serve.n_sock > 0 ? socks : "none", d->precision_log2);
    sys_log_info("sources: %zu server/pool lines", d->cfg.n_servers);
    if (d->cfg.local) {
        sys_log_info("local reference: stratum %u while no source is selected",
                     (unsigned)d->cfg.local_stratum);
    } else {
        sys_log_info("no local reference: answers say unsynchronized (leap 3, stratum 16) "
                     "until a source is selected");
    }
    sys_log_info("system clock: %s", d->args.no_clock
                                         ? "never touched (-x): offsets are only measured"
                                         : "disciplined through clock_adjtime");
}

/* The poll timeout t (ms, -1 none) shortened to what the /metrics endpoint needs. */
static int metrics_timeout_ms(const struct daemon *d, int t)
{
    int m = d->http != NULL ? http_timeout_ms(d->http, sys_clock_monotonic_ns()) : -1;
    return m >= 0 && (t < 0 || m < t) ? m : t;
}

/* Waits and serves until SIGTERM/SIGINT. Returns the exit status. */
static int run_loop(struct daemon *d)
{
    for (;;) {
        /* Only the client has timers: the server's reference is the engine's too. */
        int t = ctl_daemon_timeout_ms(d->ctl, drv_timeout_ms(d->drv));
        int r = sys_loop_wait(&d->loop, metrics_timeout_ms(d, t));
        if (r < 0) {
            sys_log_err("poll failed: %s", strerror(-r));
            return 1;
        }
        unsigned sig = sys_loop_take_signals(&d->loop);
        if (sys_loop_signals_unpolled(&d->loop) && !d->sig_unpolled_logged) {
            d->sig_unpolled_logged = true;
            sys_log_notice("poll() reports the signal pipe ready while it is empty (an "
                           "LD_PRELOAD simulator?): signals are taken when poll() is "
                           "interrupted");
        }
        if (sig & SYS_LOOP_SIG_STOP) {
            sys_log_info("stop signal received");
            return 0;
        }
        if (sig & SYS_LOOP_SIG_HUP) {
            /* logrotate's signal: the log file and the statistics files are opened again
             * (sources are reloaded with "tsync reload"). */
            int lr = sys_log_reopen();
            int sr = drv_reopen_files(d->drv);
            if (lr != 0) {
                sys_log_warning("SIGHUP: cannot reopen the log file %s: %s", d->cfg.logfile,
                                strerror(-lr));
            }
            sys_log_notice("SIGHUP: log and statistics files reopened%s",
                           lr == 0 && sr == 0 ? "" : " (see the warnings above)");
        }
        for (size_t i = 0; i < d->serve.n_sock && r > 0; i++) {
            if (sys_loop_readable(&d->loop, d->loop_index[i])) {
                serve_handle_readable(&d->serve, i);
            }
        }
        drv_after_wait(d->drv);
        ctl_daemon_after_wait(d->ctl);
        if (d->http != NULL) {
            http_after_wait(d->http);
        }
    }
}

static void shut_down(struct daemon *d, bool served)
{
    if (served) {
        drv_log_status(d->drv);
        serve_log_stats(&d->serve);
        if (d->http != NULL) {
            http_log_stats(d->http);
        }
    }
    if (d->http != NULL) {
        http_close(d->http);
        free(d->http);
        d->http = NULL;
    }
    ctl_daemon_close(d->ctl);
    d->ctl = NULL;
    drv_stop(d->drv); /* writes the drift file */
    d->drv = NULL;
    serve_close(&d->serve);
    if (d->pidfile_held) {
        int r = sys_pidfile_release(d->cfg.pidfile);
        if (r != 0) {
            sys_log_warning("cannot remove pid file %s: %s", d->cfg.pidfile, strerror(-r));
        }
    }
    sys_log_info("exiting");
    sys_log_close();
    /* Last: until here a second SIGTERM only writes to the pipe instead of killing us
     * before the pid file is gone. */
    sys_loop_close(&d->loop);
}

/* The control socket (doc/control.md), after the client it reports on. */
static int open_control(struct daemon *d)
{
    struct ctl_daemon_params p = {
        .cfg = &d->cfg,
        .config_path = d->args.config_path,
        .drv = d->drv,
        .serve = &d->serve,
        .loop = &d->loop,
    };

    /* ctl_daemon logs what fails. */
    return ctl_daemon_open(&d->ctl, &p) == 0 ? 0 : -1;
}

/* What a scrape of /metrics reads: the same inputs as the control socket's views. */
static void metrics_view_input(void *ctx, struct ctl_view_in *in)
{
    struct daemon *d = ctx;

    in->eng = drv_engine(d->drv);
    in->now = drv_now();
    in->since_known = d->drv != NULL && drv_sync_since(d->drv, &in->since_unix_s);
    in->serve = &d->serve;
}

/* The Prometheus endpoint (metrics ADDR:PORT), before the control socket so that one
 * cannot take all the loop's free slots. */
static int open_metrics(struct daemon *d)
{
    const struct http_ops ops = {d, metrics_view_input};

    if (!d->cfg.metrics) {
        return 0;
    }
    d->http = malloc(sizeof(*d->http));
    if (d->http == NULL) {
        sys_log_err("metrics endpoint: out of memory");
        return -1;
    }
    /* http logs what fails. */
    if (http_open(d->http, &d->cfg.metrics_addr, &d->loop, &ops) != 0) {
        free(d->http);
        d->http = NULL;
        return -1;
    }
    return 0;
}

/* Everything between a valid config and the loop, in this order: background, pid file
 * (before the sockets, so a second instance stops here), precision, sockets, client. */
static int start(struct daemon *d)
{
    int err = 0;
    uint64_t seed;

    if (!d->args.foreground) {
        err = sys_daemonize(&d->notify_fd);
        if (err != 0) {
            sys_log_err("cannot go to the background: %s", strerror(-err));
            return -1;
        }
        sys_log_set_parent_fd(d->notify_fd);
    }
    if (acquire_pidfile(d) != 0) {
        return -1;
    }
    seed = sys_rand_u64(&err);
    if (err != 0) {
        /* Only the rate-limit hash key suffers; the clock makes it at least unstable. */
        sys_log_warning("no kernel randomness (%s): rate-limit hashing is predictable",
                        strerror(-err));
        seed = (uint64_t)sys_clock_realtime_ns() ^ ((uint64_t)getpid() << 32);
    }
    d->precision_log2 = sys_clock_precision_log2();
    if (open_server(d, seed) != 0 || open_client(d) != 0 || open_metrics(d) != 0 ||
        open_control(d) != 0) {
        return -1;
    }
    log_startup(d);
    sys_log_set_parent_fd(-1);
    sys_daemon_ready(d->notify_fd);
    d->notify_fd = -1;
    /* systemd (Type=notify): ready; drv keeps STATUS= up to date from here. */
    int nr = sys_notify("READY=1");
    if (nr < 0) {
        sys_log_warning("cannot tell the service manager that tsyncd is ready: %s",
                        strerror(-nr));
    }
    return 0;
}

/* ntpd's logfile: log lines go there from now on (not with -d, which keeps stderr for
 * the person watching). */
static int open_logfile(struct daemon *d)
{
    if (d->cfg.logfile[0] == '\0' || d->args.log_stderr) {
        return 0;
    }
    int err = sys_log_open_file(d->cfg.logfile, d->args.debug >= 2 ? SYS_LOG_DEBUG : SYS_LOG_INFO);
    if (err != 0) {
        sys_log_err("cannot open the log file %s: %s", d->cfg.logfile, strerror(-err));
        return -1;
    }
    return 0;
}

static int run(const struct args *args)
{
    struct daemon *d = calloc(1, sizeof(*d));
    int status = 1;
    bool served = false;

    if (d == NULL) {
        fprintf(stderr, "tsyncd: out of memory\n");
        return 1;
    }
    d->args = *args;
    d->notify_fd = -1;
    d->loop.sig_pipe[0] = d->loop.sig_pipe[1] = -1;
    sys_log_open(args->log_stderr ? SYS_LOG_STDERR : SYS_LOG_SYSLOG,
                 args->debug >= 2 ? SYS_LOG_DEBUG : SYS_LOG_INFO);
    if (!args->log_stderr) {
        sys_log_set_parent_fd(STDERR_FILENO); /* start-up errors reach the terminal too */
    }
    if (load_config(d) == 0 && open_logfile(d) == 0 && start(d) == 0) {
        served = true;
        status = run_loop(d);
    }
    shut_down(d, served);
    free(d);
    return status;
}

int main(int argc, char **argv)
{
    struct args args;
    char err[256];

    switch (args_parse(argc, argv, &args, err, sizeof(err))) {
    case ARGS_HELP:
        args_print_usage(stdout);
        return 0;
    case ARGS_VERSION:
        printf("tsyncd %s\n", TSYNC_VERSION);
        return 0;
    case ARGS_CHECK_CONFIG:
        return check_config(args.config_path);
    case ARGS_ERROR:
        fprintf(stderr, "tsyncd: %s\n", err);
        args_print_usage(stderr);
        return 1;
    case ARGS_RUN:
    default:
        return run(&args);
    }
}
