/* What the parts of the configuration parser share: the parser state (include stack,
 * cross-line state resolved at the end), the split line, the error/warning helpers and
 * the token parsers. Not used outside src/daemon/cfg*.c. */
#ifndef TSYNC_CFG_PRIVATE_H
#define TSYNC_CFG_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/cfg.h"

#define CFG_LINE_MAX    1024                   /* characters, without the newline */
#define CFG_MAX_WORDS   (CFG_LINE_MAX / 2 + 1) /* a 1024-character line has at most 512 */
#define CFG_FILE_MAX    (1024 * 1024)          /* bytes; a bigger file is surely not a config */
#define CFG_LOCAL_UNITS 256                    /* 127.127.1.u: u is one byte */

/* Echoes a word inside a message: quoted and cut so the message keeps its tail. */
#define CFG_TOK "\"%.60s\""

/* One line split into words; argv[0] is the directive as written. */
struct cfg_line {
    size_t argc;
    char *argv[CFG_MAX_WORDS];
    const char *name; /* canonical (lower-case) directive name, for messages */
};

/* A file being read; the include stack holds one per nesting level. */
struct cfg_frame {
    char path[CFG_PATH_LEN];
    int line;
    bool has_id; /* false for text given in memory */
    dev_t dev;
    ino_t ino;
};

/* Where a line was, kept to name it in a later message. */
struct cfg_where {
    char file[CFG_PATH_LEN];
    int line; /* 0 = not seen */
};

struct cfg_parser {
    struct cfg *c;
    struct cfg_error *err;
    cfg_warn_fn warn;
    void *warn_ctx;
    unsigned flags; /* enum cfg_load_flag */
    size_t depth;   /* frames in use */
    struct cfg_frame frames[CFG_MAX_INCLUDE_DEPTH + 1];

    /* State that only the whole configuration decides, resolved by cfg_finish. */
    bool ratelimit_line;          /* chrony "ratelimit" seen */
    struct cfg_where local_at;    /* chrony "local" */
    struct cfg_where refclock_at; /* ntpd "server 127.127.1.u" */
    int refclock_unit;
    int16_t fudge_stratum[CFG_LOCAL_UNITS]; /* -1 = no fudge line */
    struct cfg_where fudge_at[CFG_LOCAL_UNITS];
};

/* Fills p->err with the current file and line and the formatted message; returns -1 so
 * handlers can "return cfg_fail(...)". */
int cfg_fail(struct cfg_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, for a line seen earlier. */
int cfg_fail_at(struct cfg_parser *p, const struct cfg_where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports a warning for the current file and line (no-op without a callback). */
void cfg_note(struct cfg_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, for a line seen earlier. */
void cfg_note_at(struct cfg_parser *p, const struct cfg_where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the current file and line in w. */
void cfg_mark(const struct cfg_parser *p, struct cfg_where *w);

/* Case-insensitive keyword comparison. */
bool cfg_is(const char *word, const char *keyword);

/* Integer word in [min, max]; ctx and what build the message ("port", "a port number").
 * A NULL word means the line ended where the value was expected. */
int cfg_get_int(struct cfg_parser *p, const char *ctx, const char *what, const char *word, long min,
                long max, long *out);

/* Decimal number in [min, max] (finite). */
int cfg_get_double(struct cfg_parser *p, const char *ctx, const char *what, const char *word,
                   double min, double max, double *out);

/* Copies a path word into dst (CFG_PATH_LEN bytes). */
int cfg_get_path(struct cfg_parser *p, const char *ctx, const char *word, char *dst);

/* Error unless argv[i] does not exist (nothing may follow what was parsed). */
int cfg_expect_end(struct cfg_parser *p, const struct cfg_line *l, size_t i);

/* Plain IPv4 (dotted quad) or IPv6 literal; false when s is neither. */
bool cfg_parse_addr(const char *s, struct core_addr *a);

/* chrony subnet: ADDR, ADDR/BITS or shortened IPv4 ("198.18" = 198.18.0.0/16). */
bool cfg_parse_subnet(const char *s, struct acl_rule *r);

/* ntpd form: full ADDR (a host) or ADDR/BITS. */
bool cfg_parse_cidr(const char *s, struct acl_rule *r);

/* Prefix length of a contiguous netmask of the given family; -1 if not contiguous. */
int cfg_mask_prefix(const struct core_addr *mask);

/* Adds r to the ACL, reporting a full table. */
int cfg_add_rule(struct cfg_parser *p, const struct acl_rule *r, enum acl_add_mode mode);

/* Directive handlers (cfg_access.c, cfg_source.c, cfg_include.c, cfg_clock.c,
 * cfg_control.c). */
int cfg_do_allow(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_deny(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_restrict(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_ratelimit(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_discard(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_server(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_fudge(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_local(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_include(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_makestep(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_tinker(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_tos(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_minsources(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_maxdistance(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_holdover(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_estimator(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_confdir(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_controlsocket(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_controlgroup(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_bindcmdaddress(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_cmdallow(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_cmddeny(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_metrics(struct cfg_parser *p, struct cfg_line *l);

/* The control defaults of cfg_init (cfg_control.c). */
void cfg_init_control(struct cfg *c);

/* Logs and statistics (cfg_log.c) and their defaults. */
int cfg_do_statsdir(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_statistics(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_filegen(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_logfile(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_logconfig(struct cfg_parser *p, struct cfg_line *l);
int cfg_do_logchange(struct cfg_parser *p, struct cfg_line *l);
void cfg_init_log(struct cfg *c);

/* Settles what depends on the whole file (local reference, KoD rate); run once at the
 * end of a successful parse. */
int cfg_finish_sources(struct cfg_parser *p);
void cfg_finish_access(struct cfg_parser *p);

/* Reads and parses one file as a new include level; the current frame (if any) is the
 * includer and gets the error, prefixed with ctx, when the file cannot be read. */
int cfg_parse_file(struct cfg_parser *p, const char *ctx, const char *path);

/* Parses len bytes of text for the current frame. */
int cfg_parse_text(struct cfg_parser *p, const char *text, size_t len);

#endif
