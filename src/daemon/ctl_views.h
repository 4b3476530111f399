/* The control socket's read commands as JSON (doc/control.md): status, tracking,
 * sources, sourcestats and serverstats, from the engine's views (eng_get_status,
 * eng_get_source), the driver's record of sync changes and the server's counters.
 * Reads only; nothing here changes the daemon. */
#ifndef TSYNC_CTL_VIEWS_H
#define TSYNC_CTL_VIEWS_H

#include <stdbool.h>

#include "core/core.h"
#include "core/eng.h"
#include "daemon/ctl_json.h"
#include "daemon/ctl_req.h"
#include "daemon/serve.h"

/* What the views read. Any pointer may be NULL: the values it would give are null. */
struct ctl_view_in {
    const struct eng *eng;     /* the client engine (drv_engine) */
    struct core_time now;      /* drv_now() */
    bool since_known;          /* a change between synchronized and not was seen */
    double since_unix_s;       /* when */
    const struct serve *serve; /* the NTP server's counters */
};

/* Writes the answer of read command cmd as one JSON object. Returns false for a command
 * that is not a read command (nothing written). */
bool ctl_view_write(enum ctl_cmd cmd, const struct ctl_view_in *in, struct ctl_json *j);

/* ntpq's refid text of a source (doc/control.md): four ASCII characters for stratum
 * 0, 1 and 16 (kiss codes), else the dotted IPv4 address. refid as on the wire. buf
 * must hold 16 bytes; "" for a zero refid of stratum 0/1/16. */
void ctl_view_refid(uint32_t refid, uint8_t stratum, char *buf);

/* "none", "insert", "delete" or "unsynchronized" for leap indicator 0..3. */
const char *ctl_view_leap_name(uint8_t leap);

#endif
