/* gate.c -- CPU twin of kernels/gate.cu: the gated unit y = tanh(f) * sigmoid(g).
 * The loops over one row are `omp simd` with restrict pointers: left to itself the
 * compiler versions them on a run-time alias check that it then fails to take, and the
 * gate runs one float at a time (it was 16% of a training step). */
#include "cpu.h"
#include "fastmath.h"

static inline void gate_row(real *restrict y, const real *restrict f, const real *restrict g, int p)
{
#pragma omp simd
    for (int k = 0; k < p; k++) y[k] = fast_tanh(f[k]) * fast_sigmoid(g[k]);
}

static inline void gate_row_bwd(real *restrict df, real *restrict dg, const real *restrict f,
                                const real *restrict g, const real *restrict d, int p)
{
#pragma omp simd
    for (int k = 0; k < p; k++) {
        real t = fast_tanh(f[k]), s = fast_sigmoid(g[k]);
        df[k] = d[k] * (1 - t * t) * s;
        dg[k] = d[k] * t * s * (1 - s);
    }
}

PCNN_VECTOR
void cpu_gate_fwd(real *y, const real *a, int M, int p)
{
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) gate_row(y + (size_t)m * p, a + (size_t)m * 2 * p, a + (size_t)m * 2 * p + p, p);
}

PCNN_VECTOR
void cpu_gate_bwd(real *da, const real *a, const real *dy, int M, int p)
{
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) {
        const real *f = a + (size_t)m * 2 * p;
        real *df = da + (size_t)m * 2 * p;
        gate_row_bwd(df, df + p, f, f + p, dy + (size_t)m * p, p);
    }
}
