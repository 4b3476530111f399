/* The CLI's side of the control socket (doc/control.md): connect to tsyncd's Unix
 * socket, send one command line, read the whole JSON answer (at most JSON_MAX_INPUT
 * bytes, bounded in time) and parse it. The only file of the CLI that does socket I/O. */
#ifndef TSYNC_CLI_CLIENT_H
#define TSYNC_CLI_CLIENT_H

#include <stddef.h>

#include "cli/cli.h"
#include "cli/json.h"

#define CLIENT_TIMEOUT_MS 5000 /* for the whole exchange */

enum client_result {
    CLIENT_OK = 0,
    CLIENT_DOWN,         /* no daemon at the socket: cannot connect */
    CLIENT_FAILED,       /* connected, but no usable answer (I/O, timeout, size, JSON) */
    CLIENT_DAEMON_ERROR, /* the daemon answered {"error":...}; *doc is set */
};

/* Sends line (no newline) and parses the answer into *doc (owned by the caller; NULL on
 * every result but CLIENT_OK and CLIENT_DAEMON_ERROR). err gets a sentence without the
 * "tsync: " prefix. With ctx->json the answer is also written to ctx->out unchanged. */
enum client_result client_query(const struct cli_ctx *ctx, const char *line, struct json_doc **doc,
                                char *err, size_t errlen);

#endif
