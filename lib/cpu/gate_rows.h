/* gate_rows.h -- one row of the gated unit y = tanh(f) * sigmoid(g) and its gradient,
 * shared by gate.c (multiplies and adds fused) and gate_exact.c (not), which build the
 * same source under the two settings (Makefile). */
#ifndef PCNN_GATE_ROWS_H
#define PCNN_GATE_ROWS_H
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

#endif
