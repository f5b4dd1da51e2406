/* gemm_exact.c -- CPU backend: matrix products in one fixed order of float operations,
 * for coding (compress.c). An encoder and a decoder must compute the same logits to the
 * last bit, on any machine and any number of threads; OpenBLAS does not promise that (its
 * kernels and their order of summation depend on the CPU it finds, and may on the shape).
 *
 * The order: C[m][n] = alpha * (((0 + a[m][0] b[0][n]) + a[m][1] b[1][n]) + ...), the
 * products added one after another in the order of k, then beta * C added. The loops run
 * over n innermost, so that vectors hold neighbouring columns and never split a sum:
 * the x86-64-v4, v3 and baseline clones give the same bits, as long as no multiply and add
 * are fused into one rounding (the Makefile builds lib/cpu with -ffp-contract=off).
 * Threads split the rows of C. */
#include <stdlib.h>

#include "cpu.h"

enum { ROWS = 4 }; /* rows of C at a time: each row of op(B) loaded once for four */

PCNN_VECTOR
static void rows_fixed(real *acc, const real *a, int lda_k, int nrows, const real *bt, int N, int K)
{
    for (size_t i = 0; i < (size_t)nrows * N; i++) acc[i] = 0;
    for (int k = 0; k < K; k++) {
        const real *b = bt + (size_t)k * N;
        if (nrows == ROWS) {
            const real a0 = a[k], a1 = a[lda_k + k], a2 = a[2 * lda_k + k], a3 = a[3 * lda_k + k];
            real *c0 = acc, *c1 = acc + N, *c2 = acc + 2 * N, *c3 = acc + 3 * N;
            for (int n = 0; n < N; n++) {
                const real bn = b[n];
                c0[n] += a0 * bn, c1[n] += a1 * bn, c2[n] += a2 * bn, c3[n] += a3 * bn;
            }
        } else {
            for (int r = 0; r < nrows; r++) {
                const real ar = a[(size_t)r * lda_k + k];
                real *c = acc + (size_t)r * N;
                for (int n = 0; n < N; n++) c[n] += ar * b[n];
            }
        }
    }
}

void cpu_gemm_exact(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha,
                    const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    /* op(A) as rows of K (A itself, or a transposed copy), op(B) as (K,N) rows */
    real *abuf = ta ? malloc((size_t)M * K * sizeof *abuf) : NULL;
    real *bt = malloc((size_t)K * N * sizeof *bt);
    const int nblocks = (M + ROWS - 1) / ROWS;
    real *acc = malloc((size_t)nblocks * ROWS * N * sizeof *acc);
    if ((ta && !abuf) || !bt || !acc) {
        pcnn_backend_fail(be, "out of memory for an exact product of %dx%dx%d", M, N, K);
        free(abuf), free(bt), free(acc);
        return;
    }
    for (int m = 0; ta && m < M; m++)
        for (int k = 0; k < K; k++) abuf[(size_t)m * K + k] = A[(size_t)k * lda + m];
    for (int k = 0; k < K; k++)
        for (int n = 0; n < N; n++) bt[(size_t)k * N + n] = tb ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
    const real *a = ta ? abuf : A;
    const int ld = ta ? K : lda;
#pragma omp parallel for schedule(static) if ((size_t)M * N * K > 4 * PCNN_OMP_MIN)
    for (int blk = 0; blk < nblocks; blk++) {
        const int m0 = blk * ROWS, nrows = M - m0 < ROWS ? M - m0 : ROWS;
        real *c = acc + (size_t)m0 * N;
        rows_fixed(c, a + (size_t)m0 * ld, ld, nrows, bt, N, K);
        for (int r = 0; r < nrows; r++)
            for (int n = 0; n < N; n++) {
                real *y = C + (size_t)(m0 + r) * ldc + n;
                const real d = alpha * c[(size_t)r * N + n];
                *y = beta == 0 ? d : d + beta * *y;
            }
    }
    free(abuf), free(bt), free(acc);
}
