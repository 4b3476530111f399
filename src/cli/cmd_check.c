/* tsync check: a monitoring plugin in the Nagios/Icinga convention (exit 0 OK, 1
 * WARNING, 2 CRITICAL, 3 UNKNOWN; one line "TSYNC STATE: text|perfdata"). CRITICAL when
 * tsyncd is down, has no reachable source, has been unsynchronized longer than
 * --max-unsync, or its offset or error bound exceeds --crit; WARNING beyond --warn. */
#include "cli/cli.h"
#include "cli/client.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WARN       0.1 /* s: ntpd's step threshold is 0.128 s */
#define DEFAULT_CRIT       1.0 /* s: chrony's usual makestep threshold */
#define DEFAULT_MAX_UNSYNC 0.  /* s: unsynchronized is CRITICAL at once unless told */

static const char *const state_names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

struct verdict {
    enum cmd_check_code code;
    char text[256];
};

/* Raises the verdict to code (never lowers it); the most severe problem's text wins. */
static void raise_to(struct verdict *v, enum cmd_check_code code, const char *text)
{
    if (code > v->code || v->text[0] == '\0') {
        v->code = code > v->code ? code : v->code;
        snprintf(v->text, sizeof(v->text), "%s", text);
    }
}

static void judge_unsync(const struct cli_ctx *ctx, const struct json_value *s,
                         const struct cmd_check_limits *l, struct verdict *v)
{
    double since;
    char text[256], age[64];
    if (!json_get_num(s, "since", &since)) {
        raise_to(v, CHECK_CRITICAL, "not synchronized (never since start)");
        return;
    }
    double unsync = ctx->now - since;
    cli_format_duration(unsync, age, sizeof(age));
    bool too_long = !(unsync <= l->max_unsync);
    snprintf(text, sizeof(text), "not synchronized for %s%s", age,
             too_long ? "" : " (within --max-unsync)");
    raise_to(v, too_long ? CHECK_CRITICAL : CHECK_WARNING, text);
}

/* |value| against the limits; unknown values are UNKNOWN when synchronized. */
static void judge_value(const struct json_value *s, const char *key,
                        const struct cmd_check_limits *l, struct verdict *v)
{
    double x;
    char text[256], shown[64];
    if (!json_get_num(s, key, &x) || !isfinite(x)) {
        snprintf(text, sizeof(text), "%s unknown", key);
        raise_to(v, CHECK_UNKNOWN, text);
        return;
    }
    cli_format_seconds(x, shown, sizeof(shown));
    if (fabs(x) > l->crit) {
        snprintf(text, sizeof(text), "%s %s beyond %g s", key, shown, l->crit);
        raise_to(v, CHECK_CRITICAL, text);
    } else if (fabs(x) > l->warn) {
        snprintf(text, sizeof(text), "%s %s beyond %g s", key, shown, l->warn);
        raise_to(v, CHECK_WARNING, text);
    }
}

static void print_perf(const struct json_value *s, const struct cmd_check_limits *l, FILE *out)
{
    double x, reach, total;
    const char *sep = "|";
    static const char *const keys[] = {"offset", "bound"};
    for (size_t i = 0; i < 2; i++) {
        if (json_get_num(s, keys[i], &x) && isfinite(x) && fabs(x) < 1e12) {
            fprintf(out, "%s%s=%.9fs;%g;%g", sep, keys[i], x, l->warn, l->crit);
            sep = " ";
        }
    }
    if (json_get_num(s, "sources_reachable", &reach) && json_get_num(s, "sources", &total) &&
        fabs(reach) < 1e9 && fabs(total) < 1e9) {
        fprintf(out, "%ssources_reachable=%.0f;;1:;0;%.0f", sep, reach, total);
    }
}

enum cmd_check_code cmd_check_judge(const struct cli_ctx *ctx, const struct json_value *s,
                                    const struct cmd_check_limits *l, FILE *out)
{
    struct verdict v = {.code = CHECK_OK};
    bool synced;
    double reach, offset, bound;
    if (!json_get_bool(s, "synchronized", &synced)) {
        fprintf(out, "TSYNC UNKNOWN: the status answer has no \"synchronized\" field\n");
        return CHECK_UNKNOWN;
    }
    if (json_get_num(s, "sources_reachable", &reach) && reach < 1) {
        raise_to(&v, CHECK_CRITICAL, "no reachable source (is UDP 123 blocked?)");
    }
    if (!synced) {
        judge_unsync(ctx, s, l, &v);
    } else {
        judge_value(s, "offset", l, &v);
        judge_value(s, "bound", l, &v);
    }
    if (v.text[0] == '\0') {
        char o[64] = "-", b[64] = "-";
        if (json_get_num(s, "offset", &offset)) {
            cli_format_seconds(offset, o, sizeof(o));
        }
        if (json_get_num(s, "bound", &bound)) {
            cli_format_seconds(bound, b, sizeof(b));
        }
        snprintf(v.text, sizeof(v.text), "synchronized, offset %s, bound %s", o, b);
    }
    fprintf(out, "TSYNC %s: %s", state_names[v.code], v.text);
    print_perf(s, l, out);
    fputc('\n', out);
    return v.code;
}

/* --warn S, --crit S, --max-unsync S (also --opt=S); false after printing the error. */
static bool parse_limits(const struct cli_ctx *ctx, int argc, char **argv,
                         struct cmd_check_limits *l)
{
    static const char *const names[] = {"--warn", "--crit", "--max-unsync"};
    double *slots[] = {&l->warn, &l->crit, &l->max_unsync};
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        const char *value = NULL;
        for (; k < 3; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(argv[i], names[k], n) == 0 && (argv[i][n] == '=' || !argv[i][n])) {
                value = argv[i][n] == '=' ? argv[i] + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                break;
            }
        }
        if (k == 3) {
            fprintf(ctx->out,
                    "TSYNC UNKNOWN: unknown option '%s' (usage: tsync check "
                    "[--warn S] [--crit S] [--max-unsync S])\n",
                    argv[i]);
            return false;
        }
        if (!cli_parse_seconds(value, slots[k])) {
            fprintf(ctx->out, "TSYNC UNKNOWN: bad value for %s: '%s' (seconds expected)\n",
                    names[k], value != NULL ? value : "");
            return false;
        }
    }
    if (l->warn > l->crit) {
        fprintf(ctx->out, "TSYNC UNKNOWN: --warn %g is above --crit %g\n", l->warn, l->crit);
        return false;
    }
    return true;
}

int cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cmd_check_limits l = {DEFAULT_WARN, DEFAULT_CRIT, DEFAULT_MAX_UNSYNC};
    struct json_doc *doc;
    char err[512];
    if (!parse_limits(ctx, argc, argv, &l)) {
        return CHECK_UNKNOWN;
    }
    enum client_result r = client_query(ctx, "status", &doc, err, sizeof(err));
    if (r != CLIENT_OK) {
        json_free(doc);
        fprintf(ctx->out, "TSYNC %s: %s\n", r == CLIENT_DOWN ? "CRITICAL" : "UNKNOWN", err);
        return r == CLIENT_DOWN ? CHECK_CRITICAL : CHECK_UNKNOWN;
    }
    /* With --json the daemon's answer is printed instead; the exit code still judges it. */
    char *discard = NULL;
    size_t discard_len = 0;
    FILE *out = ctx->json ? open_memstream(&discard, &discard_len) : ctx->out;
    enum cmd_check_code code = cmd_check_judge(ctx, json_root(doc), &l, out != NULL ? out : stderr);
    if (ctx->json && out != NULL) {
        fclose(out);
    }
    free(discard);
    json_free(doc);
    return (int)code;
}
