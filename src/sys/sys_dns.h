/* Name resolution off the loop: getaddrinfo runs in one worker thread that takes
 * requests from a bounded queue, and answers come back through a second bounded queue
 * with a byte written to a pipe, so the poll loop wakes up (DESIGN.md rule 8). Answers
 * are plain sockaddrs copied out of getaddrinfo's list; nothing of it is shared. */
#ifndef TSYNC_SYS_DNS_H
#define TSYNC_SYS_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SYS_DNS_QUEUE     16  /* requests waiting or answered but not yet taken */
#define SYS_DNS_NAME_MAX  256 /* bytes of a name, NUL included */
#define SYS_DNS_MAX_ADDRS 16  /* addresses kept from one answer (duplicates dropped) */

struct sys_dns; /* opaque: the queues, the pipe and the worker */

struct sys_dns_answer {
    uint64_t tag; /* as given to sys_dns_submit */
    char name[SYS_DNS_NAME_MAX];
    int family;     /* as asked: AF_UNSPEC, AF_INET or AF_INET6 */
    int gai_error;  /* 0, or getaddrinfo's EAI_* code */
    char error[96]; /* gai_strerror text when gai_error != 0 */
    size_t n;       /* addresses in addr[0..n) */
    struct sockaddr_storage addr[SYS_DNS_MAX_ADDRS];
    socklen_t addr_len[SYS_DNS_MAX_ADDRS];
};

/* Creates the queues, the notification pipe (non-blocking, close-on-exec) and the
 * worker thread. Returns 0 with *out set, or -errno. */
int sys_dns_start(struct sys_dns **out);

/* Descriptor that becomes readable when an answer is waiting (for sys_loop). */
int sys_dns_fd(const struct sys_dns *d);

/* Queues a lookup of name (IPv4 and IPv6 for AF_UNSPEC) for UDP port 123's service.
 * Returns 0, -EAGAIN when SYS_DNS_QUEUE lookups are already pending or unread,
 * -ENAMETOOLONG or -EINVAL (empty name, other family), or -ESHUTDOWN after stop. */
int sys_dns_submit(struct sys_dns *d, const char *name, int family, uint64_t tag);

/* Takes the oldest answer into *a: 1 when there was one, 0 when none is waiting.
 * Drains the pipe when the queue becomes empty. */
int sys_dns_take(struct sys_dns *d, struct sys_dns_answer *a);

/* Lookups not yet taken: queued, running, or answered and waiting for sys_dns_take.
 * While it is 0 no wake-up can come through the pipe, so the loop need not poll it. */
size_t sys_dns_pending(struct sys_dns *d);

/* Stops the worker and frees everything. A lookup still inside getaddrinfo cannot be
 * interrupted: the worker is then detached and frees the shared state itself when
 * getaddrinfo returns, so stopping never waits for a slow resolver. NULL is a no-op. */
void sys_dns_stop(struct sys_dns *d);

#endif
