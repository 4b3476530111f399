/* A small, strict, bounded JSON parser (RFC 8259) for the answers of tsyncd's control
 * socket; the CLI is the only JSON reader in the project (doc/control.md). It builds a
 * read-only tree in one allocation arena, does no I/O and keeps no global state. */
#ifndef TSYNC_CLI_JSON_H
#define TSYNC_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_INPUT (1024u * 1024u) /* bytes: the largest answer the CLI accepts */
#define JSON_MAX_DEPTH 32              /* nesting of arrays and objects */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
    enum json_type type;
    bool boolean;
    double number;
    const char *string;       /* JSON_STRING: NUL-terminated UTF-8, no embedded NUL */
    const char *key;          /* member name when this value sits in an object, else NULL */
    struct json_value *child; /* first element or member of an array or object */
    struct json_value *next;  /* next sibling in the enclosing array or object */
    size_t count;             /* number of elements or members */
};

struct json_doc;

/* Parses len bytes (no NUL needed). Returns the document, or NULL with a message naming
 * the byte offset in err (errlen bytes). Free with json_free. */
struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen);
const struct json_value *json_root(const struct json_doc *doc);
void json_free(struct json_doc *doc);

/* Accessors are NULL-safe: a missing or mistyped value yields NULL / false. */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* The string of obj[key], or NULL when absent, null or not a string. */
const char *json_get_str(const struct json_value *obj, const char *key);
/* Stores obj[key] in *out and returns true when it is a number (false for null). */
bool json_get_num(const struct json_value *obj, const char *key, double *out);
/* Stores obj[key] in *out and returns true when it is true or false. */
bool json_get_bool(const struct json_value *obj, const char *key, bool *out);

#endif
