/* average.c -- CPU twin of kernels/average.cu: one step of the exponential moving average
 * of the weights (Polyak averaging), avg = decay * avg + (1 - decay) * w. */
#include "cpu.h"

PCNN_VECTOR
void cpu_average(pcnn_backend *be, real *avg, const real *w, size_t n, real decay)
{
    (void)be;
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) avg[i] = decay * avg[i] + (1 - decay) * w[i];
}
