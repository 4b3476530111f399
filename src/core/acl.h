/* Access control for the server: chrony's allow/deny and ntpd's restrict in one table
 * of address prefixes with restriction flags. The most specific matching prefix wins;
 * with no match at all the address is ignored, so serving stays off until the config
 * allows clients. Pure; the table is a fixed-size value, no allocation. */
#ifndef TSYNC_ACL_H
#define TSYNC_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

#define ACL_MAX_RULES 256

/* ntpd restrict flags (ntp.conf(5)); chrony's deny is ACL_IGNORE, allow is no flag. */
enum acl_flag {
    ACL_IGNORE = 1u << 0,   /* drop every packet */
    ACL_NOSERVE = 1u << 1,  /* no time service (mode 3) */
    ACL_KOD = 1u << 2,      /* send KoD RATE when rate-limited */
    ACL_LIMITED = 1u << 3,  /* apply rate limiting (ntpd discard) */
    ACL_NOMODIFY = 1u << 4, /* no run-time changes through mode 6/7 */
    ACL_NOTRAP = 1u << 5,   /* no mode 6 traps (accepted, traps do not exist) */
    ACL_NOPEER = 1u << 6,   /* no symmetric associations */
    ACL_NOQUERY = 1u << 7,  /* no mode 6 queries */
};

struct acl_rule {
    uint8_t family;     /* CORE_AF_INET or CORE_AF_INET6 */
    uint8_t prefix_len; /* 0..32 or 0..128 */
    uint8_t addr[16];   /* bits past prefix_len are zero */
    uint32_t flags;     /* enum acl_flag bits */
};

/* How a rule combines with an existing rule for the same prefix. */
enum acl_add_mode {
    ACL_ADD_REPLACE,     /* chrony allow/deny: the later line wins */
    ACL_ADD_MERGE,       /* ntpd restrict: flags of lines for the same prefix are OR-ed */
    ACL_ADD_REPLACE_ALL, /* chrony "allow all"/"deny all": also drops the more specific
                            rules inside the prefix that were added before */
};

enum acl_status {
    ACL_OK = 0,
    ACL_FULL,       /* ACL_MAX_RULES reached */
    ACL_BAD_PREFIX, /* family unknown or prefix_len too long for it */
};

struct acl {
    size_t n;
    struct acl_rule rules[ACL_MAX_RULES];
};

/* Empty table: every address is ignored. */
void acl_init(struct acl *a);

/* Adds r (address bits past the prefix are masked off here). */
enum acl_status acl_add(struct acl *a, const struct acl_rule *r, enum acl_add_mode mode);

/* Flags of the most specific rule that contains addr; ACL_IGNORE when none does. */
uint32_t acl_lookup(const struct acl *a, const struct core_addr *addr);

#endif
