/* Walker over the NTPv4 extension fields that follow the 48-byte header (RFC 7822),
 * bounds-checked and allocation-free: fields point into the caller's buffer. A trailing
 * legacy MAC (4-byte key id + 16 or 20 byte digest, RFC 5905 section 7.3) or a crypto-NAK
 * ends the walk. */
#ifndef TSYNC_NTP_EXT_H
#define TSYNC_NTP_EXT_H

#include <stddef.h>
#include <stdint.h>

struct ntp_ext_iter {
    const uint8_t *pkt;
    size_t len;
    size_t pos; /* offset of the next field */
};

struct ntp_ext_field {
    uint16_t type;
    uint16_t length;      /* whole field, header included, as on the wire */
    const uint8_t *value; /* length - 4 bytes, inside the packet */
    size_t value_len;
};

enum ntp_ext_status {
    NTP_EXT_FIELD = 0, /* *out holds the next field */
    NTP_EXT_END,       /* no bytes left after the last field */
    NTP_EXT_MAC,       /* the remaining bytes are a legacy MAC; *mac_len set by ntp_ext_mac */
    NTP_EXT_MALFORMED, /* a length that is short, unaligned or runs past the packet */
};

#define NTP_EXT_MIN_LEN 16        /* smallest field, header included (RFC 7822 section 3) */
#define NTP_EXT_MAC_MD5_LEN 20    /* key id + MD5 digest */
#define NTP_EXT_MAC_SHA1_LEN 24   /* key id + SHA-1 digest */
#define NTP_EXT_CRYPTO_NAK_LEN 4  /* RFC 5905's crypto-NAK: key id 0 and no digest */

/* Starts a walk over pkt[48..len); len below 48 ends it at once with NTP_EXT_MALFORMED.
 * The walk reads the format only; whether a version may carry fields is the caller's. */
void ntp_ext_iter_init(struct ntp_ext_iter *it, const uint8_t *pkt, size_t len);

/* Advances to the next field. After NTP_EXT_END, NTP_EXT_MAC or NTP_EXT_MALFORMED every
 * further call returns the same status. */
enum ntp_ext_status ntp_ext_next(struct ntp_ext_iter *it, struct ntp_ext_field *out);

/* After ntp_ext_next() returned NTP_EXT_MAC: returns the MAC's offset in the packet (the
 * bytes before it are what it authenticates) and sets *mac_len to 20, 24, or 4 for a
 * crypto-NAK. In any other state returns 0 and sets *mac_len to 0. */
size_t ntp_ext_mac(const struct ntp_ext_iter *it, size_t *mac_len);

/* Checks a whole packet: returns NTP_EXT_END or NTP_EXT_MAC when every field is well
 * formed, NTP_EXT_MALFORMED otherwise. */
enum ntp_ext_status ntp_ext_validate(const uint8_t *pkt, size_t len);

#endif
