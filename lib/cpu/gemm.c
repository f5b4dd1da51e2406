/* gemm.c -- CPU backend: matrix products through OpenBLAS (threaded by OpenBLAS). */
#include <cblas.h>

#include "cpu.h"

void cpu_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
              int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    (void)be;
    cblas_rgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
