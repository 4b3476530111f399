/* A client node's engine configuration, written in scenarios as tsyncd.conf lines and
 * read by tsyncd's own parser and mapping (src/daemon/cfg*.c, drv_config.c: libc and
 * core only, no sys). A thin pre-pass takes the simulator's own lines, which stand for
 * what the daemon gets from elsewhere: drift (the drift file's value), noclockcontrol
 * (-x), precision (measured), maxfreq (the kernel's limit), driftsave. */
#ifndef TSYNC_SIM_ECFG_H
#define TSYNC_SIM_ECFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/eng.h"
#include "daemon/cfg.h"

/* Each new line re-reads the lines before it (a file is only checked whole), so they are
 * bounded: a scenario's worst case stays well under a second. */
#define SIM_ECFG_TEXT_MAX  16384 /* bytes of tsyncd.conf lines per node */
#define SIM_ECFG_LINES_MAX 512   /* tsyncd.conf lines per node */

/* The simulator's own settings; each *_set says its line was given. */
struct sim_ecfg_own {
    bool no_clock_control; /* "noclockcontrol": tsyncd -x */
    int8_t precision_log2; /* "precision N"; eng_config_default's without the line */
    bool have_drift;       /* "drift PPM": what a drift file would have held */
    double drift_ppm;
    bool max_freq_set; /* "maxfreq PPM" */
    double max_freq_ppm;
    bool drift_save_set; /* "driftsave T", s: overrides driftfile's interval */
    double drift_save_interval;
};

struct sim_ecfg {
    struct eng_config eng; /* the result, complete after sim_ecfg_finish */
    struct cfg parsed;     /* the tsyncd.conf lines so far, as tsyncd parsed them */
    char text[SIM_ECFG_TEXT_MAX];
    size_t len;  /* bytes of text used */
    int n_lines; /* lines in text; messages name a line of it "config:N" */
    struct sim_ecfg_own own;
};

/* No lines yet: an empty tsyncd.conf (eng_config_default, as drv_config_build maps it). */
void sim_ecfg_init(struct sim_ecfg *c);

/* Takes one config line: one of the simulator's own, or a tsyncd.conf line checked with
 * the lines before it as tsyncd -n would check the file they make (no includes). A line
 * tsyncd would only warn about is refused too: a scenario line must take effect. Returns
 * 0, or -1 with a message (no file:line; the caller adds it) in err and c unchanged.
 * Blank lines are fine. */
int sim_ecfg_line(struct sim_ecfg *c, const char *line, char *err, size_t errlen);

/* After the last line, as tsyncd starts: eng = drv_config_build of the parsed lines
 * with noclockcontrol and precision, then the drift value, maxfreq and driftsave. */
void sim_ecfg_finish(struct sim_ecfg *c);

/* Parses a time with an optional unit (ns us ms s min h d): "100us", "2h", "0.5". */
bool sim_parse_seconds(const char *s, double *out);

/* Parses a finite decimal number, no unit. */
bool sim_parse_number(const char *s, double *out);

/* Parses an integer in [min, max]. */
bool sim_parse_int(const char *s, long min, long max, long *out);

#endif
