/* The engine's configuration (eng_config, src/core/eng.h) from the parsed file and the
 * command line: sources and their options, the step policy of both dialects, selection
 * limits, holdover, the local fallback and -x. Pure (libc and core, no sys; the drift
 * file is the driver's): it lives in the tsync_cfg library with the parser, so the
 * simulator maps its client configs with it too (sim/sim_ecfg.c). */
#ifndef TSYNC_DRV_CONFIG_H
#define TSYNC_DRV_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/eng.h"
#include "daemon/cfg.h"
#include "daemon/leapfile.h"

/* Receives a note for the log about a setting whose effect differs from what its
 * dialect would suggest (ctx as given). */
typedef void (*drv_config_note_fn)(void *ctx, const char *msg);

/* Fills out from eng_config_default() and c:
 * - each server/pool line becomes a source with its options (at most
 *   ENG_MAX_CONFIG_SOURCES; more are reported through note);
 * - makestep T L sets the start-up step threshold and limit; tinker step S (ntpd) sets
 *   the running step threshold and, without makestep, the start-up threshold too;
 *   tinker step 0 means never step (running threshold 0 and, without makestep, limit
 *   0); tinker panic P is the panic threshold (0 = none);
 * - minsources/tos minsane, maxdistance/tos maxdist, holdover, the drift file interval,
 *   local stratum N, -x (no_clock_control) and the measured precision.
 * The drift fields stay at their defaults (no drift) for the caller to fill in. */
void drv_config_build(const struct cfg *c, bool no_clock_control, int8_t precision_log2,
                      struct eng_config *out, drv_config_note_fn note, void *ctx);

/* The next leap of a parsed leap-seconds.list after unix_s (Unix seconds, now) into
 * out->leap_at_unix_s / leap_dir (0 when the file knows of none). An expired file is
 * still used, with a note: its past entries stay right, only a later leap is unknown. */
void drv_config_leap(const struct leapfile *lf, int64_t unix_s, struct eng_config *out,
                     drv_config_note_fn note, void *ctx);

/* Address family a server/pool name is to be resolved with (AF_UNSPEC, AF_INET or
 * AF_INET6: "-4"/"-6" in ntpd, "ipv4"/"ipv6" in chrony): that of the first line with
 * this name, AF_UNSPEC when none matches. */
int drv_config_family(const struct cfg *c, const char *name);

#endif
