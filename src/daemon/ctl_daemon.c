/* The control socket inside tsyncd (see ctl_daemon.h): ctl.c's ops carried out on the
 * driver, the server counters and the configuration file. */
#include "daemon/ctl_daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl.h"
#include "sys/sys_clock.h"
#include "sys/sys_log.h"
#include "sys/sys_unix.h"

struct ctl_daemon {
    struct ctl_daemon_params p;
    struct ctl ctl; /* last: its answer buffer is large */
};

static void view_input(void *ctx, struct ctl_view_in *in)
{
    struct ctl_daemon *c = ctx;

    in->eng = drv_engine(c->p.drv);
    in->now = drv_now();
    in->since_known = c->p.drv != NULL && drv_sync_since(c->p.drv, &in->since_unix_s);
    in->serve = c->p.serve;
}

static void reload_warning(void *ctx, const char *file, int line, const char *msg)
{
    (void)ctx;
    sys_log_warning("reload: %s:%d: %s", file, line, msg);
}

/* A file that fails to parse changes nothing; the answer says why. */
static enum ctl_err reload(struct ctl_daemon *c, struct ctl_json *j, char *msg, size_t n)
{
    struct cfg *fresh = malloc(sizeof(*fresh));
    struct cfg_error e;
    int added = 0, removed = 0;

    if (fresh == NULL) {
        snprintf(msg, n, "out of memory");
        return CTL_ERR_FAILED;
    }
    cfg_init(fresh);
    if (cfg_load_file(fresh, c->p.config_path, &e, reload_warning, NULL) != 0) {
        char text[CFG_PATH_LEN + 300];
        cfg_format_error(&e, text, sizeof(text));
        snprintf(msg, n, "the configuration was not reloaded: %.200s", text);
        free(fresh);
        return CTL_ERR_FAILED;
    }
    int r = drv_reload_sources(c->p.drv, fresh, &added, &removed);
    c->p.cfg->n_servers = fresh->n_servers;
    memcpy(c->p.cfg->servers, fresh->servers, sizeof(fresh->servers));
    free(fresh);
    if (r != 0) {
        snprintf(msg, n, "reloaded in part: %s (%d added, %d removed)", strerror(-r), added,
                 removed);
        return CTL_ERR_FAILED;
    }
    ctl_json_kv_int(j, "added", added);
    ctl_json_kv_int(j, "removed", removed);
    return CTL_OK;
}

static enum ctl_err change(void *ctx, const struct ctl_req *r, struct ctl_json *j, char *msg,
                           size_t n)
{
    struct ctl_daemon *c = ctx;
    const char *name = r->has_arg ? r->arg : NULL;

    switch (r->cmd) {
    case CTL_CMD_MAKESTEP:
        drv_allow_step(c->p.drv);
        ctl_json_kv_string(j, "message",
                           "the next large correction will be stepped, even "
                           "above the panic threshold");
        return CTL_OK;
    case CTL_CMD_ONLINE:
    case CTL_CMD_OFFLINE: {
        int count = drv_set_online(c->p.drv, name, r->cmd == CTL_CMD_ONLINE);
        if (count == 0 && name != NULL) {
            snprintf(msg, n, "no server or pool line is called %.200s", name);
            return CTL_ERR_UNKNOWN_SOURCE;
        }
        ctl_json_kv_int(j, "sources", count);
        return CTL_OK;
    }
    case CTL_CMD_RELOAD:
        return reload(c, j, msg, n);
    default:
        snprintf(msg, n, "not a change command");
        return CTL_ERR_BAD_REQUEST;
    }
}

static int group_of(const struct cfg *cfg, gid_t *gid)
{
    *gid = 0; /* root's group */
    if (cfg->controlgroup[0] == '\0') {
        return 0;
    }
    int r = sys_unix_group_id(cfg->controlgroup, gid);
    if (r == -ENOENT) {
        sys_log_err("controlgroup %s: no such group", cfg->controlgroup);
    } else if (r != 0) {
        sys_log_err("controlgroup %s: cannot look it up: %s", cfg->controlgroup, strerror(-r));
    }
    return r;
}

int ctl_daemon_check(const struct cfg *cfg, char *msg, size_t n)
{
    gid_t gid;

    if (cfg->controlsocket[0] == '\0' || cfg->controlgroup[0] == '\0') {
        return 0;
    }
    int r = sys_unix_group_id(cfg->controlgroup, &gid);
    if (r != 0) {
        snprintf(msg, n, "controlgroup %s: %s", cfg->controlgroup,
                 r == -ENOENT ? "no such group" : strerror(-r));
        return -1;
    }
    return 0;
}

int ctl_daemon_open(struct ctl_daemon **out, const struct ctl_daemon_params *p)
{
    gid_t gid;

    *out = NULL;
    if (p->cfg->controlsocket[0] == '\0') {
        sys_log_info("control socket: none (controlsocket none)");
        return 0;
    }
    int r = group_of(p->cfg, &gid);
    if (r != 0) {
        return r;
    }
    struct ctl_daemon *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        sys_log_err("control socket: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    c->p = *p;
    struct ctl_ops ops = {.ctx = c, .view_input = view_input, .change = change};
    r = ctl_open(&c->ctl, p->cfg->controlsocket, gid, p->loop, &ops);
    if (r != 0) {
        ctl_close(&c->ctl);
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

int ctl_daemon_timeout_ms(const struct ctl_daemon *c, int t)
{
    if (c == NULL) {
        return t;
    }
    int mine = ctl_timeout_ms(&c->ctl, sys_clock_monotonic_ns());
    if (mine < 0) {
        return t;
    }
    return t < 0 || mine < t ? mine : t;
}

void ctl_daemon_after_wait(struct ctl_daemon *c)
{
    if (c != NULL) {
        ctl_after_wait(&c->ctl);
    }
}

void ctl_daemon_close(struct ctl_daemon *c)
{
    if (c != NULL) {
        ctl_close(&c->ctl);
        free(c);
    }
}
