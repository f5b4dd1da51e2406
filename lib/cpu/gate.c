/* gate.c -- CPU twin of kernels/gate.cu: the gated unit y = tanh(f) * sigmoid(g), for
 * training and likelihoods. Built with multiplies and adds fused (Makefile): the gate's
 * exp polynomials are chains of them, and fused they took a quarter to a third off its
 * time on AVX-512 (tests/bench/README.md). Coding (be->exact) takes gate_exact.c's, the
 * same rows unfused, whose bits every CPU and clone reproduces. */
#include "cpu.h"
#include "gate_rows.h"

PCNN_VECTOR
void cpu_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p)
{
    if (be->exact) {
        cpu_gate_fwd_exact(y, a, M, p);
        return;
    }
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
