/* The NTP server's decisions (RFC 5905 sections 8-9, 7.4 for KoD): for every request,
 * access control, rate limiting, and the answer built in the caller's buffer, never
 * larger than the request. Every decision has a reason, counted for the control
 * socket. Pure: the receive time and the reference are inputs; the transmit time is
 * written later by ntp_pkt_finalize() just before sending. */
#ifndef TSYNC_SRV_H
#define TSYNC_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acl.h"
#include "core/core.h"
#include "core/rlim.h"

enum srv_reason {
    SRV_ANSWERED = 0, /* mode 4 answer written */
    SRV_KOD_RATE,     /* KoD RATE written instead of an answer */
    SRV_RATE_LIMITED, /* dropped by the rate limiter */
    SRV_DENIED,       /* ACL: ignore, or noserve for a mode 3 request */
    SRV_TOO_SHORT,    /* fewer than 48 bytes */
    SRV_BAD_VERSION,  /* version 0 or above 4 */
    SRV_BAD_MODE,     /* not a client request (mode 6 comes later, mode 7 never) */
    SRV_MALFORMED,    /* bad extension fields or trailing bytes */
    SRV_REASON_COUNT,
};

/* Stable lower_snake name: "answered", "kod_rate", "rate_limited", "denied", ... */
const char *srv_reason_name(enum srv_reason r);

/* What the server tells clients about its own time. */
struct srv_reference {
    uint8_t leap;           /* enum ntp_leap; NTP_LEAP_UNSYNC with stratum 16 = none */
    uint8_t stratum;        /* 1..15, 16 unsynchronized */
    uint32_t refid;         /* network byte order value as it goes on the wire (its
                               memory bytes are the four wire bytes) */
    double root_delay;      /* seconds */
    double root_dispersion; /* seconds, valid at ref_unix_ns; grows at 15 ppm after it */
    int64_t ref_unix_ns;    /* when the reference was last updated (realtime) */
};

struct srv_config {
    int8_t precision_log2; /* measured at start-up by the daemon */
    struct acl acl;
    struct rlim_params rlim;
    bool rlim_all; /* chrony "ratelimit": limit every client; otherwise only
                      clients whose ACL flags include ACL_LIMITED */
};

struct srv_stats {
    uint64_t count[SRV_REASON_COUNT];
};

struct srv {
    struct srv_config cfg;
    struct srv_reference ref;
    bool has_ref;
    struct rlim rlim;
    struct srv_stats stats;
};

/* Copies cfg; table/n_entries are the rate-limit storage (see rlim_init). Starts with
 * no reference: answers carry leap 3 and stratum 16 until srv_set_reference. */
void srv_init(struct srv *s, const struct srv_config *cfg, struct rlim_entry *table,
              size_t n_entries, uint64_t seed);

/* Sets the reference answers are built from; NULL removes it. */
void srv_set_reference(struct srv *s, const struct srv_reference *ref);

struct srv_request {
    const uint8_t *buf;
    size_t len;
    struct core_addr from;
    int64_t rx_unix_ns; /* kernel receive stamp, or a clock reading right after recv */
    int64_t rx_mono_ns; /* monotonic reading for rate limiting */
};

/* Decides on one request. When the reason is SRV_ANSWERED or SRV_KOD_RATE, out holds
 * *out_len bytes (<= rq->len, <= out_cap) with the transmit timestamp still open;
 * otherwise *out_len is 0 and nothing is to be sent. out may equal rq->buf. The answer
 * is always the 48-byte header, so an out_cap below 48 (a caller error) drops the
 * request as SRV_TOO_SHORT without touching the rate limiter. */
enum srv_reason srv_answer(struct srv *s, const struct srv_request *rq, uint8_t *out,
                           size_t out_cap, size_t *out_len);

#endif
