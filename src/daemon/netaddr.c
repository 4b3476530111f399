/* sockaddr <-> struct core_addr and printing. Keeps address handling out of both the
 * core (which never sees a sockaddr) and sys (which never sees a core type). */
#include "daemon/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct core_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->family = CORE_AF_INET;
        memcpy(out->bytes, &in->sin_addr, 4);
        out->port = ntohs(in->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            out->family = CORE_AF_INET;
            memcpy(out->bytes, &in6->sin6_addr.s6_addr[12], 4);
        } else {
            out->family = CORE_AF_INET6;
            memcpy(out->bytes, &in6->sin6_addr, 16);
        }
        out->port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

socklen_t netaddr_to_sockaddr(const struct core_addr *a, uint16_t port,
                              struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (a->family == CORE_AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, a->bytes, 4);
        return sizeof(*in);
    }
    if (a->family == CORE_AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, a->bytes, 16);
        return sizeof(*in6);
    }
    return 0;
}

void netaddr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];

    if (cap == 0) {
        return;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(buf, cap, "?");
    }
}

void netaddr_text(const struct core_addr *a, char *buf, size_t cap)
{
    int af = a->family == CORE_AF_INET ? AF_INET : AF_INET6;

    if (cap == 0) {
        return;
    }
    if ((a->family != CORE_AF_INET && a->family != CORE_AF_INET6) ||
        inet_ntop(af, a->bytes, buf, (socklen_t)cap) == NULL) {
        buf[0] = '\0';
    }
}
