/* Access control table: prefixes with restriction flags, longest prefix wins, no match
 * means ignore. Owns the add semantics of the two config dialects (chrony allow/deny
 * replace, ntpd restrict merges). Pure: the table is the caller's value; no allocation,
 * and lookups never write. */
#include "core/acl.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static unsigned family_bits(uint8_t family)
{
    if (family == CORE_AF_INET) {
        return 32;
    }
    if (family == CORE_AF_INET6) {
        return 128;
    }
    return 0;
}

/* Zeroes every bit of addr past prefix_len, and every byte past the family's length, so
 * equal prefixes compare equal with memcmp. */
static void mask_addr(uint8_t addr[16], unsigned prefix_len, unsigned total_bits)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned first_bit = i * 8;
        if (first_bit >= total_bits || first_bit >= prefix_len) {
            addr[i] = 0;
        } else if (prefix_len - first_bit < 8) {
            addr[i] &= (uint8_t)(0xffu << (8 - (prefix_len - first_bit)));
        }
    }
}

/* Whether addr (family already matched) lies inside the rule's prefix. */
static bool prefix_contains(const struct acl_rule *r, const uint8_t addr[16])
{
    unsigned full = r->prefix_len / 8;
    unsigned rest = r->prefix_len % 8;

    if (memcmp(r->addr, addr, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (addr[full] & mask) == r->addr[full];
}

static bool same_prefix(const struct acl_rule *a, const struct acl_rule *b)
{
    return a->family == b->family && a->prefix_len == b->prefix_len &&
           memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* chrony "allow all"/"deny all": the new rule supersedes every earlier rule inside its
 * prefix, including one for the same prefix, so those are removed (order is kept). */
static void remove_within(struct acl *a, const struct acl_rule *r)
{
    size_t kept = 0;

    for (size_t i = 0; i < a->n; i++) {
        const struct acl_rule *old = &a->rules[i];
        bool inside = old->family == r->family && old->prefix_len >= r->prefix_len &&
                      prefix_contains(r, old->addr);
        if (!inside) {
            a->rules[kept++] = *old;
        }
    }
    a->n = kept;
}

void acl_init(struct acl *a)
{
    memset(a, 0, sizeof(*a));
}

enum acl_status acl_add(struct acl *a, const struct acl_rule *r, enum acl_add_mode mode)
{
    unsigned bits = family_bits(r->family);
    if (bits == 0 || r->prefix_len > bits) {
        return ACL_BAD_PREFIX;
    }
    struct acl_rule nr = *r;
    mask_addr(nr.addr, nr.prefix_len, bits);

    if (mode == ACL_ADD_REPLACE_ALL) {
        remove_within(a, &nr);
    }
    for (size_t i = 0; i < a->n; i++) {
        if (same_prefix(&a->rules[i], &nr)) {
            if (mode == ACL_ADD_MERGE) {
                a->rules[i].flags |= nr.flags;
            } else {
                a->rules[i].flags = nr.flags;
            }
            return ACL_OK;
        }
    }
    if (a->n >= ACL_MAX_RULES) {
        return ACL_FULL;
    }
    a->rules[a->n++] = nr;
    return ACL_OK;
}

uint32_t acl_lookup(const struct acl *a, const struct core_addr *addr)
{
    unsigned bits = family_bits(addr->family);
    if (bits == 0) {
        return ACL_IGNORE;
    }
    /* Compare against a masked copy: bytes past the family's length must not matter. */
    uint8_t key[16];
    memcpy(key, addr->bytes, sizeof(key));
    mask_addr(key, bits, bits);

    const struct acl_rule *best = NULL;
    size_t n = a->n < ACL_MAX_RULES ? a->n : ACL_MAX_RULES;
    for (size_t i = 0; i < n; i++) {
        const struct acl_rule *r = &a->rules[i];
        if (r->family != addr->family || r->prefix_len > bits) {
            continue;
        }
        if ((best == NULL || r->prefix_len > best->prefix_len) && prefix_contains(r, key)) {
            best = r;
        }
    }
    return best != NULL ? best->flags : ACL_IGNORE;
}
