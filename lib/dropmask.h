/* dropmask.h -- which elements inverted dropout keeps: a hash of (seed, index), the same
 * on the CPU and on the GPU (lib/cpu/dropout.c, kernels/dropout.cu), so that the backward
 * pass re-derives the forward pass's mask instead of storing it. */
#ifndef PCNN_DROPMASK_H
#define PCNN_DROPMASK_H
#include <stdint.h>

#ifdef __CUDACC__
#define PCNN_HOST_DEVICE __host__ __device__
#else
#define PCNN_HOST_DEVICE
#endif

/* 1 when element i is kept: splitmix64's finalizer of seed + i, whose top 24 bits, as a
 * fraction of 2^24, are compared with the rate (rates are resolved to 2^-24) */
static inline PCNN_HOST_DEVICE int pcnn_drop_keep(uint64_t seed, uint64_t i, uint32_t rate24)
{
    uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (uint32_t)(z >> 40) >= rate24;
}

/* the rate as a 24-bit threshold */
static inline PCNN_HOST_DEVICE uint32_t pcnn_drop_rate24(double rate)
{
    return (uint32_t)(rate * 16777216.0 + 0.5);
}
#endif
