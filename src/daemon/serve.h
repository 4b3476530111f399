/* The NTP server path of tsyncd: the sockets from the config, batches of requests read
 * with kernel stamps, each handed to the core's srv_answer with its address converted,
 * the replies finalized with one transmit time read just before the batch is sent.
 * The reference the answers carry is not decided here: the engine's ACT_REFERENCE
 * reaches srv_set_reference(&serve.srv) through the driver (drv.c), "local stratum N"
 * included. Storage is allocated once in serve_init; nothing is allocated per packet. */
#ifndef TSYNC_SERVE_H
#define TSYNC_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/m6.h"
#include "core/srv.h"
#include "daemon/cfg.h"
#include "daemon/netaddr.h"
#include "sys/sys_udp.h"

/* Rate-limit table slots: 8192 x 24 bytes = 192 KiB, a fixed cost well under chronyd's
 * default client log limit (clientloglimit, 512 KiB) while tracking thousands of
 * active clients before the least recently seen are reused. */
#define SERVE_RLIM_ENTRIES 8192

/* Rate-limit slots for mode 6 queries (m6.h): only admitted addresses reach them, by
 * default this host alone, so a small table is plenty. */
#define SERVE_M6_RLIM_ENTRIES 256

/* Batches read from one socket per wake-up before the others (and signals) get a turn:
 * 4 x 64 datagrams keeps a flood on one address from starving the rest. */
#define SERVE_BATCHES_PER_WAKE 4

struct serve_socket {
    struct sys_udp udp;
    char name[NETADDR_TEXT_LEN];
};

/* Counters kept by the daemon around the core's own (srv.stats). */
struct serve_counters {
    uint64_t received;    /* datagrams read */
    uint64_t sent;        /* replies the kernel accepted */
    uint64_t send_failed; /* replies the kernel refused */
    uint64_t truncated;   /* datagrams longer than SYS_UDP_DGRAM_MAX, dropped */
    uint64_t bad_address; /* source address of an unknown family, dropped */
    uint64_t rx_fallback; /* no kernel stamp: a clock reading after recv was used */
};

/* Fills the view mode 6 answers from (daemon/m6_view.h has the engine's). */
typedef void (*serve_query_fn)(void *ctx, struct m6_view *view);

struct serve {
    struct srv srv;
    struct m6_server m6; /* mode 6 access, rate limit and counters (m6.stats) */
    struct rlim_entry *m6_rlim_table;
    struct m6_view *m6_view;
    struct m6_response *m6_resp;
    struct sys_udp_batch *m6_batch; /* the fragments of one answer */
    serve_query_fn query_fn;
    void *query_ctx;
    struct rlim_entry *rlim_table;
    struct sys_udp_batch *batch;
    struct serve_socket sock[CFG_MAX_BIND + 1];
    size_t n_sock;
    struct serve_counters cnt;
    bool send_error_logged;
};

/* Sets up the server from the config: allocates the rate-limit table and the batch,
 * initializes the core's srv with precision_log2 and seed, without a reference (answers
 * say leap 3, stratum 16 until one is set on s->srv). No sockets yet. Returns 0 or
 * -ENOMEM. */
int serve_init(struct serve *s, const struct cfg *c, int8_t precision_log2, uint64_t seed);

/* Sets where mode 6 answers get their values; until then (or with fn NULL) they show an
 * unsynchronized system without associations. ctx is passed to fn. */
void serve_set_query_provider(struct serve *s, serve_query_fn fn, void *ctx);

/* Opens the sockets: one per bindaddress, or 0.0.0.0 and :: when there is none (a
 * missing IPv6 stack is then only a warning); none with port 0. Logs each socket, and
 * on failure names the address and the error. Returns 0 or the first -errno. */
int serve_open_sockets(struct serve *s, const struct cfg *c);

/* Sockets on 127.0.0.1 and ::1 only, for a configuration that admits no NTP client but
 * local queries (ntpq, the monitoring plugins): a failure is a warning, not an error.
 * Returns how many were opened. */
int serve_open_loopback(struct serve *s, uint16_t port);

/* Reads and answers up to SERVE_BATCHES_PER_WAKE batches from socket i. Mode 6 queries
 * are answered at once (in fragments), mode 7 is dropped; both are counted in m6.stats. */
void serve_handle_readable(struct serve *s, size_t i);

/* Logs the counters: the core's per reason and the daemon's own. */
void serve_log_stats(const struct serve *s);

/* Closes the sockets and frees the storage. */
void serve_close(struct serve *s);

#endif
