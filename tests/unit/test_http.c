/* Unit tests of tsyncd's /metrics endpoint (src/daemon/http.c) on loopback, ephemeral
 * port, views of a real engine: a scrape's body is byte for byte what `tsync metrics`
 * prints from the control JSON of the same state; HEAD; each small refusal (431 arrives
 * although the peer still sends); a request in pieces; busy slots; a silent peer timed
 * out. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/json.h"
#include "core/eng.h"
#include "daemon/ctl.h"
#include "daemon/http.h"
#include "sys/sys_clock.h"

static struct sys_loop loop;
static struct http_srv *srv;
static void *eng_mem;
static struct eng *eng;
static struct act_list acts;
static struct core_time fixed_now;
static struct serve *serve_mem;

static void view_input(void *ctx, struct ctl_view_in *in)
{
    (void)ctx;
    in->eng = eng;
    in->now = fixed_now; /* the same state for the scrape and the JSON it is compared to */
    in->since_known = true;
    in->since_unix_s = 1795000000.5;
    in->serve = serve_mem;
}

static int setup(void **state)
{
    struct eng_config ec;
    struct core_addr lo = {.family = CORE_AF_INET, .bytes = {127, 0, 0, 1}, .port = 0};
    struct http_ops ops = {NULL, view_input};
    (void)state;

    fixed_now = (struct core_time){sys_clock_realtime_ns(), sys_clock_monotonic_ns()};
    if (sys_loop_init(&loop) != 0) {
        return -1;
    }
    eng_config_default(&ec);
    ec.no_clock_control = true;
    ec.n_sources = 2;
    eng_source_default(&ec.sources[0], "198.18.0.1", false);
    eng_source_default(&ec.sources[1], "pool \"quoted\" \\ name", true);
    eng_mem = calloc(1, eng_size());
    srv = calloc(1, sizeof(*srv));
    serve_mem = calloc(1, sizeof(*serve_mem));
    if (eng_mem == NULL || srv == NULL || serve_mem == NULL) {
        return -1;
    }
    serve_mem->cnt.received = 1039;
    serve_mem->srv.stats.count[0] = 1024;
    eng = eng_init(eng_mem, &ec, fixed_now, 1, &acts);
    return http_open(srv, &lo, &loop, &ops) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_close(srv);
    sys_loop_close(&loop);
    free(srv);
    free(serve_mem);
    free(eng_mem);
    return 0;
}

static int connect_srv(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_port = htons((uint16_t)http_port(srv));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* Runs the server for at most ms_max or until fd's answer is complete (end of stream);
 * returns its length, or -1 when none came. */
static long run_until_answer(int fd, char *out, size_t cap, int ms_max)
{
    size_t n = 0;

    for (int waited = 0; waited < ms_max; waited += 10) {
        int t = http_timeout_ms(srv, sys_clock_monotonic_ns());
        (void)sys_loop_wait(&loop, t >= 0 && t < 10 ? t : 10);
        http_after_wait(srv);
        for (;;) {
            ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
            if (r == 0) {
                out[n] = '\0';
                return (long)n;
            }
            if (r < 0) {
                assert_true(errno == EAGAIN);
                break;
            }
            n += (size_t)r;
            assert_true(n < cap - 1);
        }
    }
    return -1;
}

static char answer_buf[HTTP_BODY_MAX + 1024];

static const char *ask_bytes(const char *req, size_t len)
{
    int fd = connect_srv();

    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    long n = run_until_answer(fd, answer_buf, sizeof(answer_buf), 3000);
    close(fd);
    assert_true(n > 0);
    return answer_buf;
}

static const char *ask(const char *req)
{
    return ask_bytes(req, strlen(req));
}

/* What `tsync metrics` prints for the same views: their JSON, parsed, formatted. */
static char *cli_metrics(void)
{
    static const enum ctl_cmd cmds[4] = {CTL_CMD_STATUS, CTL_CMD_TRACKING, CTL_CMD_SOURCES,
                                         CTL_CMD_SERVERSTATS};
    static char json[4][CTL_ANSWER_MAX];
    struct json_doc *docs[4];
    struct ctl_view_in in;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    memset(&in, 0, sizeof(in));
    view_input(NULL, &in);
    for (int i = 0; i < 4; i++) {
        struct ctl_json j;
        ctl_json_init(&j, json[i], sizeof(json[i]));
        assert_true(ctl_view_write(cmds[i], &in, &j));
        long n = ctl_json_finish(&j);
        assert_true(n > 0);
        docs[i] = json_parse(json[i], (size_t)n, NULL, 0);
        assert_non_null(docs[i]);
    }
    cmd_metrics_print(json_root(docs[0]), json_root(docs[1]), json_root(docs[2]),
                      json_root(docs[3]), f);
    fclose(f);
    for (int i = 0; i < 4; i++) {
        json_free(docs[i]);
    }
    return text;
}

static void expect_prefix(const char *a, const char *want)
{
    if (strncmp(a, want, strlen(want)) != 0) {
        fail_msg("expected %s at the start of %s", want, a);
    }
}

static void test_scrape_equals_cli(void **state)
{
    char head[512];
    (void)state;
    const char *a = ask("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "User-Agent: Prometheus/2.42.0\r\n\r\n");
    const char *body = strstr(a, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    char *want = cli_metrics();
    snprintf(head, sizeof(head),
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             strlen(want));
    expect_prefix(a, head);
    assert_string_equal(body, want);
    /* The escaped name of the pool and the server's counters are in. */
    assert_non_null(strstr(body, "source_name=\"pool \\\"quoted\\\" \\\\ name\""));
    assert_non_null(strstr(body, "\ntsync_serverstats_ntp_packets_received_total 1039\n"));
    assert_non_null(strstr(body, "\ntsync_synchronized 0\n"));
    free(want);
    assert_int_equal(srv->cnt.served, 1);
    assert_int_equal(srv->cnt.bad_requests, 0);
}

static void test_head(void **state)
{
    (void)state;
    const char *a = ask("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
    expect_prefix(a, "HTTP/1.1 200 OK\r\n");
    const char *end = strstr(a, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(end[4], '\0'); /* no body */
    assert_non_null(strstr(a, "Content-Length: "));
    assert_null(strstr(a, "Content-Length: 0\r\n"));
}

static void test_refusals(void **state)
{
    (void)state;
    const char *a = ask("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_prefix(a, "HTTP/1.1 405 Method Not Allowed\r\n");
    assert_non_null(strstr(a, "\r\nAllow: GET, HEAD\r\n"));
    assert_true(strlen(a) < 300);
    a = ask("GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_prefix(a, "HTTP/1.1 404 Not Found\r\n");
    assert_true(strlen(a) < 300);
    a = ask("\x16\x03\x01 garbage\r\n\r\n");
    expect_prefix(a, "HTTP/1.1 400 Bad Request\r\n");
    assert_true(strlen(a) < 300);
    a = ask("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
    expect_prefix(a, "HTTP/1.1 413 Content Too Large\r\n");
    assert_int_equal(srv->cnt.bad_requests, 4);
    assert_int_equal(srv->cnt.served, 0);
}

/* 431 comes back even though the peer keeps sending (the rest is read and dropped). */
static void test_too_large(void **state)
{
    static char req[3 * HTTP_REQ_MAX];
    const char *start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    (void)state;
    memset(req, 'a', sizeof(req));
    memcpy(req, start, strlen(start));
    memcpy(req + sizeof(req) - 4, "\r\n\r\n", 4);
    const char *a = ask_bytes(req, sizeof(req));
    expect_prefix(a, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    assert_true(strlen(a) < 300);
}

static void test_in_pieces(void **state)
{
    static const char *const parts[] = {"GE", "T /met", "rics HTTP/1.1\r", "\nHost: x\r\n", "\r\n"};
    char out[HTTP_BODY_MAX];
    (void)state;
    int fd = connect_srv();
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(send(fd, parts[i], strlen(parts[i]), MSG_NOSIGNAL),
                         (ssize_t)strlen(parts[i]));
        if (i < 4) {
            assert_int_equal(run_until_answer(fd, out, sizeof(out), 30), -1); /* waits */
        }
    }
    assert_true(run_until_answer(fd, out, sizeof(out), 3000) > 0);
    expect_prefix(out, "HTTP/1.1 200 OK\r\n");
    close(fd);
}

/* More peers than slots: the extra ones are closed at once, the others still served. */
static void test_busy(void **state)
{
    int fds[HTTP_MAX_CONNS + 1];
    char out[256];
    (void)state;
    for (int i = 0; i <= HTTP_MAX_CONNS; i++) {
        fds[i] = connect_srv();
        (void)run_until_answer(fds[i], out, sizeof(out), 20);
    }
    assert_int_equal(srv->cnt.busy, 1);
    assert_int_equal(run_until_answer(fds[HTTP_MAX_CONNS], out, sizeof(out), 100), 0);
    for (int i = 0; i <= HTTP_MAX_CONNS; i++) {
        close(fds[i]);
    }
    (void)run_until_answer(connect_srv(), out, sizeof(out), 50); /* slots freed at EOF */
    const char *a = ask("GET /metrics HTTP/1.0\r\n\r\n");
    expect_prefix(a, "HTTP/1.1 200 OK\r\n");
}

/* A peer that sends nothing is closed after HTTP_TIMEOUT_S, and counted. */
static void test_timeout(void **state)
{
    char out[256];
    (void)state;
    int fd = connect_srv();
    assert_int_equal(send(fd, "GET /met", 8, MSG_NOSIGNAL), 8);
    long n = run_until_answer(fd, out, sizeof(out), HTTP_TIMEOUT_S * 1000 + 1500);
    assert_int_equal(n, 0);
    assert_int_equal(srv->cnt.timeouts, 1);
    close(fd);
    http_log_stats(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scrape_equals_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
