/* Big-endian (network order) loads and stores for the ntp codec files. Byte by byte, so
 * they are correct on any host and at any alignment; compilers fold them into one
 * load/store plus a byte swap. Internal to src/ntp: no state, no system headers. */
#ifndef TSYNC_NTP_BE_H
#define TSYNC_NTP_BE_H

#include <stdint.h>

static inline uint16_t ntp_be_load16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static inline uint32_t ntp_be_load32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t ntp_be_load64(const uint8_t *p)
{
    return (uint64_t)ntp_be_load32(p) << 32 | ntp_be_load32(p + 4);
}

static inline void ntp_be_store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void ntp_be_store64(uint8_t *p, uint64_t v)
{
    ntp_be_store32(p, (uint32_t)(v >> 32));
    ntp_be_store32(p + 4, (uint32_t)v);
}

#endif
