/* conv.c -- CPU twin of kernels/conv.cu: the stacks' convolutions as im2col + GEMM.
 * The column matrix has one row per output pixel and column index ci*kh*kw + r*kw + c,
 * which matches the (cout, cin, kh, kw) weights row for row. */
#include "cpu.h"

void cpu_conv_fwd(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_im2col(ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(0, 1, M, g->cout, K, 1, ws, K, w, K, beta, y, g->cout);
}

void cpu_conv_bwd_data(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_gemm(0, 0, M, K, g->cout, 1, dy, g->cout, w, K, 0, ws, K);
    cpu_col2im(dx, ws, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox);
}

void cpu_conv_bwd_filter(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_im2col(ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(1, 0, g->cout, K, M, 1, dy, g->cout, ws, K, 1, dw, K);
}
