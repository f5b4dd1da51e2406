/* conv_taps.c -- the horizontal stack's convolution forward on AVX2: a 1×kw window over
 * columns j-kw+1..j of NHWC maps, whose kw taps lie side by side in memory, so the row
 * of the window's matrix for pixel j is the run of kw·cin values from pixel j-kw+1 on (a
 * row copied behind kw-1 zero pixels gives the first ones theirs): a GEMM without an
 * im2col matrix, by a 6-pixel × 16-map kernel of our own. oneDNN 2.6's AVX2 kernel on
 * NHWC runs maps that are not whole vectors of 8 at half its speed (the CIFAR-like
 * model's 126: 49-58 GFLOP/s a core on an AMD Zen 4, where this runs 86-92; at 64 maps the
 * two are even, so conv.c takes this where oneDNN has such a tail; tests/bench/README.md).
 * The same multiplies and adds as a GEMM over the window, in another order. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(PCNN_DOUBLE) && !defined(PCNN_BASELINE)
#include <immintrin.h>

enum { ROWS = 6, COLS = 16 }; /* the kernel's block: pixels × maps, 12 of the 16 registers */

/* out[r*ldo + q] = (out[r*ldo + q] with add) + bias[q] + Σ_k a[r*lda + k] · b[k*16 + q],
 * r < ROWS, q < n (no bias: NULL) */
__attribute__((target("avx2,fma"))) static void block(real *out, int ldo, const real *a, int lda,
                                                       const real *b, int K, int n, const real *bias, int add)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const real *a0 = a, *a1 = a + lda, *a2 = a1 + lda, *a3 = a2 + lda, *a4 = a3 + lda, *a5 = a4 + lda;
    /* named accumulators: in an array GCC kept them in memory */
    for (int k = 0; k < K; k++) {
        const __m256 b0 = _mm256_load_ps(b + k * COLS), b1 = _mm256_load_ps(b + k * COLS + 8);
        __m256 v = _mm256_broadcast_ss(a0 + k);
        c00 = _mm256_fmadd_ps(v, b0, c00), c01 = _mm256_fmadd_ps(v, b1, c01);
        v = _mm256_broadcast_ss(a1 + k);
        c10 = _mm256_fmadd_ps(v, b0, c10), c11 = _mm256_fmadd_ps(v, b1, c11);
        v = _mm256_broadcast_ss(a2 + k);
        c20 = _mm256_fmadd_ps(v, b0, c20), c21 = _mm256_fmadd_ps(v, b1, c21);
        v = _mm256_broadcast_ss(a3 + k);
        c30 = _mm256_fmadd_ps(v, b0, c30), c31 = _mm256_fmadd_ps(v, b1, c31);
        v = _mm256_broadcast_ss(a4 + k);
        c40 = _mm256_fmadd_ps(v, b0, c40), c41 = _mm256_fmadd_ps(v, b1, c41);
        v = _mm256_broadcast_ss(a5 + k);
        c50 = _mm256_fmadd_ps(v, b0, c50), c51 = _mm256_fmadd_ps(v, b1, c51);
    }
    real t[ROWS * COLS] __attribute__((aligned(32)));
    _mm256_store_ps(t, c00), _mm256_store_ps(t + 8, c01), _mm256_store_ps(t + 16, c10);
    _mm256_store_ps(t + 24, c11), _mm256_store_ps(t + 32, c20), _mm256_store_ps(t + 40, c21);
    _mm256_store_ps(t + 48, c30), _mm256_store_ps(t + 56, c31), _mm256_store_ps(t + 64, c40);
    _mm256_store_ps(t + 72, c41), _mm256_store_ps(t + 80, c50), _mm256_store_ps(t + 88, c51);
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < n; q++)
            out[(size_t)r * ldo + q] = (add ? out[(size_t)r * ldo + q] : 0) + (bias ? bias[q] : 0) + t[r * COLS + q];
}

int cpu_conv_taps_takes(pcnn_backend *be, const pcnn_conv *g)
{
    return !CPU_CONTEXT(be)->wide && g->kh == 1 && g->kw > 1 && g->oy == 0 && g->ox == 1 - g->kw &&
           (g->cin % 8 || g->cout % 8) && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* the weights (cout, cin, 1, kw) as panels of 16 maps: wp[panel][tap·cin + c][16], the
 * maps past cout zero */
static void pack(real *wp, const real *w, const pcnn_conv *g)
{
    const int K = g->cin * g->kw, panels = (g->cout + COLS - 1) / COLS;
    memset(wp, 0, (size_t)panels * K * COLS * sizeof *wp);
    for (int o = 0; o < g->cout; o++)
        for (int c = 0; c < g->cin; c++)
            for (int t = 0; t < g->kw; t++)
                wp[((size_t)(o / COLS) * K + (size_t)t * g->cin + c) * COLS + o % COLS] = w[((size_t)o * g->cin + c) * g->kw + t];
}

void cpu_conv_taps(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias, const pcnn_conv *g,
                   int add)
{
    const int W = g->W, cin = g->cin, cout = g->cout, kw = g->kw, K = cin * kw;
    const int panels = (cout + COLS - 1) / COLS, rows = g->B * g->H;
    real *wp = aligned_alloc(32, (size_t)panels * K * COLS * sizeof *wp);
    if (!wp) {
        pcnn_backend_fail(be, "out of memory for a convolution's weights");
        return;
    }
    pack(wp, w, g);
    int failed = 0;
#pragma omp parallel if ((size_t)rows * W * cout * K > PCNN_OMP_MIN * 64) reduction(| : failed)
    {
        /* a row behind kw-1 zero pixels, and ROWS past its end for the last block's reads */
        real *xp = calloc((size_t)(W + kw - 1 + ROWS) * cin, sizeof *xp);
        failed = !xp;
#pragma omp for schedule(static)
        for (int r = 0; r < rows; r++) {
            if (!xp) continue;
            memcpy(xp + (size_t)(kw - 1) * cin, x + (size_t)r * W * cin, (size_t)W * cin * sizeof *xp);
            real *yr = y + (size_t)r * W * cout, last[ROWS * COLS];
            for (int pn = 0; pn < panels; pn++) {
                const int n = cout - pn * COLS < COLS ? cout - pn * COLS : COLS;
                const real *b = wp + (size_t)pn * K * COLS, *bb = bias ? bias + pn * COLS : NULL;
                int j = 0;
                for (; j + ROWS <= W; j += ROWS)
                    block(yr + (size_t)j * cout + pn * COLS, cout, xp + (size_t)j * cin, cin, b, K, n, bb, add);
                if (j < W) { /* the last pixels, through a block of their own */
                    memset(last, 0, sizeof last);
                    for (int i = j; i < W; i++)
                        memcpy(last + (i - j) * COLS, yr + (size_t)i * cout + pn * COLS, n * sizeof *last);
                    block(last, COLS, xp + (size_t)j * cin, cin, b, K, n, bb, add);
                    for (int i = j; i < W; i++)
                        memcpy(yr + (size_t)i * cout + pn * COLS, last + (i - j) * COLS, n * sizeof *last);
                }
            }
        }
        free(xp);
    }
    free(wp);
    if (failed) pcnn_backend_fail(be, "out of memory for a convolution's rows");
}
#else
int cpu_conv_taps_takes(pcnn_backend *be, const pcnn_conv *g)
{
    (void)be, (void)g;
    return 0;
}
void cpu_conv_taps(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias, const pcnn_conv *g,
                   int add)
{
    (void)y, (void)x, (void)w, (void)bias, (void)g, (void)add;
    pcnn_backend_fail(be, "this build has no AVX2 kernel for the horizontal window");
}
#endif
