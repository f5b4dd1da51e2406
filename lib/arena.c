/* arena.c -- see arena.h. */
#include <stdlib.h>

#include "arena.h"
#include "pcnn-impl.h"

/* each buffer a whole number of cache lines long, so that all start on one where the
 * block does (cpu_alloc's and cudaMalloc's do) */
enum { LINE_REALS = 64 / sizeof(real) };

void arena_add(pcnn_arena *a, real **at, size_t n)
{
    if (a->failed) return;
    n = (n + LINE_REALS - 1) / LINE_REALS * LINE_REALS;
    if (a->n == a->cap) {
        int cap = a->cap ? 2 * a->cap : 32;
        void *grown = realloc(a->piece, (size_t)cap * sizeof *a->piece);
        if (!grown) {
            a->failed = 1;
            return;
        }
        a->piece = grown, a->cap = cap;
    }
    a->piece[a->n].at = at, a->piece[a->n].n = n;
    a->n++;
    a->total += n;
}

void *arena_alloc(pcnn_arena *a, pcnn_backend *be, size_t extra, const char *what)
{
    size_t bytes = a->total * sizeof(real) + extra;
    real *block = a->failed ? NULL : be_alloc(be, bytes ? bytes : 1);
    if (block) {
        real *q = block;
        for (int i = 0; i < a->n; i++) *a->piece[i].at = q, q += a->piece[i].n;
    } else {
        pcnn_backend_nomem(be, bytes, "%s", what);
    }
    free(a->piece);
    *a = (pcnn_arena){0};
    return block;
}
