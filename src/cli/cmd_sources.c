/* tsync sources: the daemon's sources as NTPsec's `ntpq -p` prints its peers, byte for
 * byte (python3-ntp's PeerSummary: widths, refid dots, when/poll suffixes, reach in
 * octal, milliseconds), so scripts and collectors that parse ntpq keep working.
 * -v adds a legend above the table. */
#include "cli/cli.h"
#include "cli/client.h"

#include <math.h>
#include <string.h>

#define NAME_WIDTH  15 /* ntpq's remote column on an 80-column terminal */
#define REFID_WIDTH 15 /* fixed in ntpq */
#define MAX_SLACK   24 /* ntpq widens remote by at most this on wide terminals */

/* ntpq's prettyinterval, including Python's true division before %d truncates. */
static void pretty_interval(bool known, double seconds, char *buf, size_t len)
{
    long long diff = known && isfinite(seconds) && fabs(seconds) < 1e15 ? (long long)seconds : 0;
    if (diff <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    if (diff <= 2048) {
        snprintf(buf, len, "%lld", diff);
        return;
    }
    double d = ((double)diff + 29) / 60;
    if (d <= 300) {
        snprintf(buf, len, "%dm", (int)d);
        return;
    }
    d = (d + 29) / 60;
    if (d <= 96) {
        snprintf(buf, len, "%dh", (int)d);
        return;
    }
    d = (d + 11) / 24;
    snprintf(buf, len, "%lldd", (long long)d);
}

/* ntpq's f8dot4 (NTPsec ntpd sends 6 decimals, so ntpq shows 4): 8 columns, fewer
 * decimals as the magnitude grows, an integer when nothing else fits. */
static void f8dot4(double f, char *buf, size_t len)
{
    int decimals = -1;
    if (!isfinite(f)) {
        snprintf(buf, len, "%8s", isnan(f) ? "nan" : "X");
        return;
    }
    if (f >= 0) {
        decimals = f < 1e3 ? 4 : f < 1e4 ? 3 : f < 1e5 ? 2 : f < 1e6 ? 1 : -1;
    } else {
        decimals = f > -1e2 ? 4 : f > -1e3 ? 3 : f > -1e4 ? 2 : f > -1e5 ? 1 : -1;
    }
    if (decimals < 0 && fabs(f) < 9e18) {
        snprintf(buf, len, "%8lld", (long long)f);
    } else if (decimals < 0) {
        snprintf(buf, len, "%8.2e", f); /* beyond any integer type: garbage, shown as such */
    } else {
        snprintf(buf, len, "%8.*f", decimals, f);
    }
}

/* A column in ms from a value in seconds; 0 before the first sample, as ntpd sends it. */
static void ms_column(const struct json_value *src, const char *key, char *buf, size_t len)
{
    double s = 0;
    json_get_num(src, key, &s);
    f8dot4(s * 1e3, buf, len);
}

/* ntpq wraps refids without '.' or ':' in dots and truncates long ones on the left. */
static void refid_column(const char *refid, char *buf, size_t len)
{
    char visible[64];
    if (refid == NULL) {
        refid = "";
    }
    if (strchr(refid, '.') == NULL && strchr(refid, ':') == NULL) {
        snprintf(visible, sizeof(visible), ".%.40s.", refid);
    } else {
        snprintf(visible, sizeof(visible), "%.60s", refid);
    }
    size_t n = strlen(visible);
    if (n > REFID_WIDTH) {
        snprintf(buf, len, "-%s", visible + n - (REFID_WIDTH - 1));
    } else {
        snprintf(buf, len, "%-*s", REFID_WIDTH, visible);
    }
}

/* The remote column: a resolved source by its address (or reverse-DNS name), a pool or
 * an unresolved name by that name, as ntpq shows srcadr or srchost. */
static const char *remote_of(const struct cli_ctx *ctx, const struct json_value *src)
{
    const char *address = json_get_str(src, "address");
    const char *name = json_get_str(src, "name");
    if (address != NULL && strcmp(address, "0.0.0.0") != 0 && strcmp(address, "::") != 0) {
        return cli_host(ctx, address);
    }
    return name != NULL ? name : (address != NULL ? address : "");
}

static char tally_of(const struct json_value *src)
{
    const char *t = json_get_str(src, "tally");
    if (t != NULL && t[0] != '\0' && t[1] == '\0' && strchr(" x.-+#*o", t[0]) != NULL) {
        return t[0];
    }
    return ' ';
}

static void print_row(const struct cli_ctx *ctx, const struct json_value *src, int namewidth,
                      FILE *out)
{
    char refid[64], when[32], poll[32], delay[32], offset[32], jitter[32];
    double st = 16, w = 0, p = -1, reach = 0;
    const char *type = json_get_str(src, "type");
    json_get_num(src, "stratum", &st);
    json_get_num(src, "reach", &reach);
    refid_column(json_get_str(src, "refid"), refid, sizeof(refid));
    bool when_ok = json_get_num(src, "when", &w);
    pretty_interval(when_ok, w, when, sizeof(when));
    bool poll_ok = json_get_num(src, "poll", &p) && p >= 0 && p <= 30;
    pretty_interval(poll_ok, poll_ok ? (double)(1L << (int)p) : 0, poll, sizeof(poll));
    ms_column(src, "delay", delay, sizeof(delay));
    ms_column(src, "offset", offset, sizeof(offset));
    ms_column(src, "jitter", jitter, sizeof(jitter));
    fprintf(out, "%c%-*.*s %s %2ld %c %4.4s %4.4s  %3lo %s %s %s\n", tally_of(src), namewidth,
            namewidth, remote_of(ctx, src), refid, st >= -99 && st <= 999 ? (long)st : 16L,
            type != NULL && type[0] != '\0' ? type[0] : '?', when, poll,
            reach >= 0 && reach <= 0xFFFF ? (unsigned long)reach : 0UL, delay, offset, jitter);
}

static void print_legend(FILE *out)
{
    fputs("tally: '*' system peer, '+' candidate, '-' outlier, 'x' falseticker,\n"
          "       '#' backup, '.' excess, ' ' rejected\n"
          "st: stratum (16: unsynchronized)  t: u unicast server, p pool\n"
          "when: seconds since the last answer, poll: seconds between requests\n"
          "      (m, h, d: minutes, hours, days)  reach: last 8 requests, octal (377: all)\n"
          "delay, offset, jitter: milliseconds; offset is what the local clock must add\n"
          "\n",
          out);
}

int cmd_sources_print(const struct cli_ctx *ctx, const struct json_value *answer, bool legend,
                      FILE *out)
{
    const struct json_value *list = json_get(answer, "sources");
    int slack = ctx->term_width > 80 ? ctx->term_width - 80 : 0;
    int namewidth = NAME_WIDTH + (slack < MAX_SLACK ? slack : MAX_SLACK);
    if (list == NULL || list->type != JSON_ARRAY) {
        return 1;
    }
    if (legend) {
        print_legend(out);
    }
    fprintf(out, "%-*s       refid      st t when poll reach   delay   offset   jitter\n",
            namewidth, "     remote");
    for (int i = 0; i < 79 + namewidth - NAME_WIDTH; i++) {
        fputc('=', out);
    }
    fputc('\n', out);
    for (const struct json_value *src = list->child; src != NULL; src = src->next) {
        if (src->type == JSON_OBJECT) {
            print_row(ctx, src, namewidth, out);
        }
    }
    return 0;
}

int cmd_sources(struct cli_ctx *ctx, int argc, char **argv)
{
    bool legend = argc > 1 && strcmp(argv[1], "-v") == 0;
    if (!cli_no_args(ctx, argc, argv, legend ? 1 : 0)) {
        return 1;
    }
    struct json_doc *doc;
    char err[512];
    enum client_result r = client_query(ctx, "sources", &doc, err, sizeof(err));
    if (r != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    int rc = 0;
    if (!ctx->json) {
        cli_resolve(ctx, json_get(json_root(doc), "sources"));
        rc = cmd_sources_print(ctx, json_root(doc), legend, ctx->out);
        if (rc != 0) {
            cli_fail(ctx, "the answer to 'sources' has no \"sources\" list");
        }
    }
    json_free(doc);
    return rc;
}
