// backend.cu -- the CUDA backend's table and its instances, behind the same calls as
// lib/cpu/backend.c.
#include <cstdlib>

#include "cuda.h"

static void cuda_close(pcnn_backend *be)
{
    if (!be->ctx) return;
    cudaDeviceSynchronize(); // nothing may still run on what is freed next
    cuda_conv_close(be);
    cuda_blas_close(be);
    cuda_scratch_close(be);
    free(be->ctx);
    be->ctx = NULL;
}

static void cuda_synchronize(pcnn_backend *be) { CUDA_CHECK(be, cudaDeviceSynchronize()); }

static const pcnn_backend_ops cuda = {
    .name = "cuda",
    .close = cuda_close, .synchronize = cuda_synchronize,
    .alloc = cuda_alloc, .release = cuda_release,
    .to_device = cuda_to_device, .to_host = cuda_to_host, .zero = cuda_zero,
    .gemm = cuda_gemm,
    .im2col = cuda_im2col, .col2im = cuda_col2im,
    .im2col_strided = cuda_im2col_strided, .col2im_strided = cuda_col2im_strided,
    .conv_fwd = cuda_conv_fwd, .conv_bwd_data = cuda_conv_bwd_data,
    .conv_bwd_filter = cuda_conv_bwd_filter,
    .add_rows = cuda_add_rows, .sum_rows = cuda_sum_rows,
    .gate_fwd = cuda_gate_fwd, .gate_bwd = cuda_gate_bwd,
    .relu_fwd = cuda_relu_fwd, .relu_bwd = cuda_relu_bwd,
    .copy_rows = cuda_copy_rows, .add = cuda_add, .mul = cuda_mul,
    .levels_to_input = cuda_levels_to_input,
    .softmax_xent = cuda_softmax_xent,
    .adam = cuda_adam,
    .sumsq = cuda_sumsq, .average = cuda_average, .dropout = cuda_dropout,
    .sample = cuda_sample,
    .place = cuda_place,
};

extern "C" int pcnn_backend_cuda_init(pcnn_backend *be)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        cudaGetLastError();
        return 1;
    }
    be->op = &cuda;
    be->ctx = calloc(1, sizeof(cuda_ctx));
    if (!be->ctx) {
        pcnn_backend_fail(be, "out of memory for the CUDA backend");
        return -1;
    }
    if (cuda_blas_open(be) || cuda_conv_open(be)) {
        cuda_close(be);
        return -1;
    }
    return 0;
}
