/* Unit tests of the /metrics request parser (src/daemon/http_req.c): what Prometheus and
 * curl send, HEAD, query strings, absolute-form, bare LF, requests arriving byte by byte,
 * and each refusal (400, 404, 405, 413, 431) with its status and reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "daemon/http_req.h"

static enum http_req_result parse(const char *s, bool eof, bool *head)
{
    struct http_req r;
    http_req_parse(s, strlen(s), eof, &r);
    if (head != NULL) {
        *head = r.head;
    }
    return r.result;
}

static void test_prometheus_request(void **state)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9123\r\n"
                      "User-Agent: Prometheus/2.42.0\r\n"
                      "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
                      "version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
                      "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n\r\n";
    bool head = true;
    (void)state;
    assert_int_equal(parse(req, false, &head), HTTP_REQ_OK);
    assert_false(head);
}

static void test_accepted_forms(void **state)
{
    bool head = false;
    (void)state;
    assert_int_equal(parse("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false, &head), HTTP_REQ_OK);
    assert_true(head);
    assert_int_equal(parse("GET /metrics?name[]=up HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL),
                     HTTP_REQ_OK);
    assert_int_equal(parse("GET /metrics HTTP/1.0\r\n\r\n", false, NULL), HTTP_REQ_OK);
    assert_int_equal(parse("GET /metrics HTTP/1.0\n\n", false, NULL), HTTP_REQ_OK);
    assert_int_equal(parse("\r\nGET /metrics HTTP/1.1\r\nHost:x\r\n\r\n", false, NULL),
                     HTTP_REQ_OK);
    assert_int_equal(parse("GET http://h:9123/metrics HTTP/1.1\r\nHost: h\r\n\r\n", false, NULL),
                     HTTP_REQ_OK);
    assert_int_equal(
        parse("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false, NULL),
        HTTP_REQ_OK);
    /* Bytes after the header section (a pipelined request) are not looked at. */
    assert_int_equal(parse("GET /metrics HTTP/1.0\r\n\r\n\x01\x02garbage", false, NULL),
                     HTTP_REQ_OK);
}

static void test_incremental(void **state)
{
    const char *req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    struct http_req r;
    size_t n = strlen(req);
    (void)state;
    for (size_t i = 0; i < n; i++) {
        http_req_parse(req, i, false, &r);
        assert_int_equal(r.result, HTTP_REQ_MORE);
    }
    http_req_parse(req, n, false, &r);
    assert_int_equal(r.result, HTTP_REQ_OK);
    /* The peer stopped sending before the end: malformed. */
    http_req_parse(req, n - 2, true, &r);
    assert_int_equal(r.result, HTTP_REQ_BAD);
    http_req_parse(NULL, 0, false, &r);
    assert_int_equal(r.result, HTTP_REQ_MORE);
    http_req_parse("", 0, true, &r);
    assert_int_equal(r.result, HTTP_REQ_BAD);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "GET /metrics\r\n\r\n",                                /* HTTP/0.9 */
        "GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",           /* two spaces */
        "GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",            /* not HTTP/1.x */
        "GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",           /* trailing space */
        "GET /metrics HTTP/1.1\r\n\r\n",                       /* 1.1 without Host */
        "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",             /* no colon */
        "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",           /* space before colon */
        "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", /* obs-fold */
        "GET /metrics HTTP/1.1\r\nHost: a\x01z\r\n\r\n",       /* control character */
        "G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",            /* not a token */
        "GET /met\x7fics HTTP/1.1\r\nHost: x\r\n\r\n",
        "\x16\x03\x01\x02\x01\x01\x01\xfc\x03\x03\n\n", /* a TLS hello */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], false, NULL) != HTTP_REQ_BAD) {
            fail_msg("not refused as malformed: case %zu", i);
        }
    }
    /* A bad first line is refused before the rest arrives. */
    assert_int_equal(parse("BREW /pot HTCPCP/1.0\r\n", false, NULL), HTTP_REQ_BAD);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", false, NULL), HTTP_REQ_MORE);
}

static void test_refusals(void **state)
{
    bool head = false;
    (void)state;
    assert_int_equal(parse("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL),
                     HTTP_REQ_METHOD);
    assert_int_equal(parse("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL),
                     HTTP_REQ_METHOD); /* methods are case-sensitive */
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL), HTTP_REQ_NOT_FOUND);
    assert_int_equal(parse("GET /metricsX HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL),
                     HTTP_REQ_NOT_FOUND);
    assert_int_equal(parse("HEAD /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n", false, &head),
                     HTTP_REQ_NOT_FOUND);
    assert_true(head);
    assert_int_equal(parse("GET * HTTP/1.1\r\nHost: x\r\n\r\n", false, NULL), HTTP_REQ_NOT_FOUND);
    assert_int_equal(
        parse("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", false, NULL),
        HTTP_REQ_BODY);
    assert_int_equal(parse("PUT /metrics HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked"
                           "\r\n\r\n",
                           false, NULL),
                     HTTP_REQ_BODY);
}

static void test_too_large(void **state)
{
    static char req[HTTP_REQ_MAX + 100];
    const char *start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    struct http_req r;
    (void)state;
    memset(req, 'a', sizeof(req));
    memcpy(req, start, strlen(start));
    /* Exactly HTTP_REQ_MAX bytes with the end inside: fine. */
    memcpy(req + HTTP_REQ_MAX - 4, "\r\n\r\n", 4);
    http_req_parse(req, HTTP_REQ_MAX, false, &r);
    assert_int_equal(r.result, HTTP_REQ_OK);
    /* One byte more before the end: too large, whatever follows. */
    memset(req + strlen(start), 'a', sizeof(req) - strlen(start));
    memcpy(req + HTTP_REQ_MAX - 3, "\r\n\r\n", 4);
    http_req_parse(req, HTTP_REQ_MAX + 1, false, &r);
    assert_int_equal(r.result, HTTP_REQ_TOO_LARGE);
    http_req_parse(req, sizeof(req), true, &r);
    assert_int_equal(r.result, HTTP_REQ_TOO_LARGE);
}

static void test_status_and_reason(void **state)
{
    (void)state;
    assert_int_equal(http_req_status(HTTP_REQ_MORE), 0);
    assert_int_equal(http_req_status(HTTP_REQ_OK), 200);
    assert_int_equal(http_req_status(HTTP_REQ_BAD), 400);
    assert_int_equal(http_req_status(HTTP_REQ_NOT_FOUND), 404);
    assert_int_equal(http_req_status(HTTP_REQ_METHOD), 405);
    assert_int_equal(http_req_status(HTTP_REQ_BODY), 413);
    assert_int_equal(http_req_status(HTTP_REQ_TOO_LARGE), 431);
    assert_string_equal(http_req_reason(HTTP_REQ_METHOD), "Method Not Allowed");
    assert_string_equal(http_req_reason(HTTP_REQ_TOO_LARGE), "Request Header Fields Too Large");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_request), cmocka_unit_test(test_accepted_forms),
        cmocka_unit_test(test_incremental),        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_refusals),           cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_status_and_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
