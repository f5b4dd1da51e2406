// gate.cu -- CUDA twin of lib/cpu/gate.c: y = tanh(f) * sigmoid(g) over the [f | g]
// halves of each row, and its gradient.
#include "cuda.h"

__global__ static void gate_fwd_k(real *y, const real *a, int p, size_t n)
{
    FOR_N(e, n) {
        size_t m = e / p;
        int k = (int)(e % p);
        real f = a[m * 2 * p + k], g = a[m * 2 * p + p + k];
        y[e] = tanhf(f) / (1 + expf(-g));
    }
}

void cuda_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p)
{
    size_t n = (size_t)M * p;
    gate_fwd_k<<<blocks_for(n, 256), 256>>>(y, a, p, n);
    LAUNCH_CHECK(be);
}

__global__ static void gate_bwd_k(real *da, const real *a, const real *dy, int p, size_t n)
{
    FOR_N(e, n) {
        size_t m = e / p;
        int k = (int)(e % p);
        real t = tanhf(a[m * 2 * p + k]), s = 1 / (1 + expf(-a[m * 2 * p + p + k])), d = dy[e];
        da[m * 2 * p + k] = d * (1 - t * t) * s;
        da[m * 2 * p + p + k] = d * t * s * (1 - s);
    }
}

void cuda_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p)
{
    size_t n = (size_t)M * p;
    gate_bwd_k<<<blocks_for(n, 256), 256>>>(da, a, dy, p, n);
    LAUNCH_CHECK(be);
}
