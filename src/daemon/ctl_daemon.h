/* The control socket inside tsyncd: the socket from the config (controlsocket,
 * controlgroup), the views' inputs from the driver and the server, and the change
 * commands carried out through the driver (makestep, online/offline) and a fresh parse
 * of the config file (reload of its server/pool lines). main.c only opens, waits on
 * and closes it. */
#ifndef TSYNC_CTL_DAEMON_H
#define TSYNC_CTL_DAEMON_H

#include <stddef.h>

#include "daemon/cfg.h"
#include "daemon/drv.h"
#include "daemon/serve.h"
#include "sys/sys_loop.h"

struct ctl_daemon; /* opaque */

/* What the commands reach. cfg is the running configuration: reload replaces its
 * server/pool lines (the rest of a reloaded file is not applied). */
struct ctl_daemon_params {
    struct cfg *cfg;
    const char *config_path;
    struct drv *drv;
    struct serve *serve;
    struct sys_loop *loop;
};

/* Opens the control socket at cfg->controlsocket ("" = none: *out is NULL, returns 0).
 * An unknown controlgroup or a socket that cannot be made is an error (logged).
 * Returns 0 or -errno. */
int ctl_daemon_open(struct ctl_daemon **out, const struct ctl_daemon_params *p);

/* For --check-config: the controlgroup names a group on this host. Returns 0, or -1
 * with the reason in msg. */
int ctl_daemon_check(const struct cfg *cfg, char *msg, size_t n);

/* The poll timeout it needs (ms, -1 none) merged into t: the smaller one wins. */
int ctl_daemon_timeout_ms(const struct ctl_daemon *c, int t);

/* After sys_loop_wait. NULL is a no-op. */
void ctl_daemon_after_wait(struct ctl_daemon *c);

/* Closes the socket (removing the file) and frees c. NULL is a no-op. */
void ctl_daemon_close(struct ctl_daemon *c);

#endif
