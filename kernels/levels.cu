// levels.cu -- CUDA twin of lib/cpu/levels.c: uint8 levels (B,C,H,W) to the network's
// input map (B,H,W,C) in [-1, 1], whole or one drawn value at a time (the sampler, which
// so keeps the image on the device).
#include "cuda.h"

__global__ static void levels_k(real *in, const uint8_t *x, int C, int HW, real s, size_t n)
{
    FOR_N(e, n) { // e indexes the output (b, q, c)
        int c = (int)(e % C);
        size_t bq = e / C, b = bq / HW, q = bq % HW;
        in[e] = x[(b * C + c) * HW + q] * s - 1;
    }
}

void cuda_levels_to_input(pcnn_backend *be, real *in, const uint8_t *x, int B, int C, int H, int W,
                          int K)
{
    size_t n = (size_t)B * C * H * W;
    levels_k<<<blocks_for(n, 256), 256>>>(in, x, C, H * W, (real)2 / (K - 1), n);
    LAUNCH_CHECK(be);
}

__global__ static void place_k(real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H, int W,
                               int i, int j, int c, real s)
{
    FOR_N(b, (size_t)B) {
        x[((b * C + c) * H + i) * W + j] = draws[b];
        in[((b * H + i) * W + j) * C + c] = draws[b] * s - 1;
    }
}

void cuda_place(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H,
                int W, int i, int j, int c, int K)
{
    place_k<<<blocks_for(B, 64), 64>>>(in, x, draws, B, C, H, W, i, j, c, (real)2 / (K - 1));
    LAUNCH_CHECK(be);
}
