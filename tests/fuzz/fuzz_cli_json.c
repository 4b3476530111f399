/* libFuzzer target: the CLI's JSON parser (src/cli/json.c) on arbitrary bytes, then every
 * formatter of the tsync command on what it accepts, as if a broken daemon had sent it.
 * Nothing may crash, read out of bounds or leak; an accepted tree must be consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the tree: counts must match the children, strings must be terminated. */
static size_t walk(const struct json_value *v, int depth)
{
    size_t n = 1;
    size_t children = 0;
    if (depth > JSON_MAX_DEPTH + 1) {
        abort();
    }
    if (v->type == JSON_STRING && v->string == NULL) {
        abort();
    }
    for (const struct json_value *c = v->child; c != NULL; c = c->next) {
        if ((v->type == JSON_OBJECT) != (c->key != NULL)) {
            abort();
        }
        n += walk(c, depth + 1);
        children++;
        if (c->key != NULL) {
            n += strlen(c->key);
        }
    }
    if (children != v->count) {
        abort();
    }
    return n + (v->type == JSON_STRING ? strlen(v->string) : 0);
}

static void format_all(const struct json_value *root)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct cli_ctx ctx = {.socket_path = "/nonexistent",
                          .numeric = true,
                          .term_width = 100,
                          .now = 1795003600.0,
                          .out = out,
                          .err = out};
    struct cmd_check_limits limits = {0.1, 1.0, 60};
    if (out == NULL) {
        return;
    }
    cmd_sources_print(&ctx, root, true, out);
    cmd_sourcestats_print(&ctx, root, out);
    cmd_tracking_print(&ctx, root, out);
    cmd_serverstats_print(&ctx, root, out);
    cmd_status_print(&ctx, root, out);
    cmd_metrics_print(root, root, root, root, out);
    if (cmd_check_judge(&ctx, root, &limits, out) > CHECK_UNKNOWN) {
        abort();
    }
    fclose(out);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    struct json_doc *doc = json_parse((const char *)data, size, err, sizeof(err));
    if (doc == NULL) {
        if (strstr(err, " at byte ") == NULL) {
            abort();
        }
        return 0;
    }
    if (walk(json_root(doc), 0) == 0) {
        abort();
    }
    format_all(json_root(doc));
    json_free(doc);
    return 0;
}
