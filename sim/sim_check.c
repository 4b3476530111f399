/* Expectation files: each line compares one metric with a limit. A value that was never
 * reached (INFINITY) fails every "max"; NAN (nothing measured) fails everything. */
#include "sim/sim_check.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "sim/sim_ecfg.h"

struct expect {
    bool is_max;
    char key[SIM_METRIC_KEY_MAX];
    double limit;
    char note[256];
};

static int compare(const struct expect *e, const char *key, const struct sim_metrics *m, FILE *out)
{
    double v;
    bool have = sim_metrics_get(m, key, &v);
    bool ok = have && !isnan(v) && (e->is_max ? v <= e->limit : v >= e->limit);

    if (!have) {
        fprintf(out, "  FAIL %s: not measured\n", key);
        return 1;
    }
    fprintf(out, "  %-4s %s = %.6g %s %.6g%s%s\n", ok ? "ok" : "FAIL", key, v,
            ok ? (e->is_max ? "<=" : ">=") : (e->is_max ? ">" : "<"), e->limit,
            ok || e->note[0] == '\0' ? "" : "  # ", ok ? "" : e->note);
    return !ok;
}

static int apply(const struct expect *e, const struct sim_world *w, const struct sim_metrics *m,
                 FILE *out)
{
    char key[SIM_METRIC_KEY_MAX + SIM_SCN_NAME_MAX];
    int failed = 0;

    const char *dot = strchr(e->key, '.');
    /* "c1.rms_offset" names a node; "event.step" is a metric of every client. */
    for (size_t i = 0; dot != NULL && i < w->n; i++) {
        const char *name = w->nodes[i].spec->name;
        if (strlen(name) == (size_t)(dot - e->key) && strncmp(name, e->key, strlen(name)) == 0) {
            return compare(e, e->key, m, out);
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->nodes[i].eng != NULL) {
            snprintf(key, sizeof(key), "%s.%s", w->nodes[i].spec->name, e->key);
            failed += compare(e, key, m, out);
        }
    }
    return failed;
}

/* Parses one line; returns 1 for an expectation, 0 for a blank line, -1 on error. */
static int parse_line(char *line, struct expect *e, char *msg, size_t n)
{
    char *hash = strchr(line, '#');
    char *w[4];
    int nw = 0;
    char *save = NULL;

    e->note[0] = '\0';
    if (hash != NULL) {
        *hash = '\0';
        snprintf(e->note, sizeof(e->note), "%s", hash + 1 + strspn(hash + 1, " \t"));
        e->note[strcspn(e->note, "\r\n")] = '\0';
    }
    for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL;
         t = strtok_r(NULL, " \t\r\n", &save)) {
        if (nw == 4) {
            snprintf(msg, n, "expected max|min KEY VALUE, got more words");
            return -1;
        }
        w[nw++] = t;
    }
    if (nw == 0) {
        return 0;
    }
    if (nw != 3 || (strcmp(w[0], "max") != 0 && strcmp(w[0], "min") != 0)) {
        snprintf(msg, n, "expected max|min KEY VALUE");
        return -1;
    }
    if (strlen(w[1]) >= sizeof(e->key) || !sim_parse_seconds(w[2], &e->limit)) {
        snprintf(msg, n, "bad key or value \"%s %s\" (numbers may carry ns us ms s min h d)", w[1],
                 w[2]);
        return -1;
    }
    e->is_max = strcmp(w[0], "max") == 0;
    snprintf(e->key, sizeof(e->key), "%s", w[1]);
    return 1;
}

int sim_check_file(const char *path, const struct sim_world *w, const struct sim_metrics *m,
                   FILE *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[1024], msg[256];
    int failed = 0, lineno = 0, checks = 0;
    struct expect e;

    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        int r = parse_line(line, &e, msg, sizeof(msg));
        if (r < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            fclose(f);
            return -1;
        }
        if (r == 1) {
            checks++;
            failed += apply(&e, w, m, out);
        }
    }
    fclose(f);
    if (checks == 0) {
        snprintf(err, errlen, "%s: no expectations", path);
        return -1;
    }
    return failed;
}
