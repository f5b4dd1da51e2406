// levels.cu -- CUDA twin of lib/cpu/levels.c: uint8 levels (B,C,H,W) to the network's
// input map (B,H,W,C) in [-1, 1].
#include "cuda.h"

__global__ static void levels_k(real *in, const uint8_t *x, int C, int HW, real s, size_t n)
{
    FOR_N(e, n) { // e indexes the output (b, q, c)
        int c = (int)(e % C);
        size_t bq = e / C, b = bq / HW, q = bq % HW;
        in[e] = x[(b * C + c) * HW + q] * s - 1;
    }
}

void cuda_levels_to_input(real *in, const uint8_t *x, int B, int C, int H, int W, int K)
{
    size_t n = (size_t)B * C * H * W;
    levels_k<<<blocks_for(n, 256), 256>>>(in, x, C, H * W, (real)2 / (K - 1), n);
    LAUNCH_CHECK();
}
