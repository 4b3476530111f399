/* libFuzzer target for the whole server path: arbitrary bytes through srv_answer with an
 * ACL that allows everyone and rate limiting on. The first bytes pick the variant (see
 * struct layout below); the rest is the request, sent a few times so the limiter and
 * the KoD path are reached. Traps unless every answer is 48 bytes, no larger than the
 * request, and decodes as mode 4 in the request's version with origin = its transmit. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/srv.h"
#include "ntp/ntp_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* Input layout: d[0] config, d[1] source, d[2..3] time step, d[4] repeats, d[5..] request.
 * d[0]: bit 0 reference set, bit 1 chrony ratelimit (else ntpd limited+kod), bits 2-3
 *       kod_log2, bits 4-5 leak_log2, bit 6 burst 1 (else 8), bit 7 answer in place.
 * d[1]: bit 7 IPv6, bits 0-6 the low address byte.
 * d[2..3]: step between repeats in ms (big-endian), also the receive-time offset in s. */
#define PREFIX_LEN 5
#define TABLE_LEN  64

static void allow_all(struct srv_config *c, uint32_t flags)
{
    struct acl_rule r;

    acl_init(&c->acl);
    memset(&r, 0, sizeof(r));
    r.flags = flags;
    r.family = CORE_AF_INET;
    (void)acl_add(&c->acl, &r, ACL_ADD_REPLACE);
    r.family = CORE_AF_INET6;
    (void)acl_add(&c->acl, &r, ACL_ADD_REPLACE);
}

static void configure(struct srv *s, struct rlim_entry *table, uint8_t v)
{
    static struct srv_config c;

    memset(&c, 0, sizeof(c));
    c.precision_log2 = -24;
    c.rlim_all = (v & 2) != 0;
    allow_all(&c, c.rlim_all ? 0 : ACL_LIMITED | ACL_KOD);
    rlim_params_default(&c.rlim);
    c.rlim.kod_log2 = (v >> 2) & 3;
    c.rlim.leak_log2 = (v >> 4) & 3;
    c.rlim.burst = (v & 64) ? 1 : 8;
    srv_init(s, &c, table, TABLE_LEN, 0x5eed);
    if ((v & 1) != 0) {
        struct srv_reference ref = {
            .leap = NTP_LEAP_NONE,
            .stratum = 3,
            .refid = 0x01020304,
            .root_delay = 0.01,
            .root_dispersion = 0.02,
            .ref_unix_ns = INT64_C(1700000000000000000),
        };
        srv_set_reference(s, &ref);
    }
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void check_answer(const uint8_t *req, size_t len, const uint8_t *out, size_t out_len,
                         enum srv_reason why)
{
    struct ntp_header h;

    if (why != SRV_ANSWERED && why != SRV_KOD_RATE) {
        if (out_len != 0) {
            __builtin_trap();
        }
        return;
    }
    if (out_len != NTP_HEADER_LEN || out_len > len) {
        __builtin_trap();
    }
    if (ntp_header_decode(out, out_len, &h) != NTP_DECODE_OK || h.mode != NTP_MODE_SERVER) {
        __builtin_trap();
    }
    if (h.version != ((req[0] >> 3) & 7) || h.origin_ts != load64(req + NTP_OFF_TX_TS)) {
        __builtin_trap();
    }
    if (h.poll < 0 || h.poll > 17 || (why == SRV_KOD_RATE) != (h.stratum == 0)) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static struct srv s;
    static struct rlim_entry table[TABLE_LEN];

    if (n < PREFIX_LEN) {
        return 0;
    }
    const uint8_t *req = d + PREFIX_LEN;
    size_t len = n - PREFIX_LEN;
    bool in_place = (d[0] & 128) != 0;
    int step_ms = d[2] << 8 | d[3];
    int repeats = 1 + d[4] % 16;
    struct srv_request rq;

    configure(&s, table, d[0]);
    memset(&rq, 0, sizeof(rq));
    rq.from.family = (d[1] & 128) ? CORE_AF_INET6 : CORE_AF_INET;
    rq.from.bytes[0] = 198;
    rq.from.bytes[1] = 18;
    rq.from.bytes[15] = d[1] & 127;
    rq.from.bytes[3] = d[1] & 127;
    rq.rx_unix_ns = INT64_C(1700000000000000000) + (int64_t)step_ms * INT64_C(1000000000);
    for (int i = 0; i < repeats; i++) {
        /* Exact-size copies: the sanitizer catches any access past len or past out. */
        uint8_t *buf = malloc(len > 0 ? len : 1);
        uint8_t *out = in_place ? buf : malloc(NTP_HEADER_LEN);
        size_t out_len = 1;
        if (buf == NULL || out == NULL) {
            abort();
        }
        memcpy(buf, req, len);
        rq.buf = buf;
        rq.len = len;
        rq.rx_mono_ns = (int64_t)i * step_ms * INT64_C(1000000);
        enum srv_reason why = srv_answer(&s, &rq, out, in_place ? len : NTP_HEADER_LEN, &out_len);
        if ((int)why < 0 || why >= SRV_REASON_COUNT || out_len > len) {
            __builtin_trap();
        }
        check_answer(req, len, out, out_len, why);
        if (!in_place) {
            free(out);
        }
        free(buf);
    }
    return 0;
}
