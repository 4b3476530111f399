/* Mode 6 control messages, read-only (RFC 9327): who may ask, the request header, the
 * READSTAT and READVAR answers as ntpd and NTPsec write them (so ntpq and the monitoring
 * plugins parse them unchanged), and the fragments. Pure: values are formatted here by
 * hand (no printf in the core), from a view the daemon fills; nothing is sent here. */
#include "core/m6.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntp/ntp_ts.h"

#define MODE_CONTROL 6
#define MODE_PRIVATE 7
#define BIT_RESPONSE 0x80
#define BIT_ERROR    0x40
#define BIT_MORE     0x20
#define OPCODE_MASK  0x1f
/* ntpd starts a new line in variable text before it grows past this many characters
 * (MAXDATALINELEN); ntpq joins the lines again. */
#define LINE_MAX_CHARS 72
#define VAR_NAME_MAX   32
#define VALUE_MAX      (M6_NAME_MAX + 8)
#define STRATUM_UNSYNC 16

/* RFC 9327 section 2.2.2, peer status word, high byte. */
#define PST_CONFIG 0x80
#define PST_REACH  0x10
/* Clock source codes of the system status word (section 2.2.1). */
#define SYNC_UNSPEC 0
#define SYNC_NTP    6

const char *m6_reason_name(enum m6_reason r)
{
    switch (r) {
    case M6_ANSWERED:
        return "answered";
    case M6_ERROR_SENT:
        return "error_sent";
    case M6_DENIED:
        return "denied";
    case M6_RATE_LIMITED:
        return "rate_limited";
    case M6_MALFORMED:
        return "malformed";
    case M6_MODE7_DROPPED:
        return "mode7_dropped";
    case M6_REASON_COUNT:
        break;
    }
    return "unknown";
}

/* ---- access ---------------------------------------------------------------------- */

static void add_catch_all(struct acl *a, uint8_t family)
{
    struct acl_rule r;

    memset(&r, 0, sizeof(r));
    r.family = family;
    r.prefix_len = 0;
    r.flags = 0;
    /* Merging keeps the flags of an existing default rule ("restrict default noquery");
     * a full table (ACL_FULL) leaves unnamed addresses ignored, which only refuses more. */
    (void)acl_add(a, &r, ACL_ADD_MERGE);
}

void m6_server_init(struct m6_server *m, const struct acl *query, const struct acl *server_acl,
                    struct rlim_entry *table, size_t n_entries, uint64_t seed)
{
    struct rlim_params p;

    memset(m, 0, sizeof(*m));
    m->query = *query;
    m->restrict_acl = *server_acl;
    add_catch_all(&m->restrict_acl, CORE_AF_INET);
    add_catch_all(&m->restrict_acl, CORE_AF_INET6);
    rlim_params_default(&p);
    p.interval_log2 = M6_RLIM_INTERVAL_LOG2;
    p.burst = M6_RLIM_BURST;
    p.leak_log2 = 0;
    p.kod_log2 = 0;
    rlim_init(&m->rlim, &p, table, n_entries, seed);
}

bool m6_is_control(const uint8_t *buf, size_t len)
{
    if (buf == NULL || len == 0) {
        return false;
    }
    uint8_t mode = buf[0] & 7;
    return mode == MODE_CONTROL || mode == MODE_PRIVATE;
}

/* chrony's cmdallow decides who may query at all; an ntpd "restrict ... noquery" or
 * "ignore" that covers the address refuses it even then (ntp.conf(5)). */
static bool is_admitted(const struct m6_server *m, const struct core_addr *from)
{
    if ((acl_lookup(&m->query, from) & ACL_IGNORE) != 0) {
        return false;
    }
    return (acl_lookup(&m->restrict_acl, from) & (ACL_IGNORE | ACL_NOQUERY)) == 0;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

bool m6_parse_request(const uint8_t *buf, size_t len, struct m6_request *rq)
{
    memset(rq, 0, sizeof(*rq));
    if (buf == NULL || len < M6_HEADER_LEN) {
        return false;
    }
    rq->version = (buf[0] >> 3) & 7;
    if ((buf[0] & 7) != MODE_CONTROL || rq->version == 0 || rq->version > 4) {
        return false;
    }
    if ((buf[1] & BIT_RESPONSE) != 0) {
        return false;
    }
    rq->more = (buf[1] & BIT_MORE) != 0;
    rq->opcode = buf[1] & OPCODE_MASK;
    rq->sequence = get16(buf + 2);
    rq->status = get16(buf + 4);
    rq->associd = get16(buf + 6);
    rq->offset = get16(buf + 8);
    rq->count = get16(buf + 10);
    if (rq->count > len - M6_HEADER_LEN) {
        rq->count_too_big = true;
        rq->count = 0;
    }
    rq->data = rq->count > 0 ? buf + M6_HEADER_LEN : NULL;
    return true;
}

enum m6_reason m6_check(struct m6_server *m, const struct core_addr *from, const uint8_t *buf,
                        size_t len, int64_t mono_ns, struct m6_request *rq)
{
    enum m6_reason why = M6_ANSWERED;

    memset(rq, 0, sizeof(*rq));
    if (buf != NULL && len > 0 && (buf[0] & 7) == MODE_PRIVATE) {
        why = M6_MODE7_DROPPED;
    } else if (!is_admitted(m, from)) {
        why = M6_DENIED;
    } else if (rlim_check(&m->rlim, from, mono_ns) != RLIM_PASS) {
        why = M6_RATE_LIMITED;
    } else if (!m6_parse_request(buf, len, rq)) {
        why = M6_MALFORMED;
    }
    if (why != M6_ANSWERED) {
        m->stats.count[why]++;
    }
    return why;
}

void m6_count(struct m6_server *m, const struct m6_response *r)
{
    m->stats.count[r->error != M6_ERR_NONE ? M6_ERROR_SENT : M6_ANSWERED]++;
}

/* ---- status words ----------------------------------------------------------------- */

uint16_t m6_system_status(const struct m6_system *s)
{
    unsigned source = s->synced && s->peer_associd != 0 ? SYNC_NTP : SYNC_UNSPEC;

    /* No event history is kept: count and code stay 0 ("unspecified"). */
    return (uint16_t)((s->leap & 3u) << 14 | source << 8);
}

/* RFC 9327 section 2.2.2 selection codes, in the order of ntpq's " x.-+#*o". */
static unsigned selection_code(char tally)
{
    static const char codes[] = " x.-+#*o";

    for (unsigned i = 0; i < 8; i++) {
        if (codes[i] == tally) {
            return i;
        }
    }
    return 0;
}

uint16_t m6_peer_status(const struct m6_assoc *a)
{
    unsigned hi = selection_code(a->tally);

    if (a->kind != M6_KIND_POOL_MEMBER) {
        hi |= PST_CONFIG; /* from a server or pool line of the config */
    }
    if (a->reach != 0) {
        hi |= PST_REACH;
    }
    return (uint16_t)(hi << 8);
}

/* ---- value formatting --------------------------------------------------------------- */

/* One value's text, NUL-terminated; ok turns false when it did not fit. */
struct val {
    char s[VALUE_MAX];
    size_t n;
    bool ok;
};

static void val_reset(struct val *v)
{
    v->n = 0;
    v->s[0] = '\0';
    v->ok = true;
}

static void val_char(struct val *v, char c)
{
    if (v->n + 1 >= sizeof(v->s)) {
        v->ok = false;
        return;
    }
    v->s[v->n++] = c;
    v->s[v->n] = '\0';
}

static void val_str(struct val *v, const char *s)
{
    while (*s != '\0') {
        val_char(v, *s++);
    }
}

static void val_uint(struct val *v, uint64_t x)
{
    char digits[24];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x != 0);
    while (n > 0) {
        val_char(v, digits[--n]);
    }
}

static void val_int(struct val *v, int64_t x)
{
    if (x < 0) {
        val_char(v, '-');
        val_uint(v, (uint64_t)0 - (uint64_t)x);
    } else {
        val_uint(v, (uint64_t)x);
    }
}

/* Lower-case hex with exactly `digits` digits (0: as many as needed, at least one). */
static void val_hex(struct val *v, uint64_t x, int digits)
{
    static const char hex[] = "0123456789abcdef";
    int n = digits;

    if (n == 0) {
        n = 1;
        while (n < 16 && (x >> (4 * n)) != 0) {
            n++;
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        val_char(v, hex[(x >> (4 * i)) & 0xf]);
    }
}

/* Neither NaN nor infinite. */
static bool is_finite(double x)
{
    return x - x == 0.0;
}

/* x with exactly `decimals` (<= 9) decimals, rounded; false (nothing written) for a value
 * that is not finite or too large to print exactly. */
static bool val_fixed(struct val *v, double x, int decimals)
{
    uint64_t scale = 1;

    for (int i = 0; i < decimals; i++) {
        scale *= 10;
    }
    if (!is_finite(x) || fabs(x) * (double)scale >= 9e18) {
        return false;
    }
    uint64_t units = (uint64_t)llround(fabs(x) * (double)scale);
    if (x < 0 && units != 0) {
        val_char(v, '-');
    }
    val_uint(v, units / scale);
    val_char(v, '.');
    for (uint64_t d = scale / 10; d > 0; d /= 10) {
        val_char(v, (char)('0' + units / d % 10));
    }
    return true;
}

/* Seconds as milliseconds with 6 decimals, as NTPsec sends them (ntpq then shows 4). */
static bool val_ms(struct val *v, double seconds)
{
    return val_fixed(v, seconds * 1e3, 6);
}

/* An NTP timestamp as ntpd's hex l_fp "0xSSSSSSSS.FFFFFFFF" (ntpq pretty-prints it). */
static void val_lfp(struct val *v, int64_t unix_ns)
{
    uint64_t ts = ntp_ts_from_unix_ns(unix_ns);

    val_str(v, "0x");
    val_hex(v, ts >> 32, 8);
    val_char(v, '.');
    val_hex(v, ts & 0xffffffffu, 8);
}

static void val_ipv4(struct val *v, const uint8_t b[4])
{
    for (int i = 0; i < 4; i++) {
        if (i > 0) {
            val_char(v, '.');
        }
        val_uint(v, b[i]);
    }
}

/* The longest run (at least two) of zero 16-bit groups, for "::" (RFC 5952 section 4.2). */
static void longest_zero_run(const uint16_t g[8], int *start, int *len)
{
    *start = -1;
    *len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0) {
            j++;
        }
        if (j - i > *len && j - i >= 2) {
            *start = i;
            *len = j - i;
        }
        i = j > i ? j : i + 1;
    }
}

/* RFC 5952 text: lower case, no leading zeros, the longest zero run as "::". */
static void val_ipv6(struct val *v, const uint8_t b[16])
{
    uint16_t g[8];
    int start, len;

    for (int i = 0; i < 8; i++) {
        g[i] = get16(b + 2 * i);
    }
    longest_zero_run(g, &start, &len);
    for (int i = 0; i < 8; i++) {
        if (i == start) {
            val_str(v, "::");
            i += len - 1;
            continue;
        }
        if (i > 0 && i != start + len) {
            val_char(v, ':');
        }
        val_hex(v, g[i], 0);
    }
}

/* A source's address; an unresolved one (and a pool line) shows as 0.0.0.0, as ntpd's
 * pool association does. */
static void val_addr(struct val *v, const struct core_addr *a)
{
    static const uint8_t none[4] = {0, 0, 0, 0};

    if (a->family == CORE_AF_INET6) {
        val_ipv6(v, a->bytes);
    } else if (a->family == CORE_AF_INET) {
        val_ipv4(v, a->bytes);
    } else {
        val_ipv4(v, none);
    }
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The ASCII form of a reference ID (kiss codes, ".GPS.", "LOCL"), or false when ntpq
 * would misread it: ntpq casts every value with int(v, 0) and float(v) first, so a code
 * that starts with a digit or reads "inf"/"nan" must not be sent as text. */
static bool refid_ascii(uint32_t wire_refid, char out[5])
{
    uint8_t b[4];
    size_t n = 0;

    memcpy(b, &wire_refid, sizeof(b));
    for (int i = 0; i < 4 && b[i] != 0; i++) {
        if (!is_alnum((char)b[i])) {
            return false;
        }
        out[n++] = (char)b[i];
    }
    out[n] = '\0';
    if (n == 0 || (out[0] >= '0' && out[0] <= '9')) {
        return false;
    }
    char low[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n && i < 3; i++) {
        low[i] = (char)(out[i] | 0x20);
    }
    return !(n == 3 && (memcmp(low, "inf", 3) == 0 || memcmp(low, "nan", 3) == 0));
}

/* RFC 5905 section 7.3: an IPv4 address above stratum 1 (an IPv6 server's hash shows
 * the same way); a four-character code at stratum 0 and 1 and while unsynchronized,
 * "INIT" (ntpd's word for it) before any reference is known. */
static void val_refid(struct val *v, uint32_t wire_refid, uint8_t stratum)
{
    char text[5];
    uint8_t b[4];

    memcpy(b, &wire_refid, sizeof(b));
    if (wire_refid == 0 && (stratum == 0 || stratum >= STRATUM_UNSYNC)) {
        val_str(v, "INIT");
        return;
    }
    if ((stratum <= 1 || stratum >= STRATUM_UNSYNC) && refid_ascii(wire_refid, text)) {
        val_str(v, text);
        return;
    }
    val_ipv4(v, b);
}

/* A quoted string without characters that would end the quote or the line. */
static void val_quoted(struct val *v, const char *s)
{
    val_char(v, '"');
    for (size_t i = 0; s[i] != '\0' && i < M6_NAME_MAX; i++) {
        if (s[i] >= ' ' && s[i] < 0x7f && s[i] != '"') {
            val_char(v, s[i]);
        }
    }
    val_char(v, '"');
}

/* ---- variables ---------------------------------------------------------------------- */

/* Writes one variable's value for the view (and association, for peer variables);
 * false when the value is not known now (the variable is then left out). */
typedef bool (*var_fn)(const struct m6_view *v, const struct m6_assoc *a, struct val *o);

struct var {
    const char *name;
    var_fn fn;
    bool in_default; /* part of the answer to a READVAR without a variable list */
};

static bool sys_version(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_quoted(o, v->sys.version);
    return v->sys.version[0] != '\0';
}

static bool sys_leap(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_uint(o, v->sys.leap & 3u);
    return true;
}

static bool sys_stratum(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_uint(o, v->sys.stratum == 0 || v->sys.stratum > STRATUM_UNSYNC ? STRATUM_UNSYNC
                                                                       : v->sys.stratum);
    return true;
}

static bool sys_precision(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_int(o, v->sys.precision_log2);
    return true;
}

static bool sys_rootdelay(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_ms(o, v->sys.root_delay);
}

static bool sys_rootdisp(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_ms(o, v->sys.root_dispersion);
}

static bool sys_refid(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_refid(o, v->sys.refid, v->sys.stratum);
    return true;
}

static bool sys_reftime(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_lfp(o, v->sys.ref_unix_ns);
    return v->sys.ref_unix_ns != 0;
}

static bool sys_clock(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_lfp(o, v->sys.clock_unix_ns);
    return v->sys.clock_unix_ns != 0;
}

static bool sys_peer(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_uint(o, v->sys.peer_associd);
    return true;
}

static bool sys_tc(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    val_int(o, v->sys.poll_log2);
    return v->sys.peer_associd != 0;
}

static bool sys_offset(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_ms(o, v->sys.offset);
}

static bool sys_frequency(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_fixed(o, v->sys.freq_ppm, 6);
}

static bool sys_jitter(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_ms(o, v->sys.sys_jitter);
}

static bool sys_wander(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_fixed(o, v->sys.wander_ppm, 6);
}

static bool sys_bound(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)a;
    return val_ms(o, v->sys.bound);
}

/* NTPsec's default system list, in its order, for the variables tsyncd has; "bound"
 * (tsyncd's maximum error, ms) last. */
static const struct var sys_vars[] = {
    {"version", sys_version, true},
    {"leap", sys_leap, true},
    {"stratum", sys_stratum, true},
    {"precision", sys_precision, true},
    {"rootdelay", sys_rootdelay, true},
    {"rootdisp", sys_rootdisp, true},
    {"refid", sys_refid, true},
    {"reftime", sys_reftime, true},
    {"clock", sys_clock, true},
    {"peer", sys_peer, true},
    {"tc", sys_tc, true},
    {"offset", sys_offset, true},
    {"frequency", sys_frequency, true},
    {"sys_jitter", sys_jitter, true},
    {"clk_wander", sys_wander, true},
    {"bound", sys_bound, true},
};

static bool peer_srcadr(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_addr(o, &a->addr);
    return true;
}

static bool peer_srcport(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_uint(o, a->addr.port != 0 ? a->addr.port : 123);
    return true;
}

/* NTPsec sends srchost for sources configured by name and for pool lines; a pool's
 * members and servers given as an address have only srcadr. */
static bool peer_srchost(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    struct val addr;

    (void)v;
    val_reset(&addr);
    val_addr(&addr, &a->addr);
    if (a->kind == M6_KIND_POOL_MEMBER || a->name[0] == '\0' || strcmp(a->name, addr.s) == 0) {
        return false;
    }
    val_quoted(o, a->name);
    return true;
}

static bool peer_leap(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_uint(o, a->leap & 3u);
    return true;
}

static uint8_t peer_stratum_value(const struct m6_assoc *a)
{
    return a->stratum == 0 || a->stratum > STRATUM_UNSYNC ? STRATUM_UNSYNC : a->stratum;
}

static bool peer_stratum(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_uint(o, peer_stratum_value(a));
    return true;
}

/* A pool line says POOL, which ntpq shows as type "p". */
static bool peer_refid(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    if (a->kind == M6_KIND_POOL) {
        val_str(o, "POOL");
    } else {
        val_refid(o, a->refid, a->stratum);
    }
    return true;
}

static bool peer_rec(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_lfp(o, a->rec_unix_ns);
    return a->rec_unix_ns != 0;
}

/* Hex with 0x, as ntpd's ctl_puthex: ntpq reads it with int(v, 0), shows it in octal. */
static bool peer_reach(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_str(o, "0x");
    val_hex(o, a->reach, 0);
    return true;
}

/* Our mode is client (3): without hmode ntpq shows type "?". */
static bool peer_hmode(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    (void)a;
    val_uint(o, 3);
    return true;
}

static bool peer_pmode(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_uint(o, 4);
    return a->rec_unix_ns != 0;
}

static bool peer_hpoll(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    val_int(o, a->poll_log2);
    return true;
}

/* A server echoes the poll of our request in its answer (RFC 5905 section 9.2), so the
 * peer's poll is ours; ntpq shows 2^min(hpoll, ppoll). */
static bool peer_ppoll(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    return peer_hpoll(v, a, o);
}

static bool peer_offset(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    return val_ms(o, a->offset);
}

static bool peer_delay(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    return val_ms(o, a->delay);
}

static bool peer_jitter(const struct m6_view *v, const struct m6_assoc *a, struct val *o)
{
    (void)v;
    return val_ms(o, a->jitter);
}

/* NTPsec's default peer list, in its order, for the variables tsyncd has. */
static const struct var peer_vars[] = {
    {"srcadr", peer_srcadr, true}, {"srcport", peer_srcport, true}, {"srchost", peer_srchost, true},
    {"leap", peer_leap, true},     {"stratum", peer_stratum, true}, {"refid", peer_refid, true},
    {"rec", peer_rec, true},       {"reach", peer_reach, true},     {"hmode", peer_hmode, true},
    {"pmode", peer_pmode, true},   {"hpoll", peer_hpoll, true},     {"ppoll", peer_ppoll, true},
    {"offset", peer_offset, true}, {"delay", peer_delay, true},     {"jitter", peer_jitter, true},
};

#define N_SYS_VARS  (sizeof(sys_vars) / sizeof(sys_vars[0]))
#define N_PEER_VARS (sizeof(peer_vars) / sizeof(peer_vars[0]))

/* ---- answers ------------------------------------------------------------------------ */

/* Variable text in r->data: "name=value" items joined by ", ", or ",\r\n" where a line
 * would pass LINE_MAX_CHARS (as ntpd writes them). */
struct text {
    struct m6_response *r;
    size_t line; /* characters on the current line */
};

/* Appends name=value; false (nothing written) when the answer is full. */
static bool text_item(struct text *t, const char *name, const struct val *value)
{
    size_t item = strlen(name) + 1 + value->n;
    bool first = t->r->len == 0;
    bool wrap = !first && t->line + 2 + item > LINE_MAX_CHARS;
    size_t sep = first ? 0 : (wrap ? 3 : 2);

    if (t->r->len + sep + item > M6_RESPONSE_MAX) {
        return false;
    }
    uint8_t *p = t->r->data + t->r->len;
    if (sep != 0) {
        memcpy(p, wrap ? ",\r\n" : ", ", sep);
        t->line = wrap ? 0 : t->line + 2;
    }
    memcpy(p + sep, name, strlen(name));
    p[sep + strlen(name)] = '=';
    memcpy(p + sep + strlen(name) + 1, value->s, value->n);
    t->r->len += sep + item;
    t->line += item;
    return true;
}

/* Writes one variable if its value is known; false only when the answer is full. */
static bool put_var(struct text *t, const struct var *var, const struct m6_view *v,
                    const struct m6_assoc *a)
{
    struct val value;

    val_reset(&value);
    if (!var->fn(v, a, &value) || !value.ok) {
        return true;
    }
    return text_item(t, var->name, &value);
}

static const struct var *find_var(const struct var *vars, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(vars[i].name, name) == 0) {
            return &vars[i];
        }
    }
    return NULL;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next name of a request's variable list "a,b=1, c": comma-separated, blanks around
 * ignored, a value after '=' ignored (reads take none), a NUL ends the list. Returns false
 * at the end; a name too long for any variable comes back as "" with *bad set. */
static bool next_name(const struct m6_request *rq, size_t *pos, char name[VAR_NAME_MAX], bool *bad)
{
    while (*pos < rq->count && rq->data[*pos] != 0) {
        size_t start = *pos, end;
        while (*pos < rq->count && rq->data[*pos] != 0 && rq->data[*pos] != ',') {
            (*pos)++;
        }
        end = *pos;
        if (*pos < rq->count && rq->data[*pos] == ',') {
            (*pos)++;
        }
        for (size_t k = start; k < end; k++) {
            if (rq->data[k] == '=') {
                end = k;
                break;
            }
        }
        while (start < end && is_space(rq->data[start])) {
            start++;
        }
        while (end > start && is_space(rq->data[end - 1])) {
            end--;
        }
        if (end == start) {
            continue; /* an empty item: "a,,b" or a trailing comma */
        }
        *bad = end - start >= VAR_NAME_MAX;
        size_t n = *bad ? 0 : end - start;
        memcpy(name, rq->data + start, n);
        name[n] = '\0';
        return true;
    }
    return false;
}

/* READVAR of the system (a == NULL) or of one association: the variables asked for, in
 * their order, or the default list. An unknown name fails the whole request, as in ntpd. */
static enum m6_error write_vars(const struct m6_request *rq, const struct m6_view *v,
                                const struct m6_assoc *a, struct m6_response *r)
{
    const struct var *vars = a == NULL ? sys_vars : peer_vars;
    size_t n_vars = a == NULL ? N_SYS_VARS : N_PEER_VARS;
    struct text t = {r, 0};
    char name[VAR_NAME_MAX];
    size_t pos = 0;
    bool bad = false, listed = false;

    while (next_name(rq, &pos, name, &bad)) {
        const struct var *var = bad ? NULL : find_var(vars, n_vars, name);
        if (var == NULL) {
            return M6_ERR_UNKNOWNVAR;
        }
        listed = true;
        if (!put_var(&t, var, v, a)) {
            return M6_ERR_NONE; /* full: what fits is sent */
        }
    }
    for (size_t i = 0; !listed && i < n_vars; i++) {
        if (vars[i].in_default && !put_var(&t, &vars[i], v, a)) {
            break;
        }
    }
    return M6_ERR_NONE;
}

static const struct m6_assoc *find_assoc(const struct m6_view *v, uint16_t associd)
{
    size_t n = v->n_assoc < M6_MAX_ASSOC ? v->n_assoc : M6_MAX_ASSOC;

    for (size_t i = 0; i < n; i++) {
        if (v->assoc[i].associd == associd) {
            return &v->assoc[i];
        }
    }
    return NULL;
}

/* READSTAT (RFC 9327 section 3.2): for association 0 the (associd, status) pairs of all
 * of them, for one association its status word alone. */
static enum m6_error do_readstat(const struct m6_request *rq, const struct m6_view *v,
                                 struct m6_response *r)
{
    if (rq->associd != 0) {
        const struct m6_assoc *a = find_assoc(v, rq->associd);
        if (a == NULL) {
            return M6_ERR_BADASSOC;
        }
        r->status = m6_peer_status(a);
        return M6_ERR_NONE;
    }
    size_t n = v->n_assoc < M6_MAX_ASSOC ? v->n_assoc : M6_MAX_ASSOC;
    r->status = m6_system_status(&v->sys);
    for (size_t i = 0; i < n && r->len + 4 <= M6_RESPONSE_MAX; i++) {
        put16(r->data + r->len, v->assoc[i].associd);
        put16(r->data + r->len + 2, m6_peer_status(&v->assoc[i]));
        r->len += 4;
    }
    return M6_ERR_NONE;
}

static enum m6_error do_readvar(const struct m6_request *rq, const struct m6_view *v,
                                struct m6_response *r)
{
    if (rq->associd == 0) {
        r->status = m6_system_status(&v->sys);
        return write_vars(rq, v, NULL, r);
    }
    const struct m6_assoc *a = find_assoc(v, rq->associd);
    if (a == NULL) {
        return M6_ERR_BADASSOC;
    }
    /* ntpq takes the tally of "ntpq -p" from this status word. */
    r->status = m6_peer_status(a);
    return write_vars(rq, v, a, r);
}

/* Requests that would change something are refused as unauthorized (read-only server);
 * the rest of what we do not serve is a bad opcode. */
static enum m6_error unserved_opcode(uint8_t opcode)
{
    switch (opcode) {
    case M6_OP_WRITEVAR:
    case M6_OP_WRITECLOCK:
    case M6_OP_SETTRAP:
    case M6_OP_CONFIGURE:
    case M6_OP_SAVECONFIG:
    case M6_OP_UNSETTRAP:
        return M6_ERR_PERMISSION;
    default:
        return M6_ERR_BADOP;
    }
}

void m6_respond(const struct m6_request *rq, const struct m6_view *v, struct m6_response *r)
{
    enum m6_error err;

    r->version = rq->version;
    r->opcode = rq->opcode & OPCODE_MASK;
    r->leap = v->sys.leap & 3u;
    r->sequence = rq->sequence;
    r->associd = rq->associd;
    r->status = 0;
    r->len = 0;
    if (rq->count_too_big || rq->more || rq->offset != 0) {
        err = M6_ERR_BADFMT;
    } else if (rq->opcode == M6_OP_READSTAT) {
        err = do_readstat(rq, v, r);
    } else if (rq->opcode == M6_OP_READVAR) {
        err = do_readvar(rq, v, r);
    } else {
        err = unserved_opcode(rq->opcode);
    }
    r->error = (uint8_t)err;
    if (err != M6_ERR_NONE) {
        r->len = 0;
        r->status = (uint16_t)(err << 8);
    }
}

/* ---- fragments ---------------------------------------------------------------------- */

size_t m6_fragment_count(const struct m6_response *r)
{
    if (r->len == 0) {
        return 1;
    }
    return (r->len + M6_FRAG_DATA_MAX - 1) / M6_FRAG_DATA_MAX;
}

size_t m6_fragment(const struct m6_response *r, size_t i, uint8_t *out, size_t cap)
{
    size_t n_frags = m6_fragment_count(r);
    if (i >= n_frags || r->len > M6_RESPONSE_MAX) {
        return 0;
    }
    size_t offset = i * M6_FRAG_DATA_MAX;
    size_t count = r->len - offset < M6_FRAG_DATA_MAX ? r->len - offset : M6_FRAG_DATA_MAX;
    size_t total = (M6_HEADER_LEN + count + 3) & ~(size_t)3;
    if (cap < total) {
        return 0;
    }
    bool more = i + 1 < n_frags;
    /* ntpd sends its leap indicator in every control response; check_ntp_peer warns on
     * LI 3 (RFC 9327 section 2). */
    out[0] = (uint8_t)((r->leap & 3u) << 6 | (r->version & 7u) << 3 | MODE_CONTROL);
    out[1] = (uint8_t)(BIT_RESPONSE | (r->error != 0 ? BIT_ERROR : 0) | (more ? BIT_MORE : 0) |
                       (r->opcode & OPCODE_MASK));
    put16(out + 2, r->sequence);
    put16(out + 4, r->status);
    put16(out + 6, r->associd);
    put16(out + 8, (uint16_t)offset);
    put16(out + 10, (uint16_t)count);
    memcpy(out + M6_HEADER_LEN, r->data + offset, count);
    memset(out + M6_HEADER_LEN + count, 0, total - M6_HEADER_LEN - count);
    return total;
}
