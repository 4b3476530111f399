/* Source selection (RFC 5905 section 11.2): per-source fitness, interval intersection
 * (11.2.1, the corrected Marzullo algorithm of A.5.5.1), clustering (11.2.2) and
 * combining (11.2.3). Stateless and deterministic: ties are broken by input order, the
 * sort is stable, and nothing is allocated. */
#include "core/sel.h"

#include <math.h>
#include <string.h>

#define STRATUM_MAX         15
#define LEAP_UNSYNC         3
#define SEL_DELAY_ERROR_DIV 8.0

struct edge {
    double value;
    int type; /* -1 low end, +1 high end (RFC 5905 A.5.5.1 without midpoints) */
};

void sel_params_default(struct sel_params *p)
{
    p->minsources = 1;
    p->maxdistance = 1.5;
    p->min_survivors = 3;
    p->max_survivors = 10;
}

const char *sel_status_name(enum sel_status s)
{
    switch (s) {
    case SEL_OK:
        return "ok";
    case SEL_NO_CANDIDATES:
        return "no_candidates";
    case SEL_NO_MAJORITY:
        return "no_majority";
    case SEL_TOO_FEW:
        return "too_few";
    }
    return "unknown";
}

static bool nonneg(double v)
{
    return isfinite(v) && v >= 0.0;
}

double sel_root_distance(const struct sel_candidate *c)
{
    double d = c->root_delay + c->delay;
    if (d < SEL_MINDIST) {
        d = SEL_MINDIST;
    }
    return d / 2.0 + c->root_dispersion + c->dispersion + c->jitter;
}

/* RFC 5905 A.5.5.3 fit(): may this source take part at all? (Loops, i.e. a refid that
 * names us, are the engine's test: it knows our addresses.) */
static bool candidate_fit(const struct sel_candidate *c, double maxdistance)
{
    if (!c->reach_ok || c->noselect) {
        return false;
    }
    if (c->stratum < 1 || c->stratum > STRATUM_MAX || c->leap == LEAP_UNSYNC) {
        return false;
    }
    if (!isfinite(c->offset) || !nonneg(c->delay) || !nonneg(c->dispersion) || !nonneg(c->jitter) ||
        !nonneg(c->root_delay) || !nonneg(c->root_dispersion)) {
        return false;
    }
    return sel_root_distance(c) <= maxdistance;
}

static bool edge_before(const struct edge *a, const struct edge *b)
{
    if (a->value != b->value) {
        return a->value < b->value;
    }
    /* Closed intervals: at equal values a low end comes first, so touching intervals
     * still intersect. */
    return a->type < b->type;
}

static void sort_edges(struct edge *e, int n)
{
    for (int i = 1; i < n; i++) {
        struct edge k = e[i];
        int j = i - 1;
        while (j >= 0 && edge_before(&k, &e[j])) {
            e[j + 1] = e[j];
            j--;
        }
        e[j + 1] = k;
    }
}

/* Marzullo's intersection (RFC 5905 A.5.5.1): the smallest number of falsetickers f
 * (2f < n) for which some interval lies inside n - f candidates' intervals. The RFC's
 * extra rule that at most f midpoints lie outside is left out, as chrony does: it
 * declares two agreeing sources "no majority" when a wide interval's midpoint lies
 * outside a narrow one. Returns false when no majority exists. */
static bool intersect(const struct edge *e, int n, double *low, double *high)
{
    for (int allow = 0; 2 * allow < n; allow++) {
        int chime = 0;
        bool have_low = false;
        bool have_high = false;
        for (int i = 0; i < 2 * n && !have_low; i++) {
            chime -= e[i].type;
            if (chime >= n - allow) {
                *low = e[i].value;
                have_low = true;
            }
        }
        chime = 0;
        for (int i = 2 * n - 1; i >= 0 && !have_high; i--) {
            chime += e[i].type;
            if (chime >= n - allow) {
                *high = e[i].value;
                have_high = true;
            }
        }
        if (have_low && have_high && *high >= *low) {
            return true;
        }
    }
    return false;
}

static void clear_result(struct sel_result *r)
{
    memset(r, 0, sizeof *r);
    memset(r->verdict, SEL_REJECTED, sizeof r->verdict);
    r->sys_pos = -1;
    r->sys_index = -1;
    r->status = SEL_NO_CANDIDATES;
}

/* Marks truechimers and falsetickers; returns the number of truechimers. A candidate is
 * a truechimer when its correctness interval overlaps the intersection. */
static int mark_truechimers(const struct sel_candidate *c, int n, const int *pos, double low,
                            double high, struct sel_result *r)
{
    int t = 0;
    for (int i = 0; i < n; i++) {
        const struct sel_candidate *ci = &c[pos[i]];
        double rd = sel_root_distance(ci);
        if (ci->offset + rd < low || ci->offset - rd > high) {
            r->verdict[pos[i]] = SEL_FALSETICKER;
            r->n_falsetickers++;
        } else {
            r->verdict[pos[i]] = SEL_CANDIDATE;
            t++;
        }
    }
    return t;
}

/* RFC 5905 11.2.2 metric: stratum first, then root distance. */
static double metric(const struct sel_candidate *c, double maxdistance)
{
    return maxdistance * c->stratum + sel_root_distance(c);
}

/* Sorts survivor positions by metric (stable). */
static void sort_by_metric(const struct sel_candidate *c, int *s, int n, double maxdistance)
{
    for (int i = 1; i < n; i++) {
        int k = s[i];
        double mk = metric(&c[k], maxdistance);
        int j = i - 1;
        while (j >= 0 && metric(&c[s[j]], maxdistance) > mk) {
            s[j + 1] = s[j];
            j--;
        }
        s[j + 1] = k;
    }
}

/* Selection jitter of survivor i against the others (RFC 5905 11.2.2 phi_s). */
static double selection_jitter(const struct sel_candidate *c, const int *s, int n, int i)
{
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        double d = c[s[i]].offset - c[s[j]].offset;
        sum += d * d;
    }
    return n > 1 ? sqrt(sum / (n - 1)) : 0.0;
}

/* One clustering round: the survivor with the largest selection jitter (never a prefer
 * source) is dropped unless that jitter is already below the smallest peer jitter.
 * Returns the position in s to drop, or -1 to stop. */
static int cluster_victim(const struct sel_candidate *c, const int *s, int n)
{
    double max_sel = -1.0;
    double min_peer = INFINITY;
    int victim = -1;
    for (int i = 0; i < n; i++) {
        double phi = selection_jitter(c, s, n, i);
        if (!c[s[i]].prefer && phi > max_sel) {
            max_sel = phi;
            victim = i;
        }
        if (c[s[i]].jitter < min_peer) {
            min_peer = c[s[i]].jitter;
        }
    }
    if (victim < 0 || max_sel <= min_peer) {
        return -1;
    }
    return victim;
}

static int cluster(const struct sel_candidate *c, int *s, int n, int min_survivors,
                   struct sel_result *r)
{
    while (n > min_survivors) {
        int v = cluster_victim(c, s, n);
        if (v < 0) {
            break;
        }
        r->verdict[s[v]] = SEL_OUTLIER;
        memmove(&s[v], &s[v + 1], (size_t)(n - v - 1) * sizeof s[0]);
        n--;
    }
    return n;
}

/* System peer: the previous one if it survived, else a prefer survivor, else the one
 * with the best metric (s is sorted by metric). */
static int choose_sys(const struct sel_candidate *c, const int *s, int n, int prev_sys)
{
    for (int i = 0; i < n; i++) {
        if (prev_sys >= 0 && c[s[i]].index == prev_sys) {
            return s[i];
        }
    }
    for (int i = 0; i < n; i++) {
        if (c[s[i]].prefer) {
            return s[i];
        }
    }
    return s[0];
}

/* 1-sigma error of a source's offset for the estimator: its jitter, but never below a
 * fraction of its round trip, because a jitter from one or two samples can be near
 * zero by chance while path asymmetry hides inside the delay (at most delay/2). */
static double sample_error(const struct sel_candidate *c)
{
    double floor = c->delay / SEL_DELAY_ERROR_DIV;
    return c->jitter > floor ? c->jitter : floor;
}

/* RFC 5905 11.2.3: offsets weighted by the inverse root distance; system jitter is the
 * RMS of the system peer's jitter and the weighted selection jitter. The error for the
 * estimator combines the survivors' jitters with the same weights. */
static void combine(const struct sel_candidate *c, const int *s, int n, int sys,
                    struct sel_result *r)
{
    double wsum = 0.0;
    double osum = 0.0;
    double esum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = 1.0 / sel_root_distance(&c[s[i]]);
        wsum += w;
        osum += w * c[s[i]].offset;
        double e = sample_error(&c[s[i]]);
        esum += w * w * e * e;
    }
    r->offset = osum / wsum;
    double jsum = 0.0;
    for (int i = 0; i < n; i++) {
        double w = 1.0 / sel_root_distance(&c[s[i]]);
        double d = c[s[i]].offset - c[sys].offset;
        jsum += w * d * d;
    }
    double sel_jitter = sqrt(jsum / wsum);
    r->jitter = sqrt(c[sys].jitter * c[sys].jitter + sel_jitter * sel_jitter);
    /* The estimator's error is the sources' own noise only. Their spread around the
     * combination is mostly bias (paths differ in asymmetry) that stays from one update
     * to the next: counted as noise it made the estimator trust its frequency over
     * consistent readings (wan4, one seed in 20: a 1 ms drift over two hours). It still
     * shows in the jitter, the root dispersion and so the bound. */
    r->error = sqrt(esum / (wsum * wsum));
}

/* Leap indicator by majority of the survivors; a tie or no majority means none. */
static uint8_t leap_majority(const struct sel_candidate *c, const int *s, int n)
{
    int count[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (c[s[i]].leap <= 2) {
            count[c[s[i]].leap]++;
        }
    }
    for (uint8_t l = 1; l <= 2; l++) {
        if (2 * count[l] > n) {
            return l;
        }
    }
    return 0;
}

static bool smear_mixed(const struct sel_candidate *c, const int *s, int n)
{
    int smeared = 0;
    for (int i = 0; i < n; i++) {
        smeared += c[s[i]].smeared;
    }
    return smeared > 0 && smeared < n;
}

static void fill_system(const struct sel_candidate *c, const int *s, int n, int sys,
                        struct sel_result *r)
{
    r->verdict[sys] = SEL_SYSPEER;
    r->sys_pos = sys;
    r->sys_index = c[sys].index;
    r->n_survivors = n;
    combine(c, s, n, sys, r);
    r->root_delay = c[sys].root_delay + c[sys].delay;
    r->root_dispersion = c[sys].root_dispersion + c[sys].dispersion + r->jitter;
    r->stratum = c[sys].stratum;
    r->leap = leap_majority(c, s, n);
    r->smear_mix = smear_mixed(c, s, n);
}

/* Collects the fit candidates' positions and their edges; returns their count. */
static int collect(const struct sel_candidate *c, int n, double maxdistance, int *pos,
                   struct edge *e)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (!candidate_fit(&c[i], maxdistance)) {
            continue;
        }
        double rd = sel_root_distance(&c[i]);
        pos[m] = i;
        e[2 * m] = (struct edge){c[i].offset - rd, -1};
        e[2 * m + 1] = (struct edge){c[i].offset + rd, +1};
        m++;
    }
    return m;
}

static void sanitize_params(const struct sel_params *p, struct sel_params *q)
{
    sel_params_default(q);
    if (p == NULL) {
        return;
    }
    if (p->minsources >= 1) {
        q->minsources = p->minsources;
    }
    if (isfinite(p->maxdistance) && p->maxdistance > 0.0) {
        q->maxdistance = p->maxdistance;
    }
    if (p->min_survivors >= 1) {
        q->min_survivors = p->min_survivors;
    }
    if (p->max_survivors >= 1) {
        q->max_survivors = p->max_survivors;
    }
}

enum sel_status sel_select(const struct sel_candidate *c, size_t n, const struct sel_params *p,
                           int prev_sys, struct sel_result *r)
{
    struct sel_params q;
    int pos[SEL_MAX];
    struct edge e[2 * SEL_MAX];

    clear_result(r);
    sanitize_params(p, &q);
    if (c == NULL) {
        return r->status;
    }
    int m = collect(c, n > SEL_MAX ? SEL_MAX : (int)n, q.maxdistance, pos, e);
    r->n_candidates = m;
    if (m == 0) {
        return r->status;
    }
    sort_edges(e, 2 * m);
    if (!intersect(e, m, &r->low, &r->high)) {
        r->low = r->high = 0.0;
        r->status = SEL_NO_MAJORITY;
        return r->status;
    }
    r->majority = true;
    int t = mark_truechimers(c, m, pos, r->low, r->high, r);
    r->n_truechimers = t;
    if (t < q.minsources) {
        r->status = SEL_TOO_FEW;
        return r->status;
    }
    int s[SEL_MAX];
    int ns = 0;
    for (int i = 0; i < m; i++) {
        if (r->verdict[pos[i]] == SEL_CANDIDATE) {
            s[ns++] = pos[i];
        }
    }
    sort_by_metric(c, s, ns, q.maxdistance);
    for (int i = q.max_survivors; i < ns; i++) {
        r->verdict[s[i]] = SEL_EXCESS;
    }
    if (ns > q.max_survivors) {
        ns = q.max_survivors;
    }
    ns = cluster(c, s, ns, q.min_survivors, r);
    fill_system(c, s, ns, choose_sys(c, s, ns, prev_sys), r);
    r->status = SEL_OK;
    return r->status;
}
