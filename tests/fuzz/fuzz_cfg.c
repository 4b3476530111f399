/* libFuzzer target for the configuration parser: arbitrary bytes as a config text.
 * Includes are turned off (CFG_NO_INCLUDES): an input could otherwise name any path on
 * the machine (a FIFO, /proc, a huge glob), and that is the file system's behaviour, not
 * the parser's. The include lines themselves are still parsed up to that point. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_warning(void *ctx, const char *file, int line, const char *msg)
{
    /* Touch every byte so ASan checks the message is a valid string. */
    size_t *total = ctx;
    *total += strlen(file) + strlen(msg) + (size_t)(line > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg *c = malloc(sizeof *c);
    struct cfg_error err;
    size_t total = 0;

    if (!c) {
        return 0;
    }
    cfg_init(c);
    if (cfg_load_buffer(c, (const char *)data, size, "fuzz.conf", CFG_NO_INCLUDES, &err,
                        ignore_warning, &total) < 0) {
        /* A failed parse must name a line of the input and say something. */
        if (err.line < 1 || err.msg[0] == '\0' || strlen(err.msg) >= sizeof err.msg) {
            abort();
        }
    } else if (c->n_bind > CFG_MAX_BIND || c->n_servers > CFG_MAX_SERVERS ||
               c->acl.n > ACL_MAX_RULES ||
               (c->local && (c->local_stratum < 1 || c->local_stratum > 15))) {
        abort();
    }
    free(c);
    return 0;
}
