/* gemm.c -- CPU backend: matrix products through OpenBLAS (threaded by OpenBLAS); of a few
 * rows by dot products; or in a fixed order for coding (gemm_exact.c). */
#include <cblas.h>

#include "cpu.h"

enum { FEW_ROWS = 4, LANES = 16 };

/* C = alpha A B^T + beta C for M <= FEW_ROWS (the cached sampler's products at a small
 * batch: a row per image per pixel). OpenBLAS packs all of B on every call, which costs
 * more than such a product itself; here each row of B is read once, from where it lies,
 * for the M dot products that need it. */
PCNN_VECTOR
static void gemm_few_rows(int M, int N, int K, real alpha, const real *A, int lda, const real *B, int ldb,
                          real beta, real *C, int ldc)
{
    for (int n = 0; n < N; n++) {
        const real *b = B + (size_t)n * ldb;
        for (int m = 0; m < M; m++) {
            const real *a = A + (size_t)m * lda;
            real acc[LANES] = {0}, s = 0;
            int k = 0;
            for (; k + LANES <= K; k += LANES)
                for (int l = 0; l < LANES; l++) acc[l] += a[k + l] * b[k + l];
            for (; k < K; k++) s += a[k] * b[k];
            for (int l = 0; l < LANES; l++) s += acc[l];
            real *c = C + (size_t)m * ldc + n;
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
    }
}

void cpu_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
              int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    if (be->exact) {
        cpu_gemm_exact(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (!ta && tb && M <= FEW_ROWS) {
        gemm_few_rows(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_rgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
