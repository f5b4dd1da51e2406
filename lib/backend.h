/* backend.h -- a compute backend: the table of operations it provides, and the instance
 * that every operation runs on.
 *
 * The model (model.c) is written only against this table; it never names a device.
 * An instance (pcnn_backend, opened by pcnn_backend_open in device.c) is the table plus
 * the backend's private context -- cuBLAS and cuDNN handles, convolution plans, scratch
 * buffers; oneDNN's engine, stream and primitives -- so two instances share nothing, and
 * closing one frees all of it. Every operation takes the instance first.
 *
 * Status. A backend call that fails (a CUDA, cuBLAS, cuDNN or oneDNN error) records the
 * first failure's message in the instance, naming the call and file:line, and the
 * operation returns; from then on the instance is failed, and the be_* calls below return
 * at once (be_alloc gives NULL, be_sumsq 0, be_to_host zeros), except be_release. A
 * failed allocation is not a failure of the instance: be_alloc returns NULL and the
 * caller says what it wanted the memory for.
 * Nothing checks the status after each operation: a GPU runs kernels asynchronously, and
 * their errors surface at some later call, not at the launch that caused them. So the
 * library checks it at its graph boundaries -- after a forward pass, a training step, a
 * sampling step, making or loading a model -- with pcnn_backend_check, which waits for the
 * queued work and turns a failure into the library's error (pcnn_errstr()). The status
 * functions are in status.c; pcnn_backend_fail, which records a failure, in fail.c.
 *
 * Every pointer argument below points into memory the same instance allocated.
 * Activations are channels-last: a map of N channels over B images of H×W pixels is
 * a row-major (M,N) matrix with M = B*H*W rows, row m = (b*H + i)*W + j.
 * Backward functions accumulate (+=) into their gradient outputs.
 * The CPU backend (lib/cpu/) is the reference; kernels/<op>.cu are the CUDA twins of
 * lib/cpu/<op>.c. */
#ifndef PCNN_BACKEND_H
#define PCNN_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "real.h"

typedef struct pcnn_backend pcnn_backend;

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

/* The cached sampler's work at pixel (i, j) for channel group g (lib/sample.c says what it
 * computes and why): every layer's horizontal stack for that group, then the head's
 * logits of channel g. Layer l's tensors are stacked at base + l * (the size of one).
 * The 2p columns of hbase are grouped: group g's 2q (q = p/C) are [its tanh maps | its
 * sigmoid maps]. A weight is one (in, out) block per output group, group g's at g * (the
 * size of one): hleft (s*p, 2q), hmid (p, 2q), out_w and out1_w (p, q), out2_w (p, K).
 * A block is stored in panels: its columns padded with zeros to a multiple of PCNN_PANEL,
 * each PCNN_PANEL of them one row-major (rows, PCNN_PANEL) panel, so that a product reads
 * a few panels each as one forward stream (pcnn_panel_at). */
enum { PCNN_PANEL = 8 };
#define PCNN_PADDED(n) (((n) + PCNN_PANEL - 1) / PCNN_PANEL * PCNN_PANEL)
/* where (row k, column n) of a block of `rows` rows lies in its panels */
#define PCNN_PANEL_AT(rows, k, n) \
    ((size_t)((n) / PCNN_PANEL) * (rows) * PCNN_PANEL + (size_t)(k) * PCNN_PANEL + (n) % PCNN_PANEL)

typedef struct {
    int B, H, W, C, K, p, s, L; /* s = n/2, the taps left of column j */
    int i, j, g;
    const real *inmap;          /* (B,H,W,C) the image so far */
    const real *hbase;          /* [L+1] (B,W,2p) link + bias + conditioning of row i */
    const real *hleft;          /* [L+1][C] (s*p, 2q) panels: the taps left of column j,
                                   rows [tap][channel] (layer 0: the first s*C rows) */
    const real *hmid;           /* [L+1][C] (p, 2q) panels: the tap at column j (layer 0:
                                   the first C rows) */
    const real *out_w, *out_b;  /* [L+1][C] (p, q) panels; [L+1] (p) */
    const real *out1_w, *out1_b, *out2_w, *out2_b; /* [C] (p, q) panels; (p); [C] (p, K)
                                                      panels; (C*K) */
    real *hrow;                 /* [L+1] (B,s+W,p) row i's outputs, s zero columns first */
    real *hg;                   /* [L+1] (B,p) the gated values at (i, j) */
    real *ha;                   /* [2] (B,2p) scratch: a group's pre-activations, layers
                                   alternating between the two (the CPU's threads) */
    real *t1, *t2;              /* (B,p) the head's */
    real *logits;               /* (B,C*K): channel g's K at g*K */
} pcnn_pixel_step;

typedef struct {
    const char *name;
    /* frees the instance's context: handles, caches, scratch */
    void (*close)(pcnn_backend *be);
    /* waits for the work queued so far, so that a failure of it shows in the status */
    void (*synchronize)(pcnn_backend *be);

    /* memory */
    void *(*alloc)(pcnn_backend *be, size_t bytes); /* zeroed; NULL on failure */
    void (*release)(pcnn_backend *be, void *p);
    void (*to_device)(pcnn_backend *be, void *dst, const void *src, size_t bytes);
    void (*to_host)(pcnn_backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(pcnn_backend *be, real *x, size_t n);

    /* C(M,N) = alpha * op(A) op(B) + beta * C, row-major; op = transpose when t != 0 */
    void (*gemm)(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
                 int lda, const real *B, int ldb, real beta, real *C, int ldc);

    /* im2col: one row per output pixel (i, j) of the region [i0,i1)×[j0,j1) of each
     * image, col (B*(i1-i0)*(j1-j0), cin*kh*kw), column index ci*kh*kw + r*kw + c,
     * reading x (B,H,W,cin) at pixel (i+oy+r, j+ox+c), zero outside the image.
     * col2im: the adjoint over the whole image, accumulating into dx (B,H,W,cin). */
    void (*im2col)(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                   int kw, int oy, int ox, int i0, int i1, int j0, int j1);
    void (*col2im)(pcnn_backend *be, real *dx, const real *col, int B, int H, int W, int cin,
                   int kh, int kw, int oy, int ox);

    /* im2col with each window pixel's channels together: column index (r*kw + c)*cin + ci
     * (the cached sampler's vertical rows: a window row is one contiguous run of x) */
    void (*im2col_pixels)(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin,
                          int kh, int kw, int oy, int ox, int i0, int i1, int j0, int j1);

    /* the same for a strided window: col (B*Ho*Wo, cin*kh*kw); the adjoint accumulates
     * into dx (B,Hi,Wi,cin). A strided convolution is im2col_strided + GEMM, and its
     * adjoint (a transposed convolution, "deconvolution") GEMM + col2im_strided. */
    void (*im2col_strided)(pcnn_backend *be, real *col, const real *x, const pcnn_window *g);
    void (*col2im_strided)(pcnn_backend *be, real *dx, const real *col, const pcnn_window *g);

    /* convolutions: y = conv(x, w) + bias + beta*y, the bias (cout) at every pixel (none
     * where NULL: a backend that adds it in the convolution saves a pass over y);
     * backward, dw += dy^T x, (unless db is NULL) db += dy summed over the pixels, and
     * (unless dx is NULL) dx += conv_data^T(dy, w), in one call so that a backend
     * prepares dy once and may sum db as it computes dw. ws is scratch of
     * (B*H*W, cin*kh*kw) reals, which a backend may ignore. */
    void (*conv_fwd)(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                     const pcnn_conv *g, real beta, real *ws);
    void (*conv_bwd)(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                     const real *w, const pcnn_conv *g, real *ws);

    /* y (M,N) += bias (N); per image: y (B,P,N) += v (B,N) with P pixels per image */
    void (*add_rows)(pcnn_backend *be, real *y, const real *v, int B, int P, int N);
    /* dv (B,N) += sum over the P pixels of dy (B,P,N) */
    void (*sum_rows)(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N);

    /* gate: a (M,2p) = [f | g]; y (M,p) = tanh(f) * sigmoid(g) */
    void (*gate_fwd)(pcnn_backend *be, real *y, const real *a, int M, int p);
    /* da (M,2p) = d/da of y given dy (M,p); overwrites da */
    void (*gate_bwd)(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p);

    /* y = max(x, 0) (n); dx = dy * (x > 0), overwrites dx */
    void (*relu_fwd)(pcnn_backend *be, real *y, const real *x, size_t n);
    void (*relu_bwd)(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n);
    /* dst[r*ldd + k] = beta * dst[r*ldd + k] + src[r*lds + k], k < n, r < rows;
     * lds = 0 broadcasts one row (a bias) */
    void (*copy_rows)(pcnn_backend *be, real *dst, int ldd, const real *src, int lds, int n,
                      int rows, real beta);
    /* y += x (n) */
    void (*add)(pcnn_backend *be, real *y, const real *x, size_t n);
    /* x *= mask (n) */
    void (*mul)(pcnn_backend *be, real *x, const real *mask, size_t n);

    /* uint8 levels x (B,C,H,W) → input map (B,H,W,C), value 2*x/(K-1) - 1 */
    void (*levels_to_input)(pcnn_backend *be, real *in, const uint8_t *x, int B, int C, int H,
                            int W, int K);

    /* softmax cross-entropy over logits (B,H,W,C,K) against levels x (B,C,H,W):
     * nll[b] = -sum log softmax (nats, per image); if dlogits != NULL it is set to
     * scale * (softmax - onehot). */
    void (*softmax_xent)(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                         const uint8_t *x, int B, int C, int H, int W, int K, real scale);

    /* Adam with bias correction at step t (1-based), decoupled from clipping:
     * g is pre-scaled by gscale. */
    void (*adam)(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n, real lr,
                 real b1, real b2, real eps, int t, real gscale);
    /* sum of squares (n) */
    double (*sumsq)(pcnn_backend *be, const real *x, size_t n);
    /* the running average of the weights: avg = decay * avg + (1 - decay) * w (n) */
    void (*average)(pcnn_backend *be, real *avg, const real *w, size_t n, real decay);
    /* inverted dropout: x[i] *= keep(seed, first + i) / (1 - rate), where keep is 0 with
     * probability rate. keep is a hash of (seed, index), the same on every backend, so a
     * second call with the same seed applies the same mask (the backward pass); first
     * places x in a larger whole (a rank's share of a batch) whose mask it takes. */
    void (*dropout)(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed, uint64_t first);

    /* draw one level per row from softmax(logits / T): logits (R,K) with row stride
     * ld, u (R) uniform in [0,1), out (R); all three in the backend's memory.
     * top_p < 1 draws from the nucleus instead: the fewest levels, likeliest first (of
     * equal ones the lower first), whose probabilities sum to at least top_p,
     * renormalised; top_p >= 1 is the whole distribution. */
    void (*sample)(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K, int ld, real T,
                   real top_p, const double *u);
    /* put one drawn level per image, draws (B), at pixel (i, j), channel c: into the
     * levels x (B,C,H,W) and, as 2*level/(K-1) - 1, into the input map in (B,H,W,C) */
    void (*place)(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H,
                  int W, int i, int j, int c, int K);

    /* the cached sampler's step at one pixel and channel group (pcnn_pixel_step) */
    void (*pixel_step)(pcnn_backend *be, const pcnn_pixel_step *st);
    /* fn(arg, t, T) on each of the backend's T host threads, t = 0..T-1, returning when
     * all have: work that splits into parts (the cached sampler's row of the vertical
     * stacks, by images or by pixels) as one parallel region, not one per operation. The
     * operations fn calls run on its thread alone. The CPU's threads; one on a GPU, whose
     * operations are queued. meet, called by each of the T within fn, returns when all
     * have called it. */
    void (*threads)(pcnn_backend *be, void (*fn)(void *arg, int t, int T), void *arg);
    void (*meet)(pcnn_backend *be);

    /* Collectives between the instances of one data-parallel job, one instance per
     * process and device (NCCL between GPUs); NULL in a backend without a collective
     * library of its own, whose sums dist.c makes over MPI in host memory (the CPU).
     * comm_id: rank 0 writes the job's identifier (at most cap bytes) and gets its
     * length, 0 on failure. comm_open: joins the job as rank of n with the identifier
     * rank 0 made; a sum that waits more than timeout seconds (0: for ever) for the
     * others fails the instance. comm_sum: x (n) = the sum over the instances of x. */
    size_t (*comm_id)(pcnn_backend *be, void *id, size_t cap);
    int (*comm_open)(pcnn_backend *be, const void *id, size_t len, int rank, int n, double timeout);
    void (*comm_sum)(pcnn_backend *be, real *x, size_t n);
} pcnn_backend_ops;

struct pcnn_backend {
    const pcnn_backend_ops *op;
    void *ctx;          /* the backend's own state (its close frees it) */
    int failed;         /* a call has failed: the instance does nothing more */
    char err[256];      /* the first failure */
    /* tests: an allocation of more bytes than this fails as if the device were full
     * (0: no limit) */
    size_t alloc_cap;
    /* coding (compress.c): the CPU backend computes every product in one fixed order of
     * float operations (lib/cpu/gemm_exact.c), the same on every CPU and thread count */
    int exact;
    /* the instance is one thread's alone (a share's of a split batch, split.c): its
     * operations may keep plans in it from inside a parallel region */
    int one_thread;
    /* for a log line (pcnn_backend_describe): the GPU ("NVIDIA H200, 139 GiB"), or why
     * the CPU was opened when "cuda" or "auto" was asked for; "" otherwise */
    char about[256];
};

/* Records a failure in be unless one is recorded already; the message names the call and
 * where it was made. */
void pcnn_backend_fail(pcnn_backend *be, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The graph-boundary check: waits for be's queued work, then returns 0, or -1 with
 * be's first failure as the library's error. */
int pcnn_backend_check(pcnn_backend *be);

/* The error of an allocation of bytes for what (a printf format) that be_alloc refused:
 * "out of memory on <backend> for <what> (needed N MiB)", or be's failure when it has
 * failed. Returns -1. */
int pcnn_backend_nomem(pcnn_backend *be, size_t bytes, const char *what, ...)
    __attribute__((format(printf, 3, 4)));

/* The backends' openers: fill in be->op and be->ctx; -1 with be failed on error. */
int pcnn_backend_cpu_init(pcnn_backend *be);

/* The CUDA backend is a library of its own, libpcnn-cuda.so (kernels/), linked against
 * cuDNN, cuBLAS and the CUDA runtime -- about 1 GB that a program loads only when it
 * opens the GPU: device.c opens it with dlopen and calls its one exported function,
 * pcnn_backend_cuda_init (kernels/backend.cu). The library has its own copy of
 * pcnn_backend_fail (fail.c) and needs nothing else from libpcnn.
 * abi is PCNN_BACKEND_ABI as the caller was built; a library built with other
 * definitions of the structs here returns 2 and does not touch be. Otherwise 0 with be
 * open on the GPU and be->about naming it, 1 when no GPU is usable (be->about says why),
 * -1 with be failed. The sizes catch an op or a field added or removed; the leading 1 is
 * to be raised when one changes its meaning, or its place, in the same size. */
#define PCNN_BACKEND_ABI \
    ((uint64_t)2 << 32 | (uint64_t)sizeof(pcnn_backend_ops) << 16 | (uint64_t)sizeof(pcnn_backend))
int pcnn_backend_cuda_init(pcnn_backend *be, uint64_t abi);
typedef int pcnn_backend_cuda_init_fn(pcnn_backend *be, uint64_t abi);

/* Where libpcnn-cuda.so is: env (the value of $PCNN_CUDA_LIB) as given when it is set
 * and not empty; else the first that exists of DIR/libpcnn-cuda.so (DIR: the directory
 * of exe, the running program: build/ of a source tree), DIR/../lib/pcnn/libpcnn-cuda.so
 * (an installation moved elsewhere) and libdir/libpcnn-cuda.so (where make install put
 * it). 0 with the path in buf; -1 with buf saying where it was looked for. */
int pcnn_cuda_lib_path(char *buf, size_t n, const char *env, const char *exe, const char *libdir);

/* ---- calling an operation: skipped on a failed instance ------------------------------ */
static inline void *be_alloc(pcnn_backend *be, size_t bytes)
{
    if (be->failed || (be->alloc_cap && bytes > be->alloc_cap)) return NULL;
    return be->op->alloc(be, bytes);
}

static inline void be_release(pcnn_backend *be, void *p)
{
    be->op->release(be, p); /* also on a failed instance: the memory is still to be freed */
}

static inline void be_to_device(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    if (!be->failed) be->op->to_device(be, dst, src, bytes);
}

static inline void be_to_host(pcnn_backend *be, void *dst, const void *src, size_t bytes)
{
    if (be->failed) {
        memset(dst, 0, bytes); /* no stale data for the caller to use */
        return;
    }
    be->op->to_host(be, dst, src, bytes);
}

static inline void be_zero(pcnn_backend *be, real *x, size_t n)
{
    if (!be->failed) be->op->zero(be, x, n);
}

static inline void be_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha,
                           const real *A, int lda, const real *B, int ldb, real beta, real *C,
                           int ldc)
{
    if (!be->failed) be->op->gemm(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static inline void be_im2col(pcnn_backend *be, real *col, const real *x, int B, int H, int W,
                             int cin, int kh, int kw, int oy, int ox, int i0, int i1, int j0,
                             int j1)
{
    if (!be->failed) be->op->im2col(be, col, x, B, H, W, cin, kh, kw, oy, ox, i0, i1, j0, j1);
}

static inline void be_im2col_pixels(pcnn_backend *be, real *col, const real *x, int B, int H, int W,
                                    int cin, int kh, int kw, int oy, int ox, int i0, int i1, int j0,
                                    int j1)
{
    if (!be->failed) be->op->im2col_pixels(be, col, x, B, H, W, cin, kh, kw, oy, ox, i0, i1, j0, j1);
}

static inline void be_col2im(pcnn_backend *be, real *dx, const real *col, int B, int H, int W,
                             int cin, int kh, int kw, int oy, int ox)
{
    if (!be->failed) be->op->col2im(be, dx, col, B, H, W, cin, kh, kw, oy, ox);
}

static inline void be_im2col_strided(pcnn_backend *be, real *col, const real *x,
                                     const pcnn_window *g)
{
    if (!be->failed) be->op->im2col_strided(be, col, x, g);
}

static inline void be_col2im_strided(pcnn_backend *be, real *dx, const real *col,
                                     const pcnn_window *g)
{
    if (!be->failed) be->op->col2im_strided(be, dx, col, g);
}

static inline void be_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w,
                               const real *bias, const pcnn_conv *g, real beta, real *ws)
{
    if (!be->failed) be->op->conv_fwd(be, y, x, w, bias, g, beta, ws);
}

static inline void be_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy,
                               const real *x, const real *w, const pcnn_conv *g, real *ws)
{
    if (!be->failed) be->op->conv_bwd(be, dx, dw, db, dy, x, w, g, ws);
}

static inline void be_add_rows(pcnn_backend *be, real *y, const real *v, int B, int P, int N)
{
    if (!be->failed) be->op->add_rows(be, y, v, B, P, N);
}

static inline void be_sum_rows(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N)
{
    if (!be->failed) be->op->sum_rows(be, dv, dy, B, P, N);
}

static inline void be_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p)
{
    if (!be->failed) be->op->gate_fwd(be, y, a, M, p);
}

static inline void be_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M,
                               int p)
{
    if (!be->failed) be->op->gate_bwd(be, da, a, dy, M, p);
}

static inline void be_relu_fwd(pcnn_backend *be, real *y, const real *x, size_t n)
{
    if (!be->failed) be->op->relu_fwd(be, y, x, n);
}

static inline void be_relu_bwd(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n)
{
    if (!be->failed) be->op->relu_bwd(be, dx, x, dy, n);
}

static inline void be_copy_rows(pcnn_backend *be, real *dst, int ldd, const real *src, int lds,
                                int n, int rows, real beta)
{
    if (!be->failed) be->op->copy_rows(be, dst, ldd, src, lds, n, rows, beta);
}

static inline void be_add(pcnn_backend *be, real *y, const real *x, size_t n)
{
    if (!be->failed) be->op->add(be, y, x, n);
}

static inline void be_mul(pcnn_backend *be, real *x, const real *mask, size_t n)
{
    if (!be->failed) be->op->mul(be, x, mask, n);
}

static inline void be_levels_to_input(pcnn_backend *be, real *in, const uint8_t *x, int B, int C,
                                      int H, int W, int K)
{
    if (!be->failed) be->op->levels_to_input(be, in, x, B, C, H, W, K);
}

static inline void be_softmax_xent(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                                   const uint8_t *x, int B, int C, int H, int W, int K, real scale)
{
    if (!be->failed) be->op->softmax_xent(be, nll, dlogits, logits, x, B, C, H, W, K, scale);
}

static inline void be_adam(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n,
                           real lr, real b1, real b2, real eps, int t, real gscale)
{
    if (!be->failed) be->op->adam(be, w, m, v, g, n, lr, b1, b2, eps, t, gscale);
}

static inline double be_sumsq(pcnn_backend *be, const real *x, size_t n)
{
    return be->failed ? 0 : be->op->sumsq(be, x, n);
}

static inline void be_average(pcnn_backend *be, real *avg, const real *w, size_t n, real decay)
{
    if (!be->failed) be->op->average(be, avg, w, n, decay);
}

static inline void be_dropout(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed,
                              uint64_t first)
{
    if (!be->failed) be->op->dropout(be, x, n, rate, seed, first);
}

static inline void be_sample(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K,
                             int ld, real T, real top_p, const double *u)
{
    if (!be->failed) be->op->sample(be, out, logits, R, K, ld, T, top_p, u);
}

static inline void be_place(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B,
                            int C, int H, int W, int i, int j, int c, int K)
{
    if (!be->failed) be->op->place(be, in, x, draws, B, C, H, W, i, j, c, K);
}
static inline void be_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st)
{
    if (!be->failed) be->op->pixel_step(be, st);
}
static inline void be_threads(pcnn_backend *be, void (*fn)(void *arg, int t, int T), void *arg)
{
    if (!be->failed) be->op->threads(be, fn, arg);
}
static inline void be_meet(pcnn_backend *be)
{
    be->op->meet(be); /* even when failed: the other threads wait for this one */
}

#endif
