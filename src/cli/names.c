/* Reverse DNS with one deadline for all: getnameinfo has no timeout of its own, so each
 * lookup runs in a detached thread and the caller waits on a condition variable until
 * all are done or the deadline passes. The shared state is reference-counted: a lookup
 * that outlives the wait frees nothing the caller still uses, and the caller never
 * waits for it. */
#include "cli/names.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct entry {
    char address[INET6_ADDRSTRLEN + 8];
    char host[NI_MAXHOST];
    bool queued; /* waiting for DNS */
    bool found;
};

/* Shared between the caller and the lookup threads; freed by the last of them. */
struct shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    size_t pending;
    size_t count;
    struct entry entries[NAMES_MAX];
};

struct names {
    struct shared *s;
};

struct job {
    struct shared *s;
    size_t index;
};

static void release(struct shared *s)
{
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
    }
}

struct names *names_new(void)
{
    struct names *n = calloc(1, sizeof(*n));
    struct shared *s = n != NULL ? calloc(1, sizeof(*s)) : NULL;
    if (s == NULL) {
        free(n);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->refs = 1;
    n->s = s;
    return n;
}

static struct entry *find(const struct shared *s, const char *address)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->entries[i].address, address) == 0) {
            return (struct entry *)&s->entries[i];
        }
    }
    return NULL;
}

static struct entry *add_entry(struct shared *s, const char *address)
{
    struct entry *e = find(s, address);
    if (e != NULL || s->count == NAMES_MAX || strlen(address) >= sizeof(e->address)) {
        return e;
    }
    e = &s->entries[s->count++];
    strcpy(e->address, address);
    return e;
}

void names_add(struct names *names, const char *address)
{
    if (names == NULL || address == NULL) {
        return;
    }
    struct entry *e = add_entry(names->s, address);
    if (e != NULL && !e->found) {
        e->queued = true;
    }
}

void names_set(struct names *names, const char *address, const char *host)
{
    if (names == NULL || address == NULL || host == NULL) {
        return;
    }
    struct entry *e = add_entry(names->s, address);
    if (e != NULL) {
        snprintf(e->host, sizeof(e->host), "%s", host);
        e->found = true;
        e->queued = false;
    }
}

/* NI_NAMEREQD: an address without a PTR record fails instead of echoing itself. */
static void *lookup(void *arg)
{
    struct job *job = arg;
    struct shared *s = job->s;
    struct entry *e = &s->entries[job->index];
    char host[NI_MAXHOST];
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_family = AF_UNSPEC};
    struct addrinfo *ai = NULL;
    bool ok =
        getaddrinfo(e->address, NULL, &hints, &ai) == 0 &&
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0, NI_NAMEREQD) == 0;
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    pthread_mutex_lock(&s->mu);
    if (ok) {
        memcpy(e->host, host, sizeof(host));
        e->found = true;
    }
    s->pending--;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(job);
    release(s);
    return NULL;
}

static bool start_lookup(struct shared *s, size_t index)
{
    struct job *job = malloc(sizeof(*job));
    pthread_attr_t attr;
    pthread_t t;
    if (job == NULL) {
        return false;
    }
    job->s = s;
    job->index = index;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    s->refs++;
    s->pending++;
    s->entries[index].queued = false;
    if (pthread_create(&t, &attr, lookup, job) != 0) {
        s->refs--;
        s->pending--;
        free(job);
        pthread_attr_destroy(&attr);
        return false;
    }
    pthread_attr_destroy(&attr);
    return true;
}

void names_resolve(struct names *names, int timeout_ms)
{
    if (names == NULL) {
        return;
    }
    struct shared *s = names->s;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->count; i++) {
        if (s->entries[i].queued && !start_lookup(s, i)) {
            break;
        }
    }
    while (s->pending > 0) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

const char *names_lookup(const struct names *names, const char *address)
{
    if (names == NULL || address == NULL) {
        return NULL;
    }
    struct shared *s = names->s;
    const char *host = NULL;
    pthread_mutex_lock(&s->mu);
    const struct entry *e = find(s, address);
    if (e != NULL && e->found) {
        host = e->host;
    }
    pthread_mutex_unlock(&s->mu);
    return host;
}

void names_free(struct names *names)
{
    if (names == NULL) {
        return;
    }
    release(names->s);
    free(names);
}
