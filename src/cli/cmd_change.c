/* tsync makestep | reload | online [NAME] | offline [NAME]: the change commands of the
 * control socket (root or the socket's group only; the daemon checks). The four share
 * one shape, a request and an {"ok":true,...} answer, so they share this file. */
#include "cli/cli.h"
#include "cli/client.h"

#include <string.h>

/* Prints what the daemon did, from the fields each command's answer carries. */
static void print_done(const char *command, const struct json_value *a, FILE *out)
{
    double added, removed, sources;
    const char *message = json_get_str(a, "message");
    if (json_get_num(a, "added", &added) && json_get_num(a, "removed", &removed)) {
        fprintf(out, "%s: %.0f sources added, %.0f removed\n", command, added, removed);
    } else if (json_get_num(a, "sources", &sources)) {
        fprintf(out, "%s: %.0f sources\n", command, sources);
    } else {
        fprintf(out, "%s: %s\n", command, message != NULL ? message : "done");
    }
}

/* A source name goes on the request line: printable ASCII without spaces only. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (name[i] <= ' ' || name[i] > '~') {
            return false;
        }
    }
    return n > 0 && n < 200;
}

int cmd_change(struct cli_ctx *ctx, int argc, char **argv)
{
    bool takes_name = strcmp(argv[0], "online") == 0 || strcmp(argv[0], "offline") == 0;
    char line[256], err[512];
    struct json_doc *doc;
    bool ok = false;
    if (!cli_no_args(ctx, argc, argv, takes_name ? 1 : 0)) {
        return 1;
    }
    if (argc > 1 && !name_ok(argv[1])) {
        return cli_fail(ctx, "%s: bad source name", argv[0]);
    }
    snprintf(line, sizeof(line), "%s%s%s", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
    if (client_query(ctx, line, &doc, err, sizeof(err)) != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    if (!json_get_bool(json_root(doc), "ok", &ok) || !ok) {
        json_free(doc);
        return cli_fail(ctx, "%s: tsyncd did not confirm the change", argv[0]);
    }
    if (!ctx->json) {
        print_done(argv[0], json_root(doc), ctx->out);
    }
    json_free(doc);
    return 0;
}
