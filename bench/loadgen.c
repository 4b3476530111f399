/* tsync-loadgen: an NTP client-mode load generator for bench/serve.sh and the interop
 * flood test. One thread and poll(): in load mode many UDP sockets (one per source
 * address) each keep a bounded window of requests in flight for a fixed time; in flood
 * mode one socket sends a fixed count at a fixed rate and counts answers and KoDs.
 * It sends only to loopback or to 198.18.0.0/15 (RFC 2544) and refuses any other target. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ntp/ntp_pkt.h"

#define MAX_SOURCES  200
#define MAX_WINDOW   256
#define BATCH        64
#define GSO_MAX_SEGS 64 /* datagrams per UDP GSO send; kernels before 6.0 allow 64 */
#define RX_BUF       512
#define SLOT_BITS    16          /* low bits of a request cookie: the slot it was sent from */
#define KOD_RATE     0x52415445u /* "RATE" (RFC 5905 section 7.4) */

/* Latency histogram: 1 us buckets below 10 ms, 100 us buckets up to ~1 s, one beyond. */
#define HIST_FINE   10000
#define HIST_COARSE 10000
#define HIST_N      (HIST_FINE + HIST_COARSE + 1)

struct opts {
    struct in_addr target;
    struct in_addr bind;
    bool have_bind;
    uint16_t port;
    double duration;
    int window;
    int sources;
    int timeout_ms;
    long flood_count; /* > 0: flood mode */
    double flood_rate;
    int grace_ms;
    bool no_gso;
};

struct slot {
    uint64_t cookie; /* 0: free */
    int64_t sent_ns;
};

struct stats {
    uint64_t sent, answered, kod_rate, kod_other, timeouts, stray, bad, send_errors;
    double elapsed; /* seconds of load or flood, set-up excluded */
    bool gso;       /* load mode sent with UDP GSO to the end */
    uint32_t *hist;
};

struct load {
    const struct opts *o;
    int n;
    int fds[MAX_SOURCES];
    struct slot *slots; /* n * window */
    uint64_t seq;
    bool gso; /* UDP GSO sends; cleared when the kernel refuses them */
    struct stats st;
    uint8_t rx[BATCH][RX_BUF];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The only destinations this tool will load: 127.0.0.0/8 and 198.18.0.0/15. */
static bool target_allowed(struct in_addr a)
{
    uint32_t h = ntohl(a.s_addr);
    return (h >> 24) == 127 || (h >> 17) == (0xc6120000u >> 17);
}

static bool target_loopback(struct in_addr a)
{
    return (ntohl(a.s_addr) >> 24) == 127;
}

static int hist_bucket(int64_t ns)
{
    int64_t us = ns < 0 ? 0 : ns / 1000;
    if (us < HIST_FINE) {
        return (int)us;
    }
    us = (us - HIST_FINE) / 100;
    if (us < HIST_COARSE) {
        return HIST_FINE + (int)us;
    }
    return HIST_N - 1;
}

/* Upper edge of a bucket, in microseconds. */
static double hist_value_us(int b)
{
    if (b < HIST_FINE) {
        return b + 1;
    }
    return HIST_FINE + (double)(b - HIST_FINE + 1) * 100;
}

static double hist_percentile(const uint32_t *hist, uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total + 0.5), seen = 0;
    if (total == 0) {
        return 0;
    }
    if (want < 1) {
        want = 1;
    }
    for (int b = 0; b < HIST_N; b++) {
        seen += hist[b];
        if (seen >= want) {
            return hist_value_us(b);
        }
    }
    return hist_value_us(HIST_N - 1);
}

/* A client request (RFC 5905 section 8): version 4, mode 3, everything zero but the
 * transmit timestamp, which carries our cookie; the server echoes it as origin. */
static void build_request(uint8_t out[NTP_HEADER_LEN], uint64_t cookie)
{
    struct ntp_header h;
    memset(&h, 0, sizeof h);
    h.leap = NTP_LEAP_UNSYNC;
    h.version = 4;
    h.mode = NTP_MODE_CLIENT;
    h.tx_ts = cookie;
    ntp_header_encode(&h, out);
}

enum reply_kind { REPLY_BAD, REPLY_TIME, REPLY_KOD_RATE, REPLY_KOD_OTHER };

/* Classifies a datagram from the target; *origin gets the echoed cookie. */
static enum reply_kind classify_reply(const uint8_t *buf, size_t len, uint64_t *origin)
{
    struct ntp_header h;
    if (ntp_header_decode(buf, len, &h) != NTP_DECODE_OK || h.mode != NTP_MODE_SERVER ||
        h.version != 4) {
        return REPLY_BAD;
    }
    *origin = h.origin_ts;
    if (h.stratum == 0) {
        return h.refid == KOD_RATE ? REPLY_KOD_RATE : REPLY_KOD_OTHER;
    }
    return REPLY_TIME;
}

static int open_socket(struct in_addr src, bool bind_src, const struct opts *o)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = src};
    struct sockaddr_in dst = {
        .sin_family = AF_INET, .sin_addr = o->target, .sin_port = htons(o->port)};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int rcvbuf = 1 << 20;
    if (fd < 0) {
        perror("socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if ((bind_src && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) ||
        connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
        fprintf(stderr, "loadgen: bind/connect from %s: %s\n", inet_ntoa(src), strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Source address of socket i: 127.0.0.(2+i) towards a loopback target, so a server sees
 * many clients; the --bind address (or any) towards a namespace target. */
static int open_sources(struct load *l)
{
    const struct opts *o = l->o;
    for (int i = 0; i < l->n; i++) {
        struct in_addr src = o->bind;
        bool bind_src = o->have_bind;
        if (target_loopback(o->target) && !o->have_bind) {
            src.s_addr = htonl(0x7f000002u + (uint32_t)i);
            bind_src = true;
        }
        l->fds[i] = open_socket(src, bind_src, o);
        if (l->fds[i] < 0) {
            return -1;
        }
    }
    return 0;
}

/* Sends k packets of NTP_HEADER_LEN bytes laid end to end in pkts as one UDP GSO send
 * (UDP_SEGMENT): one trip down the stack for all of them, so the generator spends far
 * less CPU per request than the server it loads. Returns how many were sent. */
static int send_gso(int fd, uint8_t *pkts, int k)
{
    char ctrl[CMSG_SPACE(sizeof(uint16_t))] = {0};
    struct iovec iov = {.iov_base = pkts, .iov_len = (size_t)k * NTP_HEADER_LEN};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    uint16_t seg = NTP_HEADER_LEN;
    if (k > 1) {
        mh.msg_control = ctrl;
        mh.msg_controllen = sizeof ctrl;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof seg);
        memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }
    return sendmsg(fd, &mh, MSG_DONTWAIT) < 0 ? -1 : k;
}

/* The same packets as k datagrams through sendmmsg, where GSO is off or unsupported. */
static int send_each(int fd, uint8_t *pkts, int k)
{
    struct mmsghdr msgs[MAX_WINDOW];
    struct iovec iov[MAX_WINDOW];
    for (int m = 0; m < k; m++) {
        iov[m] = (struct iovec){.iov_base = pkts + m * NTP_HEADER_LEN, .iov_len = NTP_HEADER_LEN};
        msgs[m] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[m], .msg_iovlen = 1}};
    }
    return sendmmsg(fd, msgs, (unsigned)k, MSG_DONTWAIT);
}

/* Sends a request from every free slot of socket s in one batch. */
static void fill_socket(struct load *l, int s, int64_t now)
{
    uint8_t pkts[MAX_WINDOW * NTP_HEADER_LEN];
    int idx[MAX_WINDOW], k = 0, w = l->o->window, done = 0;
    struct slot *sl = &l->slots[(size_t)s * (size_t)w];
    for (int j = 0; j < w; j++) {
        if (sl[j].cookie != 0) {
            continue;
        }
        uint64_t cookie = (++l->seq << SLOT_BITS) | (uint64_t)(s * w + j);
        build_request(pkts + k * NTP_HEADER_LEN, cookie);
        sl[j].cookie = cookie;
        idx[k++] = j;
    }
    while (l->gso && done < k) {
        int chunk = k - done > GSO_MAX_SEGS ? GSO_MAX_SEGS : k - done;
        if (send_gso(l->fds[s], pkts + done * NTP_HEADER_LEN, chunk) < 0) {
            if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT) {
                l->gso = false; /* no UDP GSO here: fall back for good */
            }
            break;
        }
        done += chunk;
    }
    if (!l->gso && done < k) {
        int more = send_each(l->fds[s], pkts + done * NTP_HEADER_LEN, k - done);
        done += more > 0 ? more : 0;
    }
    for (int m = 0; m < k; m++) {
        if (m < done) {
            sl[idx[m]].sent_ns = now;
        } else {
            sl[idx[m]].cookie = 0; /* retried on the next round */
        }
    }
    l->st.sent += (uint64_t)done;
    l->st.send_errors += (uint64_t)(k - done);
}

/* Matches one reply to its slot, frees the slot and records the latency. */
static void take_reply(struct load *l, const uint8_t *buf, size_t len, int64_t now)
{
    uint64_t origin = 0;
    enum reply_kind kind = classify_reply(buf, len, &origin);
    size_t total = (size_t)l->n * (size_t)l->o->window;
    size_t at = (size_t)(origin & ((1u << SLOT_BITS) - 1));
    if (kind == REPLY_BAD) {
        l->st.bad++;
        return;
    }
    if (at >= total || l->slots[at].cookie != origin || origin == 0) {
        l->st.stray++; /* late answer to a request already timed out */
        return;
    }
    l->slots[at].cookie = 0;
    if (kind == REPLY_TIME) {
        l->st.answered++;
        l->st.hist[hist_bucket(now - l->slots[at].sent_ns)]++;
    } else if (kind == REPLY_KOD_RATE) {
        l->st.kod_rate++;
    } else {
        l->st.kod_other++;
    }
}

static void drain_socket(struct load *l, int s)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = l->rx[i], .iov_len = RX_BUF};
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    for (int round = 0; round < 4; round++) {
        int got = recvmmsg(l->fds[s], msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) {
            return; /* EAGAIN, or ECONNREFUSED from an ICMP error: the slots time out */
        }
        int64_t now = mono_ns();
        for (int i = 0; i < got; i++) {
            take_reply(l, l->rx[i], msgs[i].msg_len, now);
        }
        if (got < BATCH) {
            return;
        }
    }
}

static void expire_slots(struct load *l, int64_t now)
{
    size_t total = (size_t)l->n * (size_t)l->o->window;
    int64_t limit = (int64_t)l->o->timeout_ms * 1000000;
    for (size_t i = 0; i < total; i++) {
        if (l->slots[i].cookie != 0 && now - l->slots[i].sent_ns > limit) {
            l->slots[i].cookie = 0;
            l->st.timeouts++;
        }
    }
}

static void run_load_loop(struct load *l, int64_t start, int64_t end)
{
    struct pollfd pfds[MAX_SOURCES];
    int64_t now = start, next_expiry = start;
    for (int i = 0; i < l->n; i++) {
        pfds[i] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
    }
    while (now < end) {
        for (int i = 0; i < l->n; i++) {
            fill_socket(l, i, now);
        }
        int wait_ms = (int)((end - now) / 1000000);
        wait_ms = wait_ms > 10 ? 10 : (wait_ms < 1 ? 1 : wait_ms);
        int ready = poll(pfds, (nfds_t)l->n, wait_ms);
        for (int i = 0; ready > 0 && i < l->n; i++) {
            if (pfds[i].revents != 0) {
                drain_socket(l, i);
            }
        }
        now = mono_ns();
        if (now >= next_expiry) {
            expire_slots(l, now);
            next_expiry = now + 10000000;
        }
    }
}

static int run_load(const struct opts *o, struct stats *st)
{
    struct load *l = calloc(1, sizeof *l);
    int rc = -1;
    if (l == NULL) {
        return -1;
    }
    l->o = o;
    l->n = o->sources;
    l->st = *st;
    l->gso = !o->no_gso;
    for (int i = 0; i < l->n; i++) {
        l->fds[i] = -1;
    }
    l->slots = calloc((size_t)l->n * (size_t)o->window, sizeof *l->slots);
    if (l->slots != NULL && open_sources(l) == 0) {
        int64_t start = mono_ns();
        run_load_loop(l, start, start + (int64_t)(o->duration * 1e9));
        l->st.elapsed = (double)(mono_ns() - start) / 1e9;
        rc = 0;
    }
    for (int i = 0; i < l->n; i++) {
        if (l->fds[i] >= 0) {
            close(l->fds[i]);
        }
    }
    l->st.gso = l->gso;
    *st = l->st;
    free(l->slots);
    free(l);
    return rc;
}

/* Flood: one socket sends flood_count requests, evenly spaced at flood_rate per second,
 * then listens grace_ms more. Each cookie is the request's number, counted once. */
static void flood_receive(int fd, uint8_t *seen, long count, struct stats *st)
{
    uint8_t buf[RX_BUF];
    for (int i = 0; i < 256; i++) {
        ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        uint64_t origin = 0;
        if (len < 0) {
            return;
        }
        enum reply_kind kind = classify_reply(buf, (size_t)len, &origin);
        if (kind == REPLY_BAD) {
            st->bad++;
        } else if (origin == 0 || origin > (uint64_t)count || seen[origin - 1]) {
            st->stray++;
        } else {
            seen[origin - 1] = 1;
            st->answered += kind == REPLY_TIME;
            st->kod_rate += kind == REPLY_KOD_RATE;
            st->kod_other += kind == REPLY_KOD_OTHER;
        }
    }
}

static int run_flood(const struct opts *o, struct stats *st)
{
    int fd = open_socket(o->bind, o->have_bind, o);
    uint8_t *seen = calloc((size_t)o->flood_count, 1);
    if (fd < 0 || seen == NULL) {
        free(seen);
        return -1;
    }
    int64_t start = mono_ns(), gap = (int64_t)(1e9 / o->flood_rate);
    int64_t end = start + gap * o->flood_count + (int64_t)o->grace_ms * 1000000;
    long next = 0;
    for (int64_t now = start; now < end; now = mono_ns()) {
        while (next < o->flood_count && now >= start + gap * next) {
            uint8_t pkt[NTP_HEADER_LEN];
            build_request(pkt, (uint64_t)next + 1);
            st->sent += send(fd, pkt, sizeof pkt, MSG_DONTWAIT) == (ssize_t)sizeof pkt;
            next++;
        }
        int64_t until = next < o->flood_count ? start + gap * next : end;
        int wait_ms = (int)((until - now + 999999) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait_ms < 0 ? 0 : (wait_ms > 50 ? 50 : wait_ms)) > 0) {
            flood_receive(fd, seen, o->flood_count, st);
        }
    }
    st->timeouts = st->sent - st->answered - st->kod_rate - st->kod_other;
    st->elapsed = (double)(mono_ns() - start) / 1e9;
    free(seen);
    close(fd);
    return 0;
}

/* CPU seconds this process used, so a reader can tell when the generator itself was
 * the bottleneck (near 1.0 per second of load) rather than the server. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void print_result(const struct opts *o, const struct stats *st)
{
    double elapsed = st->elapsed > 0 ? st->elapsed : 1e-9;
    char target[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &o->target, target, sizeof target);
    if (o->flood_count > 0) {
        printf("loadgen mode=flood target=%s:%u sent=%llu answered=%llu kod_rate=%llu "
               "kod_other=%llu unanswered=%llu stray=%llu bad=%llu\n",
               target, o->port, (unsigned long long)st->sent, (unsigned long long)st->answered,
               (unsigned long long)st->kod_rate, (unsigned long long)st->kod_other,
               (unsigned long long)st->timeouts, (unsigned long long)st->stray,
               (unsigned long long)st->bad);
        return;
    }
    printf("loadgen mode=load target=%s:%u sources=%d window=%d duration_s=%.3f sent=%llu "
           "answered=%llu rate=%.1f p50_us=%.0f p99_us=%.0f timeouts=%llu kod=%llu "
           "stray=%llu bad=%llu send_errors=%llu gso=%d cpu_s=%.3f\n",
           target, o->port, o->sources, o->window, elapsed, (unsigned long long)st->sent,
           (unsigned long long)st->answered, (double)st->answered / elapsed,
           hist_percentile(st->hist, st->answered, 0.50),
           hist_percentile(st->hist, st->answered, 0.99), (unsigned long long)st->timeouts,
           (unsigned long long)(st->kod_rate + st->kod_other), (unsigned long long)st->stray,
           (unsigned long long)st->bad, (unsigned long long)st->send_errors, st->gso,
           cpu_seconds());
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tsync-loadgen [options]\n"
            "  -t, --target ADDR     server address, 127.0.0.0/8 or 198.18.0.0/15 "
            "(default 127.0.0.1)\n"
            "  -p, --port N          server port (default 123)\n"
            "  -d, --duration S      load mode: seconds to run (default 5, max 3600)\n"
            "  -w, --window N        load mode: requests in flight per source (default 8)\n"
            "  -n, --sources N       load mode: sockets; towards loopback each binds its own\n"
            "                        address 127.0.0.2, .3, ... (default 64, max %d)\n"
            "  -T, --timeout-ms N    load mode: a request unanswered this long is a timeout "
            "(default 1000)\n"
            "  -G, --no-gso          load mode: one datagram per send, no UDP GSO batches\n"
            "  -b, --bind ADDR       source address (flood mode, or instead of 127.0.0.x)\n"
            "  -f, --flood N         flood mode: send N requests from one socket\n"
            "  -r, --rate R          flood mode: requests per second (default 1000)\n"
            "  -g, --grace-ms N      flood mode: listen this long after the last send "
            "(default 1000)\n"
            "Prints one line of key=value pairs.\n",
            MAX_SOURCES);
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_option(int c, const char *arg, struct opts *o)
{
    long v = 0;
    switch (c) {
    case 't':
        return inet_pton(AF_INET, arg, &o->target) == 1;
    case 'b':
        o->have_bind = true;
        return inet_pton(AF_INET, arg, &o->bind) == 1;
    case 'p':
        return parse_long(arg, 1, 65535, &v) && (o->port = (uint16_t)v, true);
    case 'd':
        return parse_double(arg, 0.01, 3600, &o->duration);
    case 'w':
        return parse_long(arg, 1, MAX_WINDOW, &v) && (o->window = (int)v, true);
    case 'n':
        return parse_long(arg, 1, MAX_SOURCES, &v) && (o->sources = (int)v, true);
    case 'T':
        return parse_long(arg, 1, 60000, &v) && (o->timeout_ms = (int)v, true);
    case 'f':
        return parse_long(arg, 1, 10000000, &o->flood_count);
    case 'r':
        return parse_double(arg, 1, 1000000, &o->flood_rate);
    case 'g':
        return parse_long(arg, 0, 60000, &v) && (o->grace_ms = (int)v, true);
    case 'G':
        o->no_gso = true;
        return true;
    default:
        return false;
    }
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"target", 1, NULL, 't'},   {"port", 1, NULL, 'p'},    {"duration", 1, NULL, 'd'},
        {"window", 1, NULL, 'w'},   {"sources", 1, NULL, 'n'}, {"timeout-ms", 1, NULL, 'T'},
        {"bind", 1, NULL, 'b'},     {"flood", 1, NULL, 'f'},   {"rate", 1, NULL, 'r'},
        {"grace-ms", 1, NULL, 'g'}, {"no-gso", 0, NULL, 'G'},  {"help", 0, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "t:p:d:w:n:T:b:f:r:g:Gh", longs, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (c == '?' || !parse_option(c, optarg, o)) {
            if (c != '?') {
                fprintf(stderr, "loadgen: bad value for -%c: %s\n", c, optarg);
            }
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.port = 123,
                     .duration = 5,
                     .window = 8,
                     .sources = 64,
                     .timeout_ms = 1000,
                     .flood_rate = 1000,
                     .grace_ms = 1000};
    struct stats st = {0};
    inet_pton(AF_INET, "127.0.0.1", &o.target);
    if (parse_args(argc, argv, &o) != 0) {
        return 2;
    }
    if (!target_allowed(o.target)) {
        fprintf(stderr, "loadgen: refusing target %s: only 127.0.0.0/8 and 198.18.0.0/15\n",
                inet_ntoa(o.target));
        return 2;
    }
    st.hist = calloc(HIST_N, sizeof *st.hist);
    if (st.hist == NULL) {
        return 1;
    }
    int rc = o.flood_count > 0 ? run_flood(&o, &st) : run_load(&o, &st);
    if (rc == 0) {
        print_result(&o, &st);
    }
    free(st.hist);
    return rc == 0 ? 0 : 1;
}
