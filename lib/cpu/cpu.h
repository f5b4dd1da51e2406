/* cpu.h -- the CPU backend's operations (private); lib/cpu/backend.c puts them in the table. */
#ifndef PCNN_CPU_H
#define PCNN_CPU_H
#include "../backend.h"
#include "barrier.h"

/* loops over fewer elements than this stay on one thread: waking the pool costs more */
#define PCNN_OMP_MIN 32768

/* The elementwise loops are compiled for AVX-512, for AVX2 with FMA and for baseline
 * x86-64, and the loader picks the best the CPU has (GCC's target_clones, an ifunc):
 * the baseline alone runs them on 4-float SSE vectors, while OpenBLAS already picks its
 * kernels at run time. (Not under the sanitizers, whose start-up runs after ifuncs.) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(PCNN_BASELINE) /* the baseline coders of the coding test (Makefile) */
#define PCNN_VECTOR __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* the same split in two, where AVX-512's code is chosen at run time (cpu_context.wide:
 * lib/cpu/pixel.c, gate.c) */
#define PCNN_VECTOR_WIDE __attribute__((target("arch=x86-64-v4")))
#define PCNN_VECTOR_NARROW __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PCNN_VECTOR
#endif

/* Each operation takes the instance (backend.h); only the convolutions use it, for their
 * oneDNN primitives and to record a failure, so the others begin with (void)be. */
void *cpu_alloc(pcnn_backend *be, size_t bytes);
void cpu_release(pcnn_backend *be, void *p);
void cpu_copy(pcnn_backend *be, void *dst, const void *src, size_t bytes);
void cpu_zero(pcnn_backend *be, real *x, size_t n);
void cpu_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
              int lda, const real *B, int ldb, real beta, real *C, int ldc);
void cpu_gemm_rows(int M, int N, int K, real alpha, const real *A, int lda, const real *B, int ldb, real beta,
                   real *C, int ldc);
void cpu_gemm_exact(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha,
                    const real *A, int lda, const real *B, int ldb, real beta, real *C, int ldc);
void cpu_im2col(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                int kw, int oy, int ox, int i0, int i1, int j0, int j1);
void cpu_im2col_pixels(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                       int kw, int oy, int ox, int i0, int i1, int j0, int j1);
void cpu_im2col_pixels_ld(real *col, size_t ld, const real *x, int B, int H, int W, int cin, int kh, int kw,
                          int oy, int ox, int i0, int i1, int j0, int j1);
void cpu_im2col_strided(pcnn_backend *be, real *col, const real *x, const pcnn_window *g);
void cpu_col2im_strided(pcnn_backend *be, real *dx, const real *col, const pcnn_window *g);
void cpu_copy_rows(pcnn_backend *be, real *dst, int ldd, const real *src, int lds, int n, int rows,
                   real beta);
void cpu_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                  const pcnn_conv *g, real beta, real *ws);
void cpu_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                  const real *w, const pcnn_conv *g, real *ws);
/* conv_taps.c: whether its AVX2 kernel takes the forward pass of g (a horizontal window
 * whose maps oneDNN's AVX2 kernel runs slowly), and that pass: y (+= with add) conv + bias */
int cpu_conv_taps_takes(pcnn_backend *be, const pcnn_conv *g);
void cpu_conv_taps(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias, const pcnn_conv *g,
                   int add);
#ifndef PCNN_DOUBLE
/* conv_filter.c: whether its sgemms take the backward filter of g (conv.c also gives them
 * the shapes oneDNN declines), the scratch they need (a chunk's windows; *sums: the
 * gradient as they sum it), and that pass: dw += dy^T x, db += dy's sum over the pixels
 * (db may be NULL) */
int cpu_conv_filter_takes(pcnn_backend *be, const pcnn_conv *g);
size_t cpu_conv_filter_scratch(const pcnn_conv *g, size_t *sums);
void cpu_conv_filter(pcnn_backend *be, real *dw, real *db, const real *dy, const real *x, const pcnn_conv *g,
                     real *col, real *sums);
int cpu_conv_product(pcnn_backend *be, int ta, int tb, int M, int N, int K, const real *A, const real *B,
                     real beta, real *C);
#endif
void cpu_col2im(pcnn_backend *be, real *dx, const real *col, int B, int H, int W, int cin, int kh,
                int kw, int oy, int ox);
void cpu_add_rows(pcnn_backend *be, real *y, const real *v, int B, int P, int N);
void cpu_sum_rows(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N);
void cpu_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p);
void cpu_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p);
void cpu_gate_fwd_exact(real *y, const real *a, int M, int p);
void cpu_relu_fwd(pcnn_backend *be, real *y, const real *x, size_t n);
void cpu_relu_bwd(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n);
void cpu_add(pcnn_backend *be, real *y, const real *x, size_t n);
void cpu_mul(pcnn_backend *be, real *x, const real *mask, size_t n);
double cpu_sumsq(pcnn_backend *be, const real *x, size_t n);
void cpu_average(pcnn_backend *be, real *avg, const real *w, size_t n, real decay);
void cpu_dropout(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed, uint64_t first);
void cpu_levels_to_input(pcnn_backend *be, real *in, const uint8_t *x, int B, int C, int H, int W,
                         int K);
void cpu_softmax_xent(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                      const uint8_t *x, int B, int C, int H, int W, int K, real scale);
void cpu_adam(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n, real lr,
              real b1, real b2, real eps, int t, real gscale);
void cpu_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st);
/* images b0 .. b0+nb-1's step, thread t of the T that share it (meeting at bar; NULL
 * where T is 1): multiplies and adds fused (pixel_step.c), or kept apart for coding's
 * exact mode (pixel_step_exact.c); both are pixel_step.h built twice. The _narrow ones
 * never take AVX-512 (cpu_context.wide). */
typedef void cpu_step_fn(const pcnn_pixel_step *st, int b0, int nb, int t, int T, barrier *bar);
cpu_step_fn cpu_pixel_images, cpu_pixel_images_exact, cpu_pixel_images_narrow, cpu_pixel_images_exact_narrow;
void cpu_place(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H,
               int W, int i, int j, int c, int K);
void cpu_sample(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K, int ld, real T,
                real top_p, const double *u);

/* The instance's context (be->ctx): conv.c's oneDNN engine, stream and primitives (NULL
 * in the double-precision build, which has none), and pixel.c's second thread for a lone
 * image's steps (NULL until the first such step). The opens give -1 with be failed when
 * they cannot make theirs; the closes free them. */
typedef struct {
    struct convs *convs;
    struct pixel_team *team;
    /* a lone image's step on two threads: the second thread's own hrow, hg, t1 and t2
     * (pixel.c), for the layout own_for = {L, s, W, p} */
    real *own;
    int own_for[4];
    barrier threads_bar; /* cpu_meet's, within cpu_threads */
    /* the sampler's step and the gate may take their AVX-512 code: the CPU has it and
     * PCNN_MAX_CPU_ISA does not hold it to AVX2 (backend.c) */
    int wide;
} cpu_context;
#define CPU_CONTEXT(be) ((cpu_context *)(be)->ctx)
int cpu_conv_open(pcnn_backend *be);
void cpu_conv_close(pcnn_backend *be);
void cpu_pixel_close(pcnn_backend *be);
#endif
