/* The Prometheus metrics of tsyncd, defined once: every family's name, help text, kind
 * and labels, read from the values of the control socket's read answers (status,
 * tracking, sources, serverstats as doc/control.md gives them), and the text exposition
 * format (version 0.0.4) they are written in. `tsync metrics` and tsyncd's /metrics
 * endpoint both write through here, so they cannot differ. No I/O, no global state. */
#ifndef TSYNC_MET_PROM_H
#define TSYNC_MET_PROM_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics/met_tree.h"

/* The Content-Type of the text exposition format. */
#define MET_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum met_kind { MET_GAUGE, MET_COUNTER };

struct met_family {
    const char *name;
    enum met_kind kind;
    const char *help;
};

struct met_label {
    const char *name;
    const char *value; /* NULL is written as "" */
};

/* Where the text goes. write is called with pieces of the text, in order. */
struct met_out {
    void (*write)(void *ctx, const char *s, size_t n);
    void *ctx;
};

/* The writer: a family's # HELP and # TYPE come right before its first sample, so the
 * samples of one family must be given together. */
struct met_writer {
    struct met_out out;
    const struct met_family *last; /* family of the previous sample */
};

void met_writer_init(struct met_writer *w, const struct met_out *out);

/* One sample: NAME{l1="v1",...} VALUE. Label values are escaped as the exposition format
 * asks (backslash, double quote, newline); values use %.15g, NaN and +Inf/-Inf. */
void met_sample(struct met_writer *w, const struct met_family *f, const struct met_label *labels,
                size_t n_labels, double value);

/* Every metric of the four read answers (any may be NULL: its metrics are left out),
 * after tsync_up 1. */
void met_prom_write(struct met_writer *w, const struct met_val *status,
                    const struct met_val *tracking, const struct met_val *sources,
                    const struct met_val *serverstats);

/* tsync_up 0 alone: the daemon did not answer. */
void met_prom_write_down(struct met_writer *w);

#endif
