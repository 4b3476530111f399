/* tsyncd's configuration: one directive a line, close to both ntp.conf and chrony.conf
 * so existing files carry over. The parser turns text into a validated struct cfg and
 * never half-applies a file: any error names file:line and what was expected.
 * Directives known from ntpd/chrony that tsyncd does not act on are warned about. */
#ifndef TSYNC_CFG_H
#define TSYNC_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acl.h"
#include "core/core.h"
#include "core/rlim.h"

#define CFG_MAX_BIND          16
#define CFG_MAX_SERVERS       64
#define CFG_PATH_LEN          256
#define CFG_NAME_LEN          256
#define CFG_MAX_INCLUDE_DEPTH 8

/* A server/pool line (the engine's source configuration, see drv_config.c). */
struct cfg_server {
    char name[CFG_NAME_LEN]; /* host name or address literal, without [] around IPv6 */
    bool pool;
    bool iburst, burst, prefer, noselect;
    int minpoll, maxpoll; /* log2 s, 0..17; defaults 6 and 10 */
    int maxsources;       /* pool only: 1..16, default 4; 0 on server lines */
    double maxdelay;      /* seconds, 0 = none */
    uint8_t family;       /* CORE_AF_NONE, or CORE_AF_INET/INET6 ("-4"/"-6", ipv4/ipv6) */
    int version;          /* NTP version to send, 1..4; 0 = default (4) */
    uint16_t port;        /* server's UDP port (chrony "port N"); 0 = default (123) */
};

/* Clock discipline directives. Each *_set flag says the line was given; otherwise the
 * engine's documented default applies (mapping in drv_config.c). */
struct cfg_clock {
    bool makestep_set;         /* chrony "makestep THRESHOLD LIMIT" */
    double makestep_threshold; /* s */
    int makestep_limit;        /* clock updates that may step; -1 = every update */
    bool step_set;             /* ntpd "tinker step S": 0 = never step */
    double step;               /* s */
    bool panic_set;            /* ntpd "tinker panic S": 0 = no limit */
    double panic;              /* s */
    bool stepout_set;          /* ntpd "tinker stepout S": how long a large offset must
                                  persist before a running step */
    double stepout;            /* s */
    int minsources;            /* "minsources N" / "tos minsane N"; 0 = default */
    double maxdistance;        /* "maxdistance S" / "tos maxdist S", s; 0 = default */
    bool holdover_set;         /* "holdover S" (tsyncd's own) */
    double holdover;           /* s */
    int estimator;             /* "estimator kalman|regression" (tsyncd's own): enum
                                  eng_estimator, ENG_EST_KALMAN by default */
};

struct cfg {
    uint16_t port; /* "port N"; default 123 */
    size_t n_bind; /* "bindaddress ADDR" lines; none = any v4 and v6 */
    struct core_addr bind[CFG_MAX_BIND];

    bool local;            /* "local stratum N" or 127.127.1.0 + fudge */
    uint8_t local_stratum; /* stratum served: N of "local", or fudge stratum + 1 as ntpd
                              (6 without fudge); default 10 */

    struct acl acl;          /* allow/deny/restrict */
    bool ratelimit_all;      /* chrony "ratelimit" line present */
    struct rlim_params rlim; /* from ratelimit / discard */

    size_t n_servers;
    struct cfg_server servers[CFG_MAX_SERVERS];

    struct cfg_clock clock;

    char pidfile[CFG_PATH_LEN];   /* default /run/tsyncd.pid; "" = none */
    char driftfile[CFG_PATH_LEN]; /* "" = none */
    int driftfile_interval;       /* s between drift file updates (chrony "interval") */
    char leapfile[CFG_PATH_LEN];  /* ntpd "leapfile PATH": leap-seconds.list; "" = none
                                     (read by the daemon, leapfile.h) */

    /* The control socket (doc/control.md) and who may query. */
    char controlsocket[CFG_PATH_LEN]; /* "controlsocket PATH" or chrony's "bindcmdaddress
                                         /PATH"; default CFG_CONTROLSOCKET; "" = none */
    char controlgroup[CFG_NAME_LEN];  /* "controlgroup NAME": the socket's group, resolved
                                         at start; "" = root's group (gid 0) */
    struct acl query_acl;             /* chrony cmdallow/cmddeny: who may send mode 6
                                         queries; default 127.0.0.0/8 and ::1 only */
    bool metrics;                     /* "metrics ADDR:PORT": the Prometheus endpoint */
    struct core_addr metrics_addr;    /* its address and port (default: none) */

    /* Logs and statistics (cfg_log.c). */
    char statsdir[CFG_PATH_LEN]; /* ntpd statsdir, chrony logdir; "" = no statistics */
    unsigned stats_files;        /* CFG_STATS_* from statistics/log/filegen */
    char logfile[CFG_PATH_LEN];  /* ntpd logfile: log lines here, not syslog; "" = syslog */
    unsigned log_classes;        /* CFG_LOG_* from logconfig; default all */
    double logchange;            /* chrony logchange: s; a larger correction is logged as a
                                    warning; 0 = every step only */
};

#define CFG_CONTROLSOCKET "/run/tsyncd/tsyncd.sock"

/* Statistics files (cfg.stats_files bits; doc/statistics.md). */
#define CFG_STATS_TRACKING     (1u << 0) /* tracking.log: ntpd loopstats, chrony tracking */
#define CFG_STATS_MEASUREMENTS (1u << 1) /* measurements.log: peerstats, measurements */

/* Event classes of ntpd's logconfig (cfg.log_classes bits). */
#define CFG_LOG_CLOCK (1u << 0) /* steps, frequency limits, leap seconds, jumps */
#define CFG_LOG_PEER  (1u << 1) /* sources: reachability, KoD, falsetickers, names */
#define CFG_LOG_SYS   (1u << 2) /* selection: no selectable source, all unreachable */
#define CFG_LOG_SYNC  (1u << 3) /* synchronized, lost, holdover over */
#define CFG_LOG_ALL   (CFG_LOG_CLOCK | CFG_LOG_PEER | CFG_LOG_SYS | CFG_LOG_SYNC)


struct cfg_error {
    char file[CFG_PATH_LEN];
    int line; /* 0 when the error is not tied to a line (file cannot be opened) */
    char msg[256];
};

/* Called for each warning (a directive accepted but without effect, ...). */
typedef void (*cfg_warn_fn)(void *ctx, const char *file, int line, const char *msg);

/* Defaults: port 123, no bind addresses, no local reference, empty ACL (serving off),
 * chrony's rate-limit defaults, pidfile /run/tsyncd.pid, control socket
 * CFG_CONTROLSOCKET, mode 6 queries from 127.0.0.0/8 and ::1 only. */
void cfg_init(struct cfg *c);

/* Parses a file (and what it includes) into c, which must be cfg_init'ed. Returns 0,
 * or -1 with err filled in and c left exactly as it was (the first error stops the
 * parse). warn may be NULL. Later lines override earlier ones where it makes sense. */
int cfg_load_file(struct cfg *c, const char *path, struct cfg_error *err, cfg_warn_fn warn,
                  void *warn_ctx);

/* Same for text in memory; name is used in messages and for relative includes. */
int cfg_load_string(struct cfg *c, const char *text, const char *name, struct cfg_error *err,
                    cfg_warn_fn warn, void *warn_ctx);

/* Flags for cfg_load_buffer. */
enum cfg_load_flag {
    CFG_NO_INCLUDES = 1u << 0, /* include/includefile/confdir lines are errors and no
                                  file is opened: for the fuzzer and self-contained text */
};

/* Same for len bytes of text (need not be NUL-terminated; a NUL byte is an error). */
int cfg_load_buffer(struct cfg *c, const char *text, size_t len, const char *name, unsigned flags,
                    struct cfg_error *err, cfg_warn_fn warn, void *warn_ctx);

/* Writes "FILE:LINE: message" (or "FILE: message" when line is 0) into buf. */
void cfg_format_error(const struct cfg_error *e, char *buf, size_t n);

#endif
