/* memory.c -- CPU backend: allocation and copies (host memory; copies are memcpy). */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

void *cpu_alloc(size_t bytes) { return calloc(1, bytes ? bytes : 1); }
void cpu_release(void *p) { free(p); }
void cpu_copy(void *dst, const void *src, size_t bytes) { memcpy(dst, src, bytes); }
void cpu_zero(real *x, size_t n) { memset(x, 0, n * sizeof *x); }
