/* dropout.c -- CPU twin of kernels/dropout.cu: inverted dropout with a mask hashed from
 * (seed, index) (lib/dropmask.h), applied identically in the forward and backward pass. */
#include "cpu.h"
#include "../dropmask.h"

void cpu_dropout(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed, uint64_t first)
{
    (void)be;
    const uint32_t r24 = pcnn_drop_rate24(rate);
    const real scale = (real)(1 / (1 - (double)r24 / 16777216.0));
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) x[i] = pcnn_drop_keep(seed, first + i, r24) ? x[i] * scale : 0;
}
