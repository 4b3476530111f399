/* The resolver worker: one thread, two bounded ring queues under one mutex, and a pipe
 * whose read end the loop polls. The worker never blocks on a full answer queue: a
 * request is only accepted while requests + the running lookup + unread answers fit in
 * SYS_DNS_QUEUE. Only getaddrinfo, pipe, fcntl, read and write are used (DESIGN.md). */
#include "sys/sys_dns.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/sys_sock.h"

/* Bound on reads when draining the notification pipe (it holds at most a page). */
#define DRAIN_ROUNDS 64

struct dns_job {
    uint64_t tag;
    int family;
    char name[SYS_DNS_NAME_MAX];
};

struct sys_dns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int pipe_fd[2];
    struct dns_job req[SYS_DNS_QUEUE];
    size_t req_head, req_n;
    struct sys_dns_answer ans[SYS_DNS_QUEUE];
    size_t ans_head, ans_n;
    struct sys_dns_answer scratch; /* the worker's, filled without the lock */
    bool busy;                     /* the worker is inside getaddrinfo */
    bool stopping;                 /* sys_dns_stop was called */
    bool detached;                 /* the worker frees everything when its lookup returns */
};

static void destroy(struct sys_dns *d)
{
    for (int i = 0; i < 2; i++) {
        if (d->pipe_fd[i] >= 0) {
            close(d->pipe_fd[i]);
        }
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr *b,
                      socklen_t blen)
{
    return alen == blen && memcmp(a, b, (size_t)blen) == 0;
}

/* Copies the usable addresses of res into a, without duplicates. */
static void copy_addrs(const struct addrinfo *res, struct sys_dns_answer *a)
{
    for (const struct addrinfo *ai = res; ai != NULL && a->n < SYS_DNS_MAX_ADDRS;
         ai = ai->ai_next) {
        bool dup = false;
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addr == NULL ||
            ai->ai_addrlen > sizeof(a->addr[0])) {
            continue;
        }
        for (size_t i = 0; i < a->n && !dup; i++) {
            dup = same_addr(&a->addr[i], a->addr_len[i], ai->ai_addr, ai->ai_addrlen);
        }
        if (!dup) {
            memset(&a->addr[a->n], 0, sizeof(a->addr[0]));
            memcpy(&a->addr[a->n], ai->ai_addr, ai->ai_addrlen);
            a->addr_len[a->n] = ai->ai_addrlen;
            a->n++;
        }
    }
}

/* Runs in the worker, without the lock. */
static void resolve(const struct dns_job *j, struct sys_dns_answer *a)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(a, 0, sizeof(*a));
    a->tag = j->tag;
    a->family = j->family;
    memcpy(a->name, j->name, sizeof(a->name));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = j->family;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(j->name, "123", &hints, &res);
    if (rc != 0) {
        a->gai_error = rc;
        /* gai_strerror returns constant strings; EAI_SYSTEM means "see errno". */
        char buf[64];
        snprintf(a->error, sizeof(a->error), "%s",
                 rc == EAI_SYSTEM ? strerror_r(errno, buf, sizeof(buf)) : gai_strerror(rc));
        return;
    }
    copy_addrs(res, a);
    freeaddrinfo(res);
    if (a->n == 0) {
        a->gai_error = EAI_NONAME;
        snprintf(a->error, sizeof(a->error), "no IPv4 or IPv6 address");
    }
}

static void notify(struct sys_dns *d)
{
    const char b = 'a';

    /* Non-blocking: a full pipe already holds a pending wake-up. */
    (void)!write(d->pipe_fd[1], &b, 1);
}

static void *worker(void *arg)
{
    struct sys_dns *d = arg;
    bool free_all;

    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->stopping && d->req_n == 0) {
            pthread_cond_wait(&d->cv, &d->mu);
        }
        if (d->stopping) {
            break;
        }
        struct dns_job job = d->req[d->req_head];
        d->req_head = (d->req_head + 1) % SYS_DNS_QUEUE;
        d->req_n--;
        d->busy = true;
        pthread_mutex_unlock(&d->mu);
        resolve(&job, &d->scratch);
        pthread_mutex_lock(&d->mu);
        d->busy = false;
        if (d->stopping) {
            break;
        }
        /* Room is guaranteed: sys_dns_submit counted this lookup against the queue. */
        d->ans[(d->ans_head + d->ans_n) % SYS_DNS_QUEUE] = d->scratch;
        d->ans_n++;
        notify(d);
    }
    free_all = d->detached;
    pthread_mutex_unlock(&d->mu);
    if (free_all) {
        destroy(d);
    }
    return NULL;
}

/* The worker starts with every signal blocked, so handlers always run on the loop's
 * thread (the self-pipe of sys_loop works either way, but EINTR should hit poll). */
static int start_worker(struct sys_dns *d)
{
    sigset_t all, old;
    int r;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r = pthread_create(&d->thread, NULL, worker, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -r;
}

int sys_dns_start(struct sys_dns **out)
{
    struct sys_dns *d = calloc(1, sizeof(*d));
    int r;

    *out = NULL;
    if (d == NULL) {
        return -ENOMEM;
    }
    d->pipe_fd[0] = d->pipe_fd[1] = -1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    r = pipe(d->pipe_fd) == 0 ? 0 : -errno;
    for (int i = 0; i < 2 && r == 0; i++) {
        r = sys_fd_set_nonblock_cloexec(d->pipe_fd[i]);
    }
    if (r == 0) {
        r = start_worker(d);
    }
    if (r != 0) {
        destroy(d);
        return r;
    }
    *out = d;
    return 0;
}

int sys_dns_fd(const struct sys_dns *d)
{
    return d->pipe_fd[0];
}

static int check_request(const char *name, int family)
{
    size_t n = strnlen(name, SYS_DNS_NAME_MAX);

    if (n == 0 || (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)) {
        return -EINVAL;
    }
    return n >= SYS_DNS_NAME_MAX ? -ENAMETOOLONG : 0;
}

int sys_dns_submit(struct sys_dns *d, const char *name, int family, uint64_t tag)
{
    int r = check_request(name, family);

    if (r != 0) {
        return r;
    }
    pthread_mutex_lock(&d->mu);
    if (d->stopping) {
        r = -ESHUTDOWN;
    } else if (d->req_n + d->ans_n + (d->busy ? 1 : 0) >= SYS_DNS_QUEUE) {
        r = -EAGAIN;
    } else {
        struct dns_job *j = &d->req[(d->req_head + d->req_n) % SYS_DNS_QUEUE];
        j->tag = tag;
        j->family = family;
        memset(j->name, 0, sizeof(j->name));
        memcpy(j->name, name, strlen(name));
        d->req_n++;
        pthread_cond_signal(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return r;
}

static void drain_pipe(struct sys_dns *d)
{
    char buf[64];

    for (int i = 0; i < DRAIN_ROUNDS; i++) {
        if (read(d->pipe_fd[0], buf, sizeof(buf)) <= 0) {
            break;
        }
    }
}

int sys_dns_take(struct sys_dns *d, struct sys_dns_answer *a)
{
    int got = 0;

    pthread_mutex_lock(&d->mu);
    if (d->ans_n > 0) {
        *a = d->ans[d->ans_head];
        d->ans_head = (d->ans_head + 1) % SYS_DNS_QUEUE;
        d->ans_n--;
        got = 1;
    }
    /* Drained under the lock: the worker writes its byte after queueing, also under
     * the lock, so an answer is never left without a pending wake-up. */
    if (d->ans_n == 0) {
        drain_pipe(d);
    }
    pthread_mutex_unlock(&d->mu);
    return got;
}

size_t sys_dns_pending(struct sys_dns *d)
{
    size_t n;

    pthread_mutex_lock(&d->mu);
    n = d->req_n + (d->busy ? 1 : 0) + d->ans_n;
    pthread_mutex_unlock(&d->mu);
    return n;
}

void sys_dns_stop(struct sys_dns *d)
{
    bool busy;
    pthread_t t;

    if (d == NULL) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    busy = d->busy;
    d->detached = busy;
    t = d->thread; /* once unlocked, a detached worker may free d at any moment */
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    if (busy) {
        pthread_detach(t);
        return;
    }
    pthread_join(t, NULL);
    destroy(d);
}
