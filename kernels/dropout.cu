// dropout.cu -- CUDA twin of lib/cpu/dropout.c: inverted dropout, the mask hashed from
// (seed, index) exactly as on the CPU (lib/dropmask.h).
#include "cuda.h"
#include "../lib/dropmask.h"

__global__ static void dropout_k(real *x, size_t n, uint32_t r24, real scale, uint64_t seed, uint64_t first)
{
    FOR_N(i, n) x[i] = pcnn_drop_keep(seed, first + i, r24) ? x[i] * scale : 0;
}

void cuda_dropout(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed, uint64_t first)
{
    const uint32_t r24 = pcnn_drop_rate24(rate);
    const real scale = (real)(1 / (1 - (double)r24 / 16777216.0));
    dropout_k<<<blocks_for(n, 256), 256>>>(x, n, r24, scale, seed, first);
    LAUNCH_CHECK(be);
}
