/* tsyncd's Prometheus endpoint (`metrics ADDR:PORT`): a listening TCP socket and up to
 * HTTP_MAX_CONNS connections on the daemon's poll loop, one request each (http_req.c),
 * answered without blocking and closed; every connection has a deadline, so no peer can
 * hold up the daemon. The body is written by src/metrics from the control socket's read
 * views (ctl_views.c), the same code and values as `tsync metrics`. */
#ifndef TSYNC_HTTP_H
#define TSYNC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "daemon/ctl_views.h"
#include "daemon/http_req.h"
#include "daemon/netaddr.h"
#include "sys/sys_loop.h"

#define HTTP_MAX_CONNS  4            /* connections served at once (more: closed) */
#define HTTP_TIMEOUT_S  5            /* for the request, and again for the answer */
#define HTTP_LINGER_MS  1000         /* reading what a peer still sends, after the answer */
#define HTTP_LINGER_MAX (64 * 1024)  /* ...and at most this much of it */
#define HTTP_RETRY_MS   20           /* while an answer waits for room in the socket */
#define HTTP_BODY_MAX   (512 * 1024) /* the metrics of 64 sources take about 40 KiB */

enum http_conn_state { HTTP_FREE, HTTP_READING, HTTP_SENDING, HTTP_LINGERING };

struct http_conn {
    enum http_conn_state state;
    int fd;
    int loop_index;
    int64_t deadline_mono_ns;
    size_t in_len;
    size_t drained; /* bytes discarded while lingering */
    char in[HTTP_REQ_MAX];
    char *out; /* the answer while it is being sent (heap) */
    size_t out_len, out_off;
};

struct http_counters {
    uint64_t accepted, served, bad_requests, timeouts, busy, send_failed;
};

/* What the endpoint reads: the views' inputs, filled at each request. */
struct http_ops {
    void *ctx;
    void (*view_input)(void *ctx, struct ctl_view_in *in);
};

struct http_srv {
    int lfd; /* -1 when closed */
    int lis_index;
    char name[NETADDR_TEXT_LEN]; /* "127.0.0.1:9123", for logs */
    struct sys_loop *loop;
    struct http_ops ops;
    size_t n_conns; /* connection slots with a reserved loop index */
    struct http_conn conn[HTTP_MAX_CONNS];
    struct http_counters cnt;
};

/* Listens on addr (its port included) and reserves loop slots: the listener and up to
 * HTTP_MAX_CONNS connections, leaving room for the control socket. Returns 0 or -errno
 * (logged). */
int http_open(struct http_srv *h, const struct core_addr *addr, struct sys_loop *loop,
              const struct http_ops *ops);

/* The port listened on (host order), or -errno. */
int http_port(const struct http_srv *h);

/* Poll timeout in ms for the next deadline or send retry; -1 for none. */
int http_timeout_ms(const struct http_srv *h, int64_t now_mono_ns);

/* After sys_loop_wait: accepts, reads, answers, retries sends and closes what is due. */
void http_after_wait(struct http_srv *h);

/* Logs the counters (at exit). */
void http_log_stats(const struct http_srv *h);

/* Closes the connections and the listener. */
void http_close(struct http_srv *h);

/* The metrics text of the views read from in, in a heap buffer (*text, free it). Returns
 * its length, or -1 when it cannot be made (out of memory, over HTTP_BODY_MAX). */
long http_metrics_text(const struct ctl_view_in *in, char **text);

/* The whole answer (status line, header fields, body) to a decided request, in a heap
 * buffer (*out, free it); for HTTP_REQ_OK the body is the metrics text of in. Returns its
 * length or -1 (out of memory). */
long http_answer(const struct http_req *req, const struct ctl_view_in *in, char **out);

#endif
