/* The 48-byte NTP header (RFC 5905 section 7.3): decode with a rejection reason, encode,
 * and the transmit-time half of the two-phase send. Owns only the byte layout; whether
 * a packet makes sense (mode, stratum, origin match) is decided in src/core. */
#include "ntp/ntp_pkt.h"

#include <stddef.h>
#include <stdint.h>

#include "ntp/ntp_be.h"

/* Byte offsets of the header fields (RFC 5905 figure 8). */
enum {
    OFF_LVM = 0,
    OFF_STRATUM = 1,
    OFF_POLL = 2,
    OFF_PRECISION = 3,
    OFF_ROOT_DELAY = 4,
    OFF_ROOT_DISP = 8,
    OFF_REFID = 12,
    OFF_REF_TS = 16,
    OFF_ORIGIN_TS = 24,
    OFF_RX_TS = 32,
};

/* Versions 1-4 share this layout (RFC 1059, 1119, 1305, 5905); 0 was never assigned and
 * 5-7 are unknown, so neither can be read with it. */
#define VERSION_MIN 1
#define VERSION_MAX 4

const char *ntp_decode_status_name(enum ntp_decode_status s)
{
    switch (s) {
    case NTP_DECODE_OK:
        return "ok";
    case NTP_DECODE_TOO_SHORT:
        return "too_short";
    case NTP_DECODE_BAD_VERSION:
        return "bad_version";
    case NTP_DECODE_STATUS_COUNT:
        break;
    }
    return "unknown";
}

/* int8 from a wire byte without an implementation-defined conversion. */
static int8_t to_int8(uint8_t b)
{
    return b < 128 ? (int8_t)b : (int8_t)((int)b - 256);
}

enum ntp_decode_status ntp_header_decode(const uint8_t *buf, size_t len,
                                         struct ntp_header *out)
{
    if (buf == NULL || len < NTP_HEADER_LEN) {
        return NTP_DECODE_TOO_SHORT;
    }
    uint8_t version = (uint8_t)((buf[OFF_LVM] >> 3) & 7u);
    if (version < VERSION_MIN || version > VERSION_MAX) {
        return NTP_DECODE_BAD_VERSION;
    }
    out->leap = (uint8_t)(buf[OFF_LVM] >> 6);
    out->version = version;
    out->mode = (uint8_t)(buf[OFF_LVM] & 7u);
    out->stratum = buf[OFF_STRATUM];
    out->poll = to_int8(buf[OFF_POLL]);
    out->precision = to_int8(buf[OFF_PRECISION]);
    out->root_delay = ntp_be_load32(buf + OFF_ROOT_DELAY);
    out->root_dispersion = ntp_be_load32(buf + OFF_ROOT_DISP);
    out->refid = ntp_be_load32(buf + OFF_REFID);
    out->ref_ts = ntp_be_load64(buf + OFF_REF_TS);
    out->origin_ts = ntp_be_load64(buf + OFF_ORIGIN_TS);
    out->rx_ts = ntp_be_load64(buf + OFF_RX_TS);
    out->tx_ts = ntp_be_load64(buf + NTP_OFF_TX_TS);
    return NTP_DECODE_OK;
}

void ntp_header_encode(const struct ntp_header *h, uint8_t out[NTP_HEADER_LEN])
{
    /* Out-of-range leap/version/mode values are masked to their bit widths rather than
     * allowed to spill into the neighbouring fields. */
    out[OFF_LVM] = (uint8_t)((h->leap & 3u) << 6 | (h->version & 7u) << 3 | (h->mode & 7u));
    out[OFF_STRATUM] = h->stratum;
    out[OFF_POLL] = (uint8_t)h->poll;
    out[OFF_PRECISION] = (uint8_t)h->precision;
    ntp_be_store32(out + OFF_ROOT_DELAY, h->root_delay);
    ntp_be_store32(out + OFF_ROOT_DISP, h->root_dispersion);
    ntp_be_store32(out + OFF_REFID, h->refid);
    ntp_be_store64(out + OFF_REF_TS, h->ref_ts);
    ntp_be_store64(out + OFF_ORIGIN_TS, h->origin_ts);
    ntp_be_store64(out + OFF_RX_TS, h->rx_ts);
    ntp_be_store64(out + NTP_OFF_TX_TS, h->tx_ts);
}

void ntp_pkt_finalize(uint8_t *buf, size_t len, uint64_t tx_ts)
{
    /* A buffer too short to hold a header is left alone: bad input never writes out of
     * bounds. */
    if (buf == NULL || len < NTP_HEADER_LEN) {
        return;
    }
    ntp_be_store64(buf + NTP_OFF_TX_TS, tx_ts);
}
