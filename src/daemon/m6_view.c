/* Mode 6's view of the engine: copies eng_get_status and eng_get_source into the plain
 * structs core/m6.c answers from. The engine keeps monotonic times; mode 6 shows
 * realtime NTP timestamps, so each is moved by the distance between the two readings of
 * one "now". Nothing here is computed that the engine does not already know. */
#include "daemon/m6_view.h"

#include <string.h>

#include "daemon/drv.h"

/* The realtime moment of a monotonic reading mono_ns taken before now; 0 stays 0. */
static int64_t real_of(struct core_time now, int64_t mono_ns)
{
    if (mono_ns == 0) {
        return 0;
    }
    return now.real_ns - (now.mono_ns - mono_ns);
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;

    if (n >= cap) {
        n = cap - 1;
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
}

static void fill_assoc(const struct eng_source_status *st, size_t slot, struct core_time now,
                       struct m6_assoc *a)
{
    memset(a, 0, sizeof(*a));
    a->associd = (uint16_t)(slot + 1);
    a->kind = st->kind;
    copy_text(a->name, sizeof(a->name), st->name);
    a->addr = st->addr;
    a->tally = st->tally;
    a->stratum = st->stratum;
    a->leap = st->leap;
    a->reach = st->reach;
    a->refid = st->refid;
    a->poll_log2 = st->poll_log2;
    a->offset = st->offset;
    a->delay = st->delay;
    a->jitter = st->jitter;
    a->rec_unix_ns = real_of(now, st->last_rx_mono_ns);
}

static void fill_assocs(const struct eng *e, struct core_time now, struct m6_view *v)
{
    size_t n = eng_source_count(e);
    struct eng_source_status st;

    for (size_t i = 0; i < n && v->n_assoc < M6_MAX_ASSOC && i < UINT16_MAX - 1; i++) {
        if (eng_get_source(e, i, now, &st)) {
            fill_assoc(&st, i, now, &v->assoc[v->n_assoc++]);
        }
    }
}

/* The system peer's poll and jitter stand for ntpd's "tc" and "sys_jitter". */
static void fill_system(const struct eng *e, struct core_time now, struct m6_view *v)
{
    struct eng_status es;
    struct m6_system *s = &v->sys;

    eng_get_status(e, now, &es);
    s->synced = es.synced;
    s->leap = es.leap;
    s->stratum = es.stratum;
    s->refid = es.refid;
    s->root_delay = es.root_delay;
    s->root_dispersion = es.root_dispersion;
    s->ref_unix_ns = real_of(now, es.last_update_mono_ns);
    s->offset = es.offset;
    s->freq_ppm = es.freq_ppm;
    s->wander_ppm = es.skew_ppm;
    s->bound = es.bound;
    if (es.selected < 0) {
        return;
    }
    for (size_t i = 0; i < v->n_assoc; i++) {
        if (v->assoc[i].associd == (uint16_t)(es.selected + 1)) {
            s->peer_associd = v->assoc[i].associd;
            s->poll_log2 = v->assoc[i].poll_log2;
            s->sys_jitter = v->assoc[i].jitter;
        }
    }
}

void m6_view_fill(const struct eng *e, struct core_time now, int8_t precision_log2,
                  const char *version, struct m6_view *v)
{
    memset(&v->sys, 0, sizeof(v->sys));
    v->n_assoc = 0;
    v->sys.precision_log2 = precision_log2;
    v->sys.clock_unix_ns = now.real_ns;
    copy_text(v->sys.version, sizeof(v->sys.version), version);
    if (e == NULL) {
        v->sys.leap = 3;
        v->sys.stratum = 16;
        return;
    }
    fill_assocs(e, now, v);
    fill_system(e, now, v);
}

void m6_view_provide(void *ctx, struct m6_view *v)
{
    const struct m6_view_ctx *c = ctx;
    const struct eng *e = c->drv != NULL ? drv_engine(c->drv) : NULL;

    m6_view_fill(e, drv_now(), c->precision_log2, c->version, v);
}
