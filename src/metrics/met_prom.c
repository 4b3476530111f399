/* The metric definitions and the text writer (see met_prom.h). Names follow
 * chrony_exporter (tracking_*, sources_* with source_address/source_name labels, *_ppms)
 * and node_exporter's timex collector (offset, sync status), under the tsync_ prefix;
 * the error bound is our own. Each table row maps a field of an answer to a family. */
#include "metrics/met_prom.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* One family taken from a numeric field of an answer object. */
struct field_metric {
    struct met_family f;
    const char *key;
};

static const struct met_family fam_up = {
    "tsync_up", MET_GAUGE, "1 when tsyncd answered (its control socket or its /metrics endpoint)."};
static const struct met_family fam_synced = {"tsync_synchronized", MET_GAUGE,
                                             "1 when the system clock is synchronized."};
static const struct met_family fam_tracking_info = {
    "tsync_tracking_info", MET_GAUGE, "The system clock's reference and leap status."};
static const struct met_family fam_reachable = {
    "tsync_sources_reachable", MET_GAUGE,
    "1 when the source answered at least one of the last 8 polls."};
static const struct met_family fam_state_info = {
    "tsync_sources_state_info", MET_GAUGE,
    "Selection state of the source (tally in words) and its type."};
static const struct met_family fam_requests = {
    "tsync_serverstats_requests_total", MET_COUNTER,
    "Requests to the NTP server by what was done with them."};

static const struct field_metric status_metrics[] = {
    {{"tsync_offset_seconds", MET_GAUGE,
      "Current offset to add to the system clock (positive: the clock is behind)."},
     "offset"},
    {{"tsync_clock_error_bound_seconds", MET_GAUGE,
      "Maximum error of the system clock now: true time is within this of it."},
     "bound"},
    {{"tsync_sources_reachable_count", MET_GAUGE, "Number of sources that answered recently."},
     "sources_reachable"},
    {{"tsync_sources_count", MET_GAUGE, "Number of sources in use."}, "sources"},
};

static const struct field_metric tracking_metrics[] = {
    {{"tsync_tracking_stratum", MET_GAUGE, "Stratum of the system clock."}, "stratum"},
    {{"tsync_tracking_reference_timestamp_seconds", MET_GAUGE,
      "Unix time of the last clock update."},
     "reference_time"},
    {{"tsync_tracking_system_time_seconds", MET_GAUGE,
      "Offset to add to the system clock (positive: the clock is behind)."},
     "system_time_offset"},
    {{"tsync_tracking_last_offset_seconds", MET_GAUGE, "Offset measured at the last clock update."},
     "last_offset"},
    {{"tsync_tracking_rms_offset_seconds", MET_GAUGE,
      "Long-term root mean square of the measured offsets."},
     "rms_offset"},
    {{"tsync_tracking_frequency_ppms", MET_GAUGE,
      "Frequency correction applied to the clock in ppm (positive: made faster)."},
     "frequency_ppm"},
    {{"tsync_tracking_residual_frequency_ppms", MET_GAUGE,
      "Residual frequency of the reference in ppm."},
     "residual_frequency_ppm"},
    {{"tsync_tracking_skew_ppms", MET_GAUGE, "Error bound of the frequency in ppm."}, "skew_ppm"},
    {{"tsync_tracking_root_delay_seconds", MET_GAUGE,
      "Round-trip delay to the stratum-0 reference."},
     "root_delay"},
    {{"tsync_tracking_root_dispersion_seconds", MET_GAUGE,
      "Dispersion accumulated to the stratum-0 reference."},
     "root_dispersion"},
    {{"tsync_tracking_update_interval_seconds", MET_GAUGE, "Mean interval between clock updates."},
     "update_interval"},
    {{"tsync_clock_steps_total", MET_COUNTER, "Steps of the clock since tsyncd started."}, "steps"},
};

/* One family per source field, labelled with the source. */
static const struct field_metric source_metrics[] = {
    {{"tsync_sources_reach_register", MET_GAUGE,
      "Reachability register of the source: the last 8 polls, newest in bit 0."},
     "reach"},
    {{"tsync_sources_stratum", MET_GAUGE, "Stratum of the source."}, "stratum"},
    {{"tsync_sources_last_sample_age_seconds", MET_GAUGE,
      "Time since the last answer of the source."},
     "when"},
    {{"tsync_sources_last_sample_offset_seconds", MET_GAUGE,
      "Offset of the source's last sample (positive: the local clock is behind)."},
     "offset"},
    {{"tsync_sources_last_sample_delay_seconds", MET_GAUGE,
      "Round-trip delay of the source's last sample."},
     "delay"},
    {{"tsync_sources_jitter_seconds", MET_GAUGE, "Jitter of the source's samples."}, "jitter"},
};

static const struct field_metric datagram_metrics[] = {
    {{"tsync_serverstats_ntp_packets_received_total", MET_COUNTER,
      "NTP datagrams received by the server."},
     "received"},
    {{"tsync_serverstats_ntp_packets_sent_total", MET_COUNTER, "NTP datagrams sent by the server."},
     "sent"},
    {{"tsync_serverstats_ntp_send_failures_total", MET_COUNTER,
      "NTP datagrams the server failed to send."},
     "send_failed"},
};

static const struct field_metric clients_metric = {
    {"tsync_serverstats_clients_seen", MET_GAUGE, "Distinct clients seen by the server."},
    "clients_seen"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void met_writer_init(struct met_writer *w, const struct met_out *out)
{
    w->out = *out;
    w->last = NULL;
}

static void put(struct met_writer *w, const char *s)
{
    w->out.write(w->out.ctx, s, strlen(s));
}

static void header(struct met_writer *w, const struct met_family *f)
{
    put(w, "# HELP ");
    put(w, f->name);
    put(w, " ");
    put(w, f->help);
    put(w, "\n# TYPE ");
    put(w, f->name);
    put(w, f->kind == MET_COUNTER ? " counter\n" : " gauge\n");
}

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void label_value(struct met_writer *w, const char *text)
{
    const char *p = text != NULL ? text : "";
    const char *run = p;

    for (; *p != '\0'; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if (esc != NULL) {
            w->out.write(w->out.ctx, run, (size_t)(p - run));
            put(w, esc);
            run = p + 1;
        }
    }
    w->out.write(w->out.ctx, run, (size_t)(p - run));
}

static void value(struct met_writer *w, double v)
{
    char t[40];

    if (isnan(v)) {
        put(w, " NaN\n");
    } else if (isinf(v)) {
        put(w, v > 0 ? " +Inf\n" : " -Inf\n");
    } else {
        snprintf(t, sizeof(t), " %.15g\n", v);
        put(w, t);
    }
}

void met_sample(struct met_writer *w, const struct met_family *f, const struct met_label *labels,
                size_t n_labels, double v)
{
    if (w->last != f) {
        header(w, f);
        w->last = f;
    }
    put(w, f->name);
    for (size_t i = 0; i < n_labels; i++) {
        put(w, i == 0 ? "{" : ",");
        put(w, labels[i].name);
        put(w, "=\"");
        label_value(w, labels[i].value);
        put(w, "\"");
    }
    put(w, n_labels > 0 ? "}" : "");
    value(w, v);
}

static void field_family(struct met_writer *w, const struct field_metric *m,
                         const struct met_val *obj)
{
    double v;
    if (met_get_num(obj, m->key, &v)) {
        met_sample(w, &m->f, NULL, 0, v);
    }
}

/* The labels every per-source family has; room for two more. */
static size_t source_labels(const struct met_val *src, struct met_label l[4])
{
    l[0] = (struct met_label){"source_address", met_get_str(src, "address")};
    l[1] = (struct met_label){"source_name", met_get_str(src, "name")};
    return 2;
}

static void source_family(struct met_writer *w, const struct field_metric *m,
                          const struct met_val *list)
{
    struct met_label l[4];
    for (const struct met_val *src = list->child; src != NULL; src = src->next) {
        double v;
        if (met_get_num(src, m->key, &v)) {
            met_sample(w, &m->f, l, source_labels(src, l), v);
        }
    }
}

static void write_sources(struct met_writer *w, const struct met_val *sources)
{
    const struct met_val *list = met_get(sources, "sources");
    struct met_label l[4];

    if (list == NULL || list->type != MET_ARRAY || list->count == 0) {
        return;
    }
    for (const struct met_val *src = list->child; src != NULL; src = src->next) {
        double reach = 0;
        met_get_num(src, "reach", &reach);
        met_sample(w, &fam_reachable, l, source_labels(src, l), reach > 0 ? 1 : 0);
    }
    for (size_t i = 0; i < COUNT(source_metrics); i++) {
        source_family(w, &source_metrics[i], list);
    }
    for (const struct met_val *src = list->child; src != NULL; src = src->next) {
        size_t n = source_labels(src, l);
        l[n++] = (struct met_label){"source_state", met_get_str(src, "state")};
        l[n++] = (struct met_label){"source_type", met_get_str(src, "type")};
        met_sample(w, &fam_state_info, l, n, 1);
    }
}

/* Server counters: requests by decision as one labelled counter family. */
static void write_serverstats(struct met_writer *w, const struct met_val *stats)
{
    const struct met_val *requests = met_get(stats, "requests");
    const struct met_val *datagrams = met_get(stats, "datagrams");

    if (requests != NULL && requests->type == MET_OBJECT) {
        for (const struct met_val *r = requests->child; r != NULL; r = r->next) {
            if (r->type == MET_NUMBER) {
                struct met_label l = {"result", r->key};
                met_sample(w, &fam_requests, &l, 1, r->number);
            }
        }
    }
    for (size_t i = 0; i < COUNT(datagram_metrics); i++) {
        field_family(w, &datagram_metrics[i], datagrams);
    }
    field_family(w, &clients_metric, stats);
}

static void write_tracking_info(struct met_writer *w, const struct met_val *t)
{
    struct met_label l[3] = {
        {"tracking_refid", met_get_str(t, "reference_id")},
        {"tracking_name", met_get_str(t, "reference_name")},
        {"leap_status", met_get_str(t, "leap")},
    };
    if (t != NULL) {
        met_sample(w, &fam_tracking_info, l, 3, 1);
    }
}

void met_prom_write(struct met_writer *w, const struct met_val *status,
                    const struct met_val *tracking, const struct met_val *sources,
                    const struct met_val *serverstats)
{
    bool synced;

    met_sample(w, &fam_up, NULL, 0, 1);
    if (met_get_bool(status, "synchronized", &synced)) {
        met_sample(w, &fam_synced, NULL, 0, synced ? 1 : 0);
    }
    for (size_t i = 0; i < COUNT(status_metrics); i++) {
        field_family(w, &status_metrics[i], status);
    }
    write_tracking_info(w, tracking);
    for (size_t i = 0; i < COUNT(tracking_metrics); i++) {
        field_family(w, &tracking_metrics[i], tracking);
    }
    write_sources(w, sources);
    write_serverstats(w, serverstats);
}

void met_prom_write_down(struct met_writer *w)
{
    met_sample(w, &fam_up, NULL, 0, 0);
}
