/* The control socket server (doc/control.md): a listening Unix socket and up to
 * CTL_MAX_CONNS connections on the daemon's poll loop, one request line each, read and
 * answered without blocking, each closed after its answer or after CTL_TIMEOUT_S. Read
 * commands are answered from the views (ctl_views.c); change commands go to the
 * daemon through ctl_ops after the peer's credentials were checked. */
#ifndef TSYNC_CTL_H
#define TSYNC_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/ctl_json.h"
#include "daemon/ctl_req.h"
#include "daemon/ctl_views.h"
#include "sys/sys_loop.h"
#include "sys/sys_unix.h"

/* Largest answer (64 sources with every counter fit in about 48 KiB). */
#define CTL_ANSWER_MAX (128 * 1024)

/* While an answer waits for room in the socket, the loop comes back this often. */
#define CTL_RETRY_MS 20

/* What the daemon gives the server. change writes the members of a change command's
 * answer object (after "ok":true) and returns CTL_OK, or returns an error code with a
 * sentence in msg (then nothing may have been written). */
struct ctl_ops {
    void *ctx;
    void (*view_input)(void *ctx, struct ctl_view_in *in);
    enum ctl_err (*change)(void *ctx, const struct ctl_req *r, struct ctl_json *j, char *msg,
                           size_t n);
};

struct ctl_conn {
    int fd; /* -1: slot free */
    int loop_index;
    int64_t deadline_mono_ns;
    size_t in_len;
    char in[CTL_REQ_MAX + 2];
    char *out; /* the answer while it is being sent (heap, freed at close) */
    size_t out_len, out_off;
};

struct ctl_counters {
    uint64_t accepted, answered, errors, busy, timeouts, not_permitted, send_failed;
};

struct ctl {
    struct sys_unix_listener lis;
    int lis_index;
    gid_t group; /* change commands: peers of uid 0 or in this group */
    struct sys_loop *loop;
    struct ctl_ops ops;
    size_t n_conns; /* connection slots with a reserved loop index */
    struct ctl_conn conn[CTL_MAX_CONNS];
    struct ctl_counters cnt;
    char scratch[CTL_ANSWER_MAX];
};

/* Listens at path (see sys_unix_listen) with the socket's group gid ((gid_t)-1: the
 * group the file gets), and reserves loop slots: the listener and up to CTL_MAX_CONNS
 * connections (fewer if the loop is short, leaving a few slots free; logged). Returns 0
 * or -errno (logged). */
int ctl_open(struct ctl *c, const char *path, gid_t gid, struct sys_loop *loop,
             const struct ctl_ops *ops);

/* Poll timeout in ms for the next connection deadline or send retry; -1 for none. */
int ctl_timeout_ms(const struct ctl *c, int64_t now_mono_ns);

/* After sys_loop_wait: accepts, reads, answers, retries sends and closes what is due. */
void ctl_after_wait(struct ctl *c);

/* Closes the connections and the listener, removing the socket file. */
void ctl_close(struct ctl *c);

/* Writes {"error":CODE,"message":MSG} into j. */
void ctl_write_error(struct ctl_json *j, enum ctl_err e, const char *msg);

#endif
