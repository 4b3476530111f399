/* Configuration files that include others: ntpd's "includefile PATH", chrony's
 * "include GLOB" and "confdir DIR..." (the *.conf files of the directories, sorted by
 * name, the first directory winning a name clash). Relative paths are taken from the
 * including file's directory. Nesting is bounded and loops are named as such. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cfg_private.h"

/* Report against the includer when there is one, else against the file itself. */
static int fail_open(struct cfg_parser *p, const char *ctx, const char *path, const char *why)
{
    if (p->depth == 0) {
        snprintf(p->err->file, sizeof p->err->file, "%s", path);
        p->err->line = 0;
        snprintf(p->err->msg, sizeof p->err->msg, "cannot read the configuration: %s", why);
        return -1;
    }
    return cfg_fail(p, "%s: cannot read " CFG_TOK ": %s", ctx, path, why);
}

static bool on_stack(const struct cfg_parser *p, const struct stat *st)
{
    for (size_t i = 0; i < p->depth; i++) {
        if (p->frames[i].has_id && p->frames[i].dev == st->st_dev &&
            p->frames[i].ino == st->st_ino) {
            return true;
        }
    }
    return false;
}

/* Opens without blocking on a FIFO or device and refuses anything but a regular file,
 * so a stray "include /dev/stdin" cannot hang the daemon at start-up. */
static int open_regular(struct cfg_parser *p, const char *ctx, const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        return fail_open(p, ctx, path, strerror(errno));
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return fail_open(p, ctx, path, "not a regular file");
    }
    if (st->st_size > CFG_FILE_MAX) {
        close(fd);
        return fail_open(p, ctx, path, "file too large for a configuration (over 1 MiB)");
    }
    return fd;
}

/* Reads at most CFG_FILE_MAX bytes; *len gets the size. */
static char *read_all(int fd, size_t *len)
{
    char *buf = malloc(CFG_FILE_MAX + 1);
    size_t n = 0;

    while (buf && n <= CFG_FILE_MAX) {
        ssize_t r = read(fd, buf + n, CFG_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (r < 0) {
                free(buf);
                return NULL;
            }
            break;
        }
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

int cfg_parse_file(struct cfg_parser *p, const char *ctx, const char *path)
{
    struct stat st;
    size_t len;
    int fd, rc;

    if (p->depth > CFG_MAX_INCLUDE_DEPTH) {
        return cfg_fail(p, "%s: includes nested too deeply (at most %d levels) at " CFG_TOK, ctx,
                        CFG_MAX_INCLUDE_DEPTH, path);
    }
    if (strlen(path) >= CFG_PATH_LEN) {
        return fail_open(p, ctx, path, "path too long");
    }
    fd = open_regular(p, ctx, path, &st);
    if (fd < 0) {
        return -1;
    }
    if (on_stack(p, &st)) {
        close(fd);
        return cfg_fail(p, "%s: include loop: " CFG_TOK " is already being read", ctx, path);
    }
    char *text = read_all(fd, &len);
    int saved = errno;
    close(fd);
    if (!text) {
        return fail_open(p, ctx, path, strerror(saved));
    }
    if (len > CFG_FILE_MAX) {
        free(text);
        return fail_open(p, ctx, path, "file too large for a configuration (over 1 MiB)");
    }
    struct cfg_frame *f = &p->frames[p->depth++];
    snprintf(f->path, sizeof f->path, "%s", path);
    f->has_id = true;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    rc = cfg_parse_text(p, text, len);
    p->depth--;
    free(text);
    return rc;
}

/* dst = the including file's directory + rel, unless rel is absolute. */
static int resolve(struct cfg_parser *p, const char *ctx, const char *rel, char *dst, size_t n)
{
    const char *inc = p->frames[p->depth - 1].path;
    const char *slash = strrchr(inc, '/');
    int len;

    if (rel[0] == '/' || !slash) {
        len = snprintf(dst, n, "%s", rel);
    } else {
        len = snprintf(dst, n, "%.*s/%s", (int)(slash - inc), inc, rel);
    }
    if (len < 0 || (size_t)len >= n) {
        return cfg_fail(p, "%s: path too long (at most %zu characters): " CFG_TOK, ctx, n - 1, rel);
    }
    return 0;
}

static int check_allowed(struct cfg_parser *p, const struct cfg_line *l)
{
    if (l->argc < 2) {
        return cfg_fail(p, "%s: missing value: expected %s", l->name,
                        cfg_is(l->name, "confdir") ? "a directory" : "a file path");
    }
    if (p->flags & CFG_NO_INCLUDES) {
        return cfg_fail(p, "%s: including other files is disabled here", l->name);
    }
    return 0;
}

/* chrony's include takes a glob; no match is fine there (an empty conf.d), but a plain
 * path that does not exist is surely a mistake, as with ntpd's includefile. */
static int include_glob(struct cfg_parser *p, const char *ctx, const char *pattern)
{
    glob_t g;
    int rc;

    if (!strpbrk(pattern, "*?[")) {
        return cfg_parse_file(p, ctx, pattern);
    }
    rc = glob(pattern, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        return 0;
    }
    if (rc != 0) {
        return cfg_fail(p, "%s: cannot expand " CFG_TOK ": %s", ctx, pattern,
                        rc == GLOB_NOSPACE ? "out of memory" : "read error");
    }
    rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
        rc = cfg_parse_file(p, ctx, g.gl_pathv[i]);
    }
    globfree(&g);
    return rc;
}

int cfg_do_include(struct cfg_parser *p, struct cfg_line *l)
{
    char path[CFG_PATH_LEN];

    if (check_allowed(p, l) < 0 || cfg_expect_end(p, l, 2) < 0 ||
        resolve(p, l->name, l->argv[1], path, sizeof path) < 0) {
        return -1;
    }
    if (cfg_is(l->name, "include")) {
        return include_glob(p, l->name, path);
    }
    return cfg_parse_file(p, l->name, path);
}

struct conf_entry {
    char name[256];
    size_t dir; /* index of the confdir argument it came from */
};

struct conf_list {
    struct conf_entry *v;
    size_t n, cap;
};

#define CFG_CONFDIR_MAX_FILES 4096

static int list_push(struct conf_list *cl, const char *name, size_t dir)
{
    if (cl->n == cl->cap) {
        size_t cap = cl->cap ? cl->cap * 2 : 16;
        struct conf_entry *v = realloc(cl->v, cap * sizeof *v);
        if (!v) {
            return -1;
        }
        cl->v = v;
        cl->cap = cap;
    }
    snprintf(cl->v[cl->n].name, sizeof cl->v[cl->n].name, "%s", name);
    cl->v[cl->n++].dir = dir;
    return 0;
}

static bool is_conf_name(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

/* Adds the *.conf names of one directory; a missing directory is only warned about. */
static int scan_dir(struct cfg_parser *p, const char *dir, size_t idx, struct conf_list *cl)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) {
        if (errno == ENOENT) {
            cfg_note(p, "confdir: directory " CFG_TOK " does not exist; nothing read from it", dir);
            return 0;
        }
        return cfg_fail(p, "confdir: cannot read directory " CFG_TOK ": %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_conf_name(e->d_name)) {
            continue;
        }
        if (cl->n >= CFG_CONFDIR_MAX_FILES || list_push(cl, e->d_name, idx) < 0) {
            closedir(d);
            return cfg_fail(p, "confdir: too many files (at most %d)", CFG_CONFDIR_MAX_FILES);
        }
    }
    closedir(d);
    return 0;
}

static int by_name_then_dir(const void *a, const void *b)
{
    const struct conf_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c != 0) {
        return c;
    }
    return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static int read_listed(struct cfg_parser *p, const struct cfg_line *l, struct conf_list *cl)
{
    char dir[CFG_PATH_LEN], path[CFG_PATH_LEN];

    if (cl->n == 0) {
        return 0;
    }
    qsort(cl->v, cl->n, sizeof cl->v[0], by_name_then_dir);
    for (size_t i = 0; i < cl->n; i++) {
        if (i > 0 && strcmp(cl->v[i].name, cl->v[i - 1].name) == 0) {
            continue; /* the same name in a later directory is shadowed */
        }
        if (resolve(p, "confdir", l->argv[1 + cl->v[i].dir], dir, sizeof dir) < 0) {
            return -1;
        }
        int n = snprintf(path, sizeof path, "%s/%s", dir, cl->v[i].name);
        if (n < 0 || (size_t)n >= sizeof path) {
            return cfg_fail(p, "confdir: path too long: " CFG_TOK "/" CFG_TOK, dir, cl->v[i].name);
        }
        if (cfg_parse_file(p, "confdir", path) < 0) {
            return -1;
        }
    }
    return 0;
}

int cfg_do_confdir(struct cfg_parser *p, struct cfg_line *l)
{
    struct conf_list cl = {0};
    char dir[CFG_PATH_LEN];
    int rc = check_allowed(p, l);

    for (size_t i = 1; rc == 0 && i < l->argc; i++) {
        rc = resolve(p, "confdir", l->argv[i], dir, sizeof dir);
        if (rc == 0) {
            rc = scan_dir(p, dir, i - 1, &cl);
        }
    }
    if (rc == 0) {
        rc = read_listed(p, l, &cl);
    }
    free(cl.v);
    return rc;
}
