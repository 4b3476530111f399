/* What NTP mode 6 shows (core/m6.h's struct m6_view), filled from the engine's read-only
 * views: the system variables from eng_get_status, one association per engine source
 * slot with association ID slot + 1 (stable while the slot holds the same source), and
 * the monotonic times the engine keeps turned into realtime. Reads only, decides nothing. */
#ifndef TSYNC_M6_VIEW_H
#define TSYNC_M6_VIEW_H

#include <stdint.h>

#include "core/core.h"
#include "core/eng.h"
#include "core/m6.h"

struct drv;

/* Fills v (every field) from engine e at now; e == NULL gives an unsynchronized system
 * without associations. version is copied into the "version" variable. */
void m6_view_fill(const struct eng *e, struct core_time now, int8_t precision_log2,
                  const char *version, struct m6_view *v);

/* The context of m6_view_provide: the driver (its engine and clock readings), the
 * clock's precision and the daemon's version text. Must outlive the server. */
struct m6_view_ctx {
    const struct drv *drv;
    int8_t precision_log2;
    const char *version;
};

/* A serve_query_fn (serve.h): ctx is a struct m6_view_ctx. */
void m6_view_provide(void *ctx, struct m6_view *v);

#endif
