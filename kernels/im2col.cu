// im2col.cu -- CUDA twin of lib/cpu/im2col.c: the shifted (and cropped) windows of the
// two stacks' convolutions as matrix rows, and the adjoint for the backward pass.
#include "cuda.h"

// pixels 0: column ci*kh*kw + r*kw + c (im2col); 1: each window pixel's channels
// together, column (r*kw + c)*cin + ci (im2col_pixels)
__global__ static void im2col_k(real *col, const real *x, int B, int H, int W, int cin, int kh,
                                int kw, int oy, int ox, int i0, int RH, int j0, int RW, int pixels)
{
    const int taps = kh * kw, ncol = cin * taps;
    const size_t n = (size_t)B * RH * RW * ncol;
    FOR_N(e, n) {
        size_t row = e / ncol;
        int k = (int)(e % ncol), ci = pixels ? k % cin : k / taps, t = pixels ? k / cin : k % taps;
        int r = t / kw, c = t % kw;
        int b = (int)(row / ((size_t)RH * RW)), q = (int)(row % ((size_t)RH * RW));
        int i = i0 + q / RW, j = j0 + q % RW, y = i + oy + r, xx = j + ox + c;
        col[e] = (y < 0 || y >= H || xx < 0 || xx >= W) ? 0
                 : x[(((size_t)b * H + y) * W + xx) * cin + ci];
    }
}

void cuda_im2col(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                 int kw, int oy, int ox, int i0, int i1, int j0, int j1)
{
    size_t n = (size_t)B * (i1 - i0) * (j1 - j0) * cin * kh * kw;
    im2col_k<<<blocks_for(n, 256), 256>>>(col, x, B, H, W, cin, kh, kw, oy, ox, i0, i1 - i0, j0, j1 - j0, 0);
    LAUNCH_CHECK(be);
}

void cuda_im2col_pixels(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                        int kw, int oy, int ox, int i0, int i1, int j0, int j1)
{
    size_t n = (size_t)B * (i1 - i0) * (j1 - j0) * cin * kh * kw;
    im2col_k<<<blocks_for(n, 256), 256>>>(col, x, B, H, W, cin, kh, kw, oy, ox, i0, i1 - i0, j0, j1 - j0, 1);
    LAUNCH_CHECK(be);
}

// gather form, as on the CPU: each input element sums the rows that read it
__global__ static void col2im_k(real *dx, const real *col, int B, int H, int W, int cin, int kh,
                                int kw, int oy, int ox)
{
    const int taps = kh * kw, ncol = cin * taps;
    const size_t n = (size_t)B * H * W * cin;
    FOR_N(e, n) {
        int ci = (int)(e % cin);
        size_t pix = e / cin;
        int xx = (int)(pix % W), y = (int)(pix / W % H), b = (int)(pix / ((size_t)W * H));
        real s = 0;
        for (int r = 0; r < kh; r++) {
            int i = y - oy - r;
            if (i < 0 || i >= H) continue;
            for (int c = 0; c < kw; c++) {
                int j = xx - ox - c;
                if (j < 0 || j >= W) continue;
                s += col[(((size_t)b * H + i) * W + j) * ncol + ci * taps + r * kw + c];
            }
        }
        dx[e] += s;
    }
}

void cuda_col2im(pcnn_backend *be, real *dx, const real *col, int B, int H, int W, int cin, int kh,
                 int kw, int oy, int ox)
{
    size_t n = (size_t)B * H * W * cin;
    col2im_k<<<blocks_for(n, 256), 256>>>(dx, col, B, H, W, cin, kh, kw, oy, ox);
    LAUNCH_CHECK(be);
}

// strided windows of the small nets (lib/convnet.c)
__global__ static void im2col_strided_k(real *col, const real *x, pcnn_window g)
{
    const int taps = g.kh * g.kw, ncol = g.cin * taps;
    const size_t n = (size_t)g.B * g.Ho * g.Wo * ncol;
    FOR_N(e, n) {
        size_t row = e / ncol;
        int k = (int)(e % ncol), ci = k / taps, t = k % taps, r = t / g.kw, c = t % g.kw;
        int j = (int)(row % g.Wo), i = (int)(row / g.Wo % g.Ho), b = (int)(row / ((size_t)g.Wo * g.Ho));
        int y = i * g.stride + g.oy + r, xx = j * g.stride + g.ox + c;
        col[e] = (y < 0 || y >= g.Hi || xx < 0 || xx >= g.Wi) ? 0
                 : x[(((size_t)b * g.Hi + y) * g.Wi + xx) * g.cin + ci];
    }
}

void cuda_im2col_strided(pcnn_backend *be, real *col, const real *x, const pcnn_window *g)
{
    size_t n = (size_t)g->B * g->Ho * g->Wo * g->cin * g->kh * g->kw;
    im2col_strided_k<<<blocks_for(n, 256), 256>>>(col, x, *g);
    LAUNCH_CHECK(be);
}

// gather form: input pixel (y, x) is read by output (i, j) at tap (r, c) when
// y = i*stride + oy + r, so each thread walks the taps and keeps the i that divide evenly
__global__ static void col2im_strided_k(real *dx, const real *col, pcnn_window g)
{
    const int taps = g.kh * g.kw, ncol = g.cin * taps;
    const size_t n = (size_t)g.B * g.Hi * g.Wi * g.cin;
    FOR_N(e, n) {
        int ci = (int)(e % g.cin);
        size_t pix = e / g.cin;
        int xx = (int)(pix % g.Wi), y = (int)(pix / g.Wi % g.Hi), b = (int)(pix / ((size_t)g.Wi * g.Hi));
        real s = 0;
        for (int r = 0; r < g.kh; r++) {
            int ti = y - g.oy - r;
            if (ti < 0 || ti % g.stride) continue;
            int i = ti / g.stride;
            if (i >= g.Ho) continue;
            for (int c = 0; c < g.kw; c++) {
                int tj = xx - g.ox - c;
                if (tj < 0 || tj % g.stride) continue;
                int j = tj / g.stride;
                if (j >= g.Wo) continue;
                s += col[(((size_t)b * g.Ho + i) * g.Wo + j) * ncol + ci * taps + r * g.kw + c];
            }
        }
        dx[e] += s;
    }
}

void cuda_col2im_strided(pcnn_backend *be, real *dx, const real *col, const pcnn_window *g)
{
    size_t n = (size_t)g->B * g->Hi * g->Wi * g->cin;
    col2im_strided_k<<<blocks_for(n, 256), 256>>>(dx, col, *g);
    LAUNCH_CHECK(be);
}
