/* The 48-byte NTP header (RFC 5905 section 7.3): decode with an explicit rejection
 * reason, encode, and the second phase of sending, which writes the transmit timestamp
 * last so it is read as close to the wire as possible. Pure: decides nothing. */
#ifndef TSYNC_NTP_PKT_H
#define TSYNC_NTP_PKT_H

#include <stddef.h>
#include <stdint.h>

#define NTP_HEADER_LEN 48
#define NTP_OFF_TX_TS 40 /* byte offset of the transmit timestamp */

enum ntp_leap {
    NTP_LEAP_NONE = 0,
    NTP_LEAP_INSERT = 1,
    NTP_LEAP_DELETE = 2,
    NTP_LEAP_UNSYNC = 3,
};

enum ntp_mode {
    NTP_MODE_RESERVED = 0,
    NTP_MODE_SYM_ACTIVE = 1,
    NTP_MODE_SYM_PASSIVE = 2,
    NTP_MODE_CLIENT = 3,
    NTP_MODE_SERVER = 4,
    NTP_MODE_BROADCAST = 5,
    NTP_MODE_CONTROL = 6,
    NTP_MODE_PRIVATE = 7,
};

/* Fields as on the wire, in host byte order. root_delay and root_dispersion stay in
 * 16.16 short format and the timestamps in 32.32 (see ntp_ts.h to convert). */
struct ntp_header {
    uint8_t leap;
    uint8_t version;
    uint8_t mode;
    uint8_t stratum;
    int8_t poll;
    int8_t precision;
    uint32_t root_delay;
    uint32_t root_dispersion;
    uint32_t refid;
    uint64_t ref_ts;
    uint64_t origin_ts;
    uint64_t rx_ts;
    uint64_t tx_ts;
};

enum ntp_decode_status {
    NTP_DECODE_OK = 0,
    NTP_DECODE_TOO_SHORT,   /* fewer than 48 bytes */
    NTP_DECODE_BAD_VERSION, /* version 0 or above 4 */
    NTP_DECODE_STATUS_COUNT,
};

/* Stable lower_snake name of a status, for counters and logs. */
const char *ntp_decode_status_name(enum ntp_decode_status s);

/* Decodes the first 48 bytes of buf. Every mode is decoded as it stands (NTPv1's
 * mode 0 is left to the caller to interpret); out is written only on NTP_DECODE_OK. */
enum ntp_decode_status ntp_header_decode(const uint8_t *buf, size_t len,
                                         struct ntp_header *out);

/* Writes h as 48 bytes in network order. */
void ntp_header_encode(const struct ntp_header *h, uint8_t out[NTP_HEADER_LEN]);

/* Second phase of sending: writes tx_ts at NTP_OFF_TX_TS of a packet of len bytes
 * (len >= 48). Later issues extend this to seal a MAC or NTS field after it. */
void ntp_pkt_finalize(uint8_t *buf, size_t len, uint64_t tx_ts);

#endif
