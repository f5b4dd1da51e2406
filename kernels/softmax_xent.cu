// softmax_xent.cu -- CUDA twin of lib/cpu/softmax_xent.c: K-way softmax cross-entropy of
// every pixel and channel, per-image sums (in double, as on the CPU), and the gradient.
#include "cuda.h"

// one thread per (image, pixel, channel) row of K logits
__global__ static void xent_k(double *acc, real *dlogits, const real *logits, const uint8_t *x,
                              int C, int P, int K, real scale, size_t rows)
{
    FOR_N(row, rows) {
        int c = (int)(row % C);
        size_t bq = row / C, b = bq / P, q = bq % P;
        const real *z = logits + row * K;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = fmaxf(mx, z[k]);
        real se = 0;
        for (int k = 0; k < K; k++) se += expf(z[k] - mx);
        int t = x[(b * C + c) * P + q];
        real lse = mx + logf(se);
        atomicAdd(&acc[b], (double)(lse - z[t]));
        if (dlogits) {
            real *d = dlogits + row * K;
            for (int k = 0; k < K; k++) d[k] = scale * expf(z[k] - lse);
            d[t] -= scale;
        }
    }
}

__global__ static void to_real_k(real *out, const double *in, int n)
{
    FOR_N(i, (size_t)n) out[i] = (real)in[i];
}

void cuda_softmax_xent(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                       const uint8_t *x, int B, int C, int H, int W, int K, real scale)
{
    double *acc = (double *)cuda_scratch(be, 1, (size_t)B * sizeof(double));
    if (!acc) return;
    CUDA_CHECK(be, cudaMemset(acc, 0, (size_t)B * sizeof(double)));
    size_t rows = (size_t)B * H * W * C;
    xent_k<<<blocks_for(rows, 128), 128>>>(acc, dlogits, logits, x, C, H * W, K, scale, rows);
    LAUNCH_CHECK(be);
    to_real_k<<<blocks_for(B, 128), 128>>>(nll, acc, B);
    LAUNCH_CHECK(be);
}
