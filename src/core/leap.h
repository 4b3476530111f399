/* Leap seconds: which leap to announce and arm now, and telling the kernel's own leap
 * (a 1 s jump of the realtime clock at the armed midnight) from someone's `date -s`.
 * Linux acts on STA_INS/STA_DEL at the next UTC midnight, so a leap may only be armed
 * on the day it ends. Pure: Unix seconds in, decisions out. */
#ifndef TSYNC_CORE_LEAP_H
#define TSYNC_CORE_LEAP_H

#include <stdbool.h>
#include <stdint.h>

#define LEAP_DAY_S 86400

/* What the kernel was told and what it did, kept by the engine. */
struct leap_state {
    int armed;          /* +1 insert, -1 delete, 0 none: the kernel's leap bits now */
    int64_t midnight_s; /* the UTC midnight (Unix s) the armed leap ends at */
    int64_t done_s;     /* midnight of the last leap the kernel applied; 0 none */
};

/* True when the UTC day holding unix_s is the last of its month: the only day a leap
 * may end (ITU-R TF.460-6; announcements outside it, as ntpd sends for a whole month,
 * must not arm the kernel, which would act at the wrong midnight). */
bool leap_last_day_of_month(int64_t unix_s);

/* The UTC midnight after unix_s (Unix s). */
int64_t leap_next_midnight(int64_t unix_s);

/* The leap indicator (enum ntp_leap 0..2) to announce and arm at unix_s: the leap a
 * leap-seconds file names (file_at = the midnight it ends at, 0 none; file_dir +1/-1)
 * during its last day, else the sources' majority on the last day of a month, else 0.
 * Nothing within a day of a leap the kernel has just applied (the repeated 23:59:59
 * after an insertion is still the last day). */
uint8_t leap_indicator(const struct leap_state *s, int64_t file_at, int file_dir, int64_t unix_s,
                       uint8_t majority);

/* Records what the kernel is told at unix_s (indicator 0..2). */
void leap_note_armed(struct leap_state *s, uint8_t indicator, int64_t unix_s);

/* True when a realtime jump of jump s seen at unix_s is the armed leap (-1 s for an
 * insertion, +1 s for a deletion, at or after its midnight); it is then recorded as
 * done and the kernel counts as disarmed. */
bool leap_take_kernel_jump(struct leap_state *s, int64_t unix_s, double jump);

#endif
