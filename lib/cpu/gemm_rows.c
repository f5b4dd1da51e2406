/* gemm_rows.c -- CPU backend: C = alpha A B^T + beta C for a few rows of A (M <= 64) against
 * a long B^T (K in the hundreds or more): the small nets' dense layers at a small batch
 * (lib/convnet.c). It took the cached sampler's vertical row until that gave its weights
 * untransposed, to oneDNN's sgemm (lib/sample.c).
 *
 * Both operands are read along k as they lie (A's rows, B's rows are C's columns), so
 * nothing is packed: at so few rows a product reads each weight once, and a packed copy
 * would cost as much as the product. A 4 x 3 tile of C keeps its 12 sums as vectors over
 * k (lanes: eight neighbouring k) and adds the lanes at the end. Threads take whole tiles
 * of columns. Not the coding order (gemm_exact.c): this file is built with multiplies and
 * adds fused (Makefile). Measured beside oneDNN's sgemm, which took these products before,
 * in tests/bench/README.md. */
#include <omp.h>

#include "cpu.h"

enum { LANES = 8, ROWS = 4, COLS = 3 };
typedef real lanes __attribute__((vector_size(LANES * sizeof(real))));
typedef real lanes_at __attribute__((vector_size(LANES * sizeof(real)), aligned(sizeof(real)), may_alias));
#define AT(ptr) (*(const lanes_at *)(ptr))

/* C's columns [n0, n1), every row */
PCNN_VECTOR
static void dots(int M, int n0, int n1, int K, real alpha, const real *A, int lda, const real *B, int ldb,
                 real beta, real *C, int ldc)
{
    const int KV = K / LANES * LANES;
    for (int n = n0; n < n1; n += COLS) {
        const int cols = n1 - n < COLS ? n1 - n : COLS;
        const real *b[COLS]; /* past the last column: the last again, its sums unused */
        for (int c = 0; c < COLS; c++) b[c] = B + (size_t)(n + (c < cols ? c : cols - 1)) * ldb;
        for (int m = 0; m < M; m += ROWS) {
            const int rows = M - m < ROWS ? M - m : ROWS;
            const real *a[ROWS];
            for (int r = 0; r < ROWS; r++) a[r] = A + (size_t)(m + (r < rows ? r : rows - 1)) * lda;
            lanes s00 = {0}, s01 = {0}, s02 = {0}, s10 = {0}, s11 = {0}, s12 = {0};
            lanes s20 = {0}, s21 = {0}, s22 = {0}, s30 = {0}, s31 = {0}, s32 = {0};
            for (int k = 0; k < KV; k += LANES) {
                const lanes x0 = AT(a[0] + k), x1 = AT(a[1] + k), x2 = AT(a[2] + k), x3 = AT(a[3] + k);
                lanes w = AT(b[0] + k);
                s00 += x0 * w, s10 += x1 * w, s20 += x2 * w, s30 += x3 * w;
                w = AT(b[1] + k);
                s01 += x0 * w, s11 += x1 * w, s21 += x2 * w, s31 += x3 * w;
                w = AT(b[2] + k);
                s02 += x0 * w, s12 += x1 * w, s22 += x2 * w, s32 += x3 * w;
            }
            const lanes s[ROWS][COLS] = {{s00, s01, s02}, {s10, s11, s12}, {s20, s21, s22}, {s30, s31, s32}};
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    real d = 0;
                    for (int l = 0; l < LANES; l++) d += s[r][c][l];
                    for (int k = KV; k < K; k++) d += a[r][k] * b[c][k];
                    real *y = C + (size_t)(m + r) * ldc + n + c;
                    *y = beta == 0 ? alpha * d : alpha * d + beta * *y;
                }
        }
    }
}

/* C (M, ldc) = alpha A (M, lda) B (N, ldb)^T + beta C, over the first K of each row of A and B */
void cpu_gemm_rows(int M, int N, int K, real alpha, const real *A, int lda, const real *B, int ldb, real beta,
                   real *C, int ldc)
{
    const int tiles = (N + COLS - 1) / COLS;
    const int threads = (size_t)M * N * K > 4 * PCNN_OMP_MIN ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
        const int n0 = tiles * t / T * COLS, n1 = tiles * (t + 1) / T * COLS;
        if (n0 < N) dots(M, n0, n1 < N ? n1 : N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    }
}
