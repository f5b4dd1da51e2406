/* gate_exact.c -- the gate's forward pass for coding (be->exact, compress.c): gate.c's
 * rows built with no multiply and add fused (the Makefile's default), so that the
 * x86-64-v4, v3 and baseline clones give the same bits. */
#include "cpu.h"
#include "gate_rows.h"

PCNN_VECTOR
void cpu_gate_fwd_exact(real *y, const real *a, int M, int p)
{
#pragma omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)
    for (int m = 0; m < M; m++) gate_row(y + (size_t)m * p, a + (size_t)m * 2 * p, a + (size_t)m * 2 * p + p, p);
}
