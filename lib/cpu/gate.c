/* gate.c -- CPU twin of kernels/gate.cu: the gated unit y = tanh(f) * sigmoid(g). */
#include "cpu.h"
#include "fastmath.h"

void cpu_gate_fwd(real *y, const real *a, int M, int p)
{
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) {
        const real *f = a + (size_t)m * 2 * p, *g = f + p;
        real *ym = y + (size_t)m * p;
        for (int k = 0; k < p; k++) ym[k] = fast_tanh(f[k]) * fast_sigmoid(g[k]);
    }
}

void cpu_gate_bwd(real *da, const real *a, const real *dy, int M, int p)
{
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) {
        const real *f = a + (size_t)m * 2 * p, *g = f + p, *d = dy + (size_t)m * p;
        real *df = da + (size_t)m * 2 * p, *dg = df + p;
        for (int k = 0; k < p; k++) {
            real t = fast_tanh(f[k]), s = fast_sigmoid(g[k]);
            df[k] = d[k] * (1 - t * t) * s;
            dg[k] = d[k] * t * s * (1 - s);
        }
    }
}
