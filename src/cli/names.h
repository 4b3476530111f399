/* Reverse DNS for the CLI's tables: every address is looked up at once, each in its own
 * thread, and the whole set waits at most a deadline, so a dead resolver costs one short
 * pause instead of a timeout per row. Addresses without a name keep their numeric form. */
#ifndef TSYNC_CLI_NAMES_H
#define TSYNC_CLI_NAMES_H

#include <stddef.h>

#define NAMES_MAX 128 /* addresses looked up per run; the rest stay numeric */

struct names;

/* An empty table; NULL when out of memory. */
struct names *names_new(void);
/* Queues a numeric address (IPv4 or IPv6 text) for lookup; duplicates are ignored. */
void names_add(struct names *names, const char *address);
/* Records a known name for address without DNS (tests, and names the daemon gave). */
void names_set(struct names *names, const char *address, const char *host);
/* Runs the queued lookups in parallel and waits for them at most timeout_ms. */
void names_resolve(struct names *names, int timeout_ms);
/* The host name found for address, or NULL. */
const char *names_lookup(const struct names *names, const char *address);
void names_free(struct names *names);

#endif
