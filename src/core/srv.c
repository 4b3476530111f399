/* The NTP server's decisions: access control, request checks, rate limiting and the
 * 48-byte mode 4 answer or KoD RATE, built in the caller's buffer (RFC 5905 sections
 * 7-9, 7.4 for KoD). Pure: receive times and the reference are inputs, the transmit
 * timestamp is left for ntp_pkt_finalize(); every decision is returned and counted. */
#include "core/srv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntp/ntp_ext.h"
#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

/* RFC 5905 section 7.2: TOLERANCE (PHI), the frequency tolerance at which dispersion
 * grows. */
#define PHI 15e-6
/* RFC 5905 section 7.2: MAXPOLL 17; a poll below 0 (1 s) is never echoed. */
#define POLL_MIN       0
#define POLL_MAX       17
#define STRATUM_UNSYNC 16
/* The kiss code "RATE" as a host-order value of its four ASCII bytes (section 7.4). */
#define KISS_RATE UINT32_C(0x52415445)
#define NS_PER_S  1e9

const char *srv_reason_name(enum srv_reason r)
{
    switch (r) {
    case SRV_ANSWERED:
        return "answered";
    case SRV_KOD_RATE:
        return "kod_rate";
    case SRV_RATE_LIMITED:
        return "rate_limited";
    case SRV_DENIED:
        return "denied";
    case SRV_TOO_SHORT:
        return "too_short";
    case SRV_BAD_VERSION:
        return "bad_version";
    case SRV_BAD_MODE:
        return "bad_mode";
    case SRV_MALFORMED:
        return "malformed";
    case SRV_REASON_COUNT:
        break;
    }
    return "unknown";
}

void srv_init(struct srv *s, const struct srv_config *cfg, struct rlim_entry *table,
              size_t n_entries, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->has_ref = false;
    rlim_init(&s->rlim, &cfg->rlim, table, n_entries, seed);
}

void srv_set_reference(struct srv *s, const struct srv_reference *ref)
{
    if (ref == NULL) {
        s->has_ref = false;
        return;
    }
    s->ref = *ref;
    s->ref.leap &= 3;
    /* Stratum 0 on the wire would turn every answer into a kiss code (section 7.4), and
     * stratum 16 means unsynchronized whatever the leap bits say (section 7.3). */
    if (s->ref.stratum == 0 || s->ref.stratum >= STRATUM_UNSYNC) {
        s->ref.stratum = STRATUM_UNSYNC;
        s->ref.leap = NTP_LEAP_UNSYNC;
    }
    s->has_ref = true;
}

static int clamp_poll(int poll)
{
    if (poll < POLL_MIN) {
        return POLL_MIN;
    }
    return poll > POLL_MAX ? POLL_MAX : poll;
}

/* NTPv1 (RFC 1059) had no client mode: ntpd reads version 1 with mode 0 as a client. */
static bool is_client_request(const struct ntp_header *h)
{
    return h->mode == NTP_MODE_CLIENT || (h->version == 1 && h->mode == NTP_MODE_RESERVED);
}

/* Extension fields (RFC 7822) or a legacy MAC may follow the header; anything else that
 * does not parse is malformed. Neither is echoed: the answer is the bare header. */
static bool has_valid_trailer(const struct srv_request *rq)
{
    if (rq->len == NTP_HEADER_LEN) {
        return true;
    }
    enum ntp_ext_status st = ntp_ext_validate(rq->buf, rq->len);
    return st == NTP_EXT_END || st == NTP_EXT_MAC;
}

/* Seconds from a to b, 0 when b is not later; no signed overflow for any readings. */
static double seconds_after(int64_t a_ns, int64_t b_ns)
{
    if (b_ns <= a_ns) {
        return 0.0;
    }
    return (double)((uint64_t)b_ns - (uint64_t)a_ns) / NS_PER_S;
}

/* srv_reference.refid is kept as its wire bytes (network order in memory, as memcpy'd
 * from an IPv4 address or four ASCII characters); ntp_header wants the host-order value. */
static uint32_t refid_host_order(uint32_t wire_refid)
{
    uint8_t b[4];

    memcpy(b, &wire_refid, sizeof(b));
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* RFC 5905 section 8, server side: origin is the client's transmit timestamp, receive
 * our receive time, transmit left open for ntp_pkt_finalize(). The reference fields are
 * those of section 7.3, root dispersion grown by PHI since the reference was set. */
static void fill_answer(const struct srv *s, const struct ntp_header *rqh,
                        const struct srv_request *rq, struct ntp_header *h)
{
    memset(h, 0, sizeof(*h));
    h->version = rqh->version;
    h->mode = NTP_MODE_SERVER;
    h->poll = (int8_t)clamp_poll(rqh->poll);
    h->precision = s->cfg.precision_log2;
    h->origin_ts = rqh->tx_ts;
    h->rx_ts = ntp_ts_from_unix_ns(rq->rx_unix_ns);
    if (!s->has_ref) {
        /* ntpd's unsynchronized answer: clients see leap 3 and stratum 16 and skip us. */
        h->leap = NTP_LEAP_UNSYNC;
        h->stratum = STRATUM_UNSYNC;
        return;
    }
    const struct srv_reference *ref = &s->ref;
    double disp = ref->root_dispersion + PHI * seconds_after(ref->ref_unix_ns, rq->rx_unix_ns);
    h->leap = ref->leap;
    h->stratum = ref->stratum;
    h->refid = refid_host_order(ref->refid);
    h->root_delay = ntp_short_from_seconds(ref->root_delay);
    h->root_dispersion = ntp_short_from_seconds(disp);
    h->ref_ts = ntp_ts_from_unix_ns(ref->ref_unix_ns);
}

/* KoD RATE (RFC 5905 section 7.4): stratum 0 with the kiss code as refid; leap 3 as
 * ntpd sends. Origin echoes the request so the client's origin check (section 8)
 * accepts it; receive, reference, root delay and dispersion stay 0 so the packet gives
 * no time to synchronize to (as ntpd, which reveals no local time in a KoD). The poll
 * asks for at least the rate we allow and at least one step slower than the client. */
static void fill_kod(const struct srv *s, const struct ntp_header *rqh, struct ntp_header *h)
{
    int slower = clamp_poll(rqh->poll) + 1;
    int allowed = s->rlim.p.interval_log2;

    memset(h, 0, sizeof(*h));
    h->leap = NTP_LEAP_UNSYNC;
    h->version = rqh->version;
    h->mode = NTP_MODE_SERVER;
    h->stratum = 0;
    h->poll = (int8_t)clamp_poll(slower > allowed ? slower : allowed);
    h->precision = s->cfg.precision_log2;
    h->refid = KISS_RATE;
    h->origin_ts = rqh->tx_ts;
}

/* The KoD fraction for this client: ntpd's restrict "kod" grants it per client (the
 * configured fraction, or 1 in 2 when none is set); chrony's "ratelimit ... kod N"
 * applies to every client. ntpd's "limited" without "kod" never sends one. */
static int kod_log2_for(const struct srv *s, uint32_t flags)
{
    if ((flags & ACL_KOD) != 0) {
        return s->rlim.p.kod_log2 > 0 ? s->rlim.p.kod_log2 : 1;
    }
    return s->cfg.rlim_all ? s->rlim.p.kod_log2 : 0;
}

/* Header checks in the order of their cost; ACL ignore comes first so that a denied
 * source costs one lookup. SRV_ANSWERED here means "to be served". */
static enum srv_reason check_request(const struct srv_request *rq, uint32_t flags,
                                     struct ntp_header *rqh)
{
    if ((flags & ACL_IGNORE) != 0) {
        return SRV_DENIED;
    }
    enum ntp_decode_status st = ntp_header_decode(rq->buf, rq->len, rqh);
    if (st == NTP_DECODE_BAD_VERSION) {
        return SRV_BAD_VERSION;
    }
    if (st != NTP_DECODE_OK) {
        return SRV_TOO_SHORT;
    }
    if (!is_client_request(rqh)) {
        return SRV_BAD_MODE;
    }
    if ((flags & ACL_NOSERVE) != 0) {
        return SRV_DENIED;
    }
    return has_valid_trailer(rq) ? SRV_ANSWERED : SRV_MALFORMED;
}

static enum srv_reason decide(struct srv *s, const struct srv_request *rq, uint8_t *out,
                              size_t out_cap, size_t *out_len)
{
    if (rq->buf == NULL || rq->len < NTP_HEADER_LEN || out == NULL || out_cap < NTP_HEADER_LEN) {
        return SRV_TOO_SHORT;
    }
    uint32_t flags = acl_lookup(&s->cfg.acl, &rq->from);
    struct ntp_header rqh;
    enum srv_reason why = check_request(rq, flags, &rqh);
    if (why != SRV_ANSWERED) {
        return why;
    }

    enum rlim_verdict verdict = RLIM_PASS;
    if (s->cfg.rlim_all || (flags & ACL_LIMITED) != 0) {
        verdict = rlim_check_kod(&s->rlim, &rq->from, rq->rx_mono_ns, kod_log2_for(s, flags));
    }
    if (verdict == RLIM_DROP) {
        return SRV_RATE_LIMITED;
    }

    /* Every request field needed is in rqh now, so out may alias rq->buf: the reply is
     * encoded aside and copied over in one go. */
    struct ntp_header h;
    uint8_t wire[NTP_HEADER_LEN];
    if (verdict == RLIM_KOD) {
        fill_kod(s, &rqh, &h);
        why = SRV_KOD_RATE;
    } else {
        fill_answer(s, &rqh, rq, &h);
    }
    ntp_header_encode(&h, wire);
    memcpy(out, wire, sizeof(wire));
    *out_len = sizeof(wire);
    return why;
}

enum srv_reason srv_answer(struct srv *s, const struct srv_request *rq, uint8_t *out,
                           size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    enum srv_reason why = decide(s, rq, out, out_cap, out_len);
    s->stats.count[why]++;
    return why;
}
