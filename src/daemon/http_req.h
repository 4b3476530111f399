/* The requests tsyncd's /metrics endpoint takes, decided without any I/O: a request line
 * and header fields (RFC 9112 sections 2 to 5) of at most HTTP_REQ_MAX bytes, GET or HEAD
 * of /metrics (a query string is ignored), no body. Everything else gets its status code:
 * 400 malformed, 404 another path, 405 another method, 413 a body, 431 too large. */
#ifndef TSYNC_HTTP_REQ_H
#define TSYNC_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of request line and header fields, the empty line included. */
#define HTTP_REQ_MAX 4096

enum http_req_result {
    HTTP_REQ_MORE,      /* not complete yet: read more */
    HTTP_REQ_OK,        /* GET or HEAD /metrics */
    HTTP_REQ_BAD,       /* 400 */
    HTTP_REQ_NOT_FOUND, /* 404 */
    HTTP_REQ_METHOD,    /* 405 (answer with Allow: GET, HEAD) */
    HTTP_REQ_BODY,      /* 413: the request announces a body */
    HTTP_REQ_TOO_LARGE, /* 431: no end of the header fields within HTTP_REQ_MAX bytes */
};

struct http_req {
    enum http_req_result result;
    bool head; /* the method was HEAD: the answer has no body */
};

/* Decides on the len bytes received so far (eof: the peer sent all it will). Bytes past
 * the empty line ending the header fields are not looked at. Any input is safe. */
void http_req_parse(const char *buf, size_t len, bool eof, struct http_req *out);

/* 200, 400, 404, 405, 413 or 431 for a decided result; 0 for HTTP_REQ_MORE. */
int http_req_status(enum http_req_result r);

/* The reason phrase of that status ("OK", "Bad Request", ...). */
const char *http_req_reason(enum http_req_result r);

#endif
