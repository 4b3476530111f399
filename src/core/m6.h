/* NTP mode 6 control messages, read-only (RFC 9327, RFC 1305 appendix B): enough for
 * NTPsec's ntpq -p/-c rv/-c as and the monitoring plugins. Access (query ACL, restrict
 * noquery/ignore), rate limiting, request parsing, the READSTAT/READVAR answers built
 * from plain structs, and their fragments. Pure: no clock, no socket, no formatting
 * library; what the daemon knows arrives as a struct m6_view. Never writes anything. */
#ifndef TSYNC_M6_H
#define TSYNC_M6_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acl.h"
#include "core/core.h"
#include "core/rlim.h"

#define M6_HEADER_LEN 12
/* ntpd's data limit per fragment (CTL_MAX_DATA_LEN); a multiple of 4, so every fragment
 * but the last needs no padding and offsets stay aligned. */
#define M6_FRAG_DATA_MAX 468
#define M6_FRAG_MAX      (M6_HEADER_LEN + M6_FRAG_DATA_MAX)
/* One answer spans at most this many fragments (the largest we build is far smaller). */
#define M6_MAX_FRAGS    8
#define M6_RESPONSE_MAX (M6_FRAG_DATA_MAX * M6_MAX_FRAGS)
#define M6_MAX_ASSOC    64  /* associations in a view (the engine's source slots) */
#define M6_NAME_MAX     256 /* host name of an association, NUL included */
#define M6_VERSION_MAX  64  /* the "version" system variable, NUL included */

/* Rate limit for queries (chrony's cmdratelimit model): 16 per second on average with
 * bursts of 128, so "ntpq -p" on a daemon with all 64 slots in use (65 requests back to
 * back) passes, while a flood from an admitted address costs little. Limited requests
 * are dropped, none is leaked: the answer carries no time a client would miss. */
#define M6_RLIM_INTERVAL_LOG2 (-4)
#define M6_RLIM_BURST         128

/* Opcodes (RFC 9327 section 2.1). Only READSTAT and READVAR are served. */
enum m6_opcode {
    M6_OP_READSTAT = 1,
    M6_OP_READVAR = 2,
    M6_OP_WRITEVAR = 3,
    M6_OP_READCLOCK = 4,
    M6_OP_WRITECLOCK = 5,
    M6_OP_SETTRAP = 6,
    M6_OP_ASYNCMSG = 7,
    M6_OP_CONFIGURE = 8,
    M6_OP_SAVECONFIG = 9,
    M6_OP_UNSETTRAP = 31,
};

/* Error codes sent in the high byte of the status word with the E bit. */
enum m6_error {
    M6_ERR_NONE = 0,
    M6_ERR_PERMISSION = 1, /* writes: this server is read-only */
    M6_ERR_BADFMT = 2,     /* count beyond the datagram, offset or more bit in a request */
    M6_ERR_BADOP = 3,      /* opcode not served */
    M6_ERR_BADASSOC = 4,   /* no such association */
    M6_ERR_UNKNOWNVAR = 5, /* a requested variable is not known */
    M6_ERR_BADVALUE = 6,
};

/* What happened to one mode 6 or mode 7 datagram; counted in m6_stats. */
enum m6_reason {
    M6_ANSWERED = 0,  /* variables or status list sent */
    M6_ERROR_SENT,    /* an error response sent (bad opcode, association, variable...) */
    M6_DENIED,        /* query ACL, restrict noquery/ignore: dropped silently */
    M6_RATE_LIMITED,  /* dropped by the query rate limiter */
    M6_MALFORMED,     /* shorter than the header, bad version, a response: dropped */
    M6_MODE7_DROPPED, /* ntpdc's private mode 7: never answered */
    M6_REASON_COUNT,
};

/* Stable lower_snake name: "answered", "error_sent", "denied", "rate_limited",
 * "malformed", "mode7_dropped". */
const char *m6_reason_name(enum m6_reason r);

struct m6_request {
    uint8_t version; /* 1..4, echoed */
    uint8_t opcode;  /* 0..31 */
    uint16_t sequence;
    uint16_t status;
    uint16_t associd;
    uint16_t offset;
    bool more;           /* M bit: a request in fragments (not supported) */
    const uint8_t *data; /* count bytes inside the datagram, or NULL when count is 0 */
    size_t count;
    bool count_too_big; /* count claimed more bytes than the datagram holds */
};

/* The daemon's state as mode 6 shows it. Times are Unix nanoseconds (realtime), 0 =
 * unknown; offsets and jitters are seconds (offset: to add to the local clock). */
struct m6_system {
    uint8_t leap;    /* 0..3 */
    uint8_t stratum; /* 1..16 */
    int8_t precision_log2;
    bool synced;
    uint32_t refid; /* wire bytes in memory (as eng_status.refid) */
    double root_delay, root_dispersion;
    int64_t ref_unix_ns;
    int64_t clock_unix_ns; /* now */
    uint16_t peer_associd; /* the system peer, 0 none */
    int poll_log2;         /* the system peer's poll ("tc"), -128 unknown */
    double offset;
    double sys_jitter; /* the system peer's jitter */
    double freq_ppm;   /* frequency correction applied */
    double wander_ppm; /* uncertainty of the frequency estimate ("clk_wander") */
    double bound;      /* maximum error of the clock (s) */
    char version[M6_VERSION_MAX];
};

enum m6_assoc_kind {
    M6_KIND_SERVER = 0,
    M6_KIND_POOL = 1,        /* a pool line itself: a name, no address */
    M6_KIND_POOL_MEMBER = 2, /* one address the pool resolved to */
};

struct m6_assoc {
    uint16_t associd; /* nonzero, unique in the view */
    uint8_t kind;     /* enum m6_assoc_kind */
    char name[M6_NAME_MAX];
    struct core_addr addr; /* family 0 while unresolved */
    char tally;            /* ntpq tally: '*' '+' '-' 'x' '#' '.' 'o' or ' ' */
    uint8_t stratum, leap, reach;
    uint32_t refid; /* wire bytes in memory */
    int poll_log2;
    double offset, delay, jitter; /* s */
    int64_t rec_unix_ns;          /* last reply received, 0 = never */
};

struct m6_view {
    struct m6_system sys;
    size_t n_assoc;
    struct m6_assoc assoc[M6_MAX_ASSOC];
};

struct m6_response {
    uint8_t version, opcode, leap;
    uint16_t sequence, associd, status;
    uint8_t error; /* enum m6_error; the data is empty when set */
    size_t len;    /* bytes in data */
    uint8_t data[M6_RESPONSE_MAX];
};

struct m6_stats {
    uint64_t count[M6_REASON_COUNT];
};

/* Access and rate limiting for queries. */
struct m6_server {
    struct acl query;        /* cmdallow/cmddeny: admitted unless the lookup says ignore */
    struct acl restrict_acl; /* the server's allow/deny/restrict plus a flag-less
                                catch-all: only a rule containing the address refuses */
    struct rlim rlim;
    struct m6_stats stats;
};

/* Copies the two tables; table/n_entries are the rate-limit storage (rlim_init). An
 * address is admitted when query admits it and no rule of server_acl that contains it
 * carries ignore or noquery. */
void m6_server_init(struct m6_server *m, const struct acl *query, const struct acl *server_acl,
                    struct rlim_entry *table, size_t n_entries, uint64_t seed);

/* True for mode 6 and mode 7 datagrams (the first byte's mode), which go to m6_check
 * instead of the time server. */
bool m6_is_control(const uint8_t *buf, size_t len);

/* Decides on one mode 6/7 datagram from `from` at monotonic time mono_ns: mode 7 is
 * dropped, then access, rate limit and the header are checked. M6_ANSWERED means "to be
 * answered": rq is filled (pointing into buf) for m6_respond. Anything else is dropped
 * and counted here; for M6_ANSWERED the caller counts the outcome with m6_count. */
enum m6_reason m6_check(struct m6_server *m, const struct core_addr *from, const uint8_t *buf,
                        size_t len, int64_t mono_ns, struct m6_request *rq);

/* Counts what m6_respond produced: M6_ERROR_SENT when r->error is set, else M6_ANSWERED. */
void m6_count(struct m6_server *m, const struct m6_response *r);

/* Parses a datagram into rq. Returns false (rq unusable) when it is not a well-formed
 * mode 6 request: shorter than the header, version 0 or above 4, mode not 6, or the R
 * bit set (never answer a response: two servers would bounce it forever). */
bool m6_parse_request(const uint8_t *buf, size_t len, struct m6_request *rq);

/* Builds the answer to rq from v in r (every field written): READSTAT lists (associd,
 * status word) pairs, READVAR the requested or default variables as "name=value" text;
 * anything else an error. */
void m6_respond(const struct m6_request *rq, const struct m6_view *v, struct m6_response *r);

/* Number of fragments r is sent in (at least 1). */
size_t m6_fragment_count(const struct m6_response *r);

/* Writes fragment i of r into out (cap >= M6_FRAG_MAX is always enough): header with the
 * more bit and byte offset, data, zero padding to a multiple of 4 bytes. Returns its
 * length, 0 when i is out of range or cap too small. */
size_t m6_fragment(const struct m6_response *r, size_t i, uint8_t *out, size_t cap);

/* Status words (RFC 9327 section 2.2): the system's, and one association's (its
 * selection code from the tally gives ntpq's tally character back). */
uint16_t m6_system_status(const struct m6_system *s);
uint16_t m6_peer_status(const struct m6_assoc *a);

#endif
