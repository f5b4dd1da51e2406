// memory.cu -- CUDA twin of lib/cpu/memory.c: device allocation and copies, and the
// instance's scratch buffers (allocated once, grown on demand, never per step).
#include "cuda.h"

void *cuda_alloc(pcnn_backend *be, size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); // out of memory is reported by the caller, not a failure of the device
        return NULL;
    }
    if (!CUDA_OK(be, cudaMemset(p, 0, bytes ? bytes : 1))) {
        cudaFree(p);
        return NULL;
    }
    return p;
}

void cuda_release(pcnn_backend *be, void *p)
{
    if (p) CUDA_CHECK(be, cudaFree(p));
}

void cuda_to_device(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(be, cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_to_host(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    CUDA_CHECK(be, cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void cuda_zero(pcnn_backend *be, real *x, size_t n) { CUDA_CHECK(be, cudaMemset(x, 0, n * sizeof *x)); }

void *cuda_scratch(pcnn_backend *be, int slot, size_t bytes)
{
    cuda_ctx *c = ctx_of(be);
    if (bytes > c->scratch_cap[slot]) {
        if (c->scratch[slot]) cudaFree(c->scratch[slot]);
        c->scratch[slot] = NULL, c->scratch_cap[slot] = 0;
        if (!CUDA_OK(be, cudaMalloc(&c->scratch[slot], bytes))) return NULL;
        c->scratch_cap[slot] = bytes;
    }
    return c->scratch[slot];
}

void cuda_scratch_close(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    for (int i = 0; i < CUDA_SCRATCH_SLOTS; i++) cudaFree(c->scratch[i]);
}
