/* Binary heap of events keyed by (time, insertion order). The queue stays small (a few
 * events per node), so events are stored by value. */
#include "sim/sim_evq.h"

#include <stdlib.h>
#include <string.h>

void sim_evq_init(struct sim_evq *q)
{
    memset(q, 0, sizeof(*q));
}

void sim_evq_free(struct sim_evq *q)
{
    free(q->heap);
    memset(q, 0, sizeof(*q));
}

static bool before(const struct sim_ev *a, const struct sim_ev *b)
{
    if (a->t_ns != b->t_ns) {
        return a->t_ns < b->t_ns;
    }
    return a->order < b->order;
}

static void swap(struct sim_ev *a, struct sim_ev *b)
{
    struct sim_ev t = *a;
    *a = *b;
    *b = t;
}

static bool grow(struct sim_evq *q)
{
    size_t cap = q->cap ? q->cap * 2 : 64;
    struct sim_ev *h = realloc(q->heap, cap * sizeof(*h));

    if (h == NULL) {
        return false;
    }
    q->heap = h;
    q->cap = cap;
    return true;
}

bool sim_evq_push(struct sim_evq *q, const struct sim_ev *ev)
{
    if (q->n >= SIM_EVQ_MAX || (q->n == q->cap && !grow(q))) {
        return false;
    }
    size_t i = q->n++;
    q->heap[i] = *ev;
    q->heap[i].order = q->next_order++;
    while (i > 0 && before(&q->heap[i], &q->heap[(i - 1) / 2])) {
        swap(&q->heap[i], &q->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    return true;
}

bool sim_evq_pop(struct sim_evq *q, struct sim_ev *ev)
{
    if (q->n == 0) {
        return false;
    }
    *ev = q->heap[0];
    q->heap[0] = q->heap[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->n && before(&q->heap[l], &q->heap[m])) {
            m = l;
        }
        if (r < q->n && before(&q->heap[r], &q->heap[m])) {
            m = r;
        }
        if (m == i) {
            return true;
        }
        swap(&q->heap[i], &q->heap[m]);
        i = m;
    }
}

int64_t sim_evq_peek_time(const struct sim_evq *q)
{
    return q->n ? q->heap[0].t_ns : INT64_MAX;
}
