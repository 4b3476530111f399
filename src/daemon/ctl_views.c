/* The read commands' answers (see ctl_views.h and doc/control.md). Values the engine
 * does not know yet are written as null, never as a made-up zero. */
#include "daemon/ctl_views.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "daemon/netaddr.h"

#define NS_PER_S 1e9

const char *ctl_view_leap_name(uint8_t leap)
{
    static const char *const names[4] = {"none", "insert", "delete", "unsynchronized"};
    return names[leap & 3];
}

void ctl_view_refid(uint32_t refid, uint8_t stratum, char *buf)
{
    uint8_t b[4];

    memcpy(b, &refid, 4);
    if (stratum >= 2 && stratum < 16) {
        snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < 4 && b[i] != 0; i++) {
        buf[n++] = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '?';
    }
    buf[n] = '\0';
}

static void kv_addr(struct ctl_json *j, const char *key, const struct core_addr *a)
{
    char t[64];

    netaddr_text(a, t, sizeof(t));
    ctl_json_kv_string(j, key, t[0] != '\0' ? t : NULL);
}

static double seconds_since(int64_t then_mono_ns, struct core_time now)
{
    return (double)(now.mono_ns - then_mono_ns) / NS_PER_S;
}

/* The system peer's name (its address when the name is empty), "LOCL" for the local
 * reference, or NULL. */
static const char *reference_name(const struct ctl_view_in *in, const struct eng_status *st,
                                  struct eng_source_status *peer, char *buf, size_t n)
{
    if (st->selected >= 0 && eng_get_source(in->eng, (size_t)st->selected, in->now, peer)) {
        if (peer->name[0] != '\0') {
            return peer->name;
        }
        netaddr_text(&peer->addr, buf, n);
        return buf[0] != '\0' ? buf : NULL;
    }
    return st->stratum < 16 ? "LOCL" : NULL;
}

static void count_sources(const struct eng *e, struct core_time now, int *all, int *reachable)
{
    struct eng_source_status s;

    *all = *reachable = 0;
    for (size_t i = 0; i < eng_source_count(e); i++) {
        if (eng_get_source(e, i, now, &s) && s.kind != 1) {
            (*all)++;
            *reachable += s.reach != 0 ? 1 : 0;
        }
    }
}

static void write_status(const struct ctl_view_in *in, struct ctl_json *j)
{
    struct eng_status st;
    struct eng_source_status peer;
    char buf[64];
    int all, reachable;

    eng_get_status(in->eng, in->now, &st);
    count_sources(in->eng, in->now, &all, &reachable);
    ctl_json_kv_bool(j, "synchronized", st.synced);
    ctl_json_key(j, "since");
    if (in->since_known) {
        ctl_json_time(j, in->since_unix_s);
    } else {
        ctl_json_null(j);
    }
    if (st.updates > 0) {
        ctl_json_kv_number(j, "offset", st.offset);
    } else {
        ctl_json_kv_null(j, "offset");
    }
    ctl_json_kv_number(j, "bound", st.bound);
    ctl_json_kv_uint(j, "stratum", st.stratum);
    ctl_json_kv_string(j, "reference", reference_name(in, &st, &peer, buf, sizeof(buf)));
    ctl_json_kv_string(j, "leap", ctl_view_leap_name(st.leap));
    ctl_json_kv_int(j, "sources_reachable", reachable);
    ctl_json_kv_int(j, "sources", all);
}

static void kv_known(struct ctl_json *j, const char *key, bool known, double v)
{
    if (known) {
        ctl_json_kv_number(j, key, v);
    } else {
        ctl_json_kv_null(j, key);
    }
}

static void write_tracking(const struct ctl_view_in *in, struct ctl_json *j)
{
    struct eng_status st;
    struct eng_source_status peer;
    uint8_t b[4];
    char id[16], buf[64];

    eng_get_status(in->eng, in->now, &st);
    memcpy(b, &st.refid, 4);
    snprintf(id, sizeof(id), "%02X%02X%02X%02X", b[0], b[1], b[2], b[3]);
    ctl_json_kv_string(j, "reference_id", id);
    ctl_json_kv_string(j, "reference_name", reference_name(in, &st, &peer, buf, sizeof(buf)));
    ctl_json_kv_uint(j, "stratum", st.stratum);
    ctl_json_key(j, "reference_time");
    if (st.last_update_mono_ns != 0) {
        ctl_json_time(j, (double)in->now.real_ns / NS_PER_S -
                             seconds_since(st.last_update_mono_ns, in->now));
    } else {
        ctl_json_null(j);
    }
    bool updated = st.updates > 0;
    kv_known(j, "system_time_offset", updated, st.offset);
    kv_known(j, "last_offset", updated, st.last_offset);
    kv_known(j, "rms_offset", updated, st.rms_offset);
    ctl_json_kv_number(j, "frequency_ppm", st.drift_ppm);
    ctl_json_kv_number(j, "residual_frequency_ppm", st.freq_ppm - st.drift_ppm);
    kv_known(j, "skew_ppm", updated, st.skew_ppm); /* no estimate, no uncertainty */
    ctl_json_kv_number(j, "root_delay", st.root_delay);
    ctl_json_kv_number(j, "root_dispersion", st.root_dispersion);
    kv_known(j, "update_interval", st.updates >= 2, st.update_interval);
    ctl_json_kv_string(j, "leap", ctl_view_leap_name(st.leap));
    ctl_json_kv_number(j, "bound", st.bound);
    ctl_json_kv_bool(j, "synchronized", st.synced);
    ctl_json_kv_uint(j, "steps", st.steps);
}

static const char *state_name(const struct eng_source_status *s)
{
    if (s->kind == 1) {
        return "pool";
    }
    if (s->denied) {
        return "denied";
    }
    if (s->addr.family == CORE_AF_NONE) {
        return "unresolved";
    }
    switch (s->tally) {
    case '*':
        return "selected";
    case '+':
        return "candidate";
    case '-':
        return "outlier";
    case 'x':
        return "falseticker";
    case '#':
        return "backup";
    case '.':
        return "excess";
    default:
        return "rejected";
    }
}

static void write_source(const struct ctl_view_in *in, const struct eng_source_status *s,
                         struct ctl_json *j)
{
    char tally[2] = {s->tally == '\0' ? ' ' : s->tally, '\0'};
    char refid[16];

    ctl_json_begin_object(j);
    ctl_json_kv_string(j, "name", s->name);
    kv_addr(j, "address", &s->addr);
    ctl_json_kv_string(j, "tally", s->kind == 1 ? " " : tally);
    ctl_json_kv_string(j, "state", state_name(s));
    ctl_json_kv_string(j, "type", s->kind == 1 ? "p" : "u");
    ctl_json_kv_uint(j, "stratum", s->stratum);
    ctl_view_refid(s->refid, s->stratum, refid);
    ctl_json_kv_string(j, "refid", refid[0] != '\0' ? refid : NULL);
    kv_known(j, "when", s->last_rx_mono_ns != 0, seconds_since(s->last_rx_mono_ns, in->now));
    ctl_json_kv_int(j, "poll", s->poll_log2);
    ctl_json_kv_uint(j, "reach", s->reach);
    kv_known(j, "delay", s->has_estimate, s->delay);
    kv_known(j, "offset", s->has_estimate, s->offset);
    kv_known(j, "jitter", s->has_estimate, s->jitter);
    ctl_json_kv_string(j, "leap", ctl_view_leap_name(s->leap));
    ctl_json_kv_bool(j, "offline", s->offline);
    ctl_json_end_object(j);
}

static void write_source_stats(const struct eng_source_status *s, struct ctl_json *j)
{
    ctl_json_begin_object(j);
    ctl_json_kv_string(j, "name", s->name);
    kv_addr(j, "address", &s->addr);
    ctl_json_key(j, "replies");
    ctl_json_begin_object(j);
    for (size_t k = 0; k < ENG_DROP_REASONS && eng_drop_reason_name(k) != NULL; k++) {
        ctl_json_kv_uint(j, eng_drop_reason_name(k), s->drops[k]);
    }
    ctl_json_end_object(j);
    kv_known(j, "offset", s->has_estimate, s->offset);
    kv_known(j, "jitter", s->has_estimate, s->jitter);
    kv_known(j, "delay", s->has_estimate, s->delay);
    ctl_json_end_object(j);
}

/* Each server and pool line in slot order, a pool's members right after it. */
static void write_list(const struct ctl_view_in *in, bool stats, struct ctl_json *j)
{
    struct eng_source_status s, m;
    size_t n = in->eng != NULL ? eng_source_count(in->eng) : 0;

    ctl_json_key(j, "sources");
    ctl_json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        if (!eng_get_source(in->eng, i, in->now, &s) || s.kind == 2) {
            continue;
        }
        if (stats) {
            write_source_stats(&s, j);
        } else {
            write_source(in, &s, j);
        }
        for (size_t k = 0; k < n && s.kind == 1; k++) {
            if (eng_get_source(in->eng, k, in->now, &m) && m.kind == 2 && m.pool_slot == (int)i) {
                if (stats) {
                    write_source_stats(&m, j);
                } else {
                    write_source(in, &m, j);
                }
            }
        }
    }
    ctl_json_end_array(j);
}

static void write_serverstats(const struct ctl_view_in *in, struct ctl_json *j)
{
    const struct serve *sv = in->serve;

    ctl_json_key(j, "requests");
    ctl_json_begin_object(j);
    for (int r = 0; r < SRV_REASON_COUNT; r++) {
        ctl_json_kv_uint(j, srv_reason_name((enum srv_reason)r),
                         sv != NULL ? sv->srv.stats.count[r] : 0);
    }
    ctl_json_end_object(j);
    ctl_json_kv_uint(j, "clients_seen", sv != NULL ? sv->srv.rlim.clients_seen : 0);
    ctl_json_key(j, "datagrams");
    ctl_json_begin_object(j);
    ctl_json_kv_uint(j, "received", sv != NULL ? sv->cnt.received : 0);
    ctl_json_kv_uint(j, "sent", sv != NULL ? sv->cnt.sent : 0);
    ctl_json_kv_uint(j, "send_failed", sv != NULL ? sv->cnt.send_failed : 0);
    ctl_json_kv_uint(j, "truncated", sv != NULL ? sv->cnt.truncated : 0);
    ctl_json_kv_uint(j, "bad_address", sv != NULL ? sv->cnt.bad_address : 0);
    ctl_json_end_object(j);
}

bool ctl_view_write(enum ctl_cmd cmd, const struct ctl_view_in *in, struct ctl_json *j)
{
    if (ctl_cmd_changes(cmd) || (unsigned)cmd >= CTL_CMD_COUNT) {
        return false;
    }
    ctl_json_begin_object(j);
    if (cmd == CTL_CMD_SERVERSTATS) {
        write_serverstats(in, j);
    } else if (cmd == CTL_CMD_SOURCES || cmd == CTL_CMD_SOURCESTATS) {
        write_list(in, cmd == CTL_CMD_SOURCESTATS, j);
    } else if (in->eng == NULL) {
        ctl_json_kv_bool(j, "synchronized", false);
    } else if (cmd == CTL_CMD_STATUS) {
        write_status(in, j);
    } else {
        write_tracking(in, j);
    }
    ctl_json_end_object(j);
    return true;
}
