/* softmax_xent.c -- CPU twin of kernels/softmax_xent.cu: K-way softmax cross-entropy
 * of every pixel and channel, per-image sums, and the gradient of the loss. */
#include "cpu.h"
#include "fastmath.h"

PCNN_VECTOR
void cpu_softmax_xent(pcnn_backend *be, real *nll, real *dlogits, const real *logits,
                      const uint8_t *x, int B, int C, int H, int W, int K, real scale)
{
    (void)be;
    const int P = H * W;
    for (int b = 0; b < B; b++) {
        double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
        for (int q = 0; q < P; q++)
            for (int c = 0; c < C; c++) {
                size_t row = (((size_t)b * P + q) * C + c) * K;
                const real *z = logits + row;
                real mx = z[0], se = 0;
                /* simd reductions: the order of a float sum is the compiler's to choose here */
#pragma omp simd reduction(max : mx)
                for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
#pragma omp simd reduction(+ : se)
                for (int k = 0; k < K; k++) se += fast_exp(z[k] - mx);
                int t = x[((size_t)b * C + c) * P + q];
                real lse = mx + rlog(se);
                total += lse - z[t];
                if (dlogits) {
                    real *d = dlogits + row;
                    for (int k = 0; k < K; k++) d[k] = scale * fast_exp(z[k] - lse);
                    d[t] -= scale;
                }
            }
        nll[b] = (real)total;
    }
}
