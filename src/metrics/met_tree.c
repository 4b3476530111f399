/* The value tree and its builder (see met_tree.h). Nodes and strings come from a chain
 * of arena blocks, so a tree is freed in one walk and its size is bounded. */
#include "metrics/met_tree.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_DATA 16384

struct met_block {
    struct met_block *prev;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

void met_tree_init(struct met_tree *t)
{
    memset(t, 0, sizeof(*t));
}

void met_tree_free(struct met_tree *t)
{
    struct met_block *b = t->blocks;

    while (b != NULL) {
        struct met_block *prev = b->prev;
        free(b);
        b = prev;
    }
    met_tree_init(t);
}

static void *alloc(struct met_tree *t, size_t n)
{
    size_t need = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct met_block *b = t->blocks;

    if (t->failed) {
        return NULL;
    }
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = need > BLOCK_DATA ? need : BLOCK_DATA;
        if (t->bytes + cap > MET_TREE_MAX_BYTES || (b = malloc(sizeof(*b) + cap)) == NULL) {
            t->failed = true;
            return NULL;
        }
        t->bytes += cap;
        b->cap = cap;
        b->used = 0;
        b->prev = t->blocks;
        t->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

static const char *copy(struct met_tree *t, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = alloc(t, n);

    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

/* A new node where the document is now: the root, an array element, or the member
 * named by the key just given. */
static struct met_val *place(struct met_tree *t, enum met_type type)
{
    struct met_val *parent = t->depth > 0 ? t->open[t->depth - 1] : NULL;
    bool in_object = parent != NULL && parent->type == MET_OBJECT;

    if (t->failed || (parent == NULL && t->root != NULL) || in_object != (t->key != NULL)) {
        t->failed = true;
        return NULL;
    }
    struct met_val *v = alloc(t, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->key = t->key;
    t->key = NULL;
    if (parent == NULL) {
        t->root = v;
    } else {
        if (t->last[t->depth - 1] == NULL) {
            parent->child = v;
        } else {
            t->last[t->depth - 1]->next = v;
        }
        t->last[t->depth - 1] = v;
        parent->count++;
    }
    return v;
}

void met_tree_open(struct met_tree *t, bool object)
{
    if (t->depth >= MET_TREE_MAX_DEPTH) {
        t->failed = true;
        return;
    }
    struct met_val *v = place(t, object ? MET_OBJECT : MET_ARRAY);
    if (v != NULL) {
        t->open[t->depth] = v;
        t->last[t->depth] = NULL;
        t->depth++;
    }
}

void met_tree_close(struct met_tree *t)
{
    if (t->depth <= 0 || t->key != NULL) {
        t->failed = true;
        return;
    }
    t->depth--;
}

void met_tree_key(struct met_tree *t, const char *key)
{
    if (t->key != NULL || t->depth == 0 || t->open[t->depth - 1]->type != MET_OBJECT) {
        t->failed = true;
        return;
    }
    t->key = copy(t, key);
}

void met_tree_string(struct met_tree *t, const char *s)
{
    struct met_val *v = place(t, MET_STRING);
    if (v != NULL) {
        v->string = copy(t, s);
    }
}

void met_tree_number(struct met_tree *t, double n)
{
    struct met_val *v = place(t, MET_NUMBER);
    if (v != NULL) {
        v->number = n;
    }
}

void met_tree_bool(struct met_tree *t, bool b)
{
    struct met_val *v = place(t, MET_BOOL);
    if (v != NULL) {
        v->boolean = b;
    }
}

void met_tree_null(struct met_tree *t)
{
    (void)place(t, MET_NULL);
}

const struct met_val *met_tree_root(const struct met_tree *t)
{
    return t->failed || t->depth != 0 || t->key != NULL ? NULL : t->root;
}

const struct met_val *met_get(const struct met_val *obj, const char *key)
{
    if (obj == NULL || obj->type != MET_OBJECT) {
        return NULL;
    }
    for (const struct met_val *m = obj->child; m != NULL; m = m->next) {
        if (m->key != NULL && strcmp(m->key, key) == 0) {
            return m;
        }
    }
    return NULL;
}

const char *met_get_str(const struct met_val *obj, const char *key)
{
    const struct met_val *v = met_get(obj, key);
    return v != NULL && v->type == MET_STRING ? v->string : NULL;
}

bool met_get_num(const struct met_val *obj, const char *key, double *out)
{
    const struct met_val *v = met_get(obj, key);
    if (v == NULL || v->type != MET_NUMBER) {
        return false;
    }
    *out = v->number;
    return true;
}

bool met_get_bool(const struct met_val *obj, const char *key, bool *out)
{
    const struct met_val *v = met_get(obj, key);
    if (v == NULL || v->type != MET_BOOL) {
        return false;
    }
    *out = v->boolean;
    return true;
}
