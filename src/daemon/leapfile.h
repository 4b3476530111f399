/* The IERS/NTP leap-seconds.list format (ntpd's "leapfile"), parsed from a buffer: no
 * file access here (the daemon reads the file, drv.c), so the fuzzer and the tests feed
 * it text. Also the choice of the next leap after a given time. */
#ifndef TSYNC_LEAPFILE_H
#define TSYNC_LEAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAPFILE_MAX 128            /* entries (the 1972-2017 list has 28) */
#define LEAPFILE_NTP_UNIX 2208988800LL /* s from 1900-01-01 (NTP era 0) to 1970-01-01 */

struct leapfile_entry {
    int64_t ntp_s; /* second of the NTP timescale (era 0) at which tai_offset applies */
    int tai_offset; /* TAI - UTC from then on, s */
};

struct leapfile {
    size_t n;                 /* entries, in strictly increasing time */
    struct leapfile_entry e[LEAPFILE_MAX];
    bool have_expiry;         /* a "#@" line was found */
    int64_t expiry_ntp_s;     /* its value */
    int64_t updated_ntp_s;    /* "#$" line, 0 without */
};

struct leapfile_error {
    int line;       /* 1-based; 0 when not tied to a line (empty file, no entry) */
    char msg[160];
};

/* Parses len bytes (need not be NUL-terminated). Data lines are "NTP_SECONDS TAI_OFFSET"
 * with an optional "# comment"; "#@" gives the expiry, "#$" the last update, "#h" the
 * SHA-1 hash, which is NOT verified (the file comes from the system's tzdata package,
 * already checked by the package manager; a corrupt line fails the parse anyway); every
 * other "#" line is a comment. Entries must increase in time and each offset must differ
 * from the previous one (its sign is the direction of the leap). Returns 0, or -1 with err filled in. */
int leapfile_parse(const char *buf, size_t len, struct leapfile *lf, struct leapfile_error *err);

/* The first leap after unix_s (Unix seconds, the leap being the second inserted or
 * deleted at the end of the day before the entry's time): its entry time in Unix seconds
 * and direction (+1 insert, -1 delete). False when the file knows of none. */
bool leapfile_next(const struct leapfile *lf, int64_t unix_s, int64_t *at_unix_s, int *dir);

/* True when the file has an expiry and unix_s is at or past it. */
bool leapfile_expired(const struct leapfile *lf, int64_t unix_s);

#endif
