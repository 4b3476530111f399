/* libFuzzer target: the /metrics request path on arbitrary bytes: the parser on a prefix
 * and on the whole (a decision taken early must not change with more bytes, nor reach
 * beyond HTTP_REQ_MAX), then the whole answer built for the decision (the metrics of an
 * empty daemon for a GET). Nothing may crash; a refusal is a small, well-formed answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http.h"
#include "daemon/http_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(const struct http_req *req, const char *a, long len)
{
    char want[64];
    int status = http_req_status(req->result);

    if (len <= 0 || (req->result != HTTP_REQ_OK && len > 300)) {
        abort();
    }
    int n = snprintf(want, sizeof(want), "HTTP/1.1 %d ", status);
    if (len < n || memcmp(a, want, (size_t)n) != 0) {
        abort();
    }
    /* The header section ends once, with the body (none for HEAD) after it. */
    const char *end = memmem(a, (size_t)len, "\r\n\r\n", 4);
    if (end == NULL || (req->head && end + 4 != a + len)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct http_req early, whole, last;
    struct ctl_view_in in;
    char *answer = NULL;

    /* The first byte splits the input into what arrived first and the rest. */
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    http_req_parse(buf, cut, false, &early);
    http_req_parse(buf, size, false, &whole);
    http_req_parse(buf, size, true, &last);
    if (early.result != HTTP_REQ_MORE &&
        (early.result != whole.result || early.head != whole.head)) {
        abort();
    }
    if (last.result == HTTP_REQ_MORE || (size >= HTTP_REQ_MAX && whole.result == HTTP_REQ_MORE)) {
        abort();
    }
    memset(&in, 0, sizeof(in));
    long len = http_answer(&last, &in, &answer);
    check_answer(&last, answer, len);
    free(answer);
    return 0;
}
