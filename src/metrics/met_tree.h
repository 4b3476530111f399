/* The values of the control socket's read answers as a read-only tree (objects, arrays,
 * strings, numbers, booleans, null: the shape doc/control.md gives them), built event by
 * event. The CLI replays the JSON it parsed into one; tsyncd builds one from the very
 * calls that write its JSON answers (ctl_json's tap). Both hand it to met_prom, so the
 * metrics have one source of names and one of values. No I/O, no global state. */
#ifndef TSYNC_MET_TREE_H
#define TSYNC_MET_TREE_H

#include <stdbool.h>
#include <stddef.h>

#define MET_TREE_MAX_DEPTH 32                 /* nesting of arrays and objects */
#define MET_TREE_MAX_BYTES (4u * 1024 * 1024) /* nodes and strings of one tree */

enum met_type { MET_NULL, MET_BOOL, MET_NUMBER, MET_STRING, MET_ARRAY, MET_OBJECT };

struct met_val {
    enum met_type type;
    bool boolean;
    double number;
    const char *string;    /* MET_STRING: NUL-terminated */
    const char *key;       /* member name inside an object, else NULL */
    struct met_val *child; /* first element or member */
    struct met_val *next;  /* next sibling */
    size_t count;          /* elements or members */
};

struct met_block;

/* The builder. Zero-initialise it (or call met_tree_init); free with met_tree_free. */
struct met_tree {
    struct met_block *blocks; /* arena: every node and string */
    size_t bytes;             /* allocated so far, bounded by MET_TREE_MAX_BYTES */
    struct met_val *root;
    struct met_val *open[MET_TREE_MAX_DEPTH]; /* containers being filled */
    struct met_val *last[MET_TREE_MAX_DEPTH]; /* their last child so far */
    int depth;
    const char *key; /* the key just given: the next value is that member */
    bool failed;     /* out of memory, too deep or misused: the tree is unusable */
};

void met_tree_init(struct met_tree *t);
void met_tree_free(struct met_tree *t);

/* Events, in document order: a key precedes each member's value. */
void met_tree_open(struct met_tree *t, bool object);
void met_tree_close(struct met_tree *t);
void met_tree_key(struct met_tree *t, const char *key);
void met_tree_string(struct met_tree *t, const char *s);
void met_tree_number(struct met_tree *t, double v);
void met_tree_bool(struct met_tree *t, bool v);
void met_tree_null(struct met_tree *t);

/* The finished tree, or NULL when it failed or is incomplete. */
const struct met_val *met_tree_root(const struct met_tree *t);

/* NULL-safe accessors: a missing or mistyped value gives NULL / false. */
const struct met_val *met_get(const struct met_val *obj, const char *key);
const char *met_get_str(const struct met_val *obj, const char *key);
bool met_get_num(const struct met_val *obj, const char *key, double *out);
bool met_get_bool(const struct met_val *obj, const char *key, bool *out);

#endif
