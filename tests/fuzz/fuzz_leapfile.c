/* libFuzzer target: leapfile_parse on arbitrary bytes, and the lookups on what it
 * accepts. Nothing may crash, and an accepted table must be ordered. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/leapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct leapfile lf;
    struct leapfile_error err;
    int64_t at;
    int dir;

    if (leapfile_parse((const char *)data, size, &lf, &err) != 0) {
        return 0;
    }
    for (size_t i = 1; i < lf.n; i++) {
        if (lf.e[i].ntp_s <= lf.e[i - 1].ntp_s) {
            abort();
        }
    }
    (void)leapfile_next(&lf, 0, &at, &dir);
    (void)leapfile_expired(&lf, 0);
    return 0;
}
