/* Helpers shared by the unit tests of the pure core: building struct core_addr values. */
#ifndef TSYNC_TEST_CORE_H
#define TSYNC_TEST_CORE_H

#include <stdint.h>
#include <string.h>

#include "core/core.h"

/* The IPv4 address a.b.c.d, port 0. */
static inline struct core_addr test_core4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct core_addr x;

    memset(&x, 0, sizeof(x));
    x.family = CORE_AF_INET;
    x.bytes[0] = a;
    x.bytes[1] = b;
    x.bytes[2] = c;
    x.bytes[3] = d;
    return x;
}

#endif
