/* Control requests (see ctl_req.h and doc/control.md): one line of printable ASCII,
 * words separated by spaces; the first word is the command. Everything here works on
 * the caller's bytes and writes only into the caller's structs. */
#include "daemon/ctl_req.h"

#include <stdio.h>
#include <string.h>

/* What each command takes after its word. */
enum arg_kind {
    ARG_NONE,
    ARG_NAME_OPT,   /* online/offline [NAME] */
    ARG_SOURCES_OPT /* reload [sources]: chronyc's spelling is "reload sources" */
};

struct cmd_def {
    const char *name;
    enum arg_kind arg;
    bool changes;
};

static const struct cmd_def cmds[CTL_CMD_COUNT] = {
    [CTL_CMD_STATUS] = {"status", ARG_NONE, false},
    [CTL_CMD_TRACKING] = {"tracking", ARG_NONE, false},
    [CTL_CMD_SOURCES] = {"sources", ARG_NONE, false},
    [CTL_CMD_SOURCESTATS] = {"sourcestats", ARG_NONE, false},
    [CTL_CMD_SERVERSTATS] = {"serverstats", ARG_NONE, false},
    [CTL_CMD_MAKESTEP] = {"makestep", ARG_NONE, true},
    [CTL_CMD_RELOAD] = {"reload", ARG_SOURCES_OPT, true},
    [CTL_CMD_ONLINE] = {"online", ARG_NAME_OPT, true},
    [CTL_CMD_OFFLINE] = {"offline", ARG_NAME_OPT, true},
};

static const char *const err_codes[CTL_ERR_COUNT] = {
    [CTL_OK] = "ok",
    [CTL_ERR_TOO_LONG] = "too_long",
    [CTL_ERR_BAD_REQUEST] = "bad_request",
    [CTL_ERR_UNKNOWN_COMMAND] = "unknown_command",
    [CTL_ERR_NOT_PERMITTED] = "not_permitted",
    [CTL_ERR_UNKNOWN_SOURCE] = "unknown_source",
    [CTL_ERR_BUSY] = "busy",
    [CTL_ERR_TIMEOUT] = "timeout",
    [CTL_ERR_FAILED] = "failed",
};

enum ctl_frame ctl_req_frame(const char *buf, size_t len, bool eof, size_t *line_len)
{
    size_t look = len < CTL_REQ_MAX + 1 ? len : CTL_REQ_MAX + 1;
    const char *nl = memchr(buf, '\n', look);

    if (nl != NULL) {
        *line_len = (size_t)(nl - buf);
        return CTL_FRAME_LINE;
    }
    if (len > CTL_REQ_MAX) {
        return CTL_FRAME_TOO_LONG;
    }
    if (eof) {
        *line_len = len;
        return CTL_FRAME_LINE;
    }
    return CTL_FRAME_MORE;
}

static enum ctl_err fail(char *msg, size_t n, enum ctl_err e, const char *text)
{
    if (n > 0) {
        snprintf(msg, n, "%s", text);
    }
    return e;
}

/* Splits at spaces into at most max words (pointers into line, lengths in lens).
 * Returns the word count, or max + 1 when there are more. */
static size_t split(const char *line, size_t len, const char **words, size_t *lens, size_t max)
{
    size_t count = 0, i = 0;

    while (i < len) {
        while (i < len && line[i] == ' ') {
            i++;
        }
        if (i == len) {
            break;
        }
        size_t start = i;
        while (i < len && line[i] != ' ') {
            i++;
        }
        if (count == max) {
            return max + 1;
        }
        words[count] = line + start;
        lens[count] = i - start;
        count++;
    }
    return count;
}

static int find_cmd(const char *w, size_t n)
{
    for (int c = 0; c < CTL_CMD_COUNT; c++) {
        if (strlen(cmds[c].name) == n && memcmp(cmds[c].name, w, n) == 0) {
            return c;
        }
    }
    return -1;
}

static enum ctl_err check_args(const struct cmd_def *d, size_t argc, const char *arg,
                               size_t arg_len, char *msg, size_t n)
{
    if (argc == 0) {
        return CTL_OK;
    }
    switch (d->arg) {
    case ARG_NAME_OPT:
        if (argc == 1) {
            return CTL_OK;
        }
        return fail(msg, n, CTL_ERR_BAD_REQUEST, "this command takes at most one source name");
    case ARG_SOURCES_OPT:
        if (argc == 1 && arg_len == 7 && memcmp(arg, "sources", 7) == 0) {
            return CTL_OK;
        }
        return fail(msg, n, CTL_ERR_BAD_REQUEST,
                    "reload takes no argument (or \"sources\", as chronyc writes it)");
    case ARG_NONE:
    default:
        return fail(msg, n, CTL_ERR_BAD_REQUEST, "this command takes no argument");
    }
}

enum ctl_err ctl_req_parse(const char *line, size_t len, struct ctl_req *r, char *msg, size_t n)
{
    const char *words[2];
    size_t lens[2];

    memset(r, 0, sizeof(*r));
    if (n > 0) {
        msg[0] = '\0';
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len > CTL_REQ_MAX) {
        return fail(msg, n, CTL_ERR_TOO_LONG, "the request is longer than 256 bytes");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x20 || ch > 0x7e) {
            return fail(msg, n, CTL_ERR_BAD_REQUEST,
                        "the request holds a byte that is not printable ASCII");
        }
    }
    size_t count = split(line, len, words, lens, 2);
    if (count == 0) {
        return fail(msg, n, CTL_ERR_BAD_REQUEST, "empty request: expected a command");
    }
    int c = find_cmd(words[0], lens[0]);
    if (c < 0) {
        return fail(msg, n, CTL_ERR_UNKNOWN_COMMAND,
                    "unknown command; the commands are status, tracking, sources, "
                    "sourcestats, serverstats, makestep, reload, online and offline");
    }
    enum ctl_err e = check_args(&cmds[c], count > 2 ? 2 : count - 1, count > 1 ? words[1] : NULL,
                                count > 1 ? lens[1] : 0, msg, n);
    if (e != CTL_OK) {
        return e;
    }
    r->cmd = (enum ctl_cmd)c;
    if (count == 2 && cmds[c].arg == ARG_NAME_OPT) {
        r->has_arg = true;
        memcpy(r->arg, words[1], lens[1]);
        r->arg[lens[1]] = '\0';
    }
    return CTL_OK;
}

const char *ctl_err_code(enum ctl_err e)
{
    return (unsigned)e < CTL_ERR_COUNT ? err_codes[e] : "internal";
}

const char *ctl_cmd_name(enum ctl_cmd c)
{
    return (unsigned)c < CTL_CMD_COUNT ? cmds[c].name : NULL;
}

bool ctl_cmd_changes(enum ctl_cmd c)
{
    return (unsigned)c < CTL_CMD_COUNT && cmds[c].changes;
}
