/* One request on tsyncd's control socket: connect, send the command line, read until
 * the daemon closes the connection, parse the JSON. Every wait is bounded by one
 * deadline for the whole exchange, and the answer by JSON_MAX_INPUT bytes, so a stuck or
 * babbling daemon cannot hang or exhaust the CLI. */
#include "cli/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes; false on timeout/error. */
static bool wait_ready(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            errno = ETIMEDOUT;
            return false;
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

static int connect_socket(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "cannot connect to tsyncd at %s: path too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, errlen, "cannot connect to tsyncd at %s: %s (is tsyncd running?)", path,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static bool send_line(int fd, const char *line, long long deadline)
{
    size_t len = strlen(line);
    char buf[512];
    if (len + 1 > sizeof(buf)) {
        errno = EMSGSIZE;
        return false;
    }
    memcpy(buf, line, len);
    buf[len++] = '\n';
    size_t off = 0;
    while (off < len) {
        if (!wait_ready(fd, POLLOUT, deadline)) {
            return false;
        }
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR) {
            return false;
        }
        off += n > 0 ? (size_t)n : 0;
    }
    return true;
}

/* Reads to end of stream into a malloc'd buffer; false (errno set) on error or when the
 * answer is larger than JSON_MAX_INPUT (errno EFBIG). */
static bool read_all(int fd, long long deadline, char **out, size_t *outlen)
{
    size_t cap = 4096;
    size_t len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (len == cap) {
            char *bigger = cap > JSON_MAX_INPUT ? NULL : realloc(buf, cap * 2);
            if (bigger == NULL) {
                errno = cap > JSON_MAX_INPUT ? EFBIG : ENOMEM;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        if (!wait_ready(fd, POLLIN, deadline)) {
            break;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n == 0) {
            if (len > JSON_MAX_INPUT) {
                errno = EFBIG;
                break;
            }
            *out = buf;
            *outlen = len;
            return true;
        }
        if (n < 0 && errno != EINTR) {
            break;
        }
        len += n > 0 ? (size_t)n : 0;
    }
    int saved = errno;
    free(buf);
    errno = saved;
    return false;
}

/* Turns {"error":code,"message":text} into err; false when the answer is no error. */
static bool daemon_error(const struct json_value *root, char *err, size_t errlen)
{
    const char *code = json_get_str(root, "error");
    const char *message = json_get_str(root, "message");
    if (code == NULL) {
        return false;
    }
    snprintf(err, errlen, "tsyncd: %s (%s)", message != NULL ? message : "error", code);
    return true;
}

static enum client_result parse_answer(const struct cli_ctx *ctx, const char *buf, size_t len,
                                       struct json_doc **doc, char *err, size_t errlen)
{
    char why[128];
    *doc = json_parse(buf, len, why, sizeof(why));
    if (*doc == NULL) {
        snprintf(err, errlen, "unreadable answer from tsyncd at %s: %s", ctx->socket_path, why);
        return CLIENT_FAILED;
    }
    const struct json_value *root = json_root(*doc);
    if (root->type != JSON_OBJECT) {
        snprintf(err, errlen, "unreadable answer from tsyncd at %s: not a JSON object",
                 ctx->socket_path);
        json_free(*doc);
        *doc = NULL;
        return CLIENT_FAILED;
    }
    return daemon_error(root, err, errlen) ? CLIENT_DAEMON_ERROR : CLIENT_OK;
}

enum client_result client_query(const struct cli_ctx *ctx, const char *line, struct json_doc **doc,
                                char *err, size_t errlen)
{
    long long deadline = now_ms() + CLIENT_TIMEOUT_MS;
    char *buf = NULL;
    size_t len = 0;
    *doc = NULL;
    int fd = connect_socket(ctx->socket_path, err, errlen);
    if (fd < 0) {
        return CLIENT_DOWN;
    }
    bool ok = send_line(fd, line, deadline) && read_all(fd, deadline, &buf, &len);
    int saved = errno;
    close(fd);
    if (!ok) {
        snprintf(err, errlen, "no answer from tsyncd at %s: %s", ctx->socket_path,
                 saved == EFBIG ? "answer longer than 1 MiB" : strerror(saved));
        return CLIENT_FAILED;
    }
    if (ctx->json) {
        fwrite(buf, 1, len, ctx->out);
    }
    enum client_result r = parse_answer(ctx, buf, len, doc, err, errlen);
    free(buf);
    return r;
}
