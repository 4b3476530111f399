/* The /metrics endpoint (see http.h). Like the control socket (ctl.c): fixed connection
 * slots with loop indexes reserved at start; a slot is read until its request is decided,
 * its answer sent without blocking (retried while the socket is full), then the write side
 * is shut and what the peer still sends is read and dropped for a moment before the close
 * (RFC 9112 section 9.6), so an early answer (400, 431) is not lost to a reset. */
#include "daemon/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met_prom.h"
#include "metrics/met_tree.h"
#include "sys/sys_clock.h"
#include "sys/sys_log.h"
#include "sys/sys_sock.h"
#include "sys/sys_tcp.h"

#define NS_PER_MS        INT64_C(1000000)
#define ACCEPTS_PER_WAKE 16
#define READS_PER_WAKE   4
#define HTTP_LOOP_SPARE  8 /* loop slots left for the control socket and what follows */
#define HEAD_MAX         256

static void watch(struct http_srv *h, int index, int fd)
{
    if (index >= 0 && sys_loop_set_fd(h->loop, index, fd) != 0) {
        sys_log_err("metrics endpoint: loop slot %d refused (a bug)", index);
    }
}

static void reserve_slots(struct http_srv *h)
{
    size_t room = SYS_LOOP_MAX_FDS - h->loop->n_fds;
    size_t want = room > HTTP_LOOP_SPARE ? room - HTTP_LOOP_SPARE : 0;

    want = want < HTTP_MAX_CONNS ? want : HTTP_MAX_CONNS;
    while (h->n_conns < want) {
        int idx = sys_loop_add_fd(h->loop, -1);
        if (idx < 0) {
            break;
        }
        h->conn[h->n_conns++].loop_index = idx;
    }
}

int http_open(struct http_srv *h, const struct core_addr *addr, struct sys_loop *loop,
              const struct http_ops *ops)
{
    struct sockaddr_storage ss;

    memset(h, 0, sizeof(*h));
    h->loop = loop;
    h->ops = *ops;
    h->lis_index = -1;
    for (size_t i = 0; i < HTTP_MAX_CONNS; i++) {
        h->conn[i].fd = -1;
        h->conn[i].loop_index = -1;
    }
    socklen_t len = netaddr_to_sockaddr(addr, addr->port, &ss);
    netaddr_format((const struct sockaddr *)&ss, h->name, sizeof(h->name));
    h->lfd = len > 0 ? sys_tcp_listen((const struct sockaddr *)&ss, len) : -EAFNOSUPPORT;
    if (h->lfd < 0) {
        int r = h->lfd;
        sys_log_err("metrics endpoint %s: %s", h->name, strerror(-r));
        return r;
    }
    int port = sys_tcp_local_port(h->lfd); /* port 0 (tests): the one the kernel chose */
    if (port > 0) {
        len = netaddr_to_sockaddr(addr, (uint16_t)port, &ss);
        netaddr_format((const struct sockaddr *)&ss, h->name, sizeof(h->name));
    }
    h->lis_index = sys_loop_add_fd(loop, h->lfd);
    reserve_slots(h);
    if (h->lis_index < 0 || h->n_conns == 0) {
        sys_log_err("metrics endpoint %s: no room in the event loop", h->name);
        http_close(h);
        return -ENOSPC;
    }
    sys_log_info("metrics endpoint http://%s/metrics", h->name);
    return 0;
}

int http_port(const struct http_srv *h)
{
    return h->lfd >= 0 ? sys_tcp_local_port(h->lfd) : -EBADF;
}

/* The tap turning ctl_json's calls into the value tree: scalars arrive as written. */
static void tap_open(void *ctx, bool object)
{
    met_tree_open(ctx, object);
}

static void tap_close(void *ctx)
{
    met_tree_close(ctx);
}

static void tap_key(void *ctx, const char *key)
{
    met_tree_key(ctx, key);
}

static void tap_string(void *ctx, const char *s)
{
    met_tree_string(ctx, s);
}

static void tap_raw(void *ctx, const char *text)
{
    if (strcmp(text, "null") == 0) {
        met_tree_null(ctx);
    } else if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
        met_tree_bool(ctx, text[0] == 't');
    } else {
        /* The number as the JSON answer has it, so both ways give the same digits. */
        met_tree_number(ctx, strtod(text, NULL));
    }
}

static const struct met_val *view_tree(enum ctl_cmd cmd, const struct ctl_view_in *in,
                                       struct met_tree *t)
{
    struct ctl_json j;
    const struct ctl_json_tap tap = {t, tap_open, tap_close, tap_key, tap_string, tap_raw};

    met_tree_init(t);
    ctl_json_init(&j, NULL, 0);
    ctl_json_set_tap(&j, &tap);
    ctl_view_write(cmd, in, &j);
    return met_tree_root(t);
}

/* A growing text buffer, bounded by HTTP_BODY_MAX. */
struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void text_write(void *ctx, const char *s, size_t n)
{
    struct text *t = ctx;

    if (t->failed || n == 0) {
        return;
    }
    if (n > HTTP_BODY_MAX - t->len) {
        t->failed = true;
        return;
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap == 0 ? 16384 : t->cap;
        while (cap < t->len + n) {
            cap *= 2;
        }
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = true;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

long http_metrics_text(const struct ctl_view_in *in, char **text)
{
    static const enum ctl_cmd cmds[4] = {CTL_CMD_STATUS, CTL_CMD_TRACKING, CTL_CMD_SOURCES,
                                         CTL_CMD_SERVERSTATS};
    struct met_tree t[4];
    const struct met_val *v[4];
    struct text out = {NULL, 0, 0, false};
    struct met_out o = {text_write, &out};
    struct met_writer w;

    for (size_t i = 0; i < 4; i++) {
        v[i] = view_tree(cmds[i], in, &t[i]);
    }
    met_writer_init(&w, &o);
    met_prom_write(&w, v[0], v[1], v[2], v[3]);
    for (size_t i = 0; i < 4; i++) {
        met_tree_free(&t[i]);
    }
    if (out.failed || v[0] == NULL) {
        free(out.buf);
        *text = NULL;
        return -1;
    }
    *text = out.buf;
    return (long)out.len;
}

/* Status line and header fields, then the body (left out for HEAD). */
static long compose(int status, const char *reason, const char *type, bool allow, const char *body,
                    size_t body_len, bool head, char **out)
{
    char hdr[HEAD_MAX];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, reason, type, body_len, allow ? "Allow: GET, HEAD\r\n" : "");
    if (n <= 0 || (size_t)n >= sizeof(hdr)) {
        return -1;
    }
    size_t len = (size_t)n + (head ? 0 : body_len);
    char *b = malloc(len);
    if (b == NULL) {
        return -1;
    }
    memcpy(b, hdr, (size_t)n);
    if (!head && body_len > 0) {
        memcpy(b + n, body, body_len);
    }
    *out = b;
    return (long)len;
}

static long error_answer(int status, const char *reason, bool allow, bool head, char **out)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);
    return compose(status, reason, "text/plain; charset=utf-8", allow, body, (size_t)n, head, out);
}

long http_answer(const struct http_req *req, const struct ctl_view_in *in, char **out)
{
    char *text = NULL;

    *out = NULL;
    if (req->result != HTTP_REQ_OK) {
        return error_answer(http_req_status(req->result), http_req_reason(req->result),
                            req->result == HTTP_REQ_METHOD, req->head, out);
    }
    long n = http_metrics_text(in, &text);
    if (n < 0) {
        return error_answer(500, "Internal Server Error", false, req->head, out);
    }
    long r = compose(200, "OK", MET_PROM_CONTENT_TYPE, false, text, (size_t)n, req->head, out);
    free(text);
    return r;
}

static void close_conn(struct http_srv *h, struct http_conn *k)
{
    watch(h, k->loop_index, -1);
    sys_tcp_close(k->fd);
    k->fd = -1;
    k->state = HTTP_FREE;
    free(k->out);
    k->out = NULL;
    k->out_len = k->out_off = k->in_len = k->drained = 0;
}

/* The answer is out: the write side is shut and the rest of the input drained. */
static void linger(struct http_srv *h, struct http_conn *k)
{
    int64_t until = sys_clock_monotonic_ns() + HTTP_LINGER_MS * NS_PER_MS;

    free(k->out);
    k->out = NULL;
    if (sys_tcp_shutdown_write(k->fd) != 0) {
        close_conn(h, k);
        return;
    }
    k->state = HTTP_LINGERING;
    k->deadline_mono_ns = until < k->deadline_mono_ns ? until : k->deadline_mono_ns;
    watch(h, k->loop_index, k->fd);
}

/* Sends what the socket takes now; lingers once all is sent, closes when sending fails. */
static void flush(struct http_srv *h, struct http_conn *k)
{
    while (k->out_off < k->out_len) {
        long n = sys_sock_send(k->fd, k->out + k->out_off, k->out_len - k->out_off);
        if (n == -EAGAIN) {
            return;
        }
        if (n <= 0) {
            h->cnt.send_failed++;
            close_conn(h, k);
            return;
        }
        k->out_off += (size_t)n;
    }
    linger(h, k);
}

static void answer(struct http_srv *h, struct http_conn *k, const struct http_req *req)
{
    struct ctl_view_in in;
    char *out = NULL;

    memset(&in, 0, sizeof(in));
    if (req->result == HTTP_REQ_OK) {
        h->ops.view_input(h->ops.ctx, &in);
        h->cnt.served++;
    } else {
        h->cnt.bad_requests++;
    }
    watch(h, k->loop_index, -1); /* decided: nothing more is read until the answer is out */
    long len = http_answer(req, &in, &out);
    if (len < 0) {
        close_conn(h, k);
        return;
    }
    k->out = out;
    k->out_len = (size_t)len;
    k->out_off = 0;
    k->state = HTTP_SENDING;
    k->deadline_mono_ns = sys_clock_monotonic_ns() + HTTP_TIMEOUT_S * 1000 * NS_PER_MS;
    flush(h, k);
}

static void take_input(struct http_srv *h, struct http_conn *k)
{
    struct http_req req;
    bool eof = false;

    for (int i = 0; i < READS_PER_WAKE && !eof && k->in_len < sizeof(k->in); i++) {
        long n = sys_sock_recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len);
        if (n == -EAGAIN) {
            break;
        }
        if (n < 0) {
            close_conn(h, k);
            return;
        }
        eof = n == 0;
        k->in_len += (size_t)n;
    }
    http_req_parse(k->in, k->in_len, eof, &req);
    if (req.result != HTTP_REQ_MORE) {
        answer(h, k, &req);
    } else if (eof) {
        close_conn(h, k);
    }
}

static void drain(struct http_srv *h, struct http_conn *k)
{
    char sink[4096];

    for (int i = 0; i < READS_PER_WAKE; i++) {
        long n = sys_sock_recv(k->fd, sink, sizeof(sink));
        if (n == -EAGAIN) {
            return;
        }
        if (n <= 0 || (k->drained += (size_t)n) > HTTP_LINGER_MAX) {
            close_conn(h, k);
            return;
        }
    }
}

static struct http_conn *free_conn(struct http_srv *h)
{
    for (size_t i = 0; i < h->n_conns; i++) {
        if (h->conn[i].state == HTTP_FREE) {
            return &h->conn[i];
        }
    }
    return NULL;
}

static void accept_all(struct http_srv *h, int64_t now)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = sys_sock_accept(h->lfd);
        if (fd == -EAGAIN) {
            return;
        }
        if (fd < 0) {
            continue; /* a connection that went away before we took it */
        }
        struct http_conn *k = free_conn(h);
        if (k == NULL) {
            h->cnt.busy++;
            sys_tcp_close(fd);
            continue;
        }
        h->cnt.accepted++;
        k->fd = fd;
        k->state = HTTP_READING;
        k->in_len = 0;
        k->deadline_mono_ns = now + HTTP_TIMEOUT_S * 1000 * NS_PER_MS;
        watch(h, k->loop_index, fd);
    }
}

static void step(struct http_srv *h, struct http_conn *k, int64_t now)
{
    if (k->state == HTTP_SENDING) {
        flush(h, k);
    } else if (k->state == HTTP_READING && sys_loop_readable(h->loop, k->loop_index)) {
        take_input(h, k);
    } else if (k->state == HTTP_LINGERING && sys_loop_readable(h->loop, k->loop_index)) {
        drain(h, k);
    }
    if (k->state != HTTP_FREE && now >= k->deadline_mono_ns) {
        /* A request that never completed, or an answer the peer does not read. */
        h->cnt.timeouts += k->state != HTTP_LINGERING ? 1 : 0;
        close_conn(h, k);
    }
}

void http_after_wait(struct http_srv *h)
{
    int64_t now = sys_clock_monotonic_ns();

    for (size_t i = 0; i < h->n_conns; i++) {
        if (h->conn[i].state != HTTP_FREE) {
            step(h, &h->conn[i], now);
        }
    }
    if (h->lis_index >= 0 && sys_loop_readable(h->loop, h->lis_index)) {
        accept_all(h, now);
    }
}

int http_timeout_ms(const struct http_srv *h, int64_t now_mono_ns)
{
    int64_t best = -1;

    for (size_t i = 0; i < h->n_conns; i++) {
        const struct http_conn *k = &h->conn[i];
        if (k->state == HTTP_FREE) {
            continue;
        }
        int64_t left = k->deadline_mono_ns - now_mono_ns;
        int64_t ms = left <= 0 ? 0 : (left + NS_PER_MS - 1) / NS_PER_MS;
        if (k->state == HTTP_SENDING && ms > HTTP_RETRY_MS) {
            ms = HTTP_RETRY_MS;
        }
        best = best < 0 || ms < best ? ms : best;
    }
    return (int)best;
}

void http_log_stats(const struct http_srv *h)
{
    sys_log_info("metrics endpoint %s: %llu connections, %llu scrapes served, %llu bad "
                 "requests, %llu timeouts, %llu refused (busy), %llu send failures",
                 h->name, (unsigned long long)h->cnt.accepted, (unsigned long long)h->cnt.served,
                 (unsigned long long)h->cnt.bad_requests, (unsigned long long)h->cnt.timeouts,
                 (unsigned long long)h->cnt.busy, (unsigned long long)h->cnt.send_failed);
}

void http_close(struct http_srv *h)
{
    for (size_t i = 0; i < h->n_conns; i++) {
        if (h->conn[i].state != HTTP_FREE) {
            close_conn(h, &h->conn[i]);
        }
    }
    if (h->lis_index >= 0) {
        watch(h, h->lis_index, -1);
        h->lis_index = -1;
    }
    sys_tcp_close(h->lfd);
    h->lfd = -1;
}
