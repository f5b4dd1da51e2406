/* bias.c -- CPU twin of kernels/bias.cu: per-channel and per-image (conditioning)
 * biases added to every pixel, and their gradients summed over pixels. */
#include "cpu.h"

void cpu_add_rows(real *y, const real *v, int B, int P, int N)
{
#pragma omp parallel for schedule(static)
    for (int bp = 0; bp < B * P; bp++) {
        const real *vb = v + (size_t)(bp / P) * N;
        real *yr = y + (size_t)bp * N;
        for (int k = 0; k < N; k++) yr[k] += vb[k];
    }
}

void cpu_sum_rows(real *dv, const real *dy, int B, int P, int N)
{
#pragma omp parallel for schedule(static)
    for (int k = 0; k < N; k++)
        for (int b = 0; b < B; b++) {
            double s = 0;
            const real *d = dy + (size_t)b * P * N + k;
            for (int q = 0; q < P; q++) s += d[(size_t)q * N];
            dv[(size_t)b * N + k] += (real)s;
        }
}
