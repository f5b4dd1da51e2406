// sample.cu -- CUDA twin of lib/cpu/sample.c: one categorical draw per row from
// softmax(logits / T), inverting the cumulative distribution at u; everything on the
// device.
#include "cuda.h"

__global__ static void sample_k(uint8_t *out, const real *logits, int R, int K, int ld, real T,
                                const double *u)
{
    FOR_N(r, (size_t)R) {
        const real *z = logits + r * ld;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = fmaxf(mx, z[k]);
        double se = 0;
        for (int k = 0; k < K; k++) se += exp((double)(z[k] - mx) / T);
        double target = u[r] * se, acc = 0;
        int k = 0;
        for (; k < K - 1; k++) {
            acc += exp((double)(z[k] - mx) / T);
            if (acc > target) break;
        }
        out[r] = (uint8_t)k;
    }
}

void cuda_sample(uint8_t *out, const real *logits, int R, int K, int ld, real T, const double *u)
{
    sample_k<<<blocks_for(R, 64), 64>>>(out, logits, R, K, ld, T, u);
    LAUNCH_CHECK();
}
