/* levels.c -- CPU twin of kernels/levels.cu: uint8 levels (B,C,H,W) to the network's
 * input map (B,H,W,C) in [-1, 1]. */
#include "cpu.h"

void cpu_levels_to_input(real *in, const uint8_t *x, int B, int C, int H, int W, int K)
{
    const real s = (real)2 / (K - 1);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int q = 0; q < H * W; q++)
                in[((size_t)b * H * W + q) * C + c] = x[((size_t)b * C + c) * H * W + q] * s - 1;
}
