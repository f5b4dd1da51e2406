// backend.cu -- the CUDA backend's table, behind the same calls as lib/cpu/backend.c.
#include "cuda.h"

static const pcnn_backend cuda = {
    .name = "cuda",
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

extern "C" const pcnn_backend *pcnn_backend_cuda(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        cudaGetLastError();
        return NULL;
    }
    return &cuda;
}
