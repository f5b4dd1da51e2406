/* gate.c -- CPU twin of kernels/gate.cu: the gated unit y = tanh(f) * sigmoid(g). */
#include "cpu.h"
#include "fastmath.h"

static inline void gate_row(real *restrict y, const real *restrict f, const real *restrict g, int p)
{
#pragma omp simd
    for (int k = 0; k < p; k++) {
        real t, s;
        tanh_sigmoid(f[k], g[k], &t, &s);
        y[k] = t * s;
    }
}

static inline void gate_row_bwd(real *restrict df, real *restrict dg, const real *restrict f,
                                const real *restrict g, const real *restrict d, int p)
{
#pragma omp simd
    for (int k = 0; k < p; k++) {
        real t, s;
        tanh_sigmoid(f[k], g[k], &t, &s);
        df[k] = d[k] * (1 - t * t) * s;
        dg[k] = d[k] * t * s * (1 - s);
    }
}

PCNN_VECTOR
void cpu_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) gate_row(y + (size_t)m * p, a + (size_t)m * 2 * p, a + (size_t)m * 2 * p + p, p);
}

PCNN_VECTOR
void cpu_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) {
        const real *f = a + (size_t)m * 2 * p;
        real *df = da + (size_t)m * 2 * p;
        gate_row_bwd(df, df + p, f, f + p, dy + (size_t)m * p, p);
    }
}
