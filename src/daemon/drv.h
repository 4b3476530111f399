/* The driver: carries out the engine's actions on this machine and feeds the results
 * back, in list order. Requests go out from a fresh client socket each (sys_client, with
 * kernel transmit and receive stamps), names are resolved by the worker thread
 * (sys_dns), clock changes go through clock_adjtime (sys_adjtime; never with -x), the
 * reference goes to the NTP server, the drift file is written atomically, and events
 * become log lines (evlog). It also watches the clock for jumps nobody asked for. It
 * decides nothing about time. */
#ifndef TSYNC_DRV_H
#define TSYNC_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "core/eng.h"
#include "core/srv.h"
#include "daemon/cfg.h"
#include "sys/sys_loop.h"

/* Client sockets open at once; requests beyond it close the oldest (a lost request). */
#define DRV_MAX_REQUESTS 16

/* How long a request's socket waits for the reply, unless the same source sends its
 * next request first (which closes it). Longer than any sane round trip. */
#define DRV_REPLY_TIMEOUT_S 8

/* A kernel transmit stamp is taken for its request when it is no earlier than the clock
 * reading made right before send() (less DRV_TX_STAMP_EARLY_S, for clocks of coarser
 * granularity) and at most DRV_TX_STAMP_LATE_S after it; anything else is not the stamp
 * of that datagram, and the reading stays. */
#define DRV_TX_STAMP_EARLY_S 1e-3
#define DRV_TX_STAMP_LATE_S  1.0

/* A difference between realtime and monotonic progress above this (plus
 * DRV_JUMP_RATE of the time elapsed) that the driver did not make is reported to the
 * engine as an external step. Both clocks run at the disciplined rate on Linux; the
 * rate term only covers simulated clocks that slew realtime alone. */
#define DRV_JUMP_THRESHOLD_S 0.1
#define DRV_JUMP_RATE        5e-4

/* Rounds of "carry out a list, feed back results, carry out what they asked for" per
 * wake-up before the rest is dropped and reported (an engine that never settles). */
#define DRV_MAX_ROUNDS 8

struct drv; /* opaque */

struct drv_params {
    const struct cfg *cfg; /* kept: must outlive the driver */
    bool no_clock;         /* -x: never touch the clock, nor the drift file */
    int8_t precision_log2;
    struct sys_loop *loop; /* descriptors are added to it */
    struct srv *srv;       /* receives ACT_REFERENCE */
};

struct leapfile;

/* Reads and parses the leap-seconds.list at path (at most 64 KiB). Returns 0, or -1 with
 * "PATH:LINE: what is wrong" (or "PATH: ...") in msg. Used at start and by --check-config. */
int drv_read_leapfile(const char *path, struct leapfile *lf, char *msg, size_t n);

/* Reads the drift file (or the kernel's frequency), starts the resolver, reserves
 * loop slots for client sockets, resets the kernel discipline (not with -x) and starts
 * the engine, carrying out its first actions. Logs what fails. Returns 0 or -errno. */
int drv_start(struct drv **out, const struct drv_params *p);

/* Poll timeout in ms until the engine's next timer or a reply deadline; -1 for none. */
int drv_timeout_ms(const struct drv *d);

/* After sys_loop_wait: checks for a clock jump, takes resolver answers and replies,
 * closes timed-out requests and runs due timers. */
void drv_after_wait(struct drv *d);

/* The engine, for views of its state (eng_get_status, eng_get_source: control socket,
 * NTP mode 6, metrics); NULL before drv_start. Read only: changes go through drv. */
const struct eng *drv_engine(const struct drv *d);

/* The clock readings the engine's views take as "now". */
struct core_time drv_now(void);

/* The operator's commands (control socket). drv_allow_step: the next large correction
 * may be stepped, even above the panic threshold (eng_allow_step). drv_set_online:
 * sources named name (NULL: all) stop or resume polling; returns the number of server
 * and pool lines it applied to, 0 when none has that name. */
void drv_allow_step(struct drv *d);
int drv_set_online(struct drv *d, const char *name, bool online);

/* Reload of the sources: the server/pool lines of c (a freshly parsed configuration)
 * replace the running ones. Lines that stay (same name and options) keep all their
 * state; lines gone are stopped, new lines start. *added and *removed count lines.
 * Returns 0, or -ENOSPC when the new lines do not all fit next to the kept ones (then
 * those that fit were added). The caller keeps c's lines in the config the driver was
 * started with (drv_params.cfg), which name lookups of later resolves use. */
int drv_reload_sources(struct drv *d, const struct cfg *c, int *added, int *removed);

/* When the clock last turned synchronized or unsynchronized (Unix seconds of the
 * realtime clock); false before the first change. */
bool drv_sync_since(const struct drv *d, double *unix_s);

/* Reopens the statistics files (SIGHUP, after logrotate). Returns 0 or -errno (logged). */
int drv_reopen_files(struct drv *d);

/* Logs each source (name, address, state, offset, counters) and the driver's counters. */
void drv_log_status(const struct drv *d);

/* Saves the drift file (unless -x), closes the client sockets, stops the resolver and
 * frees d. NULL is a no-op. */
void drv_stop(struct drv *d);

/* Exposed for tests: the jump of realtime against monotonic between two readings,
 * seconds, or 0 when within the tolerance described above. */
double drv_jump_seen(int64_t real0_ns, int64_t mono0_ns, int64_t real1_ns, int64_t mono1_ns);

/* Exposed for tests: whether a kernel transmit stamp (ns) fits the clock reading (ns)
 * made right before its send(), as described above. */
bool drv_tx_stamp_fits(int64_t read_ns, int64_t stamp_ns);

#endif
