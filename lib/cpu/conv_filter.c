/* conv_filter.c -- the backward filter of a window (more than one tap): dw += dy^T x as
 * sgemms over chunks of a few image rows, each chunk's windows laid out as rows by im2col
 * (a window row's taps one run of the NHWC input), with a column of ones whose product is
 * the bias's gradient. Taken on AVX2, and on AVX-512 where the maps are not whole vectors
 * of 16: oneDNN 2.6's AVX2 backward-weights kernel ran the CIFAR-sized model's vertical
 * window (126 -> 252 maps, 3x5) at 88 GFLOP/s a core, the sgemms with their im2col at
 * 102-105; training steps of that model ran 4.8-5.4% faster held to AVX2, 1.3-1.5% on
 * AVX-512, and the Fashion model's (64 and 128 maps) +0.4-0.9% held to AVX2, -0.7% on
 * AVX-512, where oneDNN keeps it (tests/bench/README.md). conv.c also brings here the
 * shapes oneDNN declines (a window padded less than nothing on a side). A chunk's matrix (256 pixels,
 * 1.9 MB at the vertical window of 126 maps) stays in L2; whole images' took twice as
 * long to lay out. */
#ifndef PCNN_DOUBLE
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#include "cpu.h"

enum { CHUNK_PIXELS = 256 };

int cpu_conv_filter_takes(pcnn_backend *be, const pcnn_conv *g)
{
    (void)be;
    return g->kh * g->kw > 1 &&
           (dnnl_get_effective_cpu_isa() < dnnl_cpu_isa_avx512_core || g->cin % 16 || g->cout % 16);
}

/* image rows a chunk, at least 1 */
static int chunk_rows(const pcnn_conv *g)
{
    return g->W >= CHUNK_PIXELS ? 1 : CHUNK_PIXELS / g->W;
}

size_t cpu_conv_filter_scratch(const pcnn_conv *g, size_t *sums)
{
    const size_t ld = (size_t)g->kh * g->kw * g->cin + 1;
    *sums = (size_t)g->cout * ld;
    return (size_t)chunk_rows(g) * g->W * ld;
}

/* rows i0..i1-1 of image x (H, W, cin): each pixel's window (im2col_pixels' layout: a
 * window row's taps (r, c) at columns (r*kw + c)*cin, zero outside the image), then a 1 */
static void windows(real *col, size_t ld, const real *x, const pcnn_conv *g, int i0, int i1)
{
    cpu_im2col_pixels_ld(col, ld, x, 1, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, i0, i1, 0, g->W);
    for (size_t p = 0; p < (size_t)(i1 - i0) * g->W; p++) col[p * ld + ld - 1] = 1;
}

void cpu_conv_filter(pcnn_backend *be, real *dw, real *db, const real *dy, const real *x, const pcnn_conv *g,
                     real *col, real *sums)
{
    const int taps = g->kh * g->kw, cin = g->cin, cout = g->cout, rows = chunk_rows(g);
    const int ld = taps * cin + 1;
    int first = 1;
    for (int b = 0; b < g->B; b++) {
        const real *image = x + (size_t)b * g->H * g->W * cin;
        for (int i0 = 0; i0 < g->H; i0 += rows, first = 0) {
            const int i1 = i0 + rows < g->H ? i0 + rows : g->H;
            windows(col, ld, image, g, i0, i1);
            cpu_gemm(be, 1, 0, cout, ld, (i1 - i0) * g->W, 1, dy + ((size_t)b * g->H + i0) * g->W * cout, cout, col,
                     ld, first ? 0 : 1, sums, ld);
        }
    }
    if (first) return; /* no pixels */
    /* sums (cout, tap, cin) and the bias's column into dw (cout, cin, tap) and db */
    for (int o = 0; o < cout; o++) {
        const real *s = sums + (size_t)o * ld;
        real *d = dw + (size_t)o * cin * taps;
        for (int t = 0; t < taps; t++)
            for (int c = 0; c < cin; c++) d[(size_t)c * taps + t] += s[(size_t)t * cin + c];
        if (db) db[o] += s[ld - 1];
    }
}
#endif
