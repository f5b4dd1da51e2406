/* gemm.c -- CPU backend: matrix products through OpenBLAS (threaded by OpenBLAS), or in a
 * fixed order for coding (gemm_exact.c). */
#include <cblas.h>

#include "cpu.h"

void cpu_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
              int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    if (be->exact) {
        cpu_gemm_exact(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cblas_rgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
