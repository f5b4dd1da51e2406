// adam.cu -- CUDA twin of lib/cpu/adam.c: one Adam step with bias correction.
#include <cmath>

#include "cuda.h"

__global__ static void adam_k(real *w, real *m, real *v, const real *g, size_t n, real lr, real b1,
                              real b2, real eps, real c1, real c2, real gscale)
{
    FOR_N(i, n) {
        real gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}

void cuda_adam(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n, real lr,
               real b1, real b2, real eps, int t, real gscale)
{
    real c1 = 1 - (real)pow(b1, t), c2 = 1 - (real)pow(b2, t);
    adam_k<<<blocks_for(n, 256), 256>>>(w, m, v, g, n, lr, b1, b2, eps, c1, c2, gscale);
    LAUNCH_CHECK(be);
}
