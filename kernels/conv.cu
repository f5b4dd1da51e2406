// conv.cu -- CUDA twin of lib/cpu/conv.c: the stacks' convolutions through cuDNN
// (forward, backward data, backward filter), NHWC activations, (cout,cin,kh,kw) weights.
//
// cuDNN pads symmetrically; our windows are shifted up and left (pcnn_conv: output pixel
// (i, j) reads (i+oy+r, j+ox+c), oy, ox <= 0). With pads (-oy, -ox) cuDNN's output pixel
// (i, j) reads exactly those inputs, and its output is larger than the image at the
// bottom and right: the forward pass computes it into scratch and crops the top-left
// H×W; the backward passes embed dy into a zeroed padded tensor first.
// Descriptors and algorithms are chosen once per shape (cudnnGet*_v7, the fastest that
// fits) and kept in the instance, with its cuDNN handle; workspace is one of the
// instance's scratch buffers, reused by every call. Exact float32
// (CUDNN_FMA_MATH) unless PCNN_TF32=1. Where cuDNN offers no algorithm for a shape, the
// call falls back to im2col + cuBLAS, the same arithmetic as the CPU twin.
#include <cstdlib>
#include <cstring>

#include <cudnn.h>

#include "cuda.h"

static int cudnn_ok(pcnn_backend *be, cudnnStatus_t st, const char *call, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return 1;
    pcnn_backend_fail(be, "cuDNN error in %s at %s:%d: %s", call, __FILE__, line, cudnnGetErrorString(st));
    return 0;
}
#define CUDNN_OK(call) cudnn_ok(be, (call), #call, __LINE__)

typedef struct {
    pcnn_conv g;
    int Ho, Wo;
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    int fwd_ok, data_ok, filter_ok;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t data;
    cudnnConvolutionBwdFilterAlgo_t filter;
    size_t fwd_ws, data_ws, filter_ws;
} plan;

enum { PLANS = 64 }; // more shapes than ever seen in one program; beyond, they are remade

struct cuda_convs {
    cudnnHandle_t h;
    plan plans[PLANS];
    int nplans, next;
};

int cuda_conv_open(pcnn_backend *be)
{
    cuda_convs *c = (cuda_convs *)calloc(1, sizeof *c);
    if (!c) {
        pcnn_backend_fail(be, "out of memory for the CUDA backend");
        return -1;
    }
    ctx_of(be)->conv = c;
    return CUDNN_OK(cudnnCreate(&c->h)) ? 0 : -1;
}

// frees what a plan holds (any of it may be unset)
static void plan_clear(plan *p)
{
    if (p->x) cudnnDestroyTensorDescriptor(p->x);
    if (p->y) cudnnDestroyTensorDescriptor(p->y);
    if (p->w) cudnnDestroyFilterDescriptor(p->w);
    if (p->conv) cudnnDestroyConvolutionDescriptor(p->conv);
    memset(p, 0, sizeof *p);
}

void cuda_conv_close(pcnn_backend *be)
{
    cuda_convs *c = ctx_of(be)->conv;
    if (!c) return;
    for (int i = 0; i < c->nplans; i++) plan_clear(&c->plans[i]);
    if (c->h) cudnnDestroy(c->h);
    free(c);
    ctx_of(be)->conv = NULL;
}

// the algorithms of a shape, chosen on its first use; NULL when a cuDNN call failed (be failed)
static plan *plan_for(pcnn_backend *be, const pcnn_conv *g)
{
    cuda_convs *c = ctx_of(be)->conv;
    for (int i = 0; i < c->nplans; i++)
        if (!memcmp(&c->plans[i].g, g, sizeof *g)) return &c->plans[i];
    plan *p = &c->plans[c->next];
    plan_clear(p);
    c->next = (c->next + 1) % PLANS;
    if (c->nplans < PLANS) c->nplans++;
    p->g = *g;
    const int ph = -g->oy, pw = -g->ox;
    p->Ho = g->H + 2 * ph - g->kh + 1;
    p->Wo = g->W + 2 * pw - g->kw + 1;
    const char *tf32 = getenv("PCNN_TF32");
    int n, want_n, got_n, hw_n;
    if (!(CUDNN_OK(cudnnCreateTensorDescriptor(&p->x)) && CUDNN_OK(cudnnCreateTensorDescriptor(&p->y)) &&
          CUDNN_OK(cudnnCreateFilterDescriptor(&p->w)) && CUDNN_OK(cudnnCreateConvolutionDescriptor(&p->conv)) &&
          CUDNN_OK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g->B, g->cin, g->H, g->W)) &&
          CUDNN_OK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT, g->B, g->cout, p->Ho, p->Wo)) &&
          CUDNN_OK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g->cout, g->cin, g->kh, g->kw)) &&
          CUDNN_OK(cudnnSetConvolution2dDescriptor(p->conv, ph, pw, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT)) &&
          CUDNN_OK(cudnnSetConvolutionMathType(p->conv, tf32 && !strcmp(tf32, "1") ? CUDNN_TENSOR_OP_MATH
                                                                                   : CUDNN_FMA_MATH)) &&
          CUDNN_OK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &n, &want_n, &got_n, &hw_n))))
        return NULL;
    if (got_n != p->Ho || hw_n != p->Wo) {
        pcnn_backend_fail(be, "cuDNN output %dx%d, expected %dx%d (%s:%d)", got_n, hw_n, p->Ho, p->Wo, __FILE__,
                          __LINE__);
        return NULL;
    }
    const size_t limit = (size_t)1 << 30;
    cudnnConvolutionFwdAlgoPerf_t fp[8];
    if (!CUDNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(c->h, p->x, p->w, p->conv, p->y, 8, &n, fp))) return NULL;
    for (int i = 0; i < n && !p->fwd_ok; i++)
        if (fp[i].status == CUDNN_STATUS_SUCCESS && fp[i].memory <= limit)
            p->fwd_ok = 1, p->fwd = fp[i].algo, p->fwd_ws = fp[i].memory;
    cudnnConvolutionBwdDataAlgoPerf_t dp[8];
    if (!CUDNN_OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->h, p->w, p->y, p->conv, p->x, 8, &n, dp)))
        return NULL;
    for (int i = 0; i < n && !p->data_ok; i++)
        if (dp[i].status == CUDNN_STATUS_SUCCESS && dp[i].memory <= limit)
            p->data_ok = 1, p->data = dp[i].algo, p->data_ws = dp[i].memory;
    cudnnConvolutionBwdFilterAlgoPerf_t wp[8];
    if (!CUDNN_OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->h, p->x, p->y, p->conv, p->w, 8, &n, wp)))
        return NULL;
    for (int i = 0; i < n && !p->filter_ok; i++)
        if (wp[i].status == CUDNN_STATUS_SUCCESS && wp[i].memory <= limit)
            p->filter_ok = 1, p->filter = wp[i].algo, p->filter_ws = wp[i].memory;
    return p;
}

// dst (B,H,W,C) = src's top-left (B,Ho,Wo,C) corner (+ bias (C) unless NULL) + beta*dst
__global__ static void crop_k(real *dst, const real *src, const real *bias, int H, int W, int Ho, int Wo,
                              int C, real beta, size_t n)
{
    FOR_N(e, n) {
        int c = (int)(e % C);
        size_t pix = e / C;
        int j = (int)(pix % W), i = (int)(pix / W % H);
        size_t b = pix / ((size_t)W * H);
        real s = src[((b * Ho + i) * Wo + j) * C + c];
        if (bias) s = bias[c] + s;
        dst[e] = beta == 0 ? s : beta * dst[e] + s;
    }
}

// dst (B,Ho,Wo,C) = src (B,H,W,C) in the top-left corner, zeros elsewhere (dst pre-zeroed)
__global__ static void uncrop_k(real *dst, const real *src, int H, int W, int Ho, int Wo, int C, size_t n)
{
    FOR_N(e, n) {
        int c = (int)(e % C);
        size_t pix = e / C;
        int j = (int)(pix % W), i = (int)(pix / W % H);
        size_t b = pix / ((size_t)W * H);
        dst[((b * Ho + i) * Wo + j) * C + c] = src[e];
    }
}

// A cuDNN call that turns out unsupported for this shape marks the plan so that this and
// every later call of the shape take the im2col + cuBLAS path (0); any other failure is
// recorded in be (0, and be failed).
static int cudnn_ran(pcnn_backend *be, cudnnStatus_t st, int *ok, const char *call, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return 1;
    if (st == CUDNN_STATUS_NOT_SUPPORTED || st == CUDNN_STATUS_BAD_PARAM) *ok = 0;
    else cudnn_ok(be, st, call, line);
    return 0;
}

// dy embedded in the zeroed padded output; NULL when the scratch cannot grow (be failed)
static real *padded_dy(pcnn_backend *be, const plan *p, const real *dy)
{
    const pcnn_conv *g = &p->g;
    size_t big = (size_t)g->B * p->Ho * p->Wo * g->cout, n = (size_t)g->B * g->H * g->W * g->cout;
    real *t = (real *)cuda_scratch(be, 4, big * sizeof(real));
    if (!t || !CUDA_OK(be, cudaMemset(t, 0, big * sizeof(real)))) return NULL;
    uncrop_k<<<blocks_for(n, 256), 256>>>(t, dy, g->H, g->W, p->Ho, p->Wo, g->cout, n);
    return CUDA_OK(be, cudaGetLastError()) ? t : NULL;
}

void cuda_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                   const pcnn_conv *g, real beta, real *ws)
{
    plan *p = plan_for(be, g);
    if (!p) return;
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    if (p->fwd_ok) {
        size_t big = (size_t)g->B * p->Ho * p->Wo * g->cout, n = (size_t)M * g->cout;
        real *t = (real *)cuda_scratch(be, 4, big * sizeof(real));
        void *work = t ? cuda_scratch(be, 5, p->fwd_ws ? p->fwd_ws : 1) : NULL;
        if (!work) return;
        const float one = 1, zero = 0;
        if (cudnn_ran(be, cudnnConvolutionForward(ctx_of(be)->conv->h, &one, p->x, x, p->w, w, p->conv, p->fwd,
                                                  work, p->fwd_ws, &zero, p->y, t),
                      &p->fwd_ok, "cudnnConvolutionForward", __LINE__)) {
            crop_k<<<blocks_for(n, 256), 256>>>(y, t, bias, g->H, g->W, p->Ho, p->Wo, g->cout, beta, n);
            LAUNCH_CHECK(be);
            return;
        }
        if (be->failed) return;
    }
    // as on the CPU: with a bias and beta 0, y starts as the bias; with beta, it is added after
    const int first = bias && beta == 0;
    if (first) cuda_copy_rows(be, y, g->cout, bias, 0, g->cout, M, 0);
    if (!be->failed) cuda_im2col(be, ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    if (!be->failed) cuda_gemm(be, 0, 1, M, g->cout, K, 1, ws, K, w, K, first ? 1 : beta, y, g->cout);
    if (!be->failed && bias && !first) cuda_add_rows(be, y, bias, 1, M, g->cout);
}

// dx += conv_data^T(dy, w); *t: dy padded, made here if the caller has not yet
static void bwd_data(pcnn_backend *be, plan *p, real *dx, const real *dy, const real *w, real *ws, real **t)
{
    const pcnn_conv *g = &p->g;
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    if (p->data_ok) {
        if (!*t) *t = padded_dy(be, p, dy);
        void *work = *t ? cuda_scratch(be, 5, p->data_ws ? p->data_ws : 1) : NULL;
        if (!work) return;
        const float one = 1;
        if (cudnn_ran(be, cudnnConvolutionBackwardData(ctx_of(be)->conv->h, &one, p->w, w, p->y, *t, p->conv,
                                                       p->data, work, p->data_ws, &one, p->x, dx),
                      &p->data_ok, "cudnnConvolutionBackwardData", __LINE__) || be->failed)
            return;
    }
    cuda_gemm(be, 0, 0, M, K, g->cout, 1, dy, g->cout, w, K, 0, ws, K);
    if (!be->failed) cuda_col2im(be, dx, ws, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox);
}

// dw += dy^T x; *t as in bwd_data
static void bwd_filter(pcnn_backend *be, plan *p, real *dw, const real *dy, const real *x, real *ws, real **t)
{
    const pcnn_conv *g = &p->g;
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    if (p->filter_ok) {
        if (!*t) *t = padded_dy(be, p, dy);
        void *work = *t ? cuda_scratch(be, 5, p->filter_ws ? p->filter_ws : 1) : NULL;
        if (!work) return;
        const float one = 1;
        if (cudnn_ran(be, cudnnConvolutionBackwardFilter(ctx_of(be)->conv->h, &one, p->x, x, p->y, *t, p->conv,
                                                         p->filter, work, p->filter_ws, &one, p->w, dw),
                      &p->filter_ok, "cudnnConvolutionBackwardFilter", __LINE__) || be->failed)
            return;
    }
    cuda_im2col(be, ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    if (!be->failed) cuda_gemm(be, 1, 0, g->cout, K, M, 1, dy, g->cout, ws, K, 1, dw, K);
}

// the gradients, dy padded once (scratch 4, which neither pass's work area touches);
// the bias's is sum_rows' (bias.cu)
void cuda_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                   const real *w, const pcnn_conv *g, real *ws)
{
    plan *p = plan_for(be, g);
    if (!p) return;
    if (db) cuda_sum_rows(be, db, dy, 1, g->B * g->H * g->W, g->cout);
    if (be->failed) return;
    real *t = NULL;
    bwd_filter(be, p, dw, dy, x, ws, &t);
    if (dx && !be->failed) bwd_data(be, p, dx, dy, w, ws, &t);
}
