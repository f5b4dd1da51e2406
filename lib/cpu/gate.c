/* gate.c -- CPU twin of kernels/gate.cu: the gated unit y = tanh(f) * sigmoid(g), for
 * training and likelihoods. Built with multiplies and adds fused (Makefile): the gate's
 * exp polynomials are chains of them, and fused they took a quarter to a third off its
 * time on AVX-512 (tests/bench/README.md). Coding (be->exact) takes gate_exact.c's, the
 * same rows unfused, whose bits every CPU and clone reproduces. */
#include "cpu.h"
#include "gate_rows.h"

/* The passes for each vector width, AVX-512's apart from the others as the sampler's step
 * has them (pixel_step.h): PCNN_MAX_CPU_ISA=AVX2 (cpu_context.wide) then runs the AVX2
 * loops on an AVX-512 machine too, for `BENCH_ISA=AVX2 make bench` and the tests held to
 * AVX2 (tests/run.sh), where GCC's clones had picked AVX-512's by the CPU alone. The
 * OpenMP region's function takes its parent's target. */
#define GATE_PASSES(width, vector)                                                                  \
    vector static void gate_fwd_##width(real *y, const real *a, int M, int p)                       \
    {                                                                                               \
        _Pragma("omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)")              \
        for (int m = 0; m < M; m++)                                                                 \
            gate_row(y + (size_t)m * p, a + (size_t)m * 2 * p, a + (size_t)m * 2 * p + p, p);       \
    }                                                                                               \
    vector static void gate_bwd_##width(real *da, const real *a, const real *dy, int M, int p)      \
    {                                                                                               \
        _Pragma("omp parallel for schedule(static) if ((size_t)M * p > PCNN_OMP_MIN)")              \
        for (int m = 0; m < M; m++) {                                                               \
            const real *f = a + (size_t)m * 2 * p;                                                  \
            real *df = da + (size_t)m * 2 * p;                                                      \
            gate_row_bwd(df, df + p, f, f + p, dy + (size_t)m * p, p);                              \
        }                                                                                           \
    }

#ifdef PCNN_VECTOR_WIDE
GATE_PASSES(wide, PCNN_VECTOR_WIDE)
GATE_PASSES(narrow, PCNN_VECTOR_NARROW)
#define WIDE(be) CPU_CONTEXT(be)->wide
#else
GATE_PASSES(narrow, PCNN_VECTOR)
#define gate_fwd_wide gate_fwd_narrow
#define gate_bwd_wide gate_bwd_narrow
#define WIDE(be) ((void)(be), 0)
#endif

void cpu_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p)
{
    if (be->exact) cpu_gate_fwd_exact(y, a, M, p);
    else if (WIDE(be)) gate_fwd_wide(y, a, M, p);
    else gate_fwd_narrow(y, a, M, p);
}

void cpu_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p)
{
    if (WIDE(be)) gate_bwd_wide(da, a, dy, M, p);
    else gate_bwd_narrow(da, a, dy, M, p);
}
