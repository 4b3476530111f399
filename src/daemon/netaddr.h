/* The one place where socket addresses meet the core's struct core_addr: conversions
 * both ways (IPv4-mapped IPv6 becomes IPv4 on the way in, as core.h requires) and the
 * text form used in logs. */
#ifndef TSYNC_NETADDR_H
#define TSYNC_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/core.h"

/* Longest text netaddr_format writes: "[" IPv6 "]:" port, NUL included. */
#define NETADDR_TEXT_LEN 64

/* sa (len bytes) -> out, port included. False for families other than IPv4/IPv6 or a
 * length too short for the family; out is then cleared to CORE_AF_NONE. */
bool netaddr_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct core_addr *out);

/* a with port (host order) -> out. Returns the sockaddr length, or 0 for an unknown
 * family. */
socklen_t netaddr_to_sockaddr(const struct core_addr *a, uint16_t port,
                              struct sockaddr_storage *out);

/* "192.0.2.1:123" or "[2001:db8::1]:123" into buf (cap >= NETADDR_TEXT_LEN advised);
 * "?" for an unknown family. */
void netaddr_format(const struct sockaddr *sa, char *buf, size_t cap);

/* The address alone, as inet_ntop writes it ("198.18.0.1", "2001:db8::1"); "" for an
 * address of no family (an unresolved source). */
void netaddr_text(const struct core_addr *a, char *buf, size_t cap);

#endif
