/* tsync status: the one line an operator wants first: synchronized or not, since when,
 * to what, the offset and the error bound, and how many sources answer. */
#include "cli/cli.h"
#include "cli/client.h"

#include <math.h>

/* ", since <UTC time> (<age> ago)" when the daemon says when the state last changed. */
static void print_since(const struct cli_ctx *ctx, const struct json_value *s, FILE *out)
{
    double since;
    char when[64], age[64];
    if (!json_get_num(s, "since", &since)) {
        fputs(" (never synchronized)", out);
        return;
    }
    cli_format_utc(since, when, sizeof(when));
    cli_format_duration(ctx->now - since, age, sizeof(age));
    fprintf(out, " since %s (%s ago)", when, age);
}

static void print_seconds_field(const struct json_value *s, const char *key, const char *label,
                                FILE *out)
{
    double v;
    char text[64];
    if (json_get_num(s, key, &v)) {
        cli_format_seconds(v, text, sizeof(text));
        fprintf(out, ", %s %s", label, text);
    }
}

int cmd_status_print(const struct cli_ctx *ctx, const struct json_value *s, FILE *out)
{
    bool synced = false;
    double stratum, reachable, total;
    const char *reference = json_get_str(s, "reference");
    if (!json_get_bool(s, "synchronized", &synced)) {
        return 1;
    }
    fputs(synced ? "synchronized" : "not synchronized", out);
    print_since(ctx, s, out);
    if (synced && reference != NULL) {
        fprintf(out, ", reference %s", cli_host(ctx, reference));
    }
    if (synced && json_get_num(s, "stratum", &stratum)) {
        fprintf(out, ", stratum %.0f", stratum);
    }
    print_seconds_field(s, "offset", "offset", out);
    print_seconds_field(s, "bound", "bound", out);
    if (json_get_num(s, "sources_reachable", &reachable) && json_get_num(s, "sources", &total)) {
        fprintf(out, ", %.0f of %.0f sources reachable", reachable, total);
    }
    fputc('\n', out);
    return 0;
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    char err[512];
    if (!cli_no_args(ctx, argc, argv, 0)) {
        return 1;
    }
    if (client_query(ctx, "status", &doc, err, sizeof(err)) != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    int rc = 0;
    if (!ctx->json) {
        cli_resolve_one(ctx, json_get_str(json_root(doc), "reference"));
        rc = cmd_status_print(ctx, json_root(doc), ctx->out);
        if (rc != 0) {
            cli_fail(ctx, "the answer to 'status' has no \"synchronized\" field");
        }
    }
    json_free(doc);
    return rc;
}
