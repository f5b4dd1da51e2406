// elementwise.cu -- CUDA twin of lib/cpu/elementwise.c: relu, strided row copies, add,
// mask, sum of squares.
#include "cuda.h"

__global__ static void relu_fwd_k(real *y, const real *x, size_t n)
{
    FOR_N(i, n) y[i] = x[i] > 0 ? x[i] : 0;
}

void cuda_relu_fwd(pcnn_backend *be, real *y, const real *x, size_t n)
{
    relu_fwd_k<<<blocks_for(n, 256), 256>>>(y, x, n);
    LAUNCH_CHECK(be);
}

__global__ static void relu_bwd_k(real *dx, const real *x, const real *dy, size_t n)
{
    FOR_N(i, n) dx[i] = x[i] > 0 ? dy[i] : 0;
}

void cuda_relu_bwd(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n)
{
    relu_bwd_k<<<blocks_for(n, 256), 256>>>(dx, x, dy, n);
    LAUNCH_CHECK(be);
}

__global__ static void copy_rows_k(real *dst, int ldd, const real *src, int lds, int n, size_t total,
                                   real beta)
{
    FOR_N(e, total) {
        size_t r = e / n;
        int k = (int)(e % n);
        real *d = dst + r * ldd + k;
        real s = src[r * lds + k];
        *d = beta == 0 ? s : beta * *d + s;
    }
}

void cuda_copy_rows(pcnn_backend *be, real *dst, int ldd, const real *src, int lds, int n, int rows,
                    real beta)
{
    size_t total = (size_t)n * rows;
    copy_rows_k<<<blocks_for(total, 256), 256>>>(dst, ldd, src, lds, n, total, beta);
    LAUNCH_CHECK(be);
}

__global__ static void add_k(real *y, const real *x, size_t n)
{
    FOR_N(i, n) y[i] += x[i];
}

void cuda_add(pcnn_backend *be, real *y, const real *x, size_t n)
{
    add_k<<<blocks_for(n, 256), 256>>>(y, x, n);
    LAUNCH_CHECK(be);
}

__global__ static void mul_k(real *x, const real *mask, size_t n)
{
    FOR_N(i, n) x[i] *= mask[i];
}

void cuda_mul(pcnn_backend *be, real *x, const real *mask, size_t n)
{
    mul_k<<<blocks_for(n, 256), 256>>>(x, mask, n);
    LAUNCH_CHECK(be);
}

__global__ static void sumsq_k(double *out, const real *x, size_t n)
{
    __shared__ double part[256];
    double s = 0;
    FOR_N(i, n) s += (double)x[i] * x[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) atomicAdd(out, part[0]);
}

double cuda_sumsq(pcnn_backend *be, const real *x, size_t n)
{
    double *acc = (double *)cuda_scratch(be, 0, sizeof(double)), host = 0;
    if (!acc || !CUDA_OK(be, cudaMemset(acc, 0, sizeof *acc))) return 0;
    unsigned b = blocks_for(n, 256);
    sumsq_k<<<b > 1024 ? 1024 : b, 256>>>(acc, x, n);
    if (!CUDA_OK(be, cudaGetLastError()) || !CUDA_OK(be, cudaMemcpy(&host, acc, sizeof host, cudaMemcpyDeviceToHost)))
        return 0;
    return host;
}
