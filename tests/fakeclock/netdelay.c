/* fakeclock-netdelay: tc netem's "delay D J" for kernels built without netem. It takes the
 * packets an nftables rule sends to one NFQUEUE queue, holds each for D +- J microseconds
 * (uniform, as netem's default) on CLOCK_MONOTONIC and then lets it go on (NF_ACCEPT).
 * Only verdicts go back to the kernel: packets are never copied, changed or dropped here.
 * Used by tests/fakeclock/lib.sh inside a test's network namespace. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 1024
/* The last 200 us before a packet is due are waited by spinning: a wake-up from ppoll() can
 * be late by tens of microseconds, and a delay that depends on it would not be symmetric. */
#define SPIN_NS 200000

struct held {
    uint32_t id;
    int64_t due_ns;
};

static struct held held[MAX_HELD];
static int n_held;
static volatile sig_atomic_t stop;

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

/* How long ago (ns) the packet reached the bridge, from the kernel's receive stamp of it
 * (NFQA_TIMESTAMP, realtime microseconds), so the time this process took to wake up is
 * part of the delay rather than added to it; 0 without a stamp. */
static int64_t packet_age_ns(const struct nlattr *a)
{
    struct nfqnl_msg_packet_timestamp ts;
    int64_t at, age;

    if (a == NULL || a->nla_len < NLA_HDRLEN + sizeof(ts)) {
        return 0;
    }
    memcpy(&ts, (const char *)a + NLA_HDRLEN, sizeof(ts));
    at = (int64_t)be64toh(ts.sec) * 1000000000 + (int64_t)be64toh(ts.usec) * 1000;
    age = read_ns(CLOCK_REALTIME) - at;
    return age > 0 && age < 1000000000 ? age : 0;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Appends one netlink attribute; returns the new message length. */
static size_t put_attr(char *buf, size_t len, uint16_t type, const void *data, uint16_t size)
{
    struct nlattr *a = (struct nlattr *)(buf + len);

    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + size);
    memcpy(buf + len + NLA_HDRLEN, data, size);
    return len + NLA_ALIGN(a->nla_len);
}

/* Starts a queue message of TYPE for QUEUE in buf; returns its length so far. */
static size_t start_msg(char *buf, uint16_t type, uint16_t queue)
{
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    struct nfgenmsg *g = (struct nfgenmsg *)(buf + NLMSG_HDRLEN);

    memset(buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g)));
    h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
    h->nlmsg_flags = NLM_F_REQUEST;
    g->nfgen_family = AF_UNSPEC;
    g->version = NFNETLINK_V0;
    g->res_id = htons(queue);
    return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));
}

static int send_msg(int fd, char *buf, size_t len)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

    ((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)len;
    return sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ? -1 : 0;
}

/* Binds queue QUEUE and asks for metadata only (the packet id is all a verdict needs). */
static int bind_queue(int fd, uint16_t queue)
{
    char buf[256];
    struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND};
    struct nfqnl_msg_config_params params = {.copy_range = htonl(0), .copy_mode = NFQNL_COPY_META};
    size_t len = start_msg(buf, NFQNL_MSG_CONFIG, queue);

    len = put_attr(buf, len, NFQA_CFG_CMD, &cmd, sizeof(cmd));
    if (send_msg(fd, buf, len) != 0) {
        return -1;
    }
    len = start_msg(buf, NFQNL_MSG_CONFIG, queue);
    len = put_attr(buf, len, NFQA_CFG_PARAMS, &params, sizeof(params));
    return send_msg(fd, buf, len);
}

static void accept_packet(int fd, uint16_t queue, uint32_t id)
{
    char buf[128];
    struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};
    size_t len = start_msg(buf, NFQNL_MSG_VERDICT, queue);

    len = put_attr(buf, len, NFQA_VERDICT_HDR, &v, sizeof(v));
    if (send_msg(fd, buf, len) != 0) {
        perror("netdelay: verdict");
    }
}

static int64_t pick_delay_ns(int64_t delay_ns, int64_t jitter_ns)
{
    double u = (double)random() / (double)RAND_MAX * 2.0 - 1.0;
    int64_t d = delay_ns + (int64_t)(u * (double)jitter_ns);

    return d < 0 ? 0 : d;
}

/* Holds one queued packet until its delay, counted from its arrival at the bridge, is over. */
static void hold_packet(int fd, uint16_t queue, uint32_t id, int64_t age_ns, int64_t delay_ns,
                        int64_t jitter_ns)
{
    if (n_held == MAX_HELD) {
        accept_packet(fd, queue, id); /* full: no delay rather than a drop */
        return;
    }
    held[n_held].id = id;
    held[n_held].due_ns = mono_ns() - age_ns + pick_delay_ns(delay_ns, jitter_ns);
    n_held++;
}

/* Takes the packets of one batch of queue messages. */
static void take_packets(int fd, uint16_t queue, const char *buf, ssize_t n, int64_t delay_ns,
                         int64_t jitter_ns)
{
    for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
        const struct nlattr *hdr = NULL, *stamp = NULL;
        size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
        if ((h->nlmsg_type & 0xff) != NFQNL_MSG_PACKET) {
            continue;
        }
        while (off + NLA_HDRLEN <= h->nlmsg_len) {
            const struct nlattr *a = (const void *)((const char *)h + off);
            if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) {
                break;
            }
            if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR) {
                hdr = a;
            } else if ((a->nla_type & NLA_TYPE_MASK) == NFQA_TIMESTAMP) {
                stamp = a;
            }
            off += NLA_ALIGN(a->nla_len);
        }
        if (hdr != NULL && hdr->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
            struct nfqnl_msg_packet_hdr ph;
            memcpy(&ph, (const char *)hdr + NLA_HDRLEN, sizeof(ph));
            hold_packet(fd, queue, ntohl(ph.packet_id), packet_age_ns(stamp), delay_ns, jitter_ns);
        }
    }
}

/* Lets every held packet that is due go; returns the earliest remaining due time or -1. */
static int64_t release_due(int fd, uint16_t queue)
{
    int64_t now = mono_ns(), next = -1;

    for (int i = 0; i < n_held;) {
        if (held[i].due_ns <= now) {
            accept_packet(fd, queue, held[i].id);
            held[i] = held[--n_held];
            continue;
        }
        if (next < 0 || held[i].due_ns < next) {
            next = held[i].due_ns;
        }
        i++;
    }
    return next;
}

static void usage(void)
{
    fprintf(stderr, "usage: fakeclock-netdelay [-q QUEUE] [-d DELAY_US] [-j JITTER_US]\n");
    exit(2);
}

static long parse_num(const char *s, long max)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < 0 || v > max) {
        usage();
    }
    return v;
}

int main(int argc, char **argv)
{
    uint16_t queue = 0;
    int64_t delay_ns = 100000, jitter_ns = 10000;
    int opt, fd;
    static char buf[65536];

    while ((opt = getopt(argc, argv, "q:d:j:")) != -1) {
        switch (opt) {
        case 'q':
            queue = (uint16_t)parse_num(optarg, 65535);
            break;
        case 'd':
            delay_ns = parse_num(optarg, 1000000) * 1000;
            break;
        case 'j':
            jitter_ns = parse_num(optarg, 1000000) * 1000;
            break;
        default:
            usage();
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake-ups to the microsecond, not the default 50 us */
    srandom((unsigned)mono_ns());
    fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
    if (fd < 0 || bind_queue(fd, queue) != 0) {
        perror("netdelay: netlink");
        return 1;
    }
    fprintf(stderr, "netdelay: queue %u, delay %lld us +- %lld us\n", queue,
            (long long)(delay_ns / 1000), (long long)(jitter_ns / 1000));
    while (!stop) {
        int64_t next = release_due(fd, queue), wait_ns = 1000000000;
        if (next >= 0) {
            wait_ns = next - mono_ns() - SPIN_NS;
        }
        if (wait_ns > 0) {
            struct timespec t = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (ppoll(&p, 1, &t, NULL) < 0 && errno != EINTR) {
                perror("netdelay: ppoll");
                return 1;
            }
        }
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            take_packets(fd, queue, buf, n, delay_ns, jitter_ns);
        }
    }
    return 0;
}
