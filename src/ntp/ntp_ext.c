/* RFC 7822 extension-field walker. Owns the rules that split the bytes after the header
 * into fields and a trailing MAC; it never allocates, never copies, and never reads
 * outside pkt[0..len). What a field means (NTS, experimental) is decided elsewhere. */
#include "ntp/ntp_ext.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ntp/ntp_be.h"
#include "ntp/ntp_pkt.h"

#define FIELD_HEADER_LEN 4 /* 16-bit type + 16-bit length */

void ntp_ext_iter_init(struct ntp_ext_iter *it, const uint8_t *pkt, size_t len)
{
    it->pkt = pkt;
    it->len = len;
    it->pos = NTP_HEADER_LEN;
}

/* The parser rule of RFC 5906 section 10, kept by RFC 7822: a remainder of exactly 20
 * or 24 bytes is a legacy MAC, checked before any attempt to read it as a field. It
 * matters: a small key id (0x00000014 = key 20) reads as type 0, length 20, a plausible
 * field. No field is lost by this, since without a MAC the last field must be at least
 * 28 bytes (RFC 7822). A lone zero key id is the crypto-NAK. */
static bool is_mac(const uint8_t *rest, size_t remaining)
{
    if (remaining == NTP_EXT_MAC_MD5_LEN || remaining == NTP_EXT_MAC_SHA1_LEN) {
        return true;
    }
    return remaining == NTP_EXT_CRYPTO_NAK_LEN && ntp_be_load32(rest) == 0;
}

/* RFC 7822 section 3: a field is at least 16 bytes, a multiple of 4, and must end
 * inside the packet. Longer fields (RFC 8915 NTS) are accepted as they come. */
static bool is_field_length_ok(size_t field_len, size_t remaining)
{
    return field_len >= NTP_EXT_MIN_LEN && field_len % 4 == 0 && field_len <= remaining;
}

/* Classifies the bytes at it->pos without moving. Called again after the walk ended it
 * gives the same answer, which is what makes the end states sticky. */
static enum ntp_ext_status classify(const struct ntp_ext_iter *it, size_t *field_len)
{
    *field_len = 0;
    if (it->pkt == NULL || it->len < NTP_HEADER_LEN || it->pos > it->len) {
        return NTP_EXT_MALFORMED;
    }
    const uint8_t *rest = it->pkt + it->pos;
    size_t remaining = it->len - it->pos;
    if (remaining == 0) {
        return NTP_EXT_END;
    }
    if (is_mac(rest, remaining)) {
        return NTP_EXT_MAC;
    }
    if (remaining < NTP_EXT_MIN_LEN) {
        return NTP_EXT_MALFORMED;
    }
    size_t len = ntp_be_load16(rest + 2);
    if (!is_field_length_ok(len, remaining)) {
        return NTP_EXT_MALFORMED;
    }
    *field_len = len;
    return NTP_EXT_FIELD;
}

enum ntp_ext_status ntp_ext_next(struct ntp_ext_iter *it, struct ntp_ext_field *out)
{
    size_t field_len;
    enum ntp_ext_status st = classify(it, &field_len);
    if (st != NTP_EXT_FIELD) {
        return st;
    }
    const uint8_t *start = it->pkt + it->pos;
    out->type = ntp_be_load16(start);
    out->length = (uint16_t)field_len;
    out->value = start + FIELD_HEADER_LEN;
    out->value_len = field_len - FIELD_HEADER_LEN;
    it->pos += field_len;
    return NTP_EXT_FIELD;
}

size_t ntp_ext_mac(const struct ntp_ext_iter *it, size_t *mac_len)
{
    size_t field_len;
    if (classify(it, &field_len) != NTP_EXT_MAC) {
        *mac_len = 0;
        return 0;
    }
    *mac_len = it->len - it->pos;
    return it->pos;
}

enum ntp_ext_status ntp_ext_validate(const uint8_t *pkt, size_t len)
{
    struct ntp_ext_iter it;
    struct ntp_ext_field field;
    enum ntp_ext_status st;

    ntp_ext_iter_init(&it, pkt, len);
    /* Every field advances at least 16 bytes, so this ends within len / 16 + 1 steps. */
    do {
        st = ntp_ext_next(&it, &field);
    } while (st == NTP_EXT_FIELD);
    return st;
}
