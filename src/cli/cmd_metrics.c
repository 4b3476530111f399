/* tsync metrics: the daemon's state in the Prometheus text exposition format (version
 * 0.0.4: # HELP, # TYPE, one family's samples together), for node_exporter's textfile
 * collector or any scraper. Names follow chrony_exporter (tracking_*, sources_* with
 * source_address/source_name labels, *_ppms) and node_exporter's timex collector
 * (offset, sync status), under the tsync_ prefix; the error bound is our own. */
#include "cli/cli.h"
#include "cli/client.h"

#include <math.h>
#include <string.h>

enum kind { GAUGE, COUNTER };

/* One metric taken from a field of an answer object. */
struct field_metric {
    const char *name;
    const char *key;
    enum kind kind;
    const char *help;
};

static const struct field_metric tracking_metrics[] = {
    {"tsync_tracking_stratum", "stratum", GAUGE, "Stratum of the system clock."},
    {"tsync_tracking_reference_timestamp_seconds", "reference_time", GAUGE,
     "Unix time of the last clock update."},
    {"tsync_tracking_system_time_seconds", "system_time_offset", GAUGE,
     "Offset to add to the system clock (positive: the clock is behind)."},
    {"tsync_tracking_last_offset_seconds", "last_offset", GAUGE,
     "Offset measured at the last clock update."},
    {"tsync_tracking_rms_offset_seconds", "rms_offset", GAUGE,
     "Long-term root mean square of the measured offsets."},
    {"tsync_tracking_frequency_ppms", "frequency_ppm", GAUGE,
     "Frequency correction applied to the clock in ppm (positive: made faster)."},
    {"tsync_tracking_residual_frequency_ppms", "residual_frequency_ppm", GAUGE,
     "Residual frequency of the reference in ppm."},
    {"tsync_tracking_skew_ppms", "skew_ppm", GAUGE, "Error bound of the frequency in ppm."},
    {"tsync_tracking_root_delay_seconds", "root_delay", GAUGE,
     "Round-trip delay to the stratum-0 reference."},
    {"tsync_tracking_root_dispersion_seconds", "root_dispersion", GAUGE,
     "Dispersion accumulated to the stratum-0 reference."},
    {"tsync_tracking_update_interval_seconds", "update_interval", GAUGE,
     "Mean interval between clock updates."},
    {"tsync_clock_steps_total", "steps", COUNTER, "Steps of the clock since tsyncd started."},
};

static const struct field_metric status_metrics[] = {
    {"tsync_offset_seconds", "offset", GAUGE,
     "Current offset to add to the system clock (positive: the clock is behind)."},
    {"tsync_clock_error_bound_seconds", "bound", GAUGE,
     "Maximum error of the system clock now: true time is within this of it."},
    {"tsync_sources_reachable_count", "sources_reachable", GAUGE,
     "Number of sources that answered recently."},
    {"tsync_sources_count", "sources", GAUGE, "Number of sources in use."},
};

/* One metric per source, with its labels. */
static const struct field_metric source_metrics[] = {
    {"tsync_sources_reach_register", "reach", GAUGE,
     "Reachability register of the source: the last 8 polls, newest in bit 0."},
    {"tsync_sources_stratum", "stratum", GAUGE, "Stratum of the source."},
    {"tsync_sources_last_sample_age_seconds", "when", GAUGE,
     "Time since the last answer of the source."},
    {"tsync_sources_last_sample_offset_seconds", "offset", GAUGE,
     "Offset of the source's last sample (positive: the local clock is behind)."},
    {"tsync_sources_last_sample_delay_seconds", "delay", GAUGE,
     "Round-trip delay of the source's last sample."},
    {"tsync_sources_jitter_seconds", "jitter", GAUGE, "Jitter of the source's samples."},
};

static void header(FILE *out, const char *name, enum kind kind, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
            kind == COUNTER ? "counter" : "gauge");
}

static void value(FILE *out, double v)
{
    fprintf(out, " %.15g\n", v);
}

/* Label values escape backslash, double quote and newline (exposition format). */
static void label(FILE *out, const char *name, const char *text, bool first)
{
    fprintf(out, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = text != NULL ? text : ""; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"') {
            fprintf(out, "\\%c", *p);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else {
            fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void field_family(FILE *out, const struct field_metric *m, const struct json_value *obj)
{
    double v;
    if (json_get_num(obj, m->key, &v)) {
        header(out, m->name, m->kind, m->help);
        fputs(m->name, out);
        value(out, v);
    }
}

static void source_labels(FILE *out, const char *name, const struct json_value *src)
{
    fprintf(out, "%s{", name);
    label(out, "source_address", json_get_str(src, "address"), true);
    label(out, "source_name", json_get_str(src, "name"), false);
}

static void source_family(FILE *out, const struct field_metric *m, const struct json_value *list)
{
    bool any = false;
    for (const struct json_value *src = list->child; src != NULL; src = src->next) {
        double v;
        if (!json_get_num(src, m->key, &v)) {
            continue;
        }
        if (!any) {
            header(out, m->name, m->kind, m->help);
            any = true;
        }
        source_labels(out, m->name, src);
        fputc('}', out);
        value(out, v);
    }
}

static void print_sources(FILE *out, const struct json_value *sources)
{
    const struct json_value *list = json_get(sources, "sources");
    if (list == NULL || list->type != JSON_ARRAY || list->count == 0) {
        return;
    }
    header(out, "tsync_sources_reachable", GAUGE,
           "1 when the source answered at least one of the last 8 polls.");
    for (const struct json_value *src = list->child; src != NULL; src = src->next) {
        double reach = 0;
        json_get_num(src, "reach", &reach);
        source_labels(out, "tsync_sources_reachable", src);
        fputc('}', out);
        value(out, reach > 0 ? 1 : 0);
    }
    for (size_t i = 0; i < sizeof(source_metrics) / sizeof(source_metrics[0]); i++) {
        source_family(out, &source_metrics[i], list);
    }
    header(out, "tsync_sources_state_info", GAUGE,
           "Selection state of the source (tally in words) and its type.");
    for (const struct json_value *src = list->child; src != NULL; src = src->next) {
        source_labels(out, "tsync_sources_state_info", src);
        label(out, "source_state", json_get_str(src, "state"), false);
        label(out, "source_type", json_get_str(src, "type"), false);
        fputc('}', out);
        value(out, 1);
    }
}

/* Server counters: requests by decision as one labelled counter family. */
static void print_serverstats(FILE *out, const struct json_value *stats)
{
    const struct json_value *requests = json_get(stats, "requests");
    const struct json_value *datagrams = json_get(stats, "datagrams");
    static const struct field_metric datagram_metrics[] = {
        {"tsync_serverstats_ntp_packets_received_total", "received", COUNTER,
         "NTP datagrams received by the server."},
        {"tsync_serverstats_ntp_packets_sent_total", "sent", COUNTER,
         "NTP datagrams sent by the server."},
        {"tsync_serverstats_ntp_send_failures_total", "send_failed", COUNTER,
         "NTP datagrams the server failed to send."},
    };
    static const struct field_metric clients = {"tsync_serverstats_clients_seen", "clients_seen",
                                                GAUGE, "Distinct clients seen by the server."};
    if (requests != NULL && requests->type == JSON_OBJECT && requests->count > 0) {
        header(out, "tsync_serverstats_requests_total", COUNTER,
               "Requests to the NTP server by what was done with them.");
        for (const struct json_value *r = requests->child; r != NULL; r = r->next) {
            if (r->type == JSON_NUMBER) {
                fputs("tsync_serverstats_requests_total{", out);
                label(out, "result", r->key, true);
                fputc('}', out);
                value(out, r->number);
            }
        }
    }
    for (size_t i = 0; i < sizeof(datagram_metrics) / sizeof(datagram_metrics[0]); i++) {
        field_family(out, &datagram_metrics[i], datagrams);
    }
    field_family(out, &clients, stats);
}

static void print_tracking_info(FILE *out, const struct json_value *t)
{
    if (t == NULL) {
        return;
    }
    header(out, "tsync_tracking_info", GAUGE, "The system clock's reference and leap status.");
    fputs("tsync_tracking_info{", out);
    label(out, "tracking_refid", json_get_str(t, "reference_id"), true);
    label(out, "tracking_name", json_get_str(t, "reference_name"), false);
    label(out, "leap_status", json_get_str(t, "leap"), false);
    fputc('}', out);
    value(out, 1);
}

int cmd_metrics_print(const struct json_value *status, const struct json_value *tracking,
                      const struct json_value *sources, const struct json_value *serverstats,
                      FILE *out)
{
    bool synced;
    header(out, "tsync_up", GAUGE, "1 when tsyncd answered on its control socket.");
    fputs("tsync_up", out);
    value(out, 1);
    if (json_get_bool(status, "synchronized", &synced)) {
        header(out, "tsync_synchronized", GAUGE, "1 when the system clock is synchronized.");
        fputs("tsync_synchronized", out);
        value(out, synced ? 1 : 0);
    }
    for (size_t i = 0; i < sizeof(status_metrics) / sizeof(status_metrics[0]); i++) {
        field_family(out, &status_metrics[i], status);
    }
    print_tracking_info(out, tracking);
    for (size_t i = 0; i < sizeof(tracking_metrics) / sizeof(tracking_metrics[0]); i++) {
        field_family(out, &tracking_metrics[i], tracking);
    }
    print_sources(out, sources);
    print_serverstats(out, serverstats);
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
                header(ctx->out, "tsync_up", GAUGE,
                       "1 when tsyncd answered on its control socket.");
                fputs("tsync_up 0\n", ctx->out);
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
