/* memory.c -- CPU backend: allocation and copies (host memory; copies are memcpy). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

void *cpu_alloc(pcnn_backend *be, size_t bytes) { (void)be; return calloc(1, bytes ? bytes : 1); }
void cpu_release(pcnn_backend *be, void *p) { (void)be; free(p); }
void cpu_copy(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memcpy(dst, src, bytes);
}
void cpu_zero(pcnn_backend *be, real *x, size_t n) { (void)be; memset(x, 0, n * sizeof *x); }
