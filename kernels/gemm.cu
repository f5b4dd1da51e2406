// gemm.cu -- CUDA twin of lib/cpu/gemm.c: row-major products through cuBLAS.
// A row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the operands
// are passed swapped. Exact float32 by default; PCNN_TF32=1 in the environment allows
// TF32 tensor cores (an explicit choice: results then differ from the CPU's).
#include <cstdlib>
#include <cstring>

#include "cuda.h"

int cuda_blas_open(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    const char *tf32 = getenv("PCNN_TF32");
    if (!CUBLAS_OK(be, cublasCreate(&c->blas))) return -1;
    if (!CUBLAS_OK(be, cublasSetMathMode(c->blas, tf32 && !strcmp(tf32, "1") ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                               : CUBLAS_DEFAULT_MATH)))
        return -1;
    return 0;
}

void cuda_blas_close(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    if (c->blas) cublasDestroy(c->blas);
}

void cuda_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
               int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    CUBLAS_CHECK(be, cublasSgemm(ctx_of(be)->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}
