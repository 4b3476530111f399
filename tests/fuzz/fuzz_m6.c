/* libFuzzer target for mode 6 (src/core/m6.c): arbitrary bytes as a control request from
 * an admitted address, through m6_check and m6_respond against a view whose association
 * names and counts the first input byte picks. Traps unless every fragment is a padded
 * response of at most M6_FRAG_MAX bytes with the request's opcode, sequence and version,
 * the fragments' data joined give the whole answer, and an error carries no data. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/m6.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define TABLE_LEN 64

/* d[0]: bits 0-5 the number of associations, bit 6 long names, bit 7 IPv6 addresses. */
static void fill_view(struct m6_view *v, uint8_t sel)
{
    static const char tallies[] = " x.-+#*o";

    memset(v, 0, sizeof(*v));
    v->sys.leap = sel & 3;
    v->sys.stratum = 2;
    v->sys.peer_associd = 1;
    v->sys.synced = true;
    memset(v->sys.version, 'v', M6_VERSION_MAX - 1);
    v->n_assoc = sel & 0x3f;
    for (size_t i = 0; i < v->n_assoc; i++) {
        struct m6_assoc *a = &v->assoc[i];
        a->associd = (uint16_t)(i + 1);
        a->kind = (uint8_t)(i % 3);
        a->tally = tallies[i % 8];
        a->reach = (uint8_t)(i * 37);
        a->stratum = (uint8_t)(i % 18);
        a->refid = (uint32_t)(i * 0x01010101u);
        a->offset = (double)i * -1e3;
        a->addr.family = (sel & 0x80) != 0 ? 6 : 4;
        a->addr.bytes[15] = (uint8_t)i;
        a->addr.bytes[3] = (uint8_t)i;
        memset(a->name, 'a' + (int)(i % 26), (sel & 0x40) != 0 ? M6_NAME_MAX - 1 : 8);
    }
}

static void check_fragments(const struct m6_request *rq, const struct m6_response *r)
{
    static uint8_t joined[M6_RESPONSE_MAX];
    uint8_t frag[M6_FRAG_MAX];
    size_t nf = m6_fragment_count(r), total = 0;

    if (nf < 1 || nf > M6_MAX_FRAGS || (r->error != 0 && r->len != 0)) {
        __builtin_trap();
    }
    for (size_t i = 0; i < nf; i++) {
        size_t len = m6_fragment(r, i, frag, sizeof(frag));
        size_t count = (size_t)frag[10] << 8 | frag[11];
        size_t offset = (size_t)frag[8] << 8 | frag[9];
        bool more = (frag[1] & 0x20) != 0;
        if (len < 12 || len > M6_FRAG_MAX || len % 4 != 0 || 12 + count > len || offset != total ||
            more != (i + 1 < nf) || (frag[1] & 0x1f) != rq->opcode || (frag[1] & 0x80) == 0 ||
            ((frag[0] >> 3) & 7) != rq->version ||
            ((size_t)frag[2] << 8 | frag[3]) != rq->sequence) {
            __builtin_trap();
        }
        memcpy(joined + total, frag + 12, count);
        total += count;
    }
    if (total != r->len || memcmp(joined, r->data, total) != 0) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    static struct m6_server m;
    static struct acl all;
    static struct rlim_entry table[TABLE_LEN];
    static struct m6_view view;
    static struct m6_response resp;
    struct acl_rule r;
    struct m6_request rq;
    struct core_addr from;

    if (n < 1) {
        return 0;
    }
    acl_init(&all);
    memset(&r, 0, sizeof(r));
    r.family = CORE_AF_INET;
    (void)acl_add(&all, &r, ACL_ADD_REPLACE);
    m6_server_init(&m, &all, &all, table, TABLE_LEN, 1);
    memset(&from, 0, sizeof(from));
    from.family = CORE_AF_INET;
    from.bytes[0] = 127;
    from.bytes[3] = 1;
    fill_view(&view, d[0]);
    if (m6_check(&m, &from, d + 1, n - 1, 0, &rq) != M6_ANSWERED) {
        return 0;
    }
    m6_respond(&rq, &view, &resp);
    m6_count(&m, &resp);
    check_fragments(&rq, &resp);
    return 0;
}
