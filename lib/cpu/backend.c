/* backend.c -- the CPU backend's table, the reference every other backend is compared to,
 * and its instances. */
#include <omp.h>
#include <stdlib.h>
#include <strings.h>

#include "cpu.h"

/* one OpenMP region: under the programs' passive waiting (cmd/cli.c) each region wakes
 * the sleeping threads, and the cached sampler's vertical rows made some hundred a row;
 * its threads meet at a barrier that spins a while (barrier.h), not OpenMP's, which
 * under passive waiting sleeps */
static void cpu_threads(pcnn_backend *be, void (*fn)(void *arg, int t, int T), void *arg)
{
    (void)be;
    if (omp_in_parallel() || omp_get_max_threads() == 1) {
        fn(arg, 0, 1);
        return;
    }
#pragma omp parallel
    {
        omp_set_num_threads(1); /* this thread's: the operations within, our loops and the
                                   libraries' products, plan for one thread */
        fn(arg, omp_get_thread_num(), omp_get_num_threads());
    }
}

static void cpu_meet(pcnn_backend *be) { meet(&CPU_CONTEXT(be)->threads_bar, omp_get_num_threads()); }

static void cpu_close(pcnn_backend *be)
{
    if (!be->ctx) return;
    cpu_pixel_close(be);
    cpu_conv_close(be);
    free(be->ctx);
    be->ctx = NULL;
}
static void cpu_synchronize(pcnn_backend *be) { (void)be; } /* every call has finished on return */

static const pcnn_backend_ops cpu = {
    .name = "cpu",
    .close = cpu_close, .synchronize = cpu_synchronize,
    .alloc = cpu_alloc, .release = cpu_release,
    .to_device = cpu_copy, .to_host = cpu_copy, .zero = cpu_zero,
    .gemm = cpu_gemm,
    .im2col = cpu_im2col, .col2im = cpu_col2im, .im2col_pixels = cpu_im2col_pixels,
    .im2col_strided = cpu_im2col_strided, .col2im_strided = cpu_col2im_strided,
    .conv_fwd = cpu_conv_fwd, .conv_bwd = cpu_conv_bwd,
    .add_rows = cpu_add_rows, .sum_rows = cpu_sum_rows,
    .gate_fwd = cpu_gate_fwd, .gate_bwd = cpu_gate_bwd,
    .relu_fwd = cpu_relu_fwd, .relu_bwd = cpu_relu_bwd,
    .copy_rows = cpu_copy_rows, .add = cpu_add, .mul = cpu_mul, .sumsq = cpu_sumsq,
    .levels_to_input = cpu_levels_to_input,
    .softmax_xent = cpu_softmax_xent,
    .adam = cpu_adam, .average = cpu_average, .dropout = cpu_dropout,
    .sample = cpu_sample,
    .place = cpu_place,
    .pixel_step = cpu_pixel_step, .threads = cpu_threads, .meet = cpu_meet,
};

/* Whether the sampler's step and the gate may use AVX-512: the CPU has it (x86-64-v4), and
 * PCNN_MAX_CPU_ISA, like oneDNN's ONEDNN_MAX_CPU_ISA, does not say AVX2 (so that the AVX2
 * code runs and is tested and timed on an AVX-512 machine too). */
static int wide_vectors(void)
{
    const char *cap = getenv("PCNN_MAX_CPU_ISA");
    if (cap && !strcasecmp(cap, "AVX2")) return 0;
#ifdef PCNN_VECTOR_WIDE /* a build with an AVX-512 step (cpu.h) */
    return __builtin_cpu_supports("x86-64-v4");
#else
    return 0;
#endif
}

int pcnn_backend_cpu_init(pcnn_backend *be)
{
    be->op = &cpu;
    if (!(be->ctx = calloc(1, sizeof(cpu_context)))) {
        pcnn_backend_fail(be, "out of memory for the CPU backend");
        return -1;
    }
    CPU_CONTEXT(be)->wide = wide_vectors();
    if (cpu_conv_open(be)) {
        free(be->ctx);
        be->ctx = NULL;
        return -1;
    }
    return 0;
}
