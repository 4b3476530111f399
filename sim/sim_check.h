/* Numeric expectations for a run (tests/sim/expect/NAME.txt): lines "max KEY VALUE" or
 * "min KEY VALUE", # comments; the comment on a line is printed when it fails, so it
 * should say where the limit comes from. KEY is "NODE.metric", or a bare metric that
 * applies to every client node. */
#ifndef TSYNC_SIM_CHECK_H
#define TSYNC_SIM_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "sim/sim_report.h"
#include "sim/sim_world.h"

/* Checks m against the file at path, printing one line per comparison to out. Returns
 * the number of failed comparisons, or -1 with "FILE:LINE: message" in err when the
 * file cannot be read or parsed. A metric that was not measured fails. */
int sim_check_file(const char *path, const struct sim_world *w, const struct sim_metrics *m,
                   FILE *out, char *err, size_t errlen);

#endif
