/* Kernel randomness through getrandom(2) (one of the calls DESIGN.md allows), blocking
 * only until the pool is initialized at boot. Nothing else in tsync reads entropy. */
#include "sys/sys_rand.h"

#include <errno.h>
#include <sys/random.h>

/* Short reads only happen for large requests or signals; bound the retries anyway. */
#define RAND_TRIES 8

int sys_rand_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;

    for (int tries = 0; len > 0 && tries < RAND_TRIES; tries++) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return len == 0 ? 0 : -EIO;
}

uint64_t sys_rand_u64(int *err)
{
    uint64_t v = 0;
    int r = sys_rand_bytes(&v, sizeof(v));

    if (err != NULL) {
        *err = r;
    }
    return r == 0 ? v : 0;
}
