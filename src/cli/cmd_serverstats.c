/* tsync serverstats: what the NTP server did with the requests it received (answered,
 * or each reason it sent a kiss-o'-death or dropped them), the datagram counters and
 * how many distinct clients it has seen, in chronyc serverstats' "label : value" form. */
#include "cli/cli.h"
#include "cli/client.h"

#include <string.h>

static void count_line(FILE *out, const char *label, const struct json_value *obj, const char *key)
{
    double v;
    if (json_get_num(obj, key, &v)) {
        fprintf(out, "%-27s: %.0f\n", label, v);
    }
}

/* Datagram counters beyond the three above (the daemon may add more), by their name. */
static void print_other_datagrams(const struct json_value *datagrams, FILE *out)
{
    static const char *const shown[] = {"received", "sent", "send_failed"};
    if (datagrams == NULL || datagrams->type != JSON_OBJECT) {
        return;
    }
    for (const struct json_value *d = datagrams->child; d != NULL; d = d->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
            known = known || strcmp(d->key, shown[i]) == 0;
        }
        if (!known && d->type == JSON_NUMBER) {
            fprintf(out, "NTP datagrams %-13.40s: %.0f\n", d->key, d->number);
        }
    }
}

/* Every request counter in the daemon's order; KoD sent is the sum of the kod_* ones. */
static void print_requests(const struct json_value *requests, FILE *out)
{
    double kod = 0;
    if (requests == NULL || requests->type != JSON_OBJECT) {
        return;
    }
    fputs("Requests by decision:\n", out);
    for (const struct json_value *r = requests->child; r != NULL; r = r->next) {
        if (r->type == JSON_NUMBER) {
            fprintf(out, "  %-25s: %.0f\n", r->key, r->number);
            kod += strncmp(r->key, "kod", 3) == 0 ? r->number : 0;
        }
    }
    fprintf(out, "%-27s: %.0f\n", "KoD sent", kod);
}

int cmd_serverstats_print(const struct cli_ctx *ctx, const struct json_value *answer, FILE *out)
{
    const struct json_value *datagrams = json_get(answer, "datagrams");
    (void)ctx;
    if (answer == NULL || answer->type != JSON_OBJECT || json_get(answer, "requests") == NULL) {
        return 1;
    }
    count_line(out, "NTP packets received", datagrams, "received");
    count_line(out, "NTP packets sent", datagrams, "sent");
    count_line(out, "NTP send failures", datagrams, "send_failed");
    print_other_datagrams(datagrams, out);
    count_line(out, "Clients seen", answer, "clients_seen");
    print_requests(json_get(answer, "requests"), out);
    return 0;
}

int cmd_serverstats(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    char err[512];
    if (!cli_no_args(ctx, argc, argv, 0)) {
        return 1;
    }
    if (client_query(ctx, "serverstats", &doc, err, sizeof(err)) != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    int rc = 0;
    if (!ctx->json) {
        rc = cmd_serverstats_print(ctx, json_root(doc), ctx->out);
        if (rc != 0) {
            cli_fail(ctx, "the answer to 'serverstats' has no \"requests\" counters");
        }
    }
    json_free(doc);
    return rc;
}
