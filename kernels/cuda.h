/* cuda.h -- what the CUDA twins in kernels/ share (private): the instance's context,
 * error checks, launch sizes.
 * Every CUDA and cuBLAS call and kernel launch is checked; a failure is recorded in the
 * instance (backend.h: the first one, naming the call, the file and the line) and the
 * operation returns. A kernel's own failure shows at a later call: the library checks
 * the instance at its graph boundaries. */
#ifndef PCNN_KERNELS_CUDA_H
#define PCNN_KERNELS_CUDA_H
#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "../lib/backend.h"
}

/* the instance's context: all on the default stream */
enum { CUDA_SCRATCH_SLOTS = 8 };
struct cuda_convs; /* conv.cu's cuDNN handle and plans */
typedef struct {
    cublasHandle_t blas;
    void *scratch[CUDA_SCRATCH_SLOTS];
    size_t scratch_cap[CUDA_SCRATCH_SLOTS];
    struct cuda_convs *conv;
    int *draw_bad;       /* sample.cu: set on the device by a draw from probabilities that
                          * are not finite; read and cleared by synchronize; NULL until the
                          * first draw */
    void *comm;          /* nccl.cu: the job's NCCL communicator, or NULL */
    double comm_timeout; /* seconds a sum over the GPUs may wait (0: for ever) */
} cuda_ctx;

static inline cuda_ctx *ctx_of(pcnn_backend *be) { return (cuda_ctx *)be->ctx; }

/* 1 when the call succeeded; else records it in be and gives 0 */
static inline int cuda_ok(pcnn_backend *be, cudaError_t err, const char *call, const char *file,
                          int line)
{
    if (err == cudaSuccess) return 1;
    pcnn_backend_fail(be, "CUDA error in %s at %s:%d: %s", call, file, line, cudaGetErrorString(err));
    return 0;
}
static inline int cublas_ok(pcnn_backend *be, cublasStatus_t st, const char *call,
                            const char *file, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS) return 1;
    pcnn_backend_fail(be, "cuBLAS error %d in %s at %s:%d", (int)st, call, file, line);
    return 0;
}
#define CUDA_OK(be, call) cuda_ok((be), (call), #call, __FILE__, __LINE__)
#define CUBLAS_OK(be, call) cublas_ok((be), (call), #call, __FILE__, __LINE__)
/* in an operation returning void: record a failure and return */
#define CUDA_CHECK(be, call) do { if (!CUDA_OK(be, call)) return; } while (0)
#define CUBLAS_CHECK(be, call) do { if (!CUBLAS_OK(be, call)) return; } while (0)

/* after every launch: the launch itself (the kernel's run fails later, if at all) */
#define LAUNCH_CHECK(be) CUDA_CHECK(be, cudaGetLastError())

static inline unsigned blocks_for(size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b > 65535u * 16u ? 65535u * 16u : b);
}

/* grid-stride loop */
#define FOR_N(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
                         i += (size_t)gridDim.x * blockDim.x)

/* the operations, one file each (see lib/cpu/cpu.h for their CPU twins) */
void *cuda_alloc(pcnn_backend *be, size_t bytes);
void cuda_release(pcnn_backend *be, void *p);
void cuda_to_device(pcnn_backend *be, void *dst, const void *src, size_t bytes);
void cuda_to_host(pcnn_backend *be, void *dst, const void *src, size_t bytes);
void cuda_zero(pcnn_backend *be, real *x, size_t n);
void cuda_gemm(pcnn_backend *be, int ta, int tb, int M, int N, int K, real alpha, const real *A,
               int lda, const real *B, int ldb, real beta, real *C, int ldc);
void cuda_im2col(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                 int kw, int oy, int ox, int i0, int i1, int j0, int j1);
void cuda_im2col_strided(pcnn_backend *be, real *col, const real *x, const pcnn_window *g);
void cuda_col2im_strided(pcnn_backend *be, real *dx, const real *col, const pcnn_window *g);
void cuda_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                   const pcnn_conv *g, real beta, real *ws);
void cuda_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                   const real *w, const pcnn_conv *g, real *ws);
void cuda_im2col_pixels(pcnn_backend *be, real *col, const real *x, int B, int H, int W, int cin, int kh,
                        int kw, int oy, int ox, int i0, int i1, int j0, int j1);
void cuda_col2im(pcnn_backend *be, real *dx, const real *col, int B, int H, int W, int cin, int kh,
                 int kw, int oy, int ox);
void cuda_add_rows(pcnn_backend *be, real *y, const real *v, int B, int P, int N);
void cuda_sum_rows(pcnn_backend *be, real *dv, const real *dy, int B, int P, int N);
void cuda_gate_fwd(pcnn_backend *be, real *y, const real *a, int M, int p);
void cuda_gate_bwd(pcnn_backend *be, real *da, const real *a, const real *dy, int M, int p);
void cuda_relu_fwd(pcnn_backend *be, real *y, const real *x, size_t n);
void cuda_relu_bwd(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n);
void cuda_copy_rows(pcnn_backend *be, real *dst, int ldd, const real *src, int lds, int n, int rows,
                    real beta);
void cuda_add(pcnn_backend *be, real *y, const real *x, size_t n);
void cuda_mul(pcnn_backend *be, real *x, const real *mask, size_t n);
double cuda_sumsq(pcnn_backend *be, const real *x, size_t n);
void cuda_average(pcnn_backend *be, real *avg, const real *w, size_t n, real decay);
/* nccl.cu: the backend's collectives (with PCNN_NCCL; comm_close is always there) */
size_t cuda_comm_id(pcnn_backend *be, void *id, size_t cap);
int cuda_comm_open(pcnn_backend *be, const void *id, size_t len, int rank, int n, double timeout);
void cuda_comm_sum(pcnn_backend *be, real *x, size_t n);
void cuda_comm_close(pcnn_backend *be);
void cuda_dropout(pcnn_backend *be, real *x, size_t n, real rate, uint64_t seed, uint64_t first);
void cuda_levels_to_input(pcnn_backend *be, real *in, const uint8_t *x, int B, int C, int H, int W,
                          int K);
void cuda_softmax_xent(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                       const uint8_t *x, int B, int C, int H, int W, int K, real scale);
void cuda_adam(pcnn_backend *be, real *w, real *m, real *v, const real *g, size_t n, real lr,
               real b1, real b2, real eps, int t, real gscale);
void cuda_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st);
void cuda_place(pcnn_backend *be, real *in, uint8_t *x, const uint8_t *draws, int B, int C, int H,
                int W, int i, int j, int c, int K);
void cuda_sample(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K, int ld, real T,
                 real top_p, const double *u);
/* after the device has finished: fails be when a draw since the last call met
 * probabilities that are not finite (and clears the flag); frees it with close */
void cuda_sample_check(pcnn_backend *be);
void cuda_sample_close(pcnn_backend *be);

/* scratch memory of the instance reused across calls, grown when a call needs more;
 * NULL (be failed) when it cannot grow */
void *cuda_scratch(pcnn_backend *be, int slot, size_t bytes);
/* the instance's pieces (gemm.cu, conv.cu, memory.cu): 0, or -1 with be failed */
int cuda_blas_open(pcnn_backend *be);
void cuda_blas_close(pcnn_backend *be);
int cuda_conv_open(pcnn_backend *be);
void cuda_conv_close(pcnn_backend *be);
void cuda_scratch_close(pcnn_backend *be);
#endif
