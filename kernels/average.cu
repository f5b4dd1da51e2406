// average.cu -- CUDA twin of lib/cpu/average.c: avg = decay * avg + (1 - decay) * w.
#include "cuda.h"

__global__ static void average_k(real *avg, const real *w, size_t n, real decay)
{
    FOR_N(i, n) avg[i] = decay * avg[i] + (1 - decay) * w[i];
}

void cuda_average(pcnn_backend *be, real *avg, const real *w, size_t n, real decay)
{
    average_k<<<blocks_for(n, 256), 256>>>(avg, w, n, decay);
    LAUNCH_CHECK(be);
}
