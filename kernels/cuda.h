/* cuda.h -- what the CUDA twins in kernels/ share (private): error checks, launch sizes.
 * Every CUDA call and kernel launch is checked; a failure names the call, the file and
 * the line on stderr and exits 1 (a device error leaves no state worth returning to). */
#ifndef PCNN_KERNELS_CUDA_H
#define PCNN_KERNELS_CUDA_H
#include <cstdio>
#include <cstdlib>

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "../lib/backend.h"
}

#define CUDA_CHECK(call)                                                                   \
    do {                                                                                   \
        cudaError_t err_ = (call);                                                         \
        if (err_ != cudaSuccess) {                                                         \
            fprintf(stderr, "pcnn: CUDA error in %s at %s:%d: %s\n", #call, __FILE__,      \
                    __LINE__, cudaGetErrorString(err_));                                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define CUBLAS_CHECK(call)                                                                 \
    do {                                                                                   \
        cublasStatus_t st_ = (call);                                                       \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                \
            fprintf(stderr, "pcnn: cuBLAS error %d in %s at %s:%d\n", (int)st_, #call,      \
                    __FILE__, __LINE__);                                                   \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* after every launch: the launch itself, then (in debug builds) the kernel's run */
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

static inline unsigned blocks_for(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b > 65535u * 16u ? 65535u * 16u : b);
}

/* grid-stride loop */
#define FOR_N(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                         i += (size_t)gridDim.x * blockDim.x)

/* the operations, one file each (see lib/cpu/cpu.h for their CPU twins) */
void *cuda_alloc(size_t bytes);
void cuda_release(void *p);
void cuda_to_device(void *dst, const void *src, size_t bytes);
void cuda_to_host(void *dst, const void *src, size_t bytes);
void cuda_zero(real *x, size_t n);
void cuda_gemm(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc);
void cuda_im2col(real *col, const real *x, int B, int H, int W, int cin, int kh, int kw,
                 int oy, int ox, int i0, int i1, int j0, int j1);
void cuda_im2col_strided(real *col, const real *x, const pcnn_window *g);
void cuda_col2im_strided(real *dx, const real *col, const pcnn_window *g);
void cuda_conv_fwd(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws);
void cuda_conv_bwd_data(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws);
void cuda_conv_bwd_filter(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws);
void cuda_col2im(real *dx, const real *col, int B, int H, int W, int cin, int kh, int kw,
                 int oy, int ox);
void cuda_add_rows(real *y, const real *v, int B, int P, int N);
void cuda_sum_rows(real *dv, const real *dy, int B, int P, int N);
void cuda_gate_fwd(real *y, const real *a, int M, int p);
void cuda_gate_bwd(real *da, const real *a, const real *dy, int M, int p);
void cuda_relu_fwd(real *y, const real *x, size_t n);
void cuda_relu_bwd(real *dx, const real *x, const real *dy, size_t n);
void cuda_copy_rows(real *dst, int ldd, const real *src, int lds, int n, int rows, real beta);
void cuda_add(real *y, const real *x, size_t n);
void cuda_mul(real *x, const real *mask, size_t n);
double cuda_sumsq(const real *x, size_t n);
void cuda_average(real *avg, const real *w, size_t n, real decay);
void cuda_dropout(real *x, size_t n, real rate, uint64_t seed);
void cuda_levels_to_input(real *in, const uint8_t *x, int B, int C, int H, int W, int K);
void cuda_softmax_xent(real *nll, real *dlogits, const real *logits, const uint8_t *x, int B,
                       int C, int H, int W, int K, real scale);
void cuda_adam(real *w, real *m, real *v, const real *g, size_t n, real lr, real b1, real b2,
               real eps, int t, real gscale);
void cuda_place(real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H, int W, int i, int j,
                int c, int K);
void cuda_sample(uint8_t *out, const real *logits, int R, int K, int ld, real T, real top_p,
                 const double *u);

/* scratch memory reused across calls, grown when a call needs more */
void *cuda_scratch(int slot, size_t bytes);
#endif
