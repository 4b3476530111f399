/* Helpers every command of the CLI shares: host names for addresses, error messages,
 * argument checks and the formatting of times and durations. */
#include "cli/cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cli_host(const struct cli_ctx *ctx, const char *address)
{
    const char *host = ctx->numeric ? NULL : names_lookup(ctx->names, address);
    return host != NULL ? host : address;
}

int cli_fail(const struct cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tsync: ", ctx->err);
    vfprintf(ctx->err, fmt, ap);
    fputc('\n', ctx->err);
    va_end(ap);
    return 1;
}

bool cli_parse_seconds(const char *text, double *out)
{
    char *end = NULL;
    if (text == NULL || *text == '\0' || *text == ' ') {
        return false;
    }
    double d = strtod(text, &end);
    if (*end != '\0' || !isfinite(d) || d < 0) {
        return false;
    }
    *out = d;
    return true;
}

void cli_format_utc(double unix_time, char *buf, size_t len)
{
    struct tm tm;
    /* Beyond year 9999 the fixed-width form no longer holds; such a time is garbage. */
    if (!isfinite(unix_time) || unix_time < 0 || unix_time > 253402300799.0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)floor(unix_time);
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        snprintf(buf, len, "-");
    }
}

void cli_format_duration(double seconds, char *buf, size_t len)
{
    if (!isfinite(seconds) || seconds < 0 || seconds > 1e12) {
        snprintf(buf, len, "-");
        return;
    }
    long long s = (long long)seconds;
    if (s >= 86400) {
        snprintf(buf, len, "%lldd %lldh", s / 86400, s % 86400 / 3600);
    } else if (s >= 3600) {
        snprintf(buf, len, "%lldh %lldm", s / 3600, s % 3600 / 60);
    } else if (s >= 60) {
        snprintf(buf, len, "%lldm %llds", s / 60, s % 60);
    } else {
        snprintf(buf, len, "%llds", s);
    }
}

bool cli_no_args(const struct cli_ctx *ctx, int argc, char **argv, int allowed)
{
    if (argc <= 1 + allowed) {
        return true;
    }
    cli_fail(ctx, "%s: unexpected argument '%s' (see tsync -h)", argv[0], argv[1 + allowed]);
    return false;
}

void cli_resolve(struct cli_ctx *ctx, const struct json_value *list)
{
    if (ctx->numeric || list == NULL || list->type != JSON_ARRAY) {
        return;
    }
    if (ctx->names == NULL) {
        ctx->names = names_new();
    }
    for (const struct json_value *e = list->child; e != NULL; e = e->next) {
        names_add(ctx->names, json_get_str(e, "address"));
    }
    names_resolve(ctx->names, CLI_DNS_TIMEOUT_MS);
}

void cli_format_seconds(double seconds, char *buf, size_t len)
{
    double a = fabs(seconds);
    if (!isfinite(seconds)) {
        snprintf(buf, len, "-");
    } else if (a < 1e-6 && a != 0) {
        snprintf(buf, len, "%.0f ns", seconds * 1e9);
    } else if (a < 1e-3 && a != 0) {
        snprintf(buf, len, "%.3f us", seconds * 1e6);
    } else if (a < 1 && a != 0) {
        snprintf(buf, len, "%.3f ms", seconds * 1e3);
    } else {
        snprintf(buf, len, "%.3f s", seconds);
    }
}

void cli_resolve_one(struct cli_ctx *ctx, const char *address)
{
    if (ctx->numeric || address == NULL) {
        return;
    }
    if (ctx->names == NULL) {
        ctx->names = names_new();
    }
    names_add(ctx->names, address);
    names_resolve(ctx->names, CLI_DNS_TIMEOUT_MS);
}
