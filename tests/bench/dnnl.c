/* dnnl.c -- oneDNN against our convolution on the Fashion configuration's largest
 * operation, the vertical convolution of a gated layer (batch 64, 28x28, 64 -> 128 maps,
 * 3x5 window over rows i-2..i): forward, as
 *   im2col    im2col + OpenBLAS sgemm (the CPU backend's conv_fwd before oneDNN, and still
 *             its fallback)
 *   gemm      the same im2col matrix through oneDNN's sgemm instead of OpenBLAS's
 *   direct    oneDNN's own convolution primitive (channels-last data, weights in the
 *             layout it prefers, reordered once outside the timing: what PyTorch runs)
 * in one process, interleaved, best of 5, GFLOP/s. Not a test; `make bench-dnnl`. */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend.h"
#include "pcnn.h"

#define OK(call) do { dnnl_status_t st_ = (call); if (st_ != dnnl_success) { \
    fprintf(stderr, "dnnl: %s failed (%d)\n", #call, (int)st_); exit(1); } } while (0)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    enum { B = 64, H = 28, W = 28, CI = 64, CO = 128, KH = 3, KW = 5 };
    pcnn_backend *cpu = pcnn_backend_open("cpu");
    const size_t M = (size_t)B * H * W, K = (size_t)CI * KH * KW;
    float *x = malloc(M * CI * sizeof *x), *w = malloc((size_t)CO * K * sizeof *w);
    float *y = malloc(M * CO * sizeof *y), *col = malloc(M * K * sizeof *col);
    for (size_t i = 0; i < M * CI; i++) x[i] = (float)((i * 7919) % 1000) / 1000 - 0.5f;
    for (size_t i = 0; i < (size_t)CO * K; i++) w[i] = (float)((i * 104729) % 1000) / 1000 - 0.5f;
    const double flop = 2.0 * M * CO * K;

    dnnl_engine_t eng;
    dnnl_stream_t stream;
    OK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    OK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    dnnl_memory_desc_t src_md, dst_md, wany_md, wuser_md;
    dnnl_dims_t src_dims = {B, CI, H, W}, dst_dims = {B, CO, H, W}, w_dims = {CO, CI, KH, KW};
    OK(dnnl_memory_desc_init_by_tag(&src_md, 4, src_dims, dnnl_f32, dnnl_nhwc));
    OK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst_dims, dnnl_f32, dnnl_nhwc));
    OK(dnnl_memory_desc_init_by_tag(&wany_md, 4, w_dims, dnnl_f32, dnnl_format_tag_any));
    OK(dnnl_memory_desc_init_by_tag(&wuser_md, 4, w_dims, dnnl_f32, dnnl_oihw));
    dnnl_dims_t strides = {1, 1}, pad_l = {2, 2}, pad_r = {0, 2};
    dnnl_convolution_desc_t cd;
    OK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md,
                                          &wany_md, NULL, &dst_md, strides, pad_l, pad_r));
    dnnl_primitive_desc_t pd;
    OK(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
    const dnnl_memory_desc_t *wprim_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *impl;
    OK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    dnnl_memory_t src_m, dst_m, wuser_m, wprim_m;
    float *yd = malloc(M * CO * sizeof *yd);
    OK(dnnl_memory_create(&src_m, &src_md, eng, x));
    OK(dnnl_memory_create(&dst_m, &dst_md, eng, yd));
    OK(dnnl_memory_create(&wuser_m, &wuser_md, eng, w));
    OK(dnnl_memory_create(&wprim_m, wprim_md, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t reorder, conv;
    OK(dnnl_reorder_primitive_desc_create(&rpd, &wuser_md, eng, wprim_md, eng, NULL));
    OK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, wuser_m}, {DNNL_ARG_TO, wprim_m}};
    OK(dnnl_primitive_execute(reorder, stream, 2, rargs));
    OK(dnnl_primitive_create(&conv, pd));
    dnnl_exec_arg_t cargs[3] = {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wprim_m}, {DNNL_ARG_DST, dst_m}};

    double best[3] = {1e9, 1e9, 1e9};
    for (int rep = 0; rep < 5; rep++) {
        double t = now();
        be_im2col(cpu, col, x, B, H, W, CI, KH, KW, -2, -2, 0, H, 0, W);
        be_gemm(cpu, 0, 1, (int)M, CO, (int)K, 1, col, (int)K, w, (int)K, 0, y, CO);
        t = now() - t;
        if (t < best[0]) best[0] = t;
        t = now();
        be_im2col(cpu, col, x, B, H, W, CI, KH, KW, -2, -2, 0, H, 0, W);
        OK(dnnl_sgemm('N', 'T', (dnnl_dim_t)M, CO, (dnnl_dim_t)K, 1, col, (dnnl_dim_t)K, w, (dnnl_dim_t)K, 0, y, CO));
        t = now() - t;
        if (t < best[1]) best[1] = t;
        t = now();
        OK(dnnl_primitive_execute(conv, stream, 3, cargs));
        OK(dnnl_stream_wait(stream));
        t = now() - t;
        if (t < best[2]) best[2] = t;
    }
    double maxd = 0; /* the two must agree */
    for (size_t i = 0; i < M * CO; i++) {
        double d = y[i] - yd[i];
        if (d < 0) d = -d;
        if (d > maxd) maxd = d;
    }
    printf("vertical conv forward (batch 64, 28x28, 64->128, 3x5), GFLOP/s: im2col + OpenBLAS %.1f, "
           "im2col + oneDNN sgemm %.1f, oneDNN direct %.1f (%s); largest difference %.2g\n",
           flop / best[0] * 1e-9, flop / best[1] * 1e-9, flop / best[2] * 1e-9, impl, maxd);
    pcnn_backend_close(cpu);
    return 0;
}
