/* Secret random bytes from the kernel (getrandom), for seeds the core must not let an
 * attacker guess: the rate-limit hash key above all. */
#ifndef TSYNC_SYS_RAND_H
#define TSYNC_SYS_RAND_H

#include <stddef.h>
#include <stdint.h>

/* Fills buf with len random bytes. Returns 0 or -errno. */
int sys_rand_bytes(void *buf, size_t len);

/* A random 64-bit seed; 0 with -errno in *err (if not NULL) when none is available. */
uint64_t sys_rand_u64(int *err);

#endif
