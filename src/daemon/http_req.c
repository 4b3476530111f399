/* The /metrics request parser (see http_req.h). The header section is found first (an
 * empty line within HTTP_REQ_MAX bytes; a bare LF ends a line as RFC 9112 section 2.2
 * allows), then checked line by line: syntax, then body, then method, then path. */
#include "daemon/http_req.h"

#include <string.h>

/* tchar of RFC 9110 section 5.6.2. */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* One line without its LF and the CR before it. */
struct line {
    const char *p;
    size_t n;
};

/* The line starting at *off within the first end bytes; false when none ends there. */
static bool next_line(const char *buf, size_t end, size_t *off, struct line *l)
{
    const char *lf = memchr(buf + *off, '\n', end - *off);

    if (lf == NULL) {
        return false;
    }
    l->p = buf + *off;
    l->n = (size_t)(lf - l->p);
    *off += l->n + 1;
    if (l->n > 0 && l->p[l->n - 1] == '\r') {
        l->n--;
    }
    return true;
}

/* Length of the header section (through its empty line), or 0 while it is incomplete.
 * Empty lines before the request line are skipped (RFC 9112 section 2.2). */
static size_t section_end(const char *buf, size_t len, size_t *start)
{
    size_t off = 0;
    struct line l;
    bool any = false;

    *start = 0;
    while (next_line(buf, len, &off, &l)) {
        if (l.n > 0) {
            any = true;
        } else if (any) {
            return off;
        } else {
            *start = off;
        }
    }
    return 0;
}

static bool is_token(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)p[i])) {
            return false;
        }
    }
    return n > 0;
}

static bool same_ci(const char *p, size_t n, const char *word)
{
    if (strlen(word) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char a = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
        if (a != word[i]) {
            return false;
        }
    }
    return true;
}

/* A request line: the method, the target and the version, each checked. */
struct req_line {
    struct line method, target;
    bool http11;
};

static bool parse_request_line(const struct line *l, struct req_line *r)
{
    const char *sp1 = memchr(l->p, ' ', l->n);
    if (sp1 == NULL) {
        return false;
    }
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(l->p + l->n - t));
    if (sp2 == NULL) {
        return false;
    }
    r->method = (struct line){l->p, (size_t)(sp1 - l->p)};
    r->target = (struct line){t, (size_t)(sp2 - t)};
    const char *v = sp2 + 1;
    size_t vn = (size_t)(l->p + l->n - v);
    if (!is_token(r->method.p, r->method.n) || r->target.n == 0 || vn != 8 ||
        memcmp(v, "HTTP/1.", 7) != 0 || v[7] < '0' || v[7] > '9') {
        return false;
    }
    for (size_t i = 0; i < r->target.n; i++) {
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
            return false;
        }
    }
    r->http11 = v[7] != '0';
    return true;
}

/* What the header fields say: syntax, a body announced, a Host field seen. */
struct fields {
    bool bad, body, host;
};

static void check_field(const struct line *l, struct fields *f)
{
    const char *colon = memchr(l->p, ':', l->n);
    size_t name_n = colon != NULL ? (size_t)(colon - l->p) : 0;

    if (colon == NULL || !is_token(l->p, name_n)) {
        f->bad = true; /* also obs-fold: a line starting with a blank (section 5.2) */
        return;
    }
    const char *v = colon + 1;
    size_t vn = (size_t)(l->p + l->n - v);
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            f->bad = true;
        }
    }
    while (vn > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        vn--;
    }
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) {
        vn--;
    }
    if (same_ci(l->p, name_n, "host")) {
        f->host = true;
    } else if (same_ci(l->p, name_n, "transfer-encoding")) {
        f->body = true;
    } else if (same_ci(l->p, name_n, "content-length") && !(vn == 1 && v[0] == '0')) {
        f->body = true;
    }
}

/* The path of an origin-form ("/metrics?x") or absolute-form ("http://h/metrics") target
 * is /metrics. */
static bool is_metrics(const struct line *t)
{
    const char *p = t->p;
    size_t n = t->n;

    if (n > 7 && same_ci(p, 7, "http://")) {
        const char *slash = memchr(p + 7, '/', n - 7);
        if (slash == NULL) {
            return false;
        }
        n -= (size_t)(slash - p);
        p = slash;
    }
    return n >= 8 && memcmp(p, "/metrics", 8) == 0 && (n == 8 || p[8] == '?');
}

static enum http_req_result decide(const char *buf, size_t start, size_t end, struct http_req *out)
{
    struct line l;
    struct req_line r;
    struct fields f = {false, false, false};
    size_t off = start;

    if (!next_line(buf, end, &off, &l) || !parse_request_line(&l, &r)) {
        return HTTP_REQ_BAD;
    }
    out->head = r.method.n == 4 && memcmp(r.method.p, "HEAD", 4) == 0;
    while (next_line(buf, end, &off, &l) && l.n > 0) {
        check_field(&l, &f);
    }
    if (f.bad || (r.http11 && !f.host)) {
        return HTTP_REQ_BAD; /* RFC 9112 section 3.2: HTTP/1.1 needs Host */
    }
    if (f.body) {
        return HTTP_REQ_BODY;
    }
    if (!out->head && !(r.method.n == 3 && memcmp(r.method.p, "GET", 3) == 0)) {
        return HTTP_REQ_METHOD;
    }
    return is_metrics(&r.target) ? HTTP_REQ_OK : HTTP_REQ_NOT_FOUND;
}

/* A first line that is complete and already wrong needs no more bytes to be refused. */
static bool first_line_bad(const char *buf, size_t len, size_t start)
{
    struct line l;
    struct req_line r;
    size_t off = start;

    return next_line(buf, len, &off, &l) && l.n > 0 && !parse_request_line(&l, &r);
}

void http_req_parse(const char *buf, size_t len, bool eof, struct http_req *out)
{
    size_t start = 0;
    size_t n = buf == NULL ? 0 : len < HTTP_REQ_MAX ? len : HTTP_REQ_MAX;
    size_t end = n > 0 ? section_end(buf, n, &start) : 0;

    out->head = false;
    if (end > 0) {
        out->result = decide(buf, start, end, out);
    } else if (n > 0 && first_line_bad(buf, n, start)) {
        out->result = HTTP_REQ_BAD;
    } else if (len >= HTTP_REQ_MAX) {
        out->result = HTTP_REQ_TOO_LARGE;
    } else {
        out->result = eof ? HTTP_REQ_BAD : HTTP_REQ_MORE;
    }
}

int http_req_status(enum http_req_result r)
{
    static const int codes[] = {0, 200, 400, 404, 405, 413, 431};
    return (unsigned)r < sizeof(codes) / sizeof(codes[0]) ? codes[r] : 500;
}

const char *http_req_reason(enum http_req_result r)
{
    static const char *const reasons[] = {"",
                                          "OK",
                                          "Bad Request",
                                          "Not Found",
                                          "Method Not Allowed",
                                          "Content Too Large",
                                          "Request Header Fields Too Large"};
    return (unsigned)r < sizeof(reasons) / sizeof(reasons[0]) ? reasons[r] : "Error";
}
