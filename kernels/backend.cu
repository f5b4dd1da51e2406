// backend.cu -- the CUDA backend's table and its instances, behind the same calls as
// lib/cpu/backend.c; the entry of libpcnn-cuda.so (see backend.h).
#include <cstdio>
#include <cstdlib>

#include "cuda.h"

static void cuda_close(pcnn_backend *be)
{
    if (!be->ctx) return;
    cudaDeviceSynchronize(); // nothing may still run on what is freed next
    cuda_comm_close(be);
    cuda_conv_close(be);
    cuda_blas_close(be);
    cuda_scratch_close(be);
    cuda_sample_close(be);
    free(be->ctx);
    be->ctx = NULL;
}

static void cuda_synchronize(pcnn_backend *be)
{
    CUDA_CHECK(be, cudaDeviceSynchronize());
    cuda_sample_check(be); // the draws' flag: the device has no other way to fail an operation
}

// the host thread that queues the kernels
static void cuda_threads(pcnn_backend *be, void (*fn)(void *arg, int t, int T), void *arg)
{
    (void)be;
    fn(arg, 0, 1);
}

static void cuda_meet(pcnn_backend *be) { (void)be; }

static const pcnn_backend_ops cuda = {
    .name = "cuda",
    .close = cuda_close, .synchronize = cuda_synchronize,
    .alloc = cuda_alloc, .release = cuda_release,
    .to_device = cuda_to_device, .to_host = cuda_to_host, .zero = cuda_zero,
    .gemm = cuda_gemm,
    .im2col = cuda_im2col, .col2im = cuda_col2im, .im2col_pixels = cuda_im2col_pixels,
    .im2col_strided = cuda_im2col_strided, .col2im_strided = cuda_col2im_strided,
    .conv_fwd = cuda_conv_fwd, .conv_bwd = cuda_conv_bwd,
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
    .pixel_step = cuda_pixel_step, .threads = cuda_threads, .meet = cuda_meet,
#ifdef PCNN_NCCL
    .comm_id = cuda_comm_id, .comm_open = cuda_comm_open, .comm_sum = cuda_comm_sum,
#endif
};

// the library's one exported symbol (libpcnn-cuda.map), which device.c finds with dlsym
extern "C" int pcnn_backend_cuda_init(pcnn_backend *be, uint64_t abi)
{
    if (abi != PCNN_BACKEND_ABI) return 2; // be is not laid out as here: not touched
    int n = 0, dev = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n == 0) {
        snprintf(be->about, sizeof be->about, "%s",
                 err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA device");
        cudaGetLastError();
        return 1;
    }
    // one rank of a data-parallel job per GPU: the launcher's local rank r (Open MPI,
    // MPICH, Slurm) takes GPU r mod n
    const char *local = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    if (!local) local = getenv("MPI_LOCALRANKID");
    if (!local) local = getenv("SLURM_LOCALID");
    if (local && n > 1 && atoi(local) >= 0) cudaSetDevice(atoi(local) % n);
    // the log line's "NVIDIA H200, 140 GiB" (pcnn_backend_describe), and which GPU of several
    cudaDeviceProp prop;
    int k;
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess)
        k = snprintf(be->about, sizeof be->about, "%s, %.0f GiB", prop.name,
                     (double)prop.totalGlobalMem / (1 << 30));
    else
        k = snprintf(be->about, sizeof be->about, "a GPU without properties");
    if (n > 1 && k > 0 && (size_t)k < sizeof be->about)
        snprintf(be->about + k, sizeof be->about - k, ", GPU %d of %d", dev, n);
    cudaGetLastError();
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
