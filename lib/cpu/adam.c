/* adam.c -- CPU twin of kernels/adam.cu: one Adam step (Kingma & Ba) with bias correction. */
#include "cpu.h"

PCNN_VECTOR
void cpu_adam(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n, real lr,
              real b1, real b2, real eps, int t, real gscale)
{
    (void)be;
    const real c1 = 1 - (real)pow(b1, t), c2 = 1 - (real)pow(b2, t);
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) {
        real gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * (m[i] / c1) / (rsqrt(v[i] / c2) + eps);
    }
}
