/* Reading what a test made a module write: a whole small file into a static buffer. */
#ifndef TSYNC_TEST_FILES_H
#define TSYNC_TEST_FILES_H

#include <stdio.h>

/* The file's first 8 KiB as a string (the buffer is reused by the next call); NULL
 * when it cannot be opened. */
static inline char *test_slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        return NULL;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

#endif
