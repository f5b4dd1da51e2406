/* bias.c -- CPU twin of kernels/bias.cu: per-channel and per-image (conditioning)
 * biases added to every pixel, and their gradients summed over pixels. */
#include <stdlib.h>

#include "cpu.h"

PCNN_VECTOR
void cpu_add_rows(pcnn_backend *be, real *y, const real *v, int B, int P, int N)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)B * P * N > PCNN_OMP_MIN)
    for (int bp = 0; bp < B * P; bp++) {
        const real *vb = v + (size_t)(bp / P) * N;
        real *yr = y + (size_t)bp * N;
        for (int k = 0; k < N; k++) yr[k] += vb[k];
    }
}

PCNN_VECTOR
void cpu_sum_rows(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N)
{
    (void)be;
    /* rows in memory order, one double accumulator per channel, channels in blocks that
     * fit the stack (nothing to allocate, so nothing that can fail) */
    enum { BLOCK = 512 };
    double acc[BLOCK];
    for (int b = 0; b < B; b++)
        for (int k0 = 0; k0 < N; k0 += BLOCK) {
            const int nk = N - k0 < BLOCK ? N - k0 : BLOCK;
            for (int k = 0; k < nk; k++) acc[k] = 0;
            for (int q = 0; q < P; q++) {
                const real *d = dy + ((size_t)b * P + q) * N + k0;
                for (int k = 0; k < nk; k++) acc[k] += d[k];
            }
            for (int k = 0; k < nk; k++) dv[(size_t)b * N + k0 + k] += (real)acc[k];
        }
}
