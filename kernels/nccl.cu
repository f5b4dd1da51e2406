// nccl.cu -- the CUDA backend's collectives: the sum of a buffer over the GPUs of a
// data-parallel job, one rank per GPU, with NCCL on the device's memory. The ranks find
// each other through MPI (lib/dist.c hands rank 0's ncclUniqueId to the others); this
// file sees only the identifier's bytes. Built when make finds nccl.h beside nvcc
// (PCNN_NCCL); without it the backend has no collectives and dist.c sums on the host.
// A communicator is non-blocking, and every wait on it is polled against the job's
// timeout: NCCL by itself would wait for a dead peer for ever.
#include <cstring>
#include <ctime>

#include "cuda.h"

#ifdef PCNN_NCCL
#include <nccl.h>

static double seconds(void)
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// waits while NCCL works on comm (and, with stream_too, the stream runs the collective):
// 1 when done, 0 with the instance failed on an error or the timeout
static int nccl_wait(pcnn_backend *be, ncclComm_t comm, int stream_too, const char *what)
{
    cuda_ctx *c = ctx_of(be);
    const double start = seconds();
    for (;;) {
        ncclResult_t st;
        if (ncclCommGetAsyncError(comm, &st) != ncclSuccess) st = ncclInternalError;
        if (st != ncclSuccess && st != ncclInProgress) {
            pcnn_backend_fail(be, "NCCL error in %s: %s", what, ncclGetErrorString(st));
            return 0;
        }
        if (st == ncclSuccess) {
            if (!stream_too) return 1;
            cudaError_t q = cudaStreamQuery(0);
            if (q == cudaSuccess) return 1;
            if (q != cudaErrorNotReady) return CUDA_OK(be, q);
        }
        if (c->comm_timeout > 0 && seconds() - start > c->comm_timeout) {
            ncclCommAbort(comm);
            c->comm = NULL;
            pcnn_backend_fail(be, "%s: no answer from the other GPUs within %.0f s: a rank has died or hangs",
                              what, c->comm_timeout);
            return 0;
        }
        timespec pause = {0, 20000};
        nanosleep(&pause, NULL);
    }
}

size_t cuda_comm_id(pcnn_backend *be, void *id, size_t cap)
{
    ncclUniqueId u;
    ncclResult_t st = ncclGetUniqueId(&u);
    if (st != ncclSuccess || cap < sizeof u) {
        pcnn_backend_fail(be, "NCCL error in ncclGetUniqueId: %s",
                          st != ncclSuccess ? ncclGetErrorString(st) : "identifier too long");
        return 0;
    }
    memcpy(id, &u, sizeof u);
    return sizeof u;
}

int cuda_comm_open(pcnn_backend *be, const void *id, size_t len, int rank, int n, double timeout)
{
    cuda_ctx *c = ctx_of(be);
    ncclUniqueId u;
    if (len != sizeof u) {
        pcnn_backend_fail(be, "an NCCL identifier of %zu bytes, not %zu", len, sizeof u);
        return -1;
    }
    memcpy(&u, id, sizeof u);
    cuda_comm_close(be);
    c->comm_timeout = timeout;
    ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
    cfg.blocking = 0;
    ncclComm_t comm = NULL;
    ncclResult_t st = ncclCommInitRankConfig(&comm, n, u, rank, &cfg);
    if (st != ncclSuccess && st != ncclInProgress) {
        pcnn_backend_fail(be, "NCCL error in ncclCommInitRankConfig: %s", ncclGetErrorString(st));
        return -1;
    }
    c->comm = comm;
    return nccl_wait(be, comm, 0, "ncclCommInitRankConfig") ? 0 : -1;
}

void cuda_comm_sum(pcnn_backend *be, real *x, size_t n)
{
    cuda_ctx *c = ctx_of(be);
    ncclComm_t comm = (ncclComm_t)c->comm;
    if (!comm) {
        pcnn_backend_fail(be, "a sum over the GPUs without a communicator");
        return;
    }
    ncclResult_t st = ncclAllReduce(x, x, n, sizeof(real) == sizeof(float) ? ncclFloat : ncclDouble, ncclSum,
                                    comm, 0);
    if (st != ncclSuccess && st != ncclInProgress) {
        pcnn_backend_fail(be, "NCCL error in ncclAllReduce: %s", ncclGetErrorString(st));
        return;
    }
    nccl_wait(be, comm, 1, "ncclAllReduce");
}

void cuda_comm_close(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    if (c->comm) ncclCommDestroy((ncclComm_t)c->comm);
    c->comm = NULL;
}

#else

void cuda_comm_close(pcnn_backend *be) { (void)be; }

#endif
