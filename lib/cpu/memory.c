/* memory.c -- CPU backend: allocation and copies (host memory; copies are memcpy). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu.h"

/* A block starts on a cache line: glibc's calloc gives large blocks 16 bytes into a page,
 * and the arena's activations (arena.c keeps them whole lines long) all inherited that,
 * so every other 32-byte load of oneDNN's kernels and ours straddled two lines -- the
 * CIFAR-like head's 1x1 convolution held to AVX2 ran 34.2 ms against 29.4 from a line
 * (tests/bench/README.md). The block is calloc's, moved up to the next line, with calloc's
 * pointer kept just before it for cpu_release: pages stay untouched until used (a
 * workspace's im2col matrix often never is), where aligned_alloc + memset would touch
 * them all.
 * A large block also asks for 2 MB pages where the kernel gives them only on request
 * (transparent huge pages in "madvise" mode, as on the machines here): a draw at Fashion
 * batch 16, whose sampler's cache is allocated per call, took 30500 page faults before,
 * 11600 with this (tests/bench/README.md). */
enum { LINE = 64 };
void *cpu_alloc(pcnn_backend *be, size_t bytes)
{
    (void)be;
    if (bytes > SIZE_MAX - 2 * LINE) return NULL;
    char *raw = calloc(1, bytes + 2 * LINE);
    if (!raw) return NULL;
    char *p = (char *)(((uintptr_t)raw + LINE) & ~(uintptr_t)(LINE - 1));
    ((void **)p)[-1] = raw;
    enum { HUGE_PAGE = 2 << 20, PAGE = 4096 };
    if (bytes >= 2 * HUGE_PAGE) { /* the whole pages inside the block; a failure costs nothing */
        const uintptr_t from = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
        const uintptr_t to = ((uintptr_t)p + bytes) & ~(uintptr_t)(PAGE - 1);
        madvise((void *)from, to - from, MADV_HUGEPAGE);
    }
    return p;
}
void cpu_release(pcnn_backend *be, void *p)
{
    (void)be;
    if (p) free(((void **)p)[-1]);
}
void cpu_copy(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memcpy(dst, src, bytes);
}
void cpu_zero(pcnn_backend *be, real *x, size_t n) { (void)be; memset(x, 0, n * sizeof *x); }
