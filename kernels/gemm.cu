// gemm.cu -- CUDA twin of lib/cpu/gemm.c: row-major products through cuBLAS.
// A row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the operands
// are passed swapped. Exact float32 by default; PCNN_TF32=1 in the environment allows
// TF32 tensor cores (an explicit choice: results then differ from the CPU's).
#include <cstring>

#include "cuda.h"

static cublasHandle_t handle(void)
{
    static cublasHandle_t h;
    if (!h) {
        CUBLAS_CHECK(cublasCreate(&h));
        const char *tf32 = getenv("PCNN_TF32");
        CUBLAS_CHECK(cublasSetMathMode(h, tf32 && !strcmp(tf32, "1") ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                     : CUBLAS_DEFAULT_MATH));
    }
    return h;
}

void cuda_gemm(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc)
{
    CUBLAS_CHECK(cublasSgemm(handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                             N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
}
