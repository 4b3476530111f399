/* libFuzzer target for the RFC 7822 extension-field walker. The walk must end within
 * len/4 + 2 steps, every field must lie inside the buffer and after the header, a MAC
 * must run exactly to the end, the end state must repeat, and ntp_ext_validate must
 * agree with the walk. Any violation traps. */
#include <stddef.h>
#include <stdint.h>

#include "ntp/ntp_ext.h"
#include "ntp/ntp_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) {
        __builtin_trap();
    }
}

static void check_field(const struct ntp_ext_field *f, const uint8_t *data, size_t size,
                        size_t pos_before, size_t pos_after)
{
    check(f->length >= NTP_EXT_MIN_LEN && f->length % 4 == 0);
    check(f->value_len == (size_t)f->length - 4);
    check(f->value == data + pos_before + 4);
    check(f->value >= data + NTP_HEADER_LEN + 4);
    check(f->value + f->value_len <= data + size);
    check(pos_after == pos_before + f->length);
}

static void check_end(const struct ntp_ext_iter *it, enum ntp_ext_status st, size_t size)
{
    size_t mac_len = 1;
    size_t mac_off = ntp_ext_mac(it, &mac_len);
    if (st == NTP_EXT_MAC) {
        check(mac_len == 4 || mac_len == 20 || mac_len == 24);
        check(mac_off >= NTP_HEADER_LEN && mac_off + mac_len == size);
    } else {
        check(mac_off == 0 && mac_len == 0);
    }
    if (st == NTP_EXT_END) {
        check(it->pos == size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntp_ext_iter it;
    struct ntp_ext_field f;
    enum ntp_ext_status st;
    size_t steps = 0;

    ntp_ext_iter_init(&it, data, size);
    for (;;) {
        size_t before = it.pos;
        st = ntp_ext_next(&it, &f);
        steps++;
        check(steps <= size / 4 + 2);
        if (st != NTP_EXT_FIELD) {
            check(it.pos == before);
            break;
        }
        check_field(&f, data, size, before, it.pos);
    }
    check(st == NTP_EXT_END || st == NTP_EXT_MAC || st == NTP_EXT_MALFORMED);
    if (size < NTP_HEADER_LEN) {
        check(st == NTP_EXT_MALFORMED);
    }
    check(ntp_ext_next(&it, &f) == st); /* end states are sticky */
    check_end(&it, st, size);
    check(ntp_ext_validate(data, size) == st);
    return 0;
}
