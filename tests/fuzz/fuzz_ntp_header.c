/* libFuzzer target for the NTP header codec and timestamp conversions. Decode must never
 * crash; a header that decodes must encode back to the same 48 bytes and re-decode to
 * the same fields, and finalize must touch only the transmit timestamp. Any mismatch
 * traps, so the fuzzer reports it as a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntp/ntp_pkt.h"
#include "ntp/ntp_ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) {
        __builtin_trap();
    }
}

static int headers_equal(const struct ntp_header *a, const struct ntp_header *b)
{
    return a->leap == b->leap && a->version == b->version && a->mode == b->mode &&
           a->stratum == b->stratum && a->poll == b->poll && a->precision == b->precision &&
           a->root_delay == b->root_delay && a->root_dispersion == b->root_dispersion &&
           a->refid == b->refid && a->ref_ts == b->ref_ts && a->origin_ts == b->origin_ts &&
           a->rx_ts == b->rx_ts && a->tx_ts == b->tx_ts;
}

/* The header's fields double as time inputs: a timestamp converted to Unix ns near the
 * reference time and back must land within half a ns (plus 2^-32 s rounding). */
static void check_timestamps(const struct ntp_header *h)
{
    int64_t near = ntp_ts_to_unix_ns(h->ref_ts, 0);
    int64_t t = ntp_ts_to_unix_ns(h->tx_ts, near);
    if (t == INT64_MAX || t == INT64_MIN) {
        return; /* saturated: outside the int64 ns range */
    }
    double err = ntp_ts_diff(ntp_ts_from_unix_ns(t), h->tx_ts);
    check(err <= 0.5e-9 + 0x1p-32 && err >= -(0.5e-9 + 0x1p-32));
    /* every 16.16 value is exact in a double, so the short format round-trips exactly */
    check(ntp_short_from_seconds(ntp_short_to_seconds(h->root_delay)) == h->root_delay);
    check(ntp_short_from_seconds(ntp_short_to_seconds(h->root_dispersion)) ==
          h->root_dispersion);
}

static void check_finalize(const uint8_t *data, const struct ntp_header *h)
{
    uint8_t buf[NTP_HEADER_LEN];
    struct ntp_header after;
    memcpy(buf, data, sizeof buf);
    ntp_pkt_finalize(buf, sizeof buf, ~h->tx_ts);
    check(memcmp(buf, data, NTP_OFF_TX_TS) == 0);
    check(ntp_header_decode(buf, sizeof buf, &after) == NTP_DECODE_OK);
    check(after.tx_ts == ~h->tx_ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntp_header h, again;
    uint8_t out[NTP_HEADER_LEN];

    enum ntp_decode_status st = ntp_header_decode(data, size, &h);
    check(ntp_decode_status_name(st) != NULL);
    if (size < NTP_HEADER_LEN) {
        check(st == NTP_DECODE_TOO_SHORT);
        return 0;
    }
    if (st != NTP_DECODE_OK) {
        check(st == NTP_DECODE_BAD_VERSION);
        return 0;
    }
    check(h.version >= 1 && h.version <= 4 && h.leap <= 3 && h.mode <= 7);
    ntp_header_encode(&h, out);
    check(memcmp(out, data, NTP_HEADER_LEN) == 0);
    check(ntp_header_decode(out, sizeof out, &again) == NTP_DECODE_OK);
    check(headers_equal(&h, &again));
    check_finalize(data, &h);
    check_timestamps(&h);
    return 0;
}
