/* tsync tracking: the system clock's state in chronyc tracking's layout (labels, widths,
 * "slow"/"fast" words, precision), so readers of chronyc output find every line where
 * they expect it, plus one line more: the current error bound. A value the daemon does
 * not know (null) prints as "-". */
#include "cli/cli.h"
#include "cli/client.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* chronyc's %T: "Fri Jan 27 09:49:17 2017" in UTC. */
static void ref_time(double t, char *buf, size_t len)
{
    struct tm tm;
    time_t s = isfinite(t) && t >= 0 && t < 253402300800.0 ? (time_t)floor(t) : -1;
    if (s < 0 || gmtime_r(&s, &tm) == NULL ||
        strftime(buf, len, "%a %b %d %H:%M:%S %Y", &tm) == 0) {
        snprintf(buf, len, "-");
    }
}

/* "label: <value with prec decimals, signed when plus><unit>", or "label: -" when the
 * value is unknown. */
static void number_line(FILE *out, const struct json_value *t, const char *label, const char *key,
                        int prec, bool plus, const char *unit)
{
    double v;
    fprintf(out, "%-16s: ", label);
    if (json_get_num(t, key, &v)) {
        fprintf(out, plus ? "%+.*f%s\n" : "%.*f%s\n", prec, v, unit);
    } else {
        fputs("-\n", out);
    }
}

/* chronyc's %O and %F: a magnitude and the word for its direction. The system time is
 * slow when the offset to add is positive; the clock runs slow without correction when
 * the applied frequency correction (frequency_ppm) speeds it up. */
static void signed_line(FILE *out, const struct json_value *t, const char *label, const char *key,
                        bool is_offset)
{
    double v;
    fprintf(out, "%-16s: ", label);
    if (!json_get_num(t, key, &v)) {
        fputs(is_offset ? "- of NTP time\n" : "-\n", out);
    } else if (is_offset) {
        fprintf(out, "%.9f seconds %s of NTP time\n", fabs(v), v > 0 ? "slow" : "fast");
    } else {
        fprintf(out, "%.3f ppm %s\n", fabs(v), v >= 0 ? "slow" : "fast");
    }
}

static const char *leap_words(const char *leap)
{
    static const char *const map[][2] = {{"none", "Normal"},
                                         {"insert", "Insert second"},
                                         {"delete", "Delete second"},
                                         {"unsynchronized", "Not synchronised"}};
    for (size_t i = 0; leap != NULL && i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(leap, map[i][0]) == 0) {
            return map[i][1];
        }
    }
    return "-";
}

int cmd_tracking_print(const struct cli_ctx *ctx, const struct json_value *t, FILE *out)
{
    char when[64];
    double v = NAN;
    const char *id = json_get_str(t, "reference_id");
    const char *name = json_get_str(t, "reference_name");
    if (t == NULL || t->type != JSON_OBJECT) {
        return 1;
    }
    fprintf(out, "Reference ID    : %.8s (%s)\n", id != NULL ? id : "-",
            name != NULL ? cli_host(ctx, name) : "");
    number_line(out, t, "Stratum", "stratum", 0, false, "");
    json_get_num(t, "reference_time", &v);
    ref_time(v, when, sizeof(when));
    fprintf(out, "Ref time (UTC)  : %s\n", when);
    signed_line(out, t, "System time", "system_time_offset", true);
    number_line(out, t, "Last offset", "last_offset", 9, true, " seconds");
    number_line(out, t, "RMS offset", "rms_offset", 9, false, " seconds");
    signed_line(out, t, "Frequency", "frequency_ppm", false);
    number_line(out, t, "Residual freq", "residual_frequency_ppm", 3, true, " ppm");
    number_line(out, t, "Skew", "skew_ppm", 3, false, " ppm");
    number_line(out, t, "Root delay", "root_delay", 9, false, " seconds");
    number_line(out, t, "Root dispersion", "root_dispersion", 9, false, " seconds");
    number_line(out, t, "Update interval", "update_interval", 1, false, " seconds");
    fprintf(out, "Leap status     : %s\n", leap_words(json_get_str(t, "leap")));
    number_line(out, t, "Error bound", "bound", 9, false, " seconds");
    return 0;
}

int cmd_tracking(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    char err[512];
    if (!cli_no_args(ctx, argc, argv, 0)) {
        return 1;
    }
    if (client_query(ctx, "tracking", &doc, err, sizeof(err)) != CLIENT_OK) {
        json_free(doc);
        return cli_fail(ctx, "%s", err);
    }
    int rc = 0;
    if (!ctx->json) {
        cli_resolve_one(ctx, json_get_str(json_root(doc), "reference_name"));
        rc = cmd_tracking_print(ctx, json_root(doc), ctx->out);
    }
    json_free(doc);
    return rc;
}
