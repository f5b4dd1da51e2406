/* gemm.c -- CPU backend: matrix products through oneDNN's or OpenBLAS's sgemm, whichever
 * is faster for the shape; or in a fixed order for coding (gemm_exact.c). */
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <strings.h>

#include "cpu.h"

/* A tall product -- every pixel's maps through one small matrix, forward (NN, NT) or the
 * weights' gradient (TN), contiguous -- goes on AVX-512 to oneDNN's 1x1 convolution
 * (cpu_conv_product in conv.c), on AVX2 to oneDNN's sgemm: held to AVX2 on an Intel Xeon,
 * with the operands out of cache as in a training step, the sgemm ran 0.96-1.30x the 1x1
 * kernels over 24 pairs of the stacks' shapes and modes (median 1.06), ahead most where
 * they add to C or make a weights' gradient (tests/bench/README.md). Otherwise oneDNN's
 * sgemm (JIT kernels, no packing of a whole operand per call) takes products of few rows
 * -- the cached sampler's, a row per image per pixel, where OpenBLAS packs all of B for a
 * handful of dot products -- and products whose two short sides are small (p = 64's maps
 * against their weights); OpenBLAS the others (measured on a 2-core AMD EPYC with AVX2,
 * tests/bench/README.md). Few rows against a long transposed B -- the small nets' dense
 * layers at a small batch -- go to our own dot products (gemm_rows.c), 1.2-1.4x oneDNN's
 * sgemm on the AVX2 EPYC. (The cached sampler's vertical row gives B untransposed, to
 * oneDNN's sgemm, which ran that 1.5-2.4x faster than either took the transposed one:
 * sample.c.) */
#ifndef PCNN_DOUBLE /* oneDNN has no dgemm: the gradient check's build takes OpenBLAS's */
static int rows_shape(int ta, int tb, long M, long K)
{
    return !ta && tb && M <= 64 && K >= 512; /* at K = 252 the two were even */
}

/* 1 when OpenBLAS runs a kernel of its own for this CPU's vector width: one that knows no
 * newer CPU (OpenBLAS 0.3.21 on an Intel family 6 model 207 Xeon) falls back to its
 * generic SSE3 one ("Prescott"), 33 GFLOP/s where oneDNN's sgemm ran 162 (`make bench`'s
 * gemm line). Where it did, oneDNN's sgemm takes every product. */
static int blas_fits_cpu(void)
{
    static int known = -1; /* the answer, once a thread has found it (they all find the same) */
    int fits = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (fits < 0) {
        static const char *avx2_cores[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
        const char *core = openblas_get_corename();
        fits = !__builtin_cpu_supports("avx2");
        for (size_t i = 0; core && i < sizeof avx2_cores / sizeof *avx2_cores; i++)
            fits |= !strcasecmp(core, avx2_cores[i]);
        __atomic_store_n(&known, fits, __ATOMIC_RELAXED);
    }
    return fits;
}

/* On AVX-512 oneDNN's sgemm also takes a few hundred rows -- the cached sampler's at
 * batch 16 -- where it ran 1.3-1.6x OpenBLAS's (a 2-core Xeon, tests/bench/README.md) */
static int onednn_shape(long M, long N, long K)
{
    const long longest = M > N ? (M > K ? M : K) : (N > K ? N : K);
    const long rows = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? 1024 : 64;
    return M <= rows || M * N * K / longest <= 128 * 128;
}

/* Chosen, not measured at the edges: the products measured were 32768 and 50176 rows
 * (the bench's batches) against 64 to 768 maps; the sampler's rows at batch 16 (512 or
 * so) stay with sgemm. */
enum { TALL_ROWS = 8192, TALL_MAPS = 1024 };
static int tall(int ta, int tb, int M, int N, int K, real alpha, int lda, int ldb, int ldc, real beta)
{
    const int rows = ta ? K : M, maps = ta ? M : K; /* the long side; N is the other short one */
    return alpha == 1 && (beta == 0 || beta == 1) && !(ta && tb) && rows >= TALL_ROWS && maps <= TALL_MAPS &&
           N <= TALL_MAPS && lda == (ta ? M : K) && ldb == (tb ? K : N) && ldc == N;
}
#endif

void cpu_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
              int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    if (be->exact) {
        cpu_gemm_exact(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifndef PCNN_DOUBLE
    /* the tall path's plans are the instance's, not to be made by two threads at once
     * (cpu_threads: a thread of the cached sampler's may call this), unless the instance
     * is one thread's */
    const int tall_shape = M && N && K && tall(ta, tb, M, N, K, alpha, lda, ldb, ldc, beta);
    const int wide = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    if (tall_shape && wide && (be->one_thread || !omp_in_parallel()) &&
        cpu_conv_product(be, ta, tb, M, N, K, A, B, beta, C))
        return;
    if (M && N && K && rows_shape(ta, tb, M, K)) {
        cpu_gemm_rows(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (M && N && K && ((tall_shape && !wide) || onednn_shape(M, N, K) || !blas_fits_cpu())) {
        dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                      beta, C, ldc);
        if (st != dnnl_success) pcnn_backend_fail(be, "dnnl_sgemm %dx%dx%d: status %d", M, N, K, (int)st);
        return;
    }
#endif
    cblas_rgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
