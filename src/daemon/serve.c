/* Server loop body: sys delivers datagrams with stamps, the core decides, sys sends.
 * This file converts between the two (addresses, times) and owns no policy: access,
 * rate limits and the answer itself are srv_answer's (src/core/srv.c), and for mode 6
 * queries m6_check's and m6_respond's (src/core/m6.c). */
#include "daemon/serve.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"
#include "sys/sys_clock.h"
#include "sys/sys_log.h"

int serve_init(struct serve *s, const struct cfg *c, int8_t precision_log2, uint64_t seed)
{
    struct srv_config sc;

    memset(s, 0, sizeof(*s));
    s->rlim_table = calloc(SERVE_RLIM_ENTRIES, sizeof(*s->rlim_table));
    s->batch = calloc(1, sizeof(*s->batch));
    s->m6_rlim_table = calloc(SERVE_M6_RLIM_ENTRIES, sizeof(*s->m6_rlim_table));
    s->m6_view = calloc(1, sizeof(*s->m6_view));
    s->m6_resp = calloc(1, sizeof(*s->m6_resp));
    s->m6_batch = calloc(1, sizeof(*s->m6_batch));
    if (s->rlim_table == NULL || s->batch == NULL || s->m6_rlim_table == NULL ||
        s->m6_view == NULL || s->m6_resp == NULL || s->m6_batch == NULL) {
        serve_close(s);
        return -ENOMEM;
    }
    memset(&sc, 0, sizeof(sc));
    sc.precision_log2 = precision_log2;
    sc.acl = c->acl;
    sc.rlim = c->rlim;
    sc.rlim_all = c->ratelimit_all;
    srv_init(&s->srv, &sc, s->rlim_table, SERVE_RLIM_ENTRIES, seed);
    /* Its own hash key: knowing one table's collisions tells nothing about the other. */
    m6_server_init(&s->m6, &c->query_acl, &c->acl, s->m6_rlim_table, SERVE_M6_RLIM_ENTRIES,
                   seed ^ UINT64_C(0x6d6f646536717279));
    return 0;
}

void serve_set_query_provider(struct serve *s, serve_query_fn fn, void *ctx)
{
    s->query_fn = fn;
    s->query_ctx = ctx;
}

/* Opens one socket on addr:port and logs it. */
static int open_one(struct serve *s, const struct core_addr *addr, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = netaddr_to_sockaddr(addr, port, &ss);
    struct serve_socket *sk = &s->sock[s->n_sock];
    int r;

    netaddr_format((struct sockaddr *)&ss, sk->name, sizeof(sk->name));
    if (len == 0) {
        return -EAFNOSUPPORT;
    }
    r = sys_udp_open(&sk->udp, (struct sockaddr *)&ss, len);
    if (r != 0) {
        return r;
    }
    s->n_sock++;
    sys_log_debug("NTP server socket on %s, fd %d", sk->name, sk->udp.fd);
    if (!sk->udp.rx_stamps) {
        sys_log_warning("no kernel receive timestamps on %s: using a clock reading after "
                        "each receive",
                        sk->name);
    }
    return 0;
}

static void wildcard(struct core_addr *a, uint8_t family)
{
    memset(a, 0, sizeof(*a));
    a->family = family;
}

/* No bindaddress: IPv4 and IPv6 wildcards. IPv6 is a bonus: a host without it (or a
 * simulator that only models IPv4, such as clknetsim, which answers EINVAL) keeps
 * serving IPv4, as chronyd does; only a port already taken is an error. */
static int open_wildcards(struct serve *s, uint16_t port)
{
    struct core_addr a;
    int r;

    wildcard(&a, CORE_AF_INET);
    r = open_one(s, &a, port);
    if (r != 0) {
        sys_log_err("cannot open NTP server socket on 0.0.0.0:%u: %s", (unsigned)port,
                    strerror(-r));
        return r;
    }
    wildcard(&a, CORE_AF_INET6);
    r = open_one(s, &a, port);
    if (r != 0 && r != -EADDRINUSE && r != -EACCES) {
        sys_log_warning("no IPv6 NTP server socket on [::]:%u: %s; serving IPv4 only",
                        (unsigned)port, strerror(-r));
        return 0;
    }
    if (r != 0) {
        sys_log_err("cannot open NTP server socket on [::]:%u: %s", (unsigned)port, strerror(-r));
    }
    return r;
}

int serve_open_sockets(struct serve *s, const struct cfg *c)
{
    if (c->port == 0) {
        sys_log_notice("port 0: no NTP server socket");
        return 0;
    }
    if (c->n_bind == 0) {
        return open_wildcards(s, c->port);
    }
    for (size_t i = 0; i < c->n_bind && i < CFG_MAX_BIND; i++) {
        int r = open_one(s, &c->bind[i], c->port);
        if (r != 0) {
            sys_log_err("cannot open NTP server socket on %s: %s", s->sock[s->n_sock].name,
                        strerror(-r));
            return r;
        }
    }
    return 0;
}

int serve_open_loopback(struct serve *s, uint16_t port)
{
    struct core_addr a;
    int opened = 0;

    wildcard(&a, CORE_AF_INET);
    a.bytes[0] = 127;
    a.bytes[3] = 1;
    for (int i = 0; i < 2; i++) {
        int r = open_one(s, &a, port);
        if (r == 0) {
            opened++;
        } else {
            sys_log_warning("no NTP socket on %s port %u for local queries: %s",
                            i == 0 ? "127.0.0.1" : "::1", (unsigned)port, strerror(-r));
        }
        wildcard(&a, CORE_AF_INET6);
        a.bytes[15] = 1;
    }
    return opened;
}

/* The view of the daemon that mode 6 answers show. */
static void fill_query_view(struct serve *s)
{
    if (s->query_fn != NULL) {
        s->query_fn(s->query_ctx, s->m6_view);
        return;
    }
    memset(s->m6_view, 0, sizeof(*s->m6_view));
    s->m6_view->sys.leap = 3;
    s->m6_view->sys.stratum = 16;
}

/* Sends the fragments of s->m6_resp to the sender of req, from the address it asked on.
 * They go out at once, before the batch's time answers: no timestamp is written in
 * them, so there is nothing to finalize. */
static void send_fragments(struct serve *s, struct serve_socket *sk, const struct sys_udp_slot *req)
{
    struct sys_udp_batch *b = s->m6_batch;
    size_t n = m6_fragment_count(s->m6_resp);
    int err = 0;

    for (size_t i = 0; i < n && i < SYS_UDP_BATCH; i++) {
        struct sys_udp_slot *out = &b->slot[i];
        out->len = m6_fragment(s->m6_resp, i, out->buf, sizeof(out->buf));
        out->peer = req->peer;
        out->peer_len = req->peer_len;
        out->local = req->local;
    }
    int sent = sys_udp_send_batch(&sk->udp, b, n, &err);
    s->cnt.sent += (uint64_t)sent;
    s->cnt.send_failed += n - (size_t)sent;
}

/* A mode 6 or 7 datagram: dropped and counted, or answered in fragments by the core's
 * m6 (only to admitted addresses, so an answer larger than the request never goes to a
 * spoofed victim outside the query ACL). */
static void answer_control(struct serve *s, struct serve_socket *sk,
                           const struct sys_udp_slot *slot, const struct core_addr *from,
                           int64_t mono_ns)
{
    struct m6_request rq;

    if (m6_check(&s->m6, from, slot->buf, slot->len, mono_ns, &rq) != M6_ANSWERED) {
        return;
    }
    fill_query_view(s);
    m6_respond(&rq, s->m6_view, s->m6_resp);
    m6_count(&s->m6, s->m6_resp);
    send_fragments(s, sk, slot);
}

/* Decides on slot i; leaves slot->len as the reply length (0: nothing to send). */
static void answer_slot(struct serve *s, struct serve_socket *sk, struct sys_udp_slot *slot,
                        int64_t mono_ns)
{
    struct srv_request rq;
    size_t out_len = 0;

    if (slot->truncated) {
        s->cnt.truncated++;
        slot->len = 0;
        return;
    }
    memset(&rq, 0, sizeof(rq));
    if (!netaddr_from_sockaddr((struct sockaddr *)&slot->peer, slot->peer_len, &rq.from)) {
        s->cnt.bad_address++;
        slot->len = 0;
        return;
    }
    if (m6_is_control(slot->buf, slot->len)) {
        answer_control(s, sk, slot, &rq.from, mono_ns);
        slot->len = 0;
        return;
    }
    s->cnt.rx_fallback += !slot->rx_kernel;
    rq.buf = slot->buf;
    rq.len = slot->len;
    rq.rx_unix_ns = slot->rx_unix_ns;
    rq.rx_mono_ns = mono_ns;
    /* In place: srv_answer allows out == rq.buf and never grows the packet. */
    (void)srv_answer(&s->srv, &rq, slot->buf, sizeof(slot->buf), &out_len);
    slot->len = out_len <= sizeof(slot->buf) ? out_len : 0;
}

/* Second phase (STYLE.md rule 5): one transmit time for the batch, read last. */
static void finalize_and_send(struct serve *s, struct serve_socket *sk, size_t n)
{
    struct sys_udp_batch *b = s->batch;
    uint64_t tx_ts = ntp_ts_from_unix_ns(sys_clock_realtime_ns());
    int err = 0;
    size_t want = 0;

    for (size_t i = 0; i < n; i++) {
        if (b->slot[i].len >= NTP_HEADER_LEN) {
            ntp_pkt_finalize(b->slot[i].buf, b->slot[i].len, tx_ts);
            want++;
        } else {
            b->slot[i].len = 0; /* never send something shorter than a header */
        }
    }
    int sent = sys_udp_send_batch(&sk->udp, b, n, &err);
    s->cnt.sent += (uint64_t)sent;
    s->cnt.send_failed += want - (size_t)sent;
    if (err != 0 && !s->send_error_logged) {
        sys_log_warning("cannot send NTP reply from %s: %s (further send errors are only "
                        "counted)",
                        sk->name, strerror(-err));
        s->send_error_logged = true;
    }
}

/* One batch: returns how many datagrams were read (0 when the socket is drained). */
static int serve_batch(struct serve *s, struct serve_socket *sk)
{
    struct sys_udp_batch *b = s->batch;
    int n = sys_udp_recv_batch(&sk->udp, b);
    bool any_reply = false;

    if (n <= 0) {
        if (n != -EAGAIN) {
            sys_log_debug("receive on %s: %s", sk->name, strerror(-n));
        }
        return 0;
    }
    /* One monotonic reading per batch is enough for rate limiting (DESIGN.md). */
    int64_t mono_ns = sys_clock_monotonic_ns();
    s->cnt.received += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        answer_slot(s, sk, &b->slot[i], mono_ns);
        any_reply = any_reply || b->slot[i].len > 0;
    }
    if (any_reply) {
        finalize_and_send(s, sk, (size_t)n);
    }
    return n;
}

void serve_handle_readable(struct serve *s, size_t i)
{
    if (i >= s->n_sock) {
        return;
    }
    for (int k = 0; k < SERVE_BATCHES_PER_WAKE; k++) {
        /* A short batch means the queue is empty: no need to ask for EAGAIN. */
        if (serve_batch(s, &s->sock[i]) < SYS_UDP_BATCH) {
            break;
        }
    }
}

void serve_log_stats(const struct serve *s)
{
    char line[SYS_LOG_LINE_MAX];
    size_t off = 0;

    for (int r = 0; r < SRV_REASON_COUNT && off < sizeof(line); r++) {
        int n = snprintf(line + off, sizeof(line) - off, "%s%s=%llu", r == 0 ? "" : " ",
                         srv_reason_name((enum srv_reason)r),
                         (unsigned long long)s->srv.stats.count[r]);
        off += n > 0 ? (size_t)n : 0;
    }
    sys_log_info("server requests: %s", line);
    sys_log_info("server datagrams: received=%llu sent=%llu send_failed=%llu truncated=%llu "
                 "bad_address=%llu no_kernel_stamp=%llu",
                 (unsigned long long)s->cnt.received, (unsigned long long)s->cnt.sent,
                 (unsigned long long)s->cnt.send_failed, (unsigned long long)s->cnt.truncated,
                 (unsigned long long)s->cnt.bad_address, (unsigned long long)s->cnt.rx_fallback);
    off = 0;
    for (int r = 0; r < M6_REASON_COUNT && off < sizeof(line); r++) {
        int n =
            snprintf(line + off, sizeof(line) - off, "%s%s=%llu", r == 0 ? "" : " ",
                     m6_reason_name((enum m6_reason)r), (unsigned long long)s->m6.stats.count[r]);
        off += n > 0 ? (size_t)n : 0;
    }
    sys_log_info("mode 6 queries: %s", line);
}

void serve_close(struct serve *s)
{
    for (size_t i = 0; i < s->n_sock; i++) {
        sys_udp_close(&s->sock[i].udp);
    }
    s->n_sock = 0;
    free(s->batch);
    free(s->rlim_table);
    free(s->m6_batch);
    free(s->m6_resp);
    free(s->m6_view);
    free(s->m6_rlim_table);
    s->batch = NULL;
    s->rlim_table = NULL;
    s->m6_batch = NULL;
    s->m6_resp = NULL;
    s->m6_view = NULL;
    s->m6_rlim_table = NULL;
}
