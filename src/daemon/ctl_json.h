/* A small bounded JSON writer for the control socket's answers: objects, arrays, keys,
 * strings (escaped), numbers, booleans and null into a caller's fixed buffer. It never
 * allocates; what does not fit sets a flag and the result is refused as a whole, so a
 * cut-off answer is never sent. The daemon writes JSON, it never parses it. */
#ifndef TSYNC_CTL_JSON_H
#define TSYNC_CTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_JSON_MAX_DEPTH 8

/* An observer of what is written, event by event: tsyncd's /metrics endpoint builds its
 * values from the very calls that write the control answers (one source of values).
 * raw gets a scalar as written: a number's text, true, false or null. */
struct ctl_json_tap {
    void *ctx;
    void (*open)(void *ctx, bool object);
    void (*close)(void *ctx);
    void (*key)(void *ctx, const char *key);
    void (*string)(void *ctx, const char *s);
    void (*raw)(void *ctx, const char *text);
};

struct ctl_json {
    char *buf;
    size_t cap, len;
    bool truncated; /* something did not fit: the text is unusable */
    bool misuse;    /* unbalanced or misplaced calls (a bug of ours): unusable too */
    int depth;
    bool need_comma[CTL_JSON_MAX_DEPTH + 1];
    bool in_object[CTL_JSON_MAX_DEPTH + 1];
    bool after_key; /* a key was written: a value must follow */
    const struct ctl_json_tap *tap; /* NULL: none */
};

/* Starts writing into buf (cap bytes, including the terminating NUL). */
void ctl_json_init(struct ctl_json *j, char *buf, size_t cap);

/* Reports every later call to tap too (it must outlive j). With buf NULL and cap 0 in
 * ctl_json_init only the tap sees the document (the text counts as truncated). */
void ctl_json_set_tap(struct ctl_json *j, const struct ctl_json_tap *tap);

void ctl_json_begin_object(struct ctl_json *j);
void ctl_json_end_object(struct ctl_json *j);
void ctl_json_begin_array(struct ctl_json *j);
void ctl_json_end_array(struct ctl_json *j);

/* A key inside an object; the next call writes its value. */
void ctl_json_key(struct ctl_json *j, const char *key);

/* Values. Strings are escaped as RFC 8259 section 7 asks (quote, backslash, control
 * characters as \uXXXX; bytes >= 0x7f too, so the output is plain ASCII whatever a
 * peer's name held). Numbers use %.9g (nine significant digits: nanoseconds of any
 * offset below a second); NaN and infinities become null. Times use ctl_json_time:
 * Unix seconds with microseconds, trailing zeros dropped. */
void ctl_json_string(struct ctl_json *j, const char *s);
void ctl_json_number(struct ctl_json *j, double v);
void ctl_json_time(struct ctl_json *j, double unix_s);
void ctl_json_int(struct ctl_json *j, int64_t v);
void ctl_json_uint(struct ctl_json *j, uint64_t v);
void ctl_json_bool(struct ctl_json *j, bool v);
void ctl_json_null(struct ctl_json *j);

/* Key and value in one call. */
void ctl_json_kv_string(struct ctl_json *j, const char *key, const char *s);
void ctl_json_kv_number(struct ctl_json *j, const char *key, double v);
void ctl_json_kv_uint(struct ctl_json *j, const char *key, uint64_t v);
void ctl_json_kv_int(struct ctl_json *j, const char *key, int64_t v);
void ctl_json_kv_bool(struct ctl_json *j, const char *key, bool v);
void ctl_json_kv_null(struct ctl_json *j, const char *key);

/* The finished text (NUL-terminated in the buffer) and its length, or -1 when it was
 * truncated, misused or left unbalanced. */
long ctl_json_finish(const struct ctl_json *j);

#endif
