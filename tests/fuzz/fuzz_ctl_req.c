/* libFuzzer target: the control socket's request path on arbitrary bytes: framing as
 * the bytes arrive in two pieces, parsing the line, and the JSON error answer built
 * from the result. Nothing may crash; an accepted request must be a known command with
 * a printable argument without spaces, and every answer must be plain ASCII JSON. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl_json.h"
#include "daemon/ctl_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ascii(const char *s, long len)
{
    for (long i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch >= 0x7f) {
            abort();
        }
    }
}

static void check_request(const struct ctl_req *r)
{
    if (ctl_cmd_name(r->cmd) == NULL) {
        abort();
    }
    size_t n = strlen(r->arg);
    if (r->has_arg != (n > 0) || n > CTL_REQ_MAX) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (r->arg[i] <= ' ' || r->arg[i] > '~') {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char answer[4096];
    const char *buf = (const char *)data;
    struct ctl_req r;
    struct ctl_json j;
    char msg[256];
    size_t line_len = 0;

    /* The first byte splits the input: framing must agree on the prefix and the whole. */
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    enum ctl_frame early = ctl_req_frame(buf, cut, false, &line_len);
    enum ctl_frame f = ctl_req_frame(buf, size, true, &line_len);
    if (early == CTL_FRAME_TOO_LONG && f != CTL_FRAME_TOO_LONG) {
        abort();
    }
    if (f != CTL_FRAME_LINE) {
        return 0;
    }
    if (line_len > CTL_REQ_MAX || line_len > size) {
        abort();
    }
    enum ctl_err e = ctl_req_parse(buf, line_len, &r, msg, sizeof(msg));
    if (e == CTL_OK) {
        check_request(&r);
        return 0;
    }
    ctl_json_init(&j, answer, sizeof(answer));
    ctl_json_begin_object(&j);
    ctl_json_kv_string(&j, "error", ctl_err_code(e));
    ctl_json_kv_string(&j, "message", msg);
    /* A peer's bytes echoed in a string must come out escaped. */
    char echo[CTL_REQ_MAX + 1];
    memcpy(echo, buf, line_len);
    echo[line_len] = '\0';
    ctl_json_kv_string(&j, "echo", echo);
    ctl_json_end_object(&j);
    long len = ctl_json_finish(&j);
    if (len <= 0 || strcmp(ctl_err_code(e), "internal") == 0) {
        abort();
    }
    check_ascii(answer, len);
    return 0;
}
