/* arena.h -- a workspace of many buffers in one backend allocation, laid out from a
 * table: each buffer is listed once with its size (arena_add), then arena_alloc sums the
 * table, allocates once and points every listed pointer into the block, each buffer
 * rounded up to whole 64-byte lines so that all start on one. Sizes and
 * pointers therefore cannot disagree (llm.c's fill_in_activation_sizes and
 * malloc_and_point_activations do the same). Private to lib/. */
#ifndef PCNN_ARENA_H
#define PCNN_ARENA_H
#include "backend.h"

typedef struct {
    struct { real **at; size_t n; } *piece;
    int n, cap;
    size_t total;   /* reals listed so far */
    int failed;     /* the table itself ran out of memory */
} pcnn_arena;

/* Lists a buffer of n reals whose address goes to *at when the arena is allocated. */
void arena_add(pcnn_arena *a, real **at, size_t n);
/* One allocation of the listed reals plus extra bytes after them (for non-real data; they
 * start at the returned block + total reals). On success every listed pointer is set
 * and the block returned; on failure (NULL, the reason set naming what) none is. Either
 * way the table is freed. */
void *arena_alloc(pcnn_arena *a, pcnn_backend *be, size_t extra, const char *what);
#endif
