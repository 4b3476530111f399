/* tsync metrics: the daemon's state in the Prometheus text exposition format, for
 * node_exporter's textfile collector or any scraper. The metrics themselves (names,
 * help, kinds, labels) are defined in src/metrics/met_prom.c, which tsyncd's /metrics
 * endpoint writes through too; here the parsed answers are replayed into the value tree
 * that code reads. */
#include "cli/cli.h"
#include "cli/client.h"
#include "metrics/met_prom.h"
#include "metrics/met_tree.h"

#include <string.h>

static void replay(struct met_tree *t, const struct json_value *v)
{
    if (v->key != NULL) {
        met_tree_key(t, v->key);
    }
    switch (v->type) {
    case JSON_NULL:
        met_tree_null(t);
        break;
    case JSON_BOOL:
        met_tree_bool(t, v->boolean);
        break;
    case JSON_NUMBER:
        met_tree_number(t, v->number);
        break;
    case JSON_STRING:
        met_tree_string(t, v->string);
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
    default:
        met_tree_open(t, v->type == JSON_OBJECT);
        for (const struct json_value *c = v->child; c != NULL; c = c->next) {
            replay(t, c);
        }
        met_tree_close(t);
        break;
    }
}

/* The value tree of one parsed answer; NULL when there is none (or it cannot be built:
 * its metrics are then left out, as for a missing answer). */
static const struct met_val *tree_of(struct met_tree *t, const struct json_value *v)
{
    met_tree_init(t);
    if (v == NULL) {
        return NULL;
    }
    replay(t, v);
    return met_tree_root(t);
}

static void write_file(void *ctx, const char *s, size_t n)
{
    fwrite(s, 1, n, ctx);
}

int cmd_metrics_print(const struct json_value *status, const struct json_value *tracking,
                      const struct json_value *sources, const struct json_value *serverstats,
                      FILE *out)
{
    const struct json_value *in[4] = {status, tracking, sources, serverstats};
    const struct met_val *v[4];
    struct met_tree t[4];
    struct met_writer w;
    struct met_out o = {write_file, out};

    for (size_t i = 0; i < 4; i++) {
        v[i] = tree_of(&t[i], in[i]);
    }
    met_writer_init(&w, &o);
    met_prom_write(&w, v[0], v[1], v[2], v[3]);
    for (size_t i = 0; i < 4; i++) {
        met_tree_free(&t[i]);
    }
    return 0;
}

int cmd_metrics(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const requests[] = {"status", "tracking", "sources", "serverstats"};
    struct json_doc *docs[4] = {NULL, NULL, NULL, NULL};
    char err[512];
    int rc = 0;
    if (!cli_no_args(ctx, argc, argv, 0)) {
        return 1;
    }
    for (size_t i = 0; i < 4 && rc == 0; i++) {
        enum client_result r = client_query(ctx, requests[i], &docs[i], err, sizeof(err));
        if (r != CLIENT_OK) {
            if (r == CLIENT_DOWN && !ctx->json) {
                /* A scrape of a stopped daemon still says so in the metrics. */
                struct met_writer w;
                struct met_out o = {write_file, ctx->out};
                met_writer_init(&w, &o);
                met_prom_write_down(&w);
            }
            rc = cli_fail(ctx, "%s", err);
        }
    }
    if (rc == 0 && !ctx->json) {
        cmd_metrics_print(json_root(docs[0]), json_root(docs[1]), json_root(docs[2]),
                          json_root(docs[3]), ctx->out);
    }
    for (size_t i = 0; i < 4; i++) {
        json_free(docs[i]);
    }
    return rc;
}
