/* gate_rows.h -- one row of the gated unit y = tanh(f) * sigmoid(g) and its gradient,
 * shared by gate.c (multiplies and adds fused) and gate_exact.c (not), which build the
 * same source under the two settings (Makefile). */
#ifndef PCNN_GATE_ROWS_H
#define PCNN_GATE_ROWS_H
#include "fastmath.h"

/* A row runs as its whole blocks of GATE_BLOCK channels, then, where p is not a multiple,
 * one more block moved back to end at p, overlapping the one before (those outputs are
 * written twice, the same values): whole vectors only, where the remainder loop ran
 * p % 16 channels one at a time (p = 126 took as long as 256 would). Rows shorter than a
 * block take the plain loop. */
#define GATE_BLOCK 16

static inline void gate_block(real *restrict y, const real *restrict f, const real *restrict g, int n)
{
#pragma omp simd
    for (int k = 0; k < n; k++) {
        real t, s;
        tanh_sigmoid(f[k], g[k], &t, &s);
        y[k] = t * s;
    }
}

static inline void gate_row(real *restrict y, const real *restrict f, const real *restrict g, int p)
{
    const int whole = p - p % GATE_BLOCK, k = p - GATE_BLOCK;
    gate_block(y, f, g, p < GATE_BLOCK ? p : whole);
    if (whole < p && k >= 0) gate_block(y + k, f + k, g + k, GATE_BLOCK);
}

static inline void gate_block_bwd(real *restrict df, real *restrict dg, const real *restrict f,
                                  const real *restrict g, const real *restrict d, int n)
{
#pragma omp simd
    for (int k = 0; k < n; k++) {
        real t, s;
        tanh_sigmoid(f[k], g[k], &t, &s);
        df[k] = d[k] * (1 - t * t) * s;
        dg[k] = d[k] * t * s * (1 - s);
    }
}

static inline void gate_row_bwd(real *restrict df, real *restrict dg, const real *restrict f,
                                const real *restrict g, const real *restrict d, int p)
{
    const int whole = p - p % GATE_BLOCK, k = p - GATE_BLOCK;
    gate_block_bwd(df, dg, f, g, d, p < GATE_BLOCK ? p : whole);
    if (whole < p && k >= 0) gate_block_bwd(df + k, dg + k, f + k, g + k, d + k, GATE_BLOCK);
}

#endif
