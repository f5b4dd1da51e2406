/* im2col.c -- CPU twin of kernels/im2col.cu: the shifted windows of a convolution
 * laid out as matrix rows (for a region of output pixels: all of them in training, one
 * row or one pixel in the cached sampler), and the adjoint (col2im) for the backward pass. */
#include <string.h>

#include "cpu.h"

PCNN_VECTOR
void cpu_im2col(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                int kw, int oy, int ox, int i0, int i1, int j0, int j1)
{
    (void)be;
    const int taps = kh * kw, ncol = cin * taps, RH = i1 - i0, RW = j1 - j0;
#pragma omp parallel for schedule(static) if ((size_t)B * RH * RW * ncol > PCNN_OMP_MIN)
    for (int bi = 0; bi < B * RH; bi++) {
        int b = bi / RH, i = i0 + bi % RH;
        for (int j = j0; j < j1; j++) {
            real *row = col + ((size_t)bi * RW + (j - j0)) * ncol;
            for (int r = 0; r < kh; r++) {
                int y = i + oy + r;
                for (int c = 0; c < kw; c++) {
                    int xx = j + ox + c, t = r * kw + c;
                    if (y < 0 || y >= H || xx < 0 || xx >= W) {
                        for (int ci = 0; ci < cin; ci++) row[ci * taps + t] = 0;
                    } else {
                        const real *src = x + (((size_t)b * H + y) * W + xx) * cin;
                        for (int ci = 0; ci < cin; ci++) row[ci * taps + t] = src[ci];
                    }
                }
            }
        }
    }
}

/* The same windows with each window pixel's channels together (column (r*kw + c)*cin + ci):
 * a window row's kw pixels are one run of the NHWC input, copied whole. The cached
 * sampler's vertical rows read it; im2col's order above scattered each pixel's channels
 * kh*kw apart, which made it some tenth of a batch's draw (tests/bench/README.md). */
void cpu_im2col_pixels(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                       int kw, int oy, int ox, int i0, int i1, int j0, int j1)
{
    (void)be;
    cpu_im2col_pixels_ld(col, (size_t)kh * kw * cin, x, B, H, W, cin, kh, kw, oy, ox, i0, i1, j0, j1);
}

/* the same, a window every ld reals (ld >= kh*kw*cin; what lies past a window is left) */
void cpu_im2col_pixels_ld(real *col, size_t ld, const real *x, int B, int H, int W, int cin, int kh, int kw,
                          int oy, int ox, int i0, int i1, int j0, int j1)
{
    const size_t run = (size_t)kw * cin, ncol = ld;
    const int RH = i1 - i0, RW = j1 - j0;
#pragma omp parallel for schedule(static) if ((size_t)B * RH * RW * ncol > PCNN_OMP_MIN)
    for (int bi = 0; bi < B * RH; bi++) {
        const int b = bi / RH, i = i0 + bi % RH;
        for (int j = j0; j < j1; j++) {
            /* the window's columns inside the image: c0 .. c1-1 */
            const int c0 = j + ox < 0 ? -(j + ox) : 0, c1 = W - (j + ox) < kw ? W - (j + ox) : kw;
            real *row = col + ((size_t)bi * RW + (j - j0)) * ncol;
            for (int r = 0; r < kh; r++, row += run) {
                const int y = i + oy + r;
                if (y < 0 || y >= H || c1 <= c0) {
                    memset(row, 0, run * sizeof *row);
                    continue;
                }
                memset(row, 0, (size_t)c0 * cin * sizeof *row);
                memcpy(row + (size_t)c0 * cin, x + (((size_t)b * H + y) * W + j + ox + c0) * cin,
                       (size_t)(c1 - c0) * cin * sizeof *row);
                memset(row + (size_t)c1 * cin, 0, (size_t)(kw - c1) * cin * sizeof *row);
            }
        }
    }
}

PCNN_VECTOR
void cpu_col2im(pcnn_backend *be, real *dx, const real *col, int B, int H, int W, int cin, int kh,
                int kw, int oy, int ox)
{
    (void)be;
    const int taps = kh * kw, ncol = cin * taps;
    /* Gather form: every input pixel sums the rows that read it, so threads never
     * write the same element. */
#pragma omp parallel for schedule(static)
    for (int by = 0; by < B * H; by++) {
        int b = by / H, y = by % H;
        for (int xx = 0; xx < W; xx++) {
            real *dst = dx + ((size_t)by * W + xx) * cin;
            for (int r = 0; r < kh; r++) {
                int i = y - oy - r;
                if (i < 0 || i >= H) continue;
                for (int c = 0; c < kw; c++) {
                    int j = xx - ox - c, t = r * kw + c;
                    if (j < 0 || j >= W) continue;
                    const real *row = col + (((size_t)b * H + i) * W + j) * ncol;
                    for (int ci = 0; ci < cin; ci++) dst[ci] += row[ci * taps + t];
                }
            }
        }
    }
}

/* Strided windows of the small nets (lib/convnet.c): few pixels, so no threads. */
void cpu_im2col_strided(pcnn_backend *be, real *col, const real *x, const pcnn_window *g)
{
    (void)be;
    const int taps = g->kh * g->kw, ncol = g->cin * taps;
    for (int b = 0; b < g->B; b++)
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++) {
                real *row = col + (((size_t)b * g->Ho + i) * g->Wo + j) * ncol;
                for (int r = 0; r < g->kh; r++)
                    for (int c = 0; c < g->kw; c++) {
                        int y = i * g->stride + g->oy + r, xx = j * g->stride + g->ox + c, t = r * g->kw + c;
                        if (y < 0 || y >= g->Hi || xx < 0 || xx >= g->Wi) {
                            for (int ci = 0; ci < g->cin; ci++) row[ci * taps + t] = 0;
                            continue;
                        }
                        const real *src = x + (((size_t)b * g->Hi + y) * g->Wi + xx) * g->cin;
                        for (int ci = 0; ci < g->cin; ci++) row[ci * taps + t] = src[ci];
                    }
            }
}

void cpu_col2im_strided(pcnn_backend *be, real *dx, const real *col, const pcnn_window *g)
{
    (void)be;
    const int taps = g->kh * g->kw, ncol = g->cin * taps;
    for (int b = 0; b < g->B; b++)
        for (int i = 0; i < g->Ho; i++)
            for (int j = 0; j < g->Wo; j++) {
                const real *row = col + (((size_t)b * g->Ho + i) * g->Wo + j) * ncol;
                for (int r = 0; r < g->kh; r++)
                    for (int c = 0; c < g->kw; c++) {
                        int y = i * g->stride + g->oy + r, xx = j * g->stride + g->ox + c, t = r * g->kw + c;
                        if (y < 0 || y >= g->Hi || xx < 0 || xx >= g->Wi) continue;
                        real *dst = dx + (((size_t)b * g->Hi + y) * g->Wi + xx) * g->cin;
                        for (int ci = 0; ci < g->cin; ci++) dst[ci] += row[ci * taps + t];
                    }
            }
}
