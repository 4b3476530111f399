/* Unit tests for NTP mode 6 (src/core/m6.c): request parsing, golden READSTAT and READVAR
 * packets byte for byte, the variable text ntpq and check_ntp_peer parse (reach in hex,
 * refid forms, srchost rules, IPv6 text), error responses, fragments with the more bit
 * and offsets, access (cmdallow, noquery, ignore) and the rate limit, and seeded random
 * requests that must never crash or give a malformed fragment. Expected bytes and text
 * are written out by hand, not computed with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "test_core.h"

#include "core/m6.h"

#define S(x) ((int64_t)(x)*INT64_C(1000000000))

static struct m6_view view;
static struct m6_response resp;
static struct m6_server server;
static struct rlim_entry table[256];

/* A mode 6 request: version, opcode, sequence, associd, then count bytes of data. */
static size_t request(uint8_t *buf, int version, int opcode, uint16_t seq, uint16_t associd,
                      const char *data)
{
    size_t n = data != NULL ? strlen(data) : 0;

    memset(buf, 0, 12);
    buf[0] = (uint8_t)(version << 3 | 6);
    buf[1] = (uint8_t)opcode;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    buf[6] = (uint8_t)(associd >> 8);
    buf[7] = (uint8_t)associd;
    buf[10] = (uint8_t)(n >> 8);
    buf[11] = (uint8_t)n;
    if (n > 0) {
        memcpy(buf + 12, data, n);
    }
    return 12 + n;
}

/* A synchronized system (stratum 2 from 198.18.0.1) with two associations: 1 = server
 * 198.18.0.1 configured by address, system peer, reach 0xff; 2 = a pool member
 * 198.18.0.5, candidate, reach 3. */
static void default_view(void)
{
    memset(&view, 0, sizeof(view));
    struct m6_system *s = &view.sys;
    s->leap = 0;
    s->stratum = 2;
    s->precision_log2 = -20;
    s->synced = true;
    memcpy(&s->refid, (const uint8_t[]){198, 18, 0, 1}, 4);
    s->root_delay = 0.0015;
    s->root_dispersion = 0.00025;
    s->ref_unix_ns = S(1700000000) + S(1) / 2;
    s->clock_unix_ns = S(1700000001);
    s->peer_associd = 1;
    s->poll_log2 = 6;
    s->offset = -0.000125;
    s->sys_jitter = 0.00005;
    s->freq_ppm = -12.5;
    s->wander_ppm = 0.01;
    s->bound = 0.002;
    strcpy(s->version, "tsyncd 1.0");

    struct m6_assoc *a = &view.assoc[0];
    a->associd = 1;
    a->kind = M6_KIND_SERVER;
    strcpy(a->name, "198.18.0.1");
    a->addr = test_core4(198, 18, 0, 1);
    a->addr.port = 123;
    a->tally = '*';
    a->stratum = 1;
    memcpy(&a->refid, "GPS", 4);
    a->reach = 0xff;
    a->poll_log2 = 6;
    a->offset = 0.0015;
    a->delay = 0.00025;
    a->jitter = 0.0000125;
    a->rec_unix_ns = S(1700000000);

    a = &view.assoc[1];
    a->associd = 2;
    a->kind = M6_KIND_POOL_MEMBER;
    strcpy(a->name, "pool.example");
    a->addr = test_core4(198, 18, 0, 5);
    a->tally = '+';
    a->stratum = 2;
    memcpy(&a->refid, (const uint8_t[]){198, 18, 0, 9}, 4);
    a->reach = 3;
    a->poll_log2 = 7;
    view.n_assoc = 2;
}

static size_t respond(const uint8_t *buf, size_t len, uint8_t *out)
{
    struct m6_request rq;

    assert_true(m6_parse_request(buf, len, &rq));
    m6_respond(&rq, &view, &resp);
    assert_int_equal(m6_fragment_count(&resp), 1);
    return m6_fragment(&resp, 0, out, M6_FRAG_MAX);
}

/* The data of a one-fragment answer to a READVAR as a string. */
static const char *readvar_text(uint16_t associd, const char *list)
{
    static char text[M6_FRAG_MAX];
    uint8_t buf[600], out[M6_FRAG_MAX];

    size_t len = request(buf, 2, 2, 7, associd, list);
    size_t n = respond(buf, len, out);
    assert_true(n >= 12);
    size_t count = (size_t)out[10] << 8 | out[11];
    memcpy(text, out + 12, count);
    text[count] = '\0';
    return text;
}

static void test_parse_rejects(void **state)
{
    (void)state;
    struct m6_request rq;
    uint8_t buf[64];

    size_t len = request(buf, 2, 1, 1, 0, NULL);
    assert_false(m6_parse_request(buf, 11, &rq)); /* short */
    assert_false(m6_parse_request(NULL, 0, &rq));
    buf[0] = 2 << 3 | 3; /* mode 3 */
    assert_false(m6_parse_request(buf, len, &rq));
    buf[0] = 0 << 3 | 6; /* version 0 */
    assert_false(m6_parse_request(buf, len, &rq));
    buf[0] = 5 << 3 | 6; /* version 5 */
    assert_false(m6_parse_request(buf, len, &rq));
    buf[0] = 2 << 3 | 6;
    buf[1] = 0x81; /* a response: never answered */
    assert_false(m6_parse_request(buf, len, &rq));
    buf[1] = 0x01;
    assert_true(m6_parse_request(buf, len, &rq));
    assert_int_equal(rq.version, 2);
    assert_int_equal(rq.opcode, 1);
    buf[11] = 5; /* count beyond the datagram */
    assert_true(m6_parse_request(buf, len, &rq));
    assert_true(rq.count_too_big);
    assert_int_equal(rq.count, 0);
}

/* READSTAT, version 2 as ntpq and check_ntp_peer send it. */
static void test_readstat_golden(void **state)
{
    (void)state;
    uint8_t buf[64], out[M6_FRAG_MAX];
    static const uint8_t want[] = {
        0x16, 0x81, 0x12, 0x34, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, /* header */
        0x00, 0x01, 0x96, 0x00, /* 1: configured, reachable, sys.peer */
        0x00, 0x02, 0x14, 0x00, /* 2: pool member, reachable, candidate */
    };

    default_view();
    size_t n = respond(buf, request(buf, 2, 1, 0x1234, 0, NULL), out);
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
}

/* check_ntp_peer's request: exactly the three values, padded to 4 bytes. */
static void test_readvar_list_golden(void **state)
{
    (void)state;
    uint8_t buf[64], out[M6_FRAG_MAX];
    static const char text[] = "stratum=1, offset=1.500000, jitter=0.012500";
    static const uint8_t head[] = {0x16, 0x82, 0x00, 0x02, 0x96, 0x00,
                                   0x00, 0x01, 0x00, 0x00, 0x00, 43};

    default_view();
    size_t n = respond(buf, request(buf, 2, 2, 2, 1, "stratum,offset,jitter"), out);
    assert_int_equal(n, 56); /* 12 + 43, padded */
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + 12, text, 43);
    assert_int_equal(out[55], 0);
}

static void test_readvar_peer_default(void **state)
{
    (void)state;
    default_view();
    assert_string_equal(readvar_text(1, NULL),
                        "srcadr=198.18.0.1, srcport=123, leap=0, stratum=1, refid=GPS,\r\n"
                        "rec=0xe8fe6f80.00000000, reach=0xff, hmode=3, pmode=4, hpoll=6, "
                        "ppoll=6,\r\n"
                        "offset=1.500000, delay=0.250000, jitter=0.012500");
    /* A pool member: no srchost, never received: no rec and no pmode, reach 0x3. */
    assert_string_equal(readvar_text(2, NULL),
                        "srcadr=198.18.0.5, srcport=123, leap=0, stratum=2, refid=198.18.0.9,\r\n"
                        "reach=0x3, hmode=3, hpoll=7, ppoll=7, offset=0.000000, "
                        "delay=0.000000,\r\n"
                        "jitter=0.000000");
}

static void test_readvar_system_default(void **state)
{
    (void)state;
    default_view();
    assert_string_equal(readvar_text(0, NULL),
                        "version=\"tsyncd 1.0\", leap=0, stratum=2, precision=-20,\r\n"
                        "rootdelay=1.500000, rootdisp=0.250000, refid=198.18.0.1,\r\n"
                        "reftime=0xe8fe6f80.80000000, clock=0xe8fe6f81.00000000, peer=1, tc=6,\r\n"
                        "offset=-0.125000, frequency=-12.500000, sys_jitter=0.050000,\r\n"
                        "clk_wander=0.010000, bound=2.000000");
    /* node-exporter-collectors' query, in its order. */
    assert_string_equal(readvar_text(0, "offset, sys_jitter,rootdisp,rootdelay"),
                        "offset=-0.125000, sys_jitter=0.050000, rootdisp=0.250000,\r\n"
                        "rootdelay=1.500000");
}

/* Reference IDs: ASCII only where ntpq cannot take it for a number. */
static void test_refid_forms(void **state)
{
    (void)state;
    default_view();
    struct m6_assoc *a = &view.assoc[0];
    memcpy(&a->refid, "1PPS", 4);
    assert_string_equal(readvar_text(1, "refid"), "refid=49.80.80.83");
    memcpy(&a->refid, "INF\0", 4);
    assert_string_equal(readvar_text(1, "refid"), "refid=73.78.70.0");
    memcpy(&a->refid, "LOCL", 4);
    assert_string_equal(readvar_text(1, "refid"), "refid=LOCL");
    a->stratum = 0;
    a->refid = 0;
    assert_string_equal(readvar_text(1, "refid,stratum"), "refid=INIT, stratum=16");
    a->kind = M6_KIND_POOL;
    a->addr.family = CORE_AF_NONE;
    strcpy(a->name, "2.pool.example");
    assert_string_equal(readvar_text(1, "srcadr,srchost,refid"),
                        "srcadr=0.0.0.0, srchost=\"2.pool.example\", refid=POOL");
}

static void test_srchost_and_ipv6(void **state)
{
    (void)state;
    static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t v6c[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    default_view();
    struct m6_assoc *a = &view.assoc[0];

    assert_string_equal(readvar_text(1, "srcadr,srchost"), "srcadr=198.18.0.1");
    strcpy(a->name, "ntp\"1.example");
    assert_string_equal(readvar_text(1, "srchost"), "srchost=\"ntp1.example\"");
    a->addr.family = CORE_AF_INET6;
    memcpy(a->addr.bytes, v6a, 16);
    assert_string_equal(readvar_text(1, "srcadr"), "srcadr=2001:db8::1");
    memcpy(a->addr.bytes, v6b, 16);
    assert_string_equal(readvar_text(1, "srcadr"), "srcadr=2001:db8:0:1::1");
    memcpy(a->addr.bytes, v6c, 16);
    assert_string_equal(readvar_text(1, "srcadr"), "srcadr=2001:db8:0:1:1:1:1:1");
}

/* Error responses: E bit, code in the status high byte, no data, opcode echoed. */
static void check_error(int opcode, uint16_t associd, const char *list, uint16_t offset,
                        uint8_t code)
{
    uint8_t buf[64], out[M6_FRAG_MAX];
    size_t len = request(buf, 3, opcode, 9, associd, list);

    buf[9] = (uint8_t)offset;
    size_t n = respond(buf, len, out);
    assert_int_equal(n, 12);
    assert_int_equal(out[0], 3 << 3 | 6);
    assert_int_equal(out[1], 0xc0 | opcode);
    assert_int_equal(out[4], code);
    assert_int_equal(out[5], 0);
    assert_int_equal(out[7], associd);
    assert_int_equal(out[11], 0);
}

static void test_errors(void **state)
{
    (void)state;
    default_view();
    check_error(30, 0, NULL, 0, M6_ERR_BADOP);
    check_error(10, 0, NULL, 0, M6_ERR_BADOP);         /* MRU list: not served */
    check_error(3, 0, "leap=1", 0, M6_ERR_PERMISSION); /* writevar */
    check_error(8, 0, "server x", 0, M6_ERR_PERMISSION);
    check_error(2, 99, NULL, 0, M6_ERR_BADASSOC);
    check_error(1, 99, NULL, 0, M6_ERR_BADASSOC);
    check_error(2, 0, "stratum,bogus", 0, M6_ERR_UNKNOWNVAR);
    check_error(2, 1, "sys_jitter", 0, M6_ERR_UNKNOWNVAR); /* a system variable */
    check_error(2, 0, NULL, 4, M6_ERR_BADFMT);
}

/* Version 4 echoed; an unsynchronized system sets LI 3 in every response header. */
static void test_version_and_leap(void **state)
{
    (void)state;
    uint8_t buf[64], out[M6_FRAG_MAX];

    default_view();
    view.sys.leap = 3;
    view.sys.synced = false;
    view.sys.peer_associd = 0;
    size_t n = respond(buf, request(buf, 4, 1, 1, 1, NULL), out);
    assert_int_equal(n, 12);
    assert_int_equal(out[0], 0xc0 | 4 << 3 | 6);
    assert_int_equal(out[4], 0x96); /* READSTAT of one association: its status word */
    assert_int_equal(out[11], 0);
    respond(buf, request(buf, 2, 1, 1, 0, NULL), out);
    assert_int_equal(out[4], 0xc0); /* leap 3, clock source unspecified */
}

/* Three copies of a 255-character name: two fragments, the first full with the more bit,
 * the second at offset 468, padded; together the whole text. */
static void test_fragments(void **state)
{
    (void)state;
    uint8_t buf[64], out[2][M6_FRAG_MAX], joined[M6_RESPONSE_MAX];
    struct m6_request rq;

    default_view();
    memset(view.assoc[0].name, 'a', 255);
    view.assoc[0].name[255] = '\0';
    size_t len = request(buf, 2, 2, 5, 1, "srchost,srchost,srchost");
    assert_true(m6_parse_request(buf, len, &rq));
    m6_respond(&rq, &view, &resp);
    assert_int_equal(resp.len, 3 * (8 + 257) + 2 * 3); /* items and ",\r\n" */
    assert_int_equal(m6_fragment_count(&resp), 2);
    size_t n0 = m6_fragment(&resp, 0, out[0], sizeof(out[0]));
    size_t n1 = m6_fragment(&resp, 1, out[1], sizeof(out[1]));
    assert_int_equal(n0, 480);
    assert_int_equal(out[0][1], 0x82 | 0x20);
    assert_int_equal(out[0][8] << 8 | out[0][9], 0);
    assert_int_equal(out[0][10] << 8 | out[0][11], 468);
    size_t c1 = resp.len - 468;
    assert_int_equal(out[1][1], 0x82);
    assert_int_equal(out[1][8] << 8 | out[1][9], 468);
    assert_int_equal(out[1][10] << 8 | out[1][11], c1);
    assert_int_equal(n1, (12 + c1 + 3) / 4 * 4);
    memcpy(joined, out[0] + 12, 468);
    memcpy(joined + 468, out[1] + 12, c1);
    assert_memory_equal(joined, resp.data, resp.len);
    assert_memory_equal(joined, "srchost=\"aaa", 12);
    assert_int_equal(m6_fragment(&resp, 2, out[0], sizeof(out[0])), 0);
    assert_int_equal(m6_fragment(&resp, 0, out[0], 479), 0); /* cap too small */
}

static void acl_rule(struct acl *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3, int len,
                     uint32_t flags)
{
    struct acl_rule r;

    memset(&r, 0, sizeof(r));
    r.family = CORE_AF_INET;
    r.prefix_len = (uint8_t)len;
    r.addr[0] = a0;
    r.addr[1] = a1;
    r.addr[2] = a2;
    r.addr[3] = a3;
    r.flags = flags;
    assert_int_equal(acl_add(a, &r, ACL_ADD_MERGE), ACL_OK);
}

static enum m6_reason check_from(struct core_addr from, int64_t mono)
{
    uint8_t buf[64];
    struct m6_request rq;
    size_t len = request(buf, 2, 1, 1, 0, NULL);

    return m6_check(&server, &from, buf, len, mono, &rq);
}

static void test_access(void **state)
{
    (void)state;
    static struct acl query, restrict_acl;
    struct core_addr local = test_core4(127, 0, 0, 1);

    acl_init(&query);
    acl_init(&restrict_acl);
    acl_rule(&query, 127, 0, 0, 0, 8, 0);
    acl_rule(&query, 198, 18, 0, 0, 15, 0);
    acl_rule(&query, 198, 18, 0, 3, 32, ACL_IGNORE); /* cmddeny */
    acl_rule(&restrict_acl, 198, 18, 0, 0, 15, 0);
    acl_rule(&restrict_acl, 198, 18, 0, 2, 32, ACL_NOQUERY);
    acl_rule(&restrict_acl, 198, 18, 0, 4, 32, ACL_IGNORE);
    m6_server_init(&server, &query, &restrict_acl, table, 256, 1);

    /* 127.0.0.1 is in no server rule: cmdallow alone decides. */
    assert_int_equal(check_from(local, 0), M6_ANSWERED);
    assert_int_equal(check_from(test_core4(198, 18, 0, 1), 0), M6_ANSWERED);
    assert_int_equal(check_from(test_core4(198, 18, 0, 2), 0), M6_DENIED); /* noquery */
    assert_int_equal(check_from(test_core4(198, 18, 0, 3), 0), M6_DENIED); /* cmddeny */
    assert_int_equal(check_from(test_core4(198, 18, 0, 4), 0), M6_DENIED); /* ignore */
    assert_int_equal(check_from(test_core4(192, 0, 2, 1), 0), M6_DENIED);  /* no cmdallow */
    assert_int_equal(server.stats.count[M6_DENIED], 4);

    /* "restrict default noquery" refuses every address no other rule names. */
    acl_rule(&restrict_acl, 0, 0, 0, 0, 0, ACL_NOQUERY);
    m6_server_init(&server, &query, &restrict_acl, table, 256, 1);
    assert_int_equal(check_from(local, 0), M6_DENIED);
    assert_int_equal(check_from(test_core4(198, 18, 0, 1), 0), M6_ANSWERED);
}

static void test_mode7_malformed_and_rate(void **state)
{
    (void)state;
    static struct acl query, none;
    struct core_addr local = test_core4(127, 0, 0, 1);
    uint8_t buf[64] = {0x17, 0x00, 0x03, 0x00};
    struct m6_request rq;

    acl_init(&query);
    acl_init(&none);
    acl_rule(&query, 127, 0, 0, 0, 8, 0);
    m6_server_init(&server, &query, &none, table, 256, 2);
    assert_true(m6_is_control(buf, 8));
    assert_int_equal(m6_check(&server, &local, buf, 8, 0, &rq), M6_MODE7_DROPPED);
    buf[0] = 0x16;
    buf[1] = 0x81; /* a response */
    assert_int_equal(m6_check(&server, &local, buf, 12, 0, &rq), M6_MALFORMED);
    assert_int_equal(m6_check(&server, &local, buf, 5, 0, &rq), M6_MALFORMED);
    buf[0] = 0x23; /* mode 3 is no control message */
    assert_false(m6_is_control(buf, 48));

    /* A burst of 128 (the two malformed requests above took their share: mode 7 is
     * dropped before the limiter), then limited; 1 s later 16 more. */
    int passed = 0;
    for (int i = 0; i < 200; i++) {
        passed += check_from(local, 0) == M6_ANSWERED;
    }
    assert_int_equal(passed, M6_RLIM_BURST - 2);
    assert_int_equal(check_from(local, 0), M6_RATE_LIMITED);
    passed = 0;
    for (int i = 0; i < 100; i++) {
        passed += check_from(local, S(1)) == M6_ANSWERED;
    }
    assert_int_equal(passed, 16);
    assert_int_equal(server.stats.count[M6_MODE7_DROPPED], 1);
    assert_int_equal(server.stats.count[M6_MALFORMED], 2);
    assert_string_equal(m6_reason_name(M6_MODE7_DROPPED), "mode7_dropped");
    m6_count(&server, &resp);
}

/* Seeded random requests: no crash, and every fragment is a well-formed padded response. */
static void test_random_requests(void **state)
{
    (void)state;
    unsigned seed = (unsigned)time(NULL);
    uint8_t buf[600], out[M6_FRAG_MAX];
    struct m6_request rq;

    printf("test_random_requests seed %u\n", seed);
    srand(seed);
    default_view();
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)rand();
        }
        if (len >= 2 && rand() % 2 == 0) {
            buf[0] = (uint8_t)((1 + rand() % 4) << 3 | 6);
            buf[1] = (uint8_t)(rand() % 3);
        }
        if (!m6_parse_request(buf, len, &rq)) {
            continue;
        }
        m6_respond(&rq, &view, &resp);
        size_t n = m6_fragment_count(&resp);
        assert_true(n >= 1 && n <= M6_MAX_FRAGS);
        for (size_t f = 0; f < n; f++) {
            size_t flen = m6_fragment(&resp, f, out, sizeof(out));
            assert_true(flen >= 12 && flen <= M6_FRAG_MAX && flen % 4 == 0);
            assert_int_equal(out[1] & 0x80, 0x80);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_readstat_golden),
        cmocka_unit_test(test_readvar_list_golden),
        cmocka_unit_test(test_readvar_peer_default),
        cmocka_unit_test(test_readvar_system_default),
        cmocka_unit_test(test_refid_forms),
        cmocka_unit_test(test_srchost_and_ipv6),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_version_and_leap),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_mode7_malformed_and_rate),
        cmocka_unit_test(test_random_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
