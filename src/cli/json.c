/* JSON parser of the CLI: recursive descent over a bounded input (RFC 8259 grammar,
 * strict: no comments, no trailing commas, no leading zeros, valid UTF-8 only). Values
 * live in arena chunks owned by the document; decoded strings in one buffer no longer
 * than the input. No I/O, no global state. */
#include "cli/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_VALUES   256
#define MAX_NUMBER_LEN 64 /* longer numbers are refused rather than truncated */

struct chunk {
    struct chunk *next;
    size_t used;
    struct json_value values[CHUNK_VALUES];
};

struct json_doc {
    struct chunk *chunks;
    char *strings; /* decoded strings, each NUL-terminated */
    size_t strings_used;
    struct json_value *root;
};

struct parser {
    const char *p;
    const char *end;
    const char *start;
    struct json_doc *doc;
    char *err;
    size_t errlen;
    bool failed;
};

static bool fail(struct parser *ps, const char *what)
{
    if (!ps->failed && ps->errlen > 0) {
        snprintf(ps->err, ps->errlen, "%s at byte %zu", what, (size_t)(ps->p - ps->start));
    }
    ps->failed = true;
    return false;
}

static struct json_value *new_value(struct parser *ps, enum json_type type)
{
    struct chunk *c = ps->doc->chunks;
    if (c == NULL || c->used == CHUNK_VALUES) {
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            fail(ps, "out of memory");
            return NULL;
        }
        c->next = ps->doc->chunks;
        ps->doc->chunks = c;
    }
    struct json_value *v = &c->values[c->used++];
    memset(v, 0, sizeof(*v));
    v->type = type;
    return v;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static bool literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return fail(ps, "invalid literal");
    }
    ps->p += n;
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Advances over one or more digits; false when there is none. */
static bool digits(struct parser *ps)
{
    if (ps->p >= ps->end || !is_digit(*ps->p)) {
        return false;
    }
    while (ps->p < ps->end && is_digit(*ps->p)) {
        ps->p++;
    }
    return true;
}

/* RFC 8259 section 6: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool scan_number(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '-') {
        ps->p++;
    }
    if (ps->p < ps->end && *ps->p == '0') {
        ps->p++;
    } else if (!digits(ps)) {
        return fail(ps, "invalid number");
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!digits(ps)) {
            return fail(ps, "invalid number");
        }
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) {
            ps->p++;
        }
        if (!digits(ps)) {
            return fail(ps, "invalid number");
        }
    }
    return true;
}

static struct json_value *parse_number(struct parser *ps)
{
    const char *begin = ps->p;
    char buf[MAX_NUMBER_LEN + 1];
    if (!scan_number(ps)) {
        return NULL;
    }
    size_t n = (size_t)(ps->p - begin);
    if (n > MAX_NUMBER_LEN) {
        fail(ps, "number too long");
        return NULL;
    }
    memcpy(buf, begin, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d)) {
        fail(ps, "number out of range");
        return NULL;
    }
    struct json_value *v = new_value(ps, JSON_NUMBER);
    if (v != NULL) {
        v->number = d;
    }
    return v;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the 4 hex digits after "\u". */
static bool read_hex4(struct parser *ps, uint32_t *out)
{
    if (ps->end - ps->p < 4) {
        return fail(ps, "truncated \\u escape");
    }
    uint32_t u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(ps->p[i]);
        if (h < 0) {
            return fail(ps, "invalid \\u escape");
        }
        u = (u << 4) | (uint32_t)h;
    }
    ps->p += 4;
    *out = u;
    return true;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* After "\u": one code point, joining a UTF-16 surrogate pair (RFC 8259 section 7). */
static bool unicode_escape(struct parser *ps, uint32_t *cp)
{
    uint32_t hi;
    if (!read_hex4(ps, &hi)) {
        return false;
    }
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        return fail(ps, "lone low surrogate");
    }
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = hi;
        return hi != 0 || fail(ps, "\\u0000 in string");
    }
    uint32_t lo;
    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
        return fail(ps, "lone high surrogate");
    }
    ps->p += 2;
    if (!read_hex4(ps, &lo)) {
        return false;
    }
    if (lo < 0xDC00 || lo > 0xDFFF) {
        return fail(ps, "invalid surrogate pair");
    }
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return true;
}

/* One escape after the backslash, appended at o; returns bytes written, 0 on error. */
static size_t escape(struct parser *ps, char *o)
{
    if (ps->p >= ps->end) {
        fail(ps, "truncated escape");
        return 0;
    }
    char c = *ps->p++;
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit = memchr(from, c, sizeof(from) - 1);
    if (hit != NULL) {
        *o = to[hit - from];
        return 1;
    }
    uint32_t cp;
    if (c != 'u') {
        fail(ps, "invalid escape");
        return 0;
    }
    if (!unicode_escape(ps, &cp)) {
        return 0;
    }
    return put_utf8(o, cp);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629 section 4), 0 if invalid. */
static size_t utf8_length(const unsigned char *p, size_t avail)
{
    size_t n;
    uint32_t min;
    uint32_t cp;
    if (p[0] < 0xC2 || p[0] > 0xF4) {
        return 0;
    }
    if (p[0] < 0xE0) {
        n = 2, min = 0x80, cp = p[0] & 0x1Fu;
    } else if (p[0] < 0xF0) {
        n = 3, min = 0x800, cp = p[0] & 0x0Fu;
    } else {
        n = 4, min = 0x10000, cp = p[0] & 0x07u;
    }
    if (avail < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/* Decodes the string after its opening quote into the document's string buffer. */
static const char *parse_string_text(struct parser *ps)
{
    char *o = ps->doc->strings + ps->doc->strings_used;
    char *begin = o;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            fail(ps, "control character in string");
            return NULL;
        }
        if (c == '\\') {
            ps->p++;
            size_t n = escape(ps, o);
            if (n == 0) {
                return NULL;
            }
            o += n;
        } else if (c < 0x80) {
            *o++ = (char)c;
            ps->p++;
        } else {
            size_t n = utf8_length((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
            if (n == 0) {
                fail(ps, "invalid UTF-8 in string");
                return NULL;
            }
            memcpy(o, ps->p, n);
            o += n;
            ps->p += n;
        }
    }
    if (ps->p >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    ps->p++;
    *o++ = '\0';
    ps->doc->strings_used = (size_t)(o - ps->doc->strings);
    return begin;
}

static struct json_value *parse_value(struct parser *ps, int depth);

/* An object member's "name" and the ':' after it (RFC 8259 section 4). */
static const char *parse_member_name(struct parser *ps)
{
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != '"') {
        fail(ps, "expected a member name");
        return NULL;
    }
    ps->p++;
    const char *key = parse_string_text(ps);
    skip_space(ps);
    if (key == NULL || ps->p >= ps->end || *ps->p != ':') {
        fail(ps, "expected ':'");
        return NULL;
    }
    ps->p++;
    return key;
}

/* Parses "elem, elem, ..." up to the closing bracket; members carry a key in objects. */
static struct json_value *parse_container(struct parser *ps, int depth, bool object)
{
    char close = object ? '}' : ']';
    struct json_value *v = new_value(ps, object ? JSON_OBJECT : JSON_ARRAY);
    struct json_value **tail = v != NULL ? &v->child : NULL;
    if (v == NULL) {
        return NULL;
    }
    if (depth >= JSON_MAX_DEPTH) {
        fail(ps, "nesting too deep");
        return NULL;
    }
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        const char *key = NULL;
        if (object && (key = parse_member_name(ps)) == NULL) {
            return NULL;
        }
        struct json_value *e = parse_value(ps, depth + 1);
        if (e == NULL) {
            return NULL;
        }
        e->key = key;
        *tail = e;
        tail = &e->next;
        v->count++;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return NULL;
    }
}

static struct json_value *parse_value(struct parser *ps, int depth)
{
    skip_space(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of input");
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[') {
        return parse_container(ps, depth, c == '{');
    }
    if (c == '"') {
        ps->p++;
        const char *s = parse_string_text(ps);
        struct json_value *v = s != NULL ? new_value(ps, JSON_STRING) : NULL;
        if (v != NULL) {
            v->string = s;
        }
        return v;
    }
    if (c == '-' || is_digit(c)) {
        return parse_number(ps);
    }
    enum json_type type = c == 'n' ? JSON_NULL : JSON_BOOL;
    const char *word = c == 'n' ? "null" : (c == 't' ? "true" : "false");
    if (!literal(ps, word)) {
        return NULL;
    }
    struct json_value *v = new_value(ps, type);
    if (v != NULL) {
        v->boolean = c == 't';
    }
    return v;
}

struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct parser ps = {.p = text, .end = text + len, .start = text, .err = err, .errlen = errlen};
    if (errlen > 0) {
        err[0] = '\0';
    }
    if (text == NULL || len > JSON_MAX_INPUT) {
        fail(&ps, "input too long");
        return NULL;
    }
    ps.doc = calloc(1, sizeof(*ps.doc));
    /* Decoded strings never outgrow their source: escapes shrink, quotes pay for NULs. */
    char *strings = ps.doc != NULL ? malloc(len + 1) : NULL;
    if (strings == NULL) {
        free(ps.doc);
        fail(&ps, "out of memory");
        return NULL;
    }
    ps.doc->strings = strings;
    ps.doc->root = parse_value(&ps, 0);
    skip_space(&ps);
    if (ps.doc->root != NULL && ps.p != ps.end) {
        fail(&ps, "trailing data");
    }
    if (ps.failed) {
        json_free(ps.doc);
        return NULL;
    }
    return ps.doc;
}

const struct json_value *json_root(const struct json_doc *doc)
{
    return doc != NULL ? doc->root : NULL;
}

void json_free(struct json_doc *doc)
{
    if (doc == NULL) {
        return;
    }
    struct chunk *c = doc->chunks;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc->strings);
    free(doc);
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT || key == NULL) {
        return NULL;
    }
    for (const struct json_value *m = obj->child; m != NULL; m = m->next) {
        if (strcmp(m->key, key) == 0) {
            return m;
        }
    }
    return NULL;
}

const char *json_get_str(const struct json_value *obj, const char *key)
{
    const struct json_value *v = json_get(obj, key);
    return v != NULL && v->type == JSON_STRING ? v->string : NULL;
}

bool json_get_num(const struct json_value *obj, const char *key, double *out)
{
    const struct json_value *v = json_get(obj, key);
    if (v == NULL || v->type != JSON_NUMBER) {
        return false;
    }
    *out = v->number;
    return true;
}

bool json_get_bool(const struct json_value *obj, const char *key, bool *out)
{
    const struct json_value *v = json_get(obj, key);
    if (v == NULL || v->type != JSON_BOOL) {
        return false;
    }
    *out = v->boolean;
    return true;
}
