/* levels.c -- CPU twin of kernels/levels.cu: uint8 levels (B,C,H,W) to the network's
 * input map (B,H,W,C) in [-1, 1], whole or one drawn value at a time (the sampler). */
#include "cpu.h"

void cpu_levels_to_input(pcnn_backend *be, real *in, const uint8_t *x, int B, int C, int H, int W,
                         int K)
{
    (void)be;
    const real s = (real)2 / (K - 1);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < H * W; q++)
                in[((size_t)b * H * W + q) * C + c] = x[((size_t)b * C + c) * H * W + q] * s - 1;
}

void cpu_place(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H,
               int W, int i, int j, int c, int K)
{
    (void)be;
    const real s = (real)2 / (K - 1);
    for (int b = 0; b < B; b++) {
        x[(((size_t)b * C + c) * H + i) * W + j] = draws[b];
        in[(((size_t)b * H + i) * W + j) * C + c] = draws[b] * s - 1;
    }
}
