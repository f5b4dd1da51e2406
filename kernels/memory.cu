// memory.cu -- CUDA twin of lib/cpu/memory.c: device allocation and copies, and the
// backend's scratch buffers (allocated once, grown on demand, never per step).
#include "cuda.h"

void *cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); // out of memory is reported by the caller, not fatal here
        return NULL;
    }
    CUDA_CHECK(cudaMemset(p, 0, bytes ? bytes : 1));
    return p;
}

void cuda_release(void *p)
{
    if (p) CUDA_CHECK(cudaFree(p));
}

void cuda_to_device(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_to_host(void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_zero(real *x, size_t n) { CUDA_CHECK(cudaMemset(x, 0, n * sizeof *x)); }

void *cuda_scratch(int slot, size_t bytes)
{
    static void *buf[8];
    static size_t cap[8];
    if (bytes > cap[slot]) {
        if (buf[slot]) CUDA_CHECK(cudaFree(buf[slot]));
        CUDA_CHECK(cudaMalloc(&buf[slot], bytes));
        cap[slot] = bytes;
    }
    return buf[slot];
}
