/* tsync sourcestats: per source, how many replies arrived and what became of them (used,
 * or dropped and why: the engine's drop reasons), with the latest offset, jitter and
 * delay. One row per source; a second, indented line names the drop reasons seen. */
#include "cli/cli.h"
#include "cli/client.h"

#include <string.h>

#define NAME_WIDTH 25 /* as chronyc sourcestats' Name/IP address column */

static void seconds_column(const struct json_value *src, const char *key, FILE *out)
{
    double v;
    char text[64];
    if (json_get_num(src, key, &v)) {
        cli_format_seconds(v, text, sizeof(text));
    } else {
        snprintf(text, sizeof(text), "-");
    }
    fprintf(out, " %12s", text);
}

/* Sums the reply counters; ok is the "ok" one (used), the rest were dropped. */
static void count_replies(const struct json_value *replies, double *total, double *ok)
{
    *total = 0;
    *ok = 0;
    if (replies == NULL || replies->type != JSON_OBJECT) {
        return;
    }
    for (const struct json_value *r = replies->child; r != NULL; r = r->next) {
        if (r->type == JSON_NUMBER) {
            *total += r->number;
            *ok += strcmp(r->key, "ok") == 0 ? r->number : 0;
        }
    }
}

static void print_drops(const struct json_value *replies, FILE *out)
{
    const char *sep = "    dropped: ";
    for (const struct json_value *r = replies->child; r != NULL; r = r->next) {
        if (r->type == JSON_NUMBER && r->number > 0 && strcmp(r->key, "ok") != 0) {
            fprintf(out, "%s%s %.0f", sep, r->key, r->number);
            sep = ", ";
        }
    }
    if (sep[0] == ',') {
        fputc('\n', out);
    }
}

static void print_row(const struct cli_ctx *ctx, const struct json_value *src, FILE *out)
{
    const char *address = json_get_str(src, "address");
    const char *name = address != NULL ? cli_host(ctx, address) : json_get_str(src, "name");
    const struct json_value *replies = json_get(src, "replies");
    double total, ok;
    count_replies(replies, &total, &ok);
    fprintf(out, "%-*.*s %8.0f %8.0f %8.0f", NAME_WIDTH, NAME_WIDTH, name != NULL ? name : "-",
            total, ok, total - ok);
    seconds_column(src, "offset", out);
    seconds_column(src, "jitter", out);
    seconds_column(src, "delay", out);
    fputc('\n', out);
    if (replies != NULL && replies->type == JSON_OBJECT) {
        print_drops(replies, out);
    }
}

int cmd_sourcestats_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out)
{
    const struct json_value *list = json_get(answer, "sources");
    if (list == NULL || list->type != JSON_ARRAY) {
        return 1;
    }
    fprintf(out, "%-*s %8s %8s %8s %12s %12s %12s\n", NAME_WIDTH, "Name/IP address", "Replies",
            "Used", "Dropped", "Offset", "Jitter", "Delay");
    for (int i = 0; i < NAME_WIDTH + 3 * 9 + 3 * 13; i++) {
        fputc('=', out);
    }
    fputc('\n', out);
    for (const struct json_value *src = list->child; src != NULL; src = src->next) {
        if (src->type == JSON_OBJECT) {
            print_row(ctx, src, out);
        }
    }
    return 0;
}

int cmd_sourcestats(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    char err[512];
    if (!cli_no_args(ctx, argc, argv, 0)) {
        return 1;
    }
    if (client_query(ctx, "sourcestats", &doc, err, sizeof(err)) != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    int rc = 0;
    if (!ctx->json) {
        cli_resolve(ctx, json_get(json_root(doc), "sources"));
        rc = cmd_sourcestats_print(ctx, json_root(doc), ctx->out);
        if (rc != 0) {
            cli_fail(ctx, "the answer to 'sourcestats' has no \"sources\" list");
        }
    }
    json_free(doc);
    return rc;
}
