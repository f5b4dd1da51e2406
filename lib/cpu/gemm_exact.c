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
 * Threads split C into blocks of columns and rows, each computed whole by one thread.
 * op(B) is copied 16 columns at a time into a contiguous panel that stays in cache while
 * the block's rows run over it. */
#include <omp.h>
#include <stdlib.h>

#include "cpu.h"

enum { ROWS = 4, LANES = 8, COLS = 2 * LANES, CHUNK = 64 }; /* C in blocks of ROWS x COLS */
typedef real lanes __attribute__((vector_size(LANES * sizeof(real))));
typedef real lanes_at __attribute__((vector_size(LANES * sizeof(real)), aligned(sizeof(real)), may_alias));
#define AT(ptr) (*(lanes_at *)(ptr))
#define SPLAT(x) ((lanes){x, x, x, x, x, x, x, x})

/* C[m][n0..n0+COLS) for rows m0..m1 from panel (K, COLS): op(B)'s columns n0.. copied
 * contiguous, zeros past N. Four rows at a time keep their 4 x COLS sums in registers while
 * k runs, the lanes holding columns, so no sum is split; a last row or three one at a time. */
PCNN_VECTOR
static void block_fixed(real *C, int ldc, int m0, int m1, int n0, int N, const real *a, int lda, const real *panel,
                        int K, real alpha, real beta)
{
    for (int m = m0; m < m1;) {
        const int rows = m1 - m < ROWS ? 1 : ROWS;
        lanes acc[ROWS][2] = {{{0}}};
        const real *a0 = a + (size_t)m * lda;
        if (rows == ROWS) {
            const real *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            lanes c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
            for (int k = 0; k < K; k++) {
                const lanes b0 = AT(panel + (size_t)k * COLS), b1 = AT(panel + (size_t)k * COLS + LANES);
                const lanes x0 = SPLAT(a0[k]), x1 = SPLAT(a1[k]), x2 = SPLAT(a2[k]), x3 = SPLAT(a3[k]);
                c00 += x0 * b0, c01 += x0 * b1, c10 += x1 * b0, c11 += x1 * b1;
                c20 += x2 * b0, c21 += x2 * b1, c30 += x3 * b0, c31 += x3 * b1;
            }
            acc[0][0] = c00, acc[0][1] = c01, acc[1][0] = c10, acc[1][1] = c11;
            acc[2][0] = c20, acc[2][1] = c21, acc[3][0] = c30, acc[3][1] = c31;
        } else {
            lanes c00 = {0}, c01 = {0};
            for (int k = 0; k < K; k++) {
                const lanes x0 = SPLAT(a0[k]);
                c00 += x0 * AT(panel + (size_t)k * COLS), c01 += x0 * AT(panel + (size_t)k * COLS + LANES);
            }
            acc[0][0] = c00, acc[0][1] = c01;
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < COLS && n0 + c < N; c++) {
                real *y = C + (size_t)(m + r) * ldc + n0 + c;
                const real d = alpha * acc[r][c / LANES][c % LANES];
                *y = beta == 0 ? d : d + beta * *y;
            }
        m += rows;
    }
}

void cpu_gemm_exact(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha,
                    const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc)
{
    /* op(A) as rows of K: A itself, or a transposed copy */
    real *abuf = ta ? malloc((size_t)M * K * sizeof *abuf) : NULL;
    const int nblocks = (N + COLS - 1) / COLS, chunks = (M + CHUNK - 1) / CHUNK, items = nblocks * chunks;
    const int threads = (size_t)M * N * K > 4 * PCNN_OMP_MIN ? omp_get_max_threads() : 1;
    real *panels = malloc((size_t)threads * K * COLS * sizeof *panels);
    if ((ta && !abuf) || !panels) {
        pcnn_backend_fail(be, "out of memory for an exact product of %dx%dx%d", M, N, K);
        free(abuf), free(panels);
        return;
    }
    for (int m = 0; ta && m < M; m++)
        for (int k = 0; k < K; k++) abuf[(size_t)m * K + k] = A[(size_t)k * lda + m];
    const real *a = ta ? abuf : A;
    const int ld = ta ? K : lda;
    /* each item: COLS columns of op(B) packed, then CHUNK rows of C against them; items
     * go to threads whole, so a sum never leaves its thread */
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int it = 0; it < items; it++) {
        const int n0 = it / chunks * COLS, m0 = it % chunks * CHUNK, m1 = M - m0 < CHUNK ? M : m0 + CHUNK;
        real *panel = panels + (size_t)omp_get_thread_num() * K * COLS;
        for (int c = 0; c < COLS; c++) {
            const int n = n0 + c;
            if (n >= N)
                for (int k = 0; k < K; k++) panel[(size_t)k * COLS + c] = 0;
            else if (tb) /* column n of op(B) is row n of B */
                for (int k = 0; k < K; k++) panel[(size_t)k * COLS + c] = B[(size_t)n * ldb + k];
            else
                for (int k = 0; k < K; k++) panel[(size_t)k * COLS + c] = B[(size_t)k * ldb + n];
        }
        block_fixed(C, ldc, m0, m1, n0, N, a, ld, panel, K, alpha, beta);
    }
    free(abuf), free(panels);
}
