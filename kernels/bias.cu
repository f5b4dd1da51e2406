// bias.cu -- CUDA twin of lib/cpu/bias.c: per-channel and per-image (conditioning)
// biases added to every pixel, and their gradients summed over the pixels.
#include "cuda.h"

__global__ static void add_rows_k(real *y, const real *v, int P, int N, size_t n)
{
    FOR_N(e, n) {
        size_t row = e / N;
        y[e] += v[(row / P) * N + e % N];
    }
}

void cuda_add_rows(pcnn_backend *be, real *y, const real *v, int B, int P, int N)
{
    size_t n = (size_t)B * P * N;
    add_rows_k<<<blocks_for(n, 256), 256>>>(y, v, P, N, n);
    LAUNCH_CHECK(be);
}

// one block per (image, channel); threads stride over the pixels, tree sum in shared memory
__global__ static void sum_rows_k(real *dv, const real *dy, int P, int N)
{
    int b = blockIdx.y, k = blockIdx.x;
    __shared__ double part[256];
    double s = 0;
    for (int q = threadIdx.x; q < P; q += blockDim.x) s += dy[((size_t)b * P + q) * N + k];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) dv[(size_t)b * N + k] += (real)part[0];
}

void cuda_sum_rows(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N)
{
    sum_rows_k<<<dim3(N, B), 256>>>(dv, dy, P, N);
    LAUNCH_CHECK(be);
}
