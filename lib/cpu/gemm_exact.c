/* gemm_exact.c -- CPU backend: matrix products in one fixed order of float operations,
 * for coding (compress.c). An encoder and a decoder must compute the same logits to the
 * last bit, on any machine and any number of threads; OpenBLAS does not promise that (its
 * kernels and their order of summation depend on the CPU it finds, and may on the shape).
 *
 * The order: each C[m][n] is a dot product of row m of op(A) and column n of op(B) summed
 * into LANES partial sums (element k into sum k mod LANES, in order of k), which are then
 * added pairwise in a fixed tree. Vectorizing this keeps every lane's own sequence of
 * operations, so the x86-64-v4, v3 and baseline clones give the same bits, as long as no
 * multiply and add are fused into one rounding: the Makefile builds lib/cpu with
 * -ffp-contract=off. Threads split the rows of C, never a sum. */
#include <stdlib.h>

#include "cpu.h"

enum { LANES = 32 };

PCNN_VECTOR
static real dot_fixed(const real *a, const real *b, int K)
{
    real acc[LANES] = {0};
    int k = 0;
    for (; k + LANES <= K; k += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += a[k + l] * b[k + l];
    for (int l = 0; k + l < K; l++) acc[l] += a[k + l] * b[k + l];
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) acc[l] += acc[l + w];
    return acc[0];
}

/* op(X) as rows of K contiguous values: X itself, or a transposed copy in buf */
static const real *rows_of(const real *X, int ld, int trans, int rows, int K, real *buf)
{
    if (!trans) {
        if (ld == K) return X;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < K; k++) buf[(size_t)r * K + k] = X[(size_t)r * ld + k];
        return buf;
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < K; k++) buf[(size_t)r * K + k] = X[(size_t)k * ld + r];
    return buf;
}

void cpu_gemm_exact(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha,
                    const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    /* rows of op(A) (M of K) and columns of op(B) (N of K): op(B) is (K,N), so its
     * columns are the rows of B when tb, else of B's transpose */
    real *abuf = NULL, *bbuf = NULL;
    if (ta || lda != K) abuf = malloc((size_t)M * K * sizeof *abuf);
    if (!tb || ldb != K) bbuf = malloc((size_t)N * K * sizeof *bbuf);
    if (((ta || lda != K) && !abuf) || ((!tb || ldb != K) && !bbuf)) {
        pcnn_backend_fail(be, "out of memory for an exact product of %dx%dx%d", M, N, K);
        free(abuf), free(bbuf);
        return;
    }
    const real *a = rows_of(A, lda, ta, M, K, abuf);
    const real *b = rows_of(B, ldb, !tb, N, K, bbuf);
#pragma omp parallel for schedule(static) if ((size_t)M * N * K > 4 * PCNN_OMP_MIN)
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            real d = alpha * dot_fixed(a + (size_t)m * K, b + (size_t)n * K, K);
            real *c = C + (size_t)m * ldc + n;
            *c = beta == 0 ? d : d + beta * *c;
        }
    free(abuf), free(bbuf);
}
