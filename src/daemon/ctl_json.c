/* The bounded JSON writer (see ctl_json.h). Each call appends at most what fits and
 * records a truncation otherwise; separators are tracked per nesting level. */
#include "daemon/ctl_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void ctl_json_init(struct ctl_json *j, char *buf, size_t cap)
{
    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->cap = cap;
    if (cap > 0) {
        buf[0] = '\0';
    } else {
        j->truncated = true;
    }
}

void ctl_json_set_tap(struct ctl_json *j, const struct ctl_json_tap *tap)
{
    j->tap = tap;
}

static void put(struct ctl_json *j, const char *s, size_t n)
{
    if (j->truncated) {
        return;
    }
    if (n >= j->cap - j->len) {
        j->truncated = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void puts_(struct ctl_json *j, const char *s)
{
    put(j, s, strlen(s));
}

static void separate(struct ctl_json *j)
{
    if (j->depth == 0 && j->need_comma[0]) {
        j->misuse = true; /* a second top-level value */
    } else if (j->need_comma[j->depth]) {
        put(j, ",", 1);
    }
    j->need_comma[j->depth] = true;
}

/* Before any value: the value of the key just written, or a comma between array
 * elements; a value directly inside an object without its key is a misuse. */
static void before_value(struct ctl_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->in_object[j->depth]) {
        j->misuse = true;
    }
    separate(j);
}

static void open_(struct ctl_json *j, const char *c, bool object)
{
    before_value(j);
    if (j->depth >= CTL_JSON_MAX_DEPTH) {
        j->misuse = true;
        return;
    }
    puts_(j, c);
    if (j->tap != NULL) {
        j->tap->open(j->tap->ctx, object);
    }
    j->depth++;
    j->need_comma[j->depth] = false;
    j->in_object[j->depth] = object;
}

static void close_(struct ctl_json *j, const char *c, bool object)
{
    if (j->depth <= 0 || j->after_key || j->in_object[j->depth] != object) {
        j->misuse = true;
        return;
    }
    puts_(j, c);
    if (j->tap != NULL) {
        j->tap->close(j->tap->ctx);
    }
    j->depth--;
}

void ctl_json_begin_object(struct ctl_json *j)
{
    open_(j, "{", true);
}

void ctl_json_end_object(struct ctl_json *j)
{
    close_(j, "}", true);
}

void ctl_json_begin_array(struct ctl_json *j)
{
    open_(j, "[", false);
}

void ctl_json_end_array(struct ctl_json *j)
{
    close_(j, "]", false);
}

static void quoted(struct ctl_json *j, const char *s)
{
    static const char hex[] = "0123456789abcdef";

    put(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            put(j, e, 2);
        } else if (*p < 0x20 || *p >= 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            put(j, e, 6);
        } else {
            put(j, (const char *)p, 1);
        }
    }
    put(j, "\"", 1);
}

void ctl_json_key(struct ctl_json *j, const char *key)
{
    if (j->after_key || !j->in_object[j->depth]) {
        j->misuse = true;
    }
    separate(j);
    quoted(j, key);
    put(j, ":", 1);
    if (j->tap != NULL) {
        j->tap->key(j->tap->ctx, key);
    }
    j->after_key = true;
}

void ctl_json_string(struct ctl_json *j, const char *s)
{
    before_value(j);
    quoted(j, s);
    if (j->tap != NULL) {
        j->tap->string(j->tap->ctx, s);
    }
}

static void raw_value(struct ctl_json *j, const char *text)
{
    before_value(j);
    puts_(j, text);
    if (j->tap != NULL) {
        j->tap->raw(j->tap->ctx, text);
    }
}

void ctl_json_number(struct ctl_json *j, double v)
{
    char t[40];

    if (!isfinite(v)) {
        raw_value(j, "null");
        return;
    }
    snprintf(t, sizeof(t), "%.9g", v);
    raw_value(j, t);
}

void ctl_json_time(struct ctl_json *j, double unix_s)
{
    char t[48];

    if (!isfinite(unix_s)) {
        raw_value(j, "null");
        return;
    }
    int n = snprintf(t, sizeof(t), "%.6f", unix_s);
    if (n <= 0 || (size_t)n >= sizeof(t)) {
        raw_value(j, "null");
        return;
    }
    while (n > 0 && t[n - 1] == '0') {
        t[--n] = '\0';
    }
    if (n > 0 && t[n - 1] == '.') {
        t[--n] = '\0';
    }
    raw_value(j, t);
}

void ctl_json_int(struct ctl_json *j, int64_t v)
{
    char t[24];

    snprintf(t, sizeof(t), "%" PRId64, v);
    raw_value(j, t);
}

void ctl_json_uint(struct ctl_json *j, uint64_t v)
{
    char t[24];

    snprintf(t, sizeof(t), "%" PRIu64, v);
    raw_value(j, t);
}

void ctl_json_bool(struct ctl_json *j, bool v)
{
    raw_value(j, v ? "true" : "false");
}

void ctl_json_null(struct ctl_json *j)
{
    raw_value(j, "null");
}

void ctl_json_kv_string(struct ctl_json *j, const char *key, const char *s)
{
    ctl_json_key(j, key);
    if (s != NULL) {
        ctl_json_string(j, s);
    } else {
        ctl_json_null(j);
    }
}

void ctl_json_kv_number(struct ctl_json *j, const char *key, double v)
{
    ctl_json_key(j, key);
    ctl_json_number(j, v);
}

void ctl_json_kv_uint(struct ctl_json *j, const char *key, uint64_t v)
{
    ctl_json_key(j, key);
    ctl_json_uint(j, v);
}

void ctl_json_kv_int(struct ctl_json *j, const char *key, int64_t v)
{
    ctl_json_key(j, key);
    ctl_json_int(j, v);
}

void ctl_json_kv_bool(struct ctl_json *j, const char *key, bool v)
{
    ctl_json_key(j, key);
    ctl_json_bool(j, v);
}

void ctl_json_kv_null(struct ctl_json *j, const char *key)
{
    ctl_json_key(j, key);
    ctl_json_null(j);
}

long ctl_json_finish(const struct ctl_json *j)
{
    if (j->truncated || j->misuse || j->depth != 0 || j->after_key || j->len == 0) {
        return -1;
    }
    return (long)j->len;
}
