/* backend.h -- the table of operations a compute backend provides.
 *
 * The model (model.c) is written only against this table; it never names a device.
 * Every pointer argument below points into memory the same backend allocated.
 * Activations are channels-last: a map of N channels over B images of H×W pixels is
 * a row-major (M,N) matrix with M = B*H*W rows, row m = (b*H + i)*W + j.
 * Backward functions accumulate (+=) into their gradient outputs.
 * The CPU backend (lib/cpu/) is the reference; kernels/<op>.cu are the CUDA twins of
 * lib/cpu/<op>.c. */
#ifndef PCNN_BACKEND_H
#define PCNN_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include "real.h"

/* A convolution of the stacks: x (B,H,W,cin) → y (B,H,W,cout), weights (cout,cin,kh,kw)
 * in PyTorch's layout; output pixel (i, j) reads input pixels (i+oy+r, j+ox+c), zero
 * outside the image (oy, ox <= 0: the window is shifted up and left, never down). */
typedef struct {
    int B, H, W, cin, cout, kh, kw, oy, ox;
} pcnn_conv;

/* A strided window of the small convolutional nets (encoder, m(), decoders): output pixel
 * (i, j) of Ho×Wo reads input pixels (i*stride+oy+r, j*stride+ox+c) of Hi×Wi, zero outside. */
typedef struct {
    int B, Hi, Wi, cin, Ho, Wo, kh, kw, stride, oy, ox;
} pcnn_window;

typedef struct pcnn_backend {
    const char *name;

    /* memory */
    void *(*alloc)(size_t bytes);          /* zeroed; NULL on failure */
    void (*release)(void *p);
    void (*to_device)(void *dst, const void *src, size_t bytes);
    void (*to_host)(void *dst, const void *src, size_t bytes);
    void (*zero)(real *x, size_t n);

    /* C(M,N) = alpha * op(A) op(B) + beta * C, row-major; op = transpose when t != 0 */
    void (*gemm)(int ta, int tb, int M, int N, int K, real alpha, const real *A, int lda,
                 const real *B, int ldb, real beta, real *C, int ldc);

    /* im2col: one row per output pixel (i, j) of the region [i0,i1)×[j0,j1) of each
     * image, col (B*(i1-i0)*(j1-j0), cin*kh*kw), column index ci*kh*kw + r*kw + c,
     * reading x (B,H,W,cin) at pixel (i+oy+r, j+ox+c), zero outside the image.
     * col2im: the adjoint over the whole image, accumulating into dx (B,H,W,cin). */
    void (*im2col)(real *col, const real *x, int B, int H, int W, int cin,
                   int kh, int kw, int oy, int ox, int i0, int i1, int j0, int j1);
    void (*col2im)(real *dx, const real *col, int B, int H, int W, int cin,
                   int kh, int kw, int oy, int ox);

    /* the same for a strided window: col (B*Ho*Wo, cin*kh*kw); the adjoint accumulates
     * into dx (B,Hi,Wi,cin). A strided convolution is im2col_strided + GEMM, and its
     * adjoint (a transposed convolution, "deconvolution") GEMM + col2im_strided. */
    void (*im2col_strided)(real *col, const real *x, const pcnn_window *g);
    void (*col2im_strided)(real *dx, const real *col, const pcnn_window *g);

    /* convolutions: y = conv(x, w) + beta*y; dx += conv_data^T(dy, w); dw += dy^T x.
     * ws is scratch of (B*H*W, cin*kh*kw) reals, which a backend may ignore. */
    void (*conv_fwd)(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws);
    void (*conv_bwd_data)(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws);
    void (*conv_bwd_filter)(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws);

    /* y (M,N) += bias (N); per image: y (B,P,N) += v (B,N) with P pixels per image */
    void (*add_rows)(real *y, const real *v, int B, int P, int N);
    /* dv (B,N) += sum over the P pixels of dy (B,P,N) */
    void (*sum_rows)(real *dv, const real *dy, int B, int P, int N);

    /* gate: a (M,2p) = [f | g]; y (M,p) = tanh(f) * sigmoid(g) */
    void (*gate_fwd)(real *y, const real *a, int M, int p);
    /* da (M,2p) = d/da of y given dy (M,p); overwrites da */
    void (*gate_bwd)(real *da, const real *a, const real *dy, int M, int p);

    /* y = max(x, 0) (n); dx = dy * (x > 0), overwrites dx */
    void (*relu_fwd)(real *y, const real *x, size_t n);
    void (*relu_bwd)(real *dx, const real *x, const real *dy, size_t n);
    /* dst[r*ldd + k] = beta * dst[r*ldd + k] + src[r*lds + k], k < n, r < rows;
     * lds = 0 broadcasts one row (a bias) */
    void (*copy_rows)(real *dst, int ldd, const real *src, int lds, int n, int rows, real beta);
    /* y += x (n) */
    void (*add)(real *y, const real *x, size_t n);
    /* x *= mask (n) */
    void (*mul)(real *x, const real *mask, size_t n);

    /* uint8 levels x (B,C,H,W) → input map (B,H,W,C), value 2*x/(K-1) - 1 */
    void (*levels_to_input)(real *in, const uint8_t *x, int B, int C, int H, int W, int K);

    /* softmax cross-entropy over logits (B,H,W,C,K) against levels x (B,C,H,W):
     * nll[b] = -sum log softmax (nats, per image); if dlogits != NULL it is set to
     * scale * (softmax - onehot). */
    void (*softmax_xent)(real *nll, real *dlogits, const real *logits, const uint8_t *x,
                         int B, int C, int H, int W, int K, real scale);

    /* Adam with bias correction at step t (1-based), decoupled from clipping:
     * g is pre-scaled by gscale. */
    void (*adam)(real *w, real *m, real *v, const real *g, size_t n, real lr, real b1,
                 real b2, real eps, int t, real gscale);
    /* sum of squares (n) */
    double (*sumsq)(const real *x, size_t n);
    /* the running average of the weights: avg = decay * avg + (1 - decay) * w (n) */
    void (*average)(real *avg, const real *w, size_t n, real decay);
    /* inverted dropout: x[i] *= keep(seed, i) / (1 - rate), where keep is 0 with
     * probability rate. keep is a hash of (seed, i), the same on every backend, so a
     * second call with the same seed applies the same mask (the backward pass). */
    void (*dropout)(real *x, size_t n, real rate, uint64_t seed);

    /* draw one level per row from softmax(logits / T): logits (R,K) with row stride
     * ld, u (R) uniform in [0,1), out (R); all three in the backend's memory.
     * top_p < 1 draws from the nucleus instead: the fewest levels, likeliest first (of
     * equal ones the lower first), whose probabilities sum to at least top_p,
     * renormalised; top_p >= 1 is the whole distribution. */
    void (*sample)(uint8_t *out, const real *logits, int R, int K, int ld, real T, real top_p,
                   const double *u);
    /* put one drawn level per image, draws (B), at pixel (i, j), channel c: into the
     * levels x (B,C,H,W) and, as 2*level/(K-1) - 1, into the input map in (B,H,W,C) */
    void (*place)(real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H, int W, int i,
                  int j, int c, int K);
} pcnn_backend;

const pcnn_backend *pcnn_backend_cpu(void);
/* the backend chosen by pcnn_device_select (the CPU until then) */
const pcnn_backend *pcnn_backend_default(void);
#ifdef PCNN_CUDA
const pcnn_backend *pcnn_backend_cuda(void); /* NULL when no GPU is usable */
#endif

#endif
