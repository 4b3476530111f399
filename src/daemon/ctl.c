/* The control socket server (see ctl.h and doc/control.md). Connections live in fixed
 * slots with loop indexes reserved at start; a slot is watched for input until its line
 * is complete, then its answer is sent without blocking (retried on a short timeout
 * while the socket is full) and the connection closed. Nothing a peer sends can make
 * the daemon wait: every step is non-blocking and every connection has a deadline. */
#include "daemon/ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "sys/sys_clock.h"
#include "sys/sys_log.h"
#include "sys/sys_sock.h"

#define NS_PER_MS        INT64_C(1000000)
#define ACCEPTS_PER_WAKE 32 /* then the others get a turn; the rest waits in the backlog */
#define READS_PER_WAKE   4
#define CTL_LOOP_SPARE   4 /* loop slots left free for other parts of the daemon */

void ctl_write_error(struct ctl_json *j, enum ctl_err e, const char *msg)
{
    ctl_json_begin_object(j);
    ctl_json_kv_string(j, "error", ctl_err_code(e));
    ctl_json_kv_string(j, "message", msg);
    ctl_json_end_object(j);
}

static void watch(struct ctl *c, int index, int fd)
{
    if (index >= 0 && sys_loop_set_fd(c->loop, index, fd) != 0) {
        sys_log_err("control socket: loop slot %d refused (a bug)", index);
    }
}

int ctl_open(struct ctl *c, const char *path, gid_t gid, struct sys_loop *loop,
             const struct ctl_ops *ops)
{
    struct stat st;

    c->loop = loop;
    c->ops = *ops;
    c->lis_index = -1;
    for (size_t i = 0; i < CTL_MAX_CONNS; i++) {
        c->conn[i].fd = -1;
        c->conn[i].loop_index = -1;
    }
    int r = sys_unix_listen(&c->lis, path, gid);
    if (r != 0) {
        sys_log_err("control socket %s: %s%s", path, strerror(-r),
                    r == -EADDRINUSE ? " (another tsyncd answers there)" : "");
        return r;
    }
    /* "The socket's group" is what the file got: gid as root, else our own group. */
    c->group = lstat(path, &st) == 0 ? st.st_gid : gid;
    c->lis_index = sys_loop_add_fd(loop, c->lis.fd);
    if (c->lis_index < 0) {
        sys_log_err("control socket %s: no room in the event loop", path);
        sys_unix_close(&c->lis);
        return c->lis_index;
    }
    /* Leave a few slots for what starts after us (the loop is a fixed array). */
    size_t room = SYS_LOOP_MAX_FDS - loop->n_fds;
    size_t want = room > CTL_LOOP_SPARE ? room - CTL_LOOP_SPARE : 0;
    want = want < CTL_MAX_CONNS ? want : CTL_MAX_CONNS;
    while (c->n_conns < want) {
        int idx = sys_loop_add_fd(loop, -1);
        if (idx < 0) {
            break;
        }
        c->conn[c->n_conns++].loop_index = idx;
    }
    if (c->n_conns < CTL_MAX_CONNS) {
        sys_log_notice("control socket: room in the event loop for %zu connections at once, "
                       "not %d",
                       c->n_conns, CTL_MAX_CONNS);
    }
    sys_log_info("control socket %s (group %ld may change things)", path, (long)c->group);
    return c->n_conns > 0 ? 0 : -ENOSPC;
}

static void close_conn(struct ctl *c, struct ctl_conn *k)
{
    watch(c, k->loop_index, -1);
    sys_fd_close(k->fd);
    k->fd = -1;
    free(k->out);
    k->out = NULL;
    k->out_len = k->out_off = k->in_len = 0;
}

/* Sends what the socket takes now; closes the connection when all is sent or it fails. */
static void flush(struct ctl *c, struct ctl_conn *k)
{
    while (k->out_off < k->out_len) {
        long n = sys_sock_send(k->fd, k->out + k->out_off, k->out_len - k->out_off);
        if (n == -EAGAIN) {
            return;
        }
        if (n <= 0) {
            c->cnt.send_failed++;
            close_conn(c, k);
            return;
        }
        k->out_off += (size_t)n;
    }
    c->cnt.answered++;
    close_conn(c, k);
}

/* Takes the finished text of j (plus a newline) as the connection's answer. */
static void answer(struct ctl *c, struct ctl_conn *k, struct ctl_json *j)
{
    long len = ctl_json_finish(j);

    if (len < 0) {
        ctl_json_init(j, c->scratch, sizeof(c->scratch));
        ctl_write_error(j, CTL_ERR_FAILED, "the answer does not fit the control buffer");
        len = ctl_json_finish(j);
    }
    watch(c, k->loop_index, -1); /* the request is complete: nothing more is read */
    k->out = malloc((size_t)len + 1);
    if (k->out == NULL || len < 0) {
        close_conn(c, k);
        return;
    }
    memcpy(k->out, c->scratch, (size_t)len);
    k->out[len] = '\n';
    k->out_len = (size_t)len + 1;
    k->out_off = 0;
    flush(c, k);
}

static void answer_error(struct ctl *c, struct ctl_conn *k, enum ctl_err e, const char *msg)
{
    struct ctl_json j;

    c->cnt.errors++;
    c->cnt.not_permitted += e == CTL_ERR_NOT_PERMITTED ? 1 : 0;
    ctl_json_init(&j, c->scratch, sizeof(c->scratch));
    ctl_write_error(&j, e, msg);
    answer(c, k, &j);
}

static bool permitted(const struct ctl *c, int fd)
{
    struct sys_unix_peer p;

    if (sys_unix_peer(fd, &p) != 0) {
        return false;
    }
    return p.uid == 0 || sys_unix_peer_in_group(fd, c->group);
}

static void run_change(struct ctl *c, struct ctl_conn *k, const struct ctl_req *r)
{
    struct ctl_json j;
    char msg[256] = "";

    if (!permitted(c, k->fd)) {
        answer_error(c, k, CTL_ERR_NOT_PERMITTED,
                     "this command is taken only from root or the control socket's group");
        return;
    }
    ctl_json_init(&j, c->scratch, sizeof(c->scratch));
    ctl_json_begin_object(&j);
    ctl_json_kv_bool(&j, "ok", true);
    enum ctl_err e = c->ops.change(c->ops.ctx, r, &j, msg, sizeof(msg));
    if (e != CTL_OK) {
        answer_error(c, k, e, msg[0] != '\0' ? msg : "the command failed");
        return;
    }
    ctl_json_end_object(&j);
    sys_log_notice("control: %s%s%s", ctl_cmd_name(r->cmd), r->has_arg ? " " : "",
                   r->has_arg ? r->arg : "");
    answer(c, k, &j);
}

static void dispatch(struct ctl *c, struct ctl_conn *k, size_t line_len)
{
    struct ctl_req r;
    struct ctl_json j;
    struct ctl_view_in in;
    char msg[256];

    enum ctl_err e = ctl_req_parse(k->in, line_len, &r, msg, sizeof(msg));
    if (e != CTL_OK) {
        answer_error(c, k, e, msg);
        return;
    }
    if (ctl_cmd_changes(r.cmd)) {
        run_change(c, k, &r);
        return;
    }
    memset(&in, 0, sizeof(in));
    c->ops.view_input(c->ops.ctx, &in);
    ctl_json_init(&j, c->scratch, sizeof(c->scratch));
    ctl_view_write(r.cmd, &in, &j);
    answer(c, k, &j);
}

/* Reads what arrived; answers once the line is complete, too long, or the peer is done. */
static void take_input(struct ctl *c, struct ctl_conn *k)
{
    bool eof = false;
    size_t line_len = 0;

    for (int i = 0; i < READS_PER_WAKE && !eof && k->in_len < sizeof(k->in); i++) {
        long n = sys_sock_recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len);
        if (n == -EAGAIN) {
            break;
        }
        if (n < 0) {
            close_conn(c, k);
            return;
        }
        eof = n == 0;
        k->in_len += (size_t)n;
    }
    switch (ctl_req_frame(k->in, k->in_len, eof, &line_len)) {
    case CTL_FRAME_LINE:
        dispatch(c, k, line_len);
        break;
    case CTL_FRAME_TOO_LONG:
        answer_error(c, k, CTL_ERR_TOO_LONG, "the request is longer than 256 bytes");
        break;
    case CTL_FRAME_MORE:
    default:
        break;
    }
}

static struct ctl_conn *free_conn(struct ctl *c)
{
    for (size_t i = 0; i < c->n_conns; i++) {
        if (c->conn[i].fd < 0) {
            return &c->conn[i];
        }
    }
    return NULL;
}

/* No slot: the peer gets "busy" if its socket takes it right away, then the close. */
static void refuse_busy(struct ctl *c, int fd)
{
    struct ctl_json j;

    c->cnt.busy++;
    ctl_json_init(&j, c->scratch, sizeof(c->scratch));
    ctl_write_error(&j, CTL_ERR_BUSY, "too many control connections at once; try again");
    long len = ctl_json_finish(&j);
    if (len > 0 && (size_t)len < sizeof(c->scratch)) {
        c->scratch[len] = '\n';
        (void)sys_sock_send(fd, c->scratch, (size_t)len + 1);
    }
    sys_fd_close(fd);
}

static void accept_all(struct ctl *c, int64_t now)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = sys_unix_accept(&c->lis);
        if (fd < 0) {
            return; /* -EAGAIN, or a connection that went away before we took it */
        }
        struct ctl_conn *k = free_conn(c);
        if (k == NULL) {
            refuse_busy(c, fd);
            continue;
        }
        c->cnt.accepted++;
        k->fd = fd;
        k->in_len = 0;
        k->deadline_mono_ns = now + CTL_TIMEOUT_S * 1000 * NS_PER_MS;
        watch(c, k->loop_index, fd);
    }
}

void ctl_after_wait(struct ctl *c)
{
    int64_t now = sys_clock_monotonic_ns();

    for (size_t i = 0; i < c->n_conns; i++) {
        struct ctl_conn *k = &c->conn[i];
        if (k->fd < 0) {
            continue;
        }
        if (k->out != NULL) {
            flush(c, k);
        } else if (sys_loop_readable(c->loop, k->loop_index)) {
            take_input(c, k);
        }
        if (k->fd >= 0 && now >= k->deadline_mono_ns) {
            c->cnt.timeouts++;
            if (k->out == NULL) {
                answer_error(c, k, CTL_ERR_TIMEOUT, "no complete request line within 2 s");
            }
            if (k->fd >= 0) {
                close_conn(c, k); /* the peer does not read its answer */
            }
        }
    }
    if (c->lis_index >= 0 && sys_loop_readable(c->loop, c->lis_index)) {
        accept_all(c, now);
    }
}

int ctl_timeout_ms(const struct ctl *c, int64_t now_mono_ns)
{
    int64_t best = -1;

    for (size_t i = 0; i < c->n_conns; i++) {
        const struct ctl_conn *k = &c->conn[i];
        if (k->fd < 0) {
            continue;
        }
        int64_t left = k->deadline_mono_ns - now_mono_ns;
        int64_t ms = left <= 0 ? 0 : (left + NS_PER_MS - 1) / NS_PER_MS;
        if (k->out != NULL && ms > CTL_RETRY_MS) {
            ms = CTL_RETRY_MS;
        }
        best = best < 0 || ms < best ? ms : best;
    }
    return (int)best;
}

void ctl_close(struct ctl *c)
{
    for (size_t i = 0; i < c->n_conns; i++) {
        if (c->conn[i].fd >= 0) {
            close_conn(c, &c->conn[i]);
        }
    }
    if (c->lis_index >= 0) {
        watch(c, c->lis_index, -1);
        c->lis_index = -1;
    }
    sys_unix_close(&c->lis);
}
