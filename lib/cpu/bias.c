/* bias.c -- CPU twin of kernels/bias.cu: per-channel and per-image (conditioning)
 * biases added to every pixel, and their gradients summed over pixels. */
#include <omp.h>
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
     * fit the stack (nothing to allocate, so nothing that can fail). The threads take
     * (image, block) pairs; where there are fewer pairs than threads, the blocks are
     * narrowed to a thread's share of the channels, in whole cache lines. Each channel's
     * sum is the same on any number of threads. */
    enum { BLOCK = 512, LINE = 64 / sizeof(real) };
    const int threads = omp_get_max_threads();
    int block = BLOCK;
    if ((size_t)P * N > PCNN_OMP_MIN && B * ((N + BLOCK - 1) / BLOCK) < threads)
        block = ((N + threads - 1) / threads + LINE - 1) / LINE * LINE;
    const int nblocks = (N + block - 1) / block;
#pragma omp parallel for schedule(static) if ((size_t)B * P * N > PCNN_OMP_MIN)
    for (int t = 0; t < B * nblocks; t++) {
        double acc[BLOCK];
        const int b = t / nblocks, k0 = t % nblocks * block, nk = N - k0 < block ? N - k0 : block;
        for (int k = 0; k < nk; k++) acc[k] = 0;
        for (int q = 0; q < P; q++) {
            const real *d = dy + ((size_t)b * P + q) * N + k0;
            for (int k = 0; k < nk; k++) acc[k] += d[k];
        }
        for (int k = 0; k < nk; k++) dv[(size_t)b * N + k0 + k] += (real)acc[k];
    }
}
