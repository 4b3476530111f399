/* The control protocol's requests (doc/control.md): framing one line out of the bytes
 * read so far, and parsing it into a command and its argument, with the protocol's
 * stable error codes. Pure (no OS calls, no state): the server (ctl.c) and the fuzzer
 * (tests/fuzz/fuzz_ctl_req.c) use the very same code. */
#ifndef TSYNC_CTL_REQ_H
#define TSYNC_CTL_REQ_H

#include <stdbool.h>
#include <stddef.h>

#define CTL_REQ_MAX   256 /* bytes of a request line before its newline */
#define CTL_MAX_CONNS 16  /* connections served at once (more: "busy") */
#define CTL_TIMEOUT_S 2   /* for the whole request line */

enum ctl_cmd {
    CTL_CMD_STATUS,
    CTL_CMD_TRACKING,
    CTL_CMD_SOURCES,
    CTL_CMD_SOURCESTATS,
    CTL_CMD_SERVERSTATS,
    CTL_CMD_MAKESTEP,
    CTL_CMD_RELOAD,
    CTL_CMD_ONLINE,
    CTL_CMD_OFFLINE,
    CTL_CMD_COUNT,
};

/* The error codes of doc/control.md; CTL_OK is no error. */
enum ctl_err {
    CTL_OK = 0,
    CTL_ERR_TOO_LONG,
    CTL_ERR_BAD_REQUEST,
    CTL_ERR_UNKNOWN_COMMAND,
    CTL_ERR_NOT_PERMITTED,
    CTL_ERR_UNKNOWN_SOURCE,
    CTL_ERR_BUSY,
    CTL_ERR_TIMEOUT,
    CTL_ERR_FAILED, /* a change command could not be carried out (reload: bad config) */
    CTL_ERR_COUNT,
};

struct ctl_req {
    enum ctl_cmd cmd;
    bool has_arg;
    char arg[CTL_REQ_MAX + 1]; /* the argument word (online/offline NAME), NUL-ended */
};

/* Framing of what a connection sent so far (len bytes, eof: the peer closed its side). */
enum ctl_frame {
    CTL_FRAME_MORE,     /* no complete line yet: keep reading */
    CTL_FRAME_LINE,     /* *line_len bytes are the line (without its newline) */
    CTL_FRAME_TOO_LONG, /* more than CTL_REQ_MAX bytes and no newline among them */
};
enum ctl_frame ctl_req_frame(const char *buf, size_t len, bool eof, size_t *line_len);

/* Parses one line (len bytes, no newline; one trailing CR is ignored). Returns CTL_OK
 * and fills r, or an error code with a sentence for people in msg (always terminated
 * when n > 0). */
enum ctl_err ctl_req_parse(const char *line, size_t len, struct ctl_req *r, char *msg, size_t n);

/* The stable lower_snake code of an error ("too_long", ...); "internal" out of range. */
const char *ctl_err_code(enum ctl_err e);

/* The command word ("status", ...); NULL out of range. */
const char *ctl_cmd_name(enum ctl_cmd c);

/* Whether a command changes something (only root or the socket's group may send it). */
bool ctl_cmd_changes(enum ctl_cmd c);

#endif
